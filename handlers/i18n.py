"""Translations: one gettext catalogue per language (handlers/locales/*.po), English fallback.

Message ids are stable keys (`find.no_match`); texts use `{name}` placeholders, and the
caller passes values already HTML-escaped. A key with plural forms (`msgid_plural` in the
catalogue) is chosen by its `count` through gettext's `ngettext`, with each language's own
plural rule (Russian: 1 человек, 2 человека, 5 человек).
"""

from functools import cache
from gettext import GNUTranslations
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "ru", "kk")
FALLBACK = "en"
LOCALES = Path(__file__).parent / "locales"


@cache
def _read(language: str) -> Catalog:
    with (LOCALES / f"{language}.po").open("rb") as po_file:
        return read_po(po_file, locale=language)


@cache
def catalogue(language: str) -> dict[str, tuple[str, ...]]:
    """Every translated text of one language, by key: one text, or one per plural form."""
    texts: dict[str, tuple[str, ...]] = {}
    for message in _read(language):
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if key and all(forms):
            texts[str(key)] = tuple(str(form) for form in forms)
    return texts


@cache
def translations(language: str) -> GNUTranslations:
    """The language's catalogue compiled for gettext, falling back to English."""
    compiled = BytesIO()
    write_mo(compiled, _read(language))
    compiled.seek(0)
    found = GNUTranslations(compiled)
    if language != FALLBACK:
        found.add_fallback(translations(FALLBACK))
    return found


@cache
def _keys_by_word(prefix: str) -> dict[str, str]:
    """The keys under `prefix` ("stage.") by their own name and by their text in every
    language, lower-cased: "Kazakh", "kazakh" and "қазақ" all name `ethnicity.kazakh`."""
    words: dict[str, str] = {}
    for language in reversed(LANGUAGES):  # English last: its text wins
        for key, forms in catalogue(language).items():
            if key.startswith(prefix):
                words[forms[0].casefold()] = key
    for key in catalogue(FALLBACK):
        if key.startswith(prefix):
            words[key.removeprefix(prefix).replace("_", " ").casefold()] = key
    return words


def key_for(prefix: str, word: str) -> str | None:
    """The key of a fixed list (`stage.`, `ethnicity.`) that `word` names, as the key's
    name or its text in any language, case and `_`/space aside; None if none does."""
    return _keys_by_word(prefix).get(" ".join(word.replace("_", " ").split()).casefold())


def language_of(code: str | None) -> str:
    """Our language for a Telegram language_code ("ru-RU" → "ru"); English otherwise."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else FALLBACK


def t(language: str, key: str, /, **params: object) -> str:
    """The text for `key` in `language` (English when it has none), placeholders filled;
    for a key with plural forms, the form its `count` takes."""
    found = translations(language)
    count = params.get("count")
    if len(catalogue(FALLBACK)[key]) > 1 and isinstance(count, int):
        text = found.ngettext(key, key, count)
    else:
        text = found.gettext(key)
    return text.format(**params) if params else text
