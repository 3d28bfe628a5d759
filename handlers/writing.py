# ruff: noqa: RUF001  (Kazakh and Russian letters are what this file is about)
"""How words are written for a reader: the Kazakh ablative ending, and which spelling of a
name suits a reader's script."""

import unicodedata
from collections.abc import Sequence

_KAZAKH_FRONT_VOWELS = frozenset("әеөүіэи")
_KAZAKH_VOWELS = _KAZAKH_FRONT_VOWELS | frozenset("аоұыяёю")
_KAZAKH_NASALS = frozenset("мнң")
_KAZAKH_SONORANTS = frozenset("лрйзжу")
# The word a number is read with last: 2026 is "… алты", 2020 "… жиырма", 2000 "… мың".
_KAZAKH_UNITS = ("нөл", "бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз")
_KAZAKH_TENS = ("", "он", "жиырма", "отыз", "қырық", "елу", "алпыс", "жетпіс", "сексен", "тоқсан")
_KAZAKH_POWERS = ((10**9, "миллиард"), (10**6, "миллион"), (1000, "мың"), (100, "жүз"))


def _kazakh_last_word(number: int) -> str:
    if number % 10 or number == 0:
        return _KAZAKH_UNITS[number % 10]
    if number % 100:
        return _KAZAKH_TENS[number % 100 // 10]
    return next(word for power, word in reversed(_KAZAKH_POWERS) if number % (power * 10))


def kazakh_ablative(word: str) -> str:
    """`word` with the Kazakh ablative ending ("from"): желтоқсан → желтоқсаннан, шілде →
    шілдеден, қыркүйек → қыркүйектен, жыл → жылдан; a number takes it after a hyphen, as
    the word it is read with last would (2026 → 2026-дан, 2000 → 2000-нан)."""
    spoken = _kazakh_last_word(int(word)) if word.isdigit() else word.lower()
    last = spoken[-1]
    vowels = [letter for letter in spoken if letter in _KAZAKH_VOWELS and letter != "у"]
    front = bool(vowels) and vowels[-1] in _KAZAKH_FRONT_VOWELS
    consonant = (
        "н"
        if last in _KAZAKH_NASALS
        else "д"
        if last in _KAZAKH_VOWELS or last in _KAZAKH_SONORANTS
        else "т"
    )
    ending = consonant + ("ен" if front else "ан")
    return f"{word}-{ending}" if word.isdigit() else word + ending


_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def _script_rank(name: str, language: str) -> int:
    """How well `name` suits a reader of `language`: 0 best … 3 not in their script."""
    letters = [letter for letter in name if letter.isalpha()]
    scripts = {unicodedata.name(letter, "").split(" ")[0] for letter in letters}
    if language == "en":
        return 0 if scripts == {"LATIN"} else 3
    if scripts != {"CYRILLIC"}:
        return 3
    kazakh = any(letter in _KAZAKH_LETTERS for letter in letters)
    return 0 if kazakh == (language == "kk") else 1


def reader_name(names: Sequence[str], language: str) -> str:
    """Of a person's spellings (the canonical name first), the one to show a reader first: in
    their script (a Russian reader a Cyrillic one without Kazakh-only letters, a Kazakh reader
    one with them, else any Cyrillic; an English reader a Latin one), else the first."""
    return min(names, key=lambda name: _script_rank(name, language) if name else 4)


def same_place(court: str, city: str) -> bool:
    """Whether the court's name already says the city ("court in Zharkent", "Zharkent")."""
    return city.casefold() in court.casefold()
