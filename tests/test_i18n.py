"""Translations: every language says everything English says, with the same blanks, as valid
Telegram HTML; anything a language lacks is said in English."""

import re
from collections.abc import Iterator
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.pofile import read_po

from handlers import i18n
from handlers.i18n import FALLBACK, LANGUAGES, catalogue, language_of, t

TRANSLATIONS = [language for language in LANGUAGES if language != FALLBACK]

# Telegram's HTML parse mode as this bot uses it: <b>, <i>, <a href="…">, and entities.
_TOKEN = re.compile(
    r'<(?P<open>b|i|a href="[^"<>]*")>|</(?P<close>b|i|a)>|(?P<entity>&(?:lt|gt|amp|quot);)'
    r"|(?P<bare>[<>&])"
)


def html_problems(text: str) -> list[str]:
    """What makes `text` invalid Telegram HTML; empty when it is fine."""
    problems, open_tags = [], []
    for token in _TOKEN.finditer(text):
        if token["open"]:
            open_tags.append(token["open"].split()[0])
        elif token["close"]:
            if not open_tags or open_tags[-1] != token["close"]:
                problems.append(f"</{token['close']}> at {token.start()} closes nothing open")
            else:
                open_tags.pop()
        elif token["bare"]:
            problems.append(f"bare {token['bare']!r} at {token.start()}")
    problems += [f"<{tag}> never closed" for tag in open_tags]
    return problems


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalogue_declares_its_own_language(language: str) -> None:
    with (i18n.LOCALES / f"{language}.po").open("rb") as po_file:
        assert str(read_po(po_file).locale) == language


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_language_has_exactly_the_english_keys(language: str) -> None:
    english, translated = set(catalogue(FALLBACK)), set(catalogue(language))
    assert sorted(english - translated) == [], "missing (or left empty)"
    assert sorted(translated - english) == [], "not in English"


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_translations_keep_the_english_placeholders(language: str) -> None:
    english = catalogue(FALLBACK)
    differing = {
        key: (placeholders(english[key]), placeholders(text))
        for key, text in catalogue(language).items()
        if key in english and placeholders(text) != placeholders(english[key])
    }
    assert differing == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_balanced_telegram_html(language: str) -> None:
    texts = catalogue(language)
    broken = {key: problems for key in texts if (problems := html_problems(texts[key]))}
    assert broken == {}


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "closed</i>",
        "<b><i>crossed</b></i>",
        "a < b",
        "a > b",
        "this & that",
        "<u>unsupported</u>",
        "<a>no address</a>",
    ],
)
def test_the_html_check_catches_what_telegram_rejects(text: str) -> None:
    assert html_problems(text)


def test_the_html_check_accepts_what_telegram_allows() -> None:
    text = '<b>x</b> <i><a href="https://example.org/?a=1&amp;b=2">y</a></i> &lt;N&gt;d'
    assert html_problems(text) == []


@pytest.fixture
def locales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty locale directory in place of the real one, with no catalogue cached."""
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    catalogue.cache_clear()
    yield tmp_path
    catalogue.cache_clear()


def _write_po(directory: Path, language: str, texts: dict[str, str]) -> None:
    entries = "".join(f'\nmsgid "{key}"\nmsgstr "{text}"\n' for key, text in texts.items())
    header = (
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        f'"Language: {language}\\n"\n'
    )
    (directory / f"{language}.po").write_text(header + entries, encoding="utf-8")


def test_a_key_missing_in_a_language_is_said_in_english(locales: Path) -> None:
    _write_po(locales, "en", {"greet": "Hello, {name}", "bye": "Goodbye"})
    _write_po(locales, "ru", {"bye": "До свидания"})

    assert t("ru", "greet", name="Aqan") == "Hello, Aqan"
    assert t("ru", "bye") == "До свидания"


def test_an_empty_translation_is_said_in_english(locales: Path) -> None:
    _write_po(locales, "en", {"greet": "Hello"})
    _write_po(locales, "kk", {"greet": ""})

    assert t("kk", "greet") == "Hello"


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru-RU", "ru"),
        ("kk", "kk"),
        ("KK-kz", "kk"),
        ("en-GB", "en"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_of_maps_a_telegram_code_to_ours_or_english(
    code: str | None, language: str
) -> None:
    assert language_of(code) == language
