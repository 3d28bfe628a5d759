# ruff: noqa: RUF001  (Russian and Kazakh words are what is tested here)
"""Translations: every language says everything English says, with the same blanks, as valid
Telegram HTML; anything a language lacks is said in English."""

import re
from collections.abc import Iterator
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from bot.seed import DEMO_PEOPLE
from handlers import i18n
from handlers.i18n import FALLBACK, LANGUAGES, catalogue, key_for, language_of, t, translations
from handlers.render import country_name, format_since, record_word
from handlers.writing import kazakh_ablative, reader_name

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
    english = {key: placeholders(" ".join(forms)) for key, forms in catalogue(FALLBACK).items()}
    differing = {
        key: (english[key], [placeholders(form) for form in forms])
        for key, forms in catalogue(language).items()
        if key in english and any(placeholders(form) != english[key] for form in forms)
    }
    assert differing == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_keys_have_every_plural_form_of_the_language(language: str) -> None:
    plural_in_english = {key for key, forms in catalogue(FALLBACK).items() if len(forms) > 1}
    forms_needed = get_plural(language).num_plurals
    wrong = {
        key: len(forms)
        for key, forms in catalogue(language).items()
        if (key in plural_in_english) != (len(forms) > 1)
        or (len(forms) > 1 and len(forms) != forms_needed)
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_is_balanced_telegram_html(language: str) -> None:
    broken = {
        key: problems
        for key, forms in catalogue(language).items()
        if (problems := [problem for form in forms for problem in html_problems(form)])
    }
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
    _forget_catalogues()
    yield tmp_path
    _forget_catalogues()


def _forget_catalogues() -> None:
    for cached in (i18n._read, catalogue, translations, i18n._keys_by_word):
        cached.cache_clear()


def _write_po(directory: Path, language: str, texts: dict[str, str | list[str]]) -> None:
    entries = "".join(
        f'\nmsgid "{key}"\nmsgstr "{text}"\n'
        if isinstance(text, str)
        else f'\nmsgid "{key}"\nmsgid_plural "{key}"\n'
        + "".join(f'msgstr[{index}] "{form}"\n' for index, form in enumerate(text))
        for key, text in texts.items()
    )
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


def test_plural_forms_follow_each_languages_rule(locales: Path) -> None:
    _write_po(locales, "en", {"people": ["{count} person", "{count} people"]})
    _write_po(
        locales, "ru", {"people": ["{count} человек", "{count} человека", "{count} человек"]}
    )

    said = [t("ru", "people", count=n) for n in (1, 2, 5, 11, 21, 22, 25, 111)]

    assert said == [
        "1 человек",
        "2 человека",
        "5 человек",
        "11 человек",
        "21 человек",
        "22 человека",
        "25 человек",
        "111 человек",
    ]
    assert [t("en", "people", count=n) for n in (1, 2)] == ["1 person", "2 people"]


def test_plural_key_missing_in_a_language_is_said_in_english(locales: Path) -> None:
    _write_po(locales, "en", {"people": ["{count} person", "{count} people"]})
    _write_po(locales, "kk", {})

    assert t("kk", "people", count=3) == "3 people"


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


@pytest.mark.parametrize(
    ("word", "ablative"),
    [
        ("қаңтар", "қаңтардан"),
        ("ақпан", "ақпаннан"),
        ("наурыз", "наурыздан"),
        ("сәуір", "сәуірден"),
        ("мамыр", "мамырдан"),
        ("маусым", "маусымнан"),
        ("шілде", "шілдеден"),
        ("тамыз", "тамыздан"),
        ("қыркүйек", "қыркүйектен"),
        ("қазан", "қазаннан"),
        ("қараша", "қарашадан"),
        ("желтоқсан", "желтоқсаннан"),
        ("жыл", "жылдан"),
        ("1", "1-ден"),
        ("3", "3-тен"),
        ("6", "6-дан"),
        ("10", "10-нан"),
        ("40", "40-тан"),
        ("50", "50-ден"),
        ("100", "100-ден"),
        ("2000", "2000-нан"),
        ("2018", "2018-ден"),
        ("2026", "2026-дан"),
    ],
)
def test_kazakh_ablative_follows_the_last_sound_and_vowel_harmony(
    word: str, ablative: str
) -> None:
    assert kazakh_ablative(word) == ablative


def test_since_a_date_takes_each_languages_case() -> None:
    assert format_since("2026-12-02", "kk") == "2026 жылғы 2 желтоқсаннан бастап"
    assert format_since("2018-08", "kk") == "2018 жылғы тамыздан бастап"
    assert format_since("2018", "kk") == "2018 жылдан бастап"
    assert format_since("2026-12-02", "ru") == "с 2 декабря 2026 г."
    assert format_since("2018-08", "ru") == "с августа 2018 г."
    assert format_since("2018-08", "en") == "since August 2018"


SPELLINGS = ["Sairagul Sauytbay", "Сайрагүл Сауытбай", "Сайрагуль Сауытбай"]


@pytest.mark.parametrize(
    ("language", "names", "shown"),
    [
        ("ru", SPELLINGS, "Сайрагуль Сауытбай"),  # Cyrillic without Kazakh-only letters
        ("kk", SPELLINGS, "Сайрагүл Сауытбай"),  # Kazakh Cyrillic
        ("en", SPELLINGS[::-1], "Sairagul Sauytbay"),  # Latin, wherever it stands
        ("ru", ["Qaisha Aqan", "Қайша Ақан"], "Қайша Ақан"),  # else any Cyrillic
        ("kk", ["Qaisha Aqan", "Кайша Акан"], "Кайша Акан"),
        ("en", ["Қайша Ақан", "凯莎"], "Қайша Ақан"),  # none in the script: the canonical
    ],
)
def test_a_name_is_shown_in_the_readers_script_when_one_is_stored(
    language: str, names: list[str], shown: str
) -> None:
    assert reader_name(names, language) == shown


def test_fixed_list_values_are_shown_in_the_readers_language() -> None:
    assert record_word("stage.", "pretrial", "ru") == "ожидает судебного разбирательства"
    assert record_word("stage.", "Trial", "kk") == "сот талқылауы"
    assert record_word("ethnicity.", "KAZAKH", "ru") == "казахская"
    assert record_word("ethnicity.", "уйгурская", "kk") == "ұйғыр"  # stored in another language
    assert record_word("ethnicity.", "Hui", "en") == "Hui (Dungan)"
    assert record_word("ethnicity.", "Dolgan <b>", "ru") == "Dolgan &lt;b&gt;"  # as stored


@pytest.mark.parametrize(
    ("stored", "language", "shown"),
    [
        ("China", "ru", "Китай"),
        ("China", "kk", "Қытай"),
        ("CN", "en", "China"),
        ("казахстан", "en", "Kazakhstan"),
        ("Xinjiang, China", "ru", "Xinjiang, China"),
    ],
)
def test_countries_are_named_in_the_readers_language(
    stored: str, language: str, shown: str
) -> None:
    assert country_name(stored, language) == shown


def test_every_stage_of_the_demo_records_has_a_translation() -> None:
    for demo in DEMO_PEOPLE:
        assert key_for("stage.", demo.case["stage"]), demo.case["stage"]
        assert key_for("ethnicity.", demo.person["ethnicity"]), demo.person["ethnicity"]
