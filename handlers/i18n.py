"""Translations: one gettext catalogue per language (handlers/locales/*.po), English fallback.

Message ids are stable keys (`find.no_match`); texts use `{name}` placeholders, and the
caller passes values already HTML-escaped.
"""

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("en", "ru", "kk")
FALLBACK = "en"
LOCALES = Path(__file__).parent / "locales"


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every translated text of one language, by key."""
    with (LOCALES / f"{language}.po").open("rb") as po_file:
        return {
            str(message.id): str(message.string)
            for message in read_po(po_file)
            if message.id and message.string
        }


def language_of(code: str | None) -> str:
    """Our language for a Telegram language_code ("ru-RU" → "ru"); English otherwise."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else FALLBACK


def t(language: str, key: str, /, **params: object) -> str:
    """The text for `key` in `language` (English when it has none), placeholders filled."""
    text = catalogue(language).get(key) or catalogue(FALLBACK)[key]
    return text.format(**params) if params else text
