# ruff: noqa: RUF001, RUF003  (names in Cyrillic and Kazakh Latin are what is tested here)
"""Finding people by any spelling of their name: key folding and the name index."""

import pytest

from storage.names import NameIndex, NameMatch, name_key

QAISHA, SAIRAGUL, MURAGER, QASTER, AIDOS = 1, 2, 3, 4, 5

SPELLINGS = {
    QAISHA: ("Qaisha Aqan", "Қайша Ақан"),
    SAIRAGUL: ("Sairagul Sauytbay", "Сайрагүл Сауытбай"),
    MURAGER: ("Murager Alimuly", "Мұрагер Әлімұлы"),
    QASTER: ("Qaster Musakhanuly", "Қастер Мұсаханұлы"),
}


@pytest.fixture
def names() -> NameIndex:
    """An index holding the four people of the article, two spellings each."""
    index = NameIndex()
    for person_id, spellings in SPELLINGS.items():
        for spelling in spellings:
            index.add(person_id, spelling)
    return index


def first_person(index: NameIndex, query: str) -> int | None:
    matches = index.search(query)
    return matches[0].person_id if matches else None


# name_key


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("Қайша Ақан", "kaisha akan"),
        ("Кайша Акан", "kaisha akan"),
        ("Qaiysha Aqan", "kaisha akan"),
        ("Сайрагуль Сауытбай", "sairagul sauitbai"),
        ("Мұрагер Әлімұлы", "murager alimuli"),
        ("Қастер Мұсаханұлы", "kaster musahanuli"),
    ],
)
def test_key_folds_scripts_and_romanizations_together(spelling: str, key: str) -> None:
    assert name_key(spelling) == key


@pytest.mark.parametrize(
    ("variant", "other"),
    [
        ("Qaisha", "Kaisha"),  # q / k
        ("Kaysha", "Kaisha"),  # y / i
        ("Musakhanuly", "Musahanuly"),  # kh / h
        ("Zhanar", "Janar"),  # zh / j (Kazakh Latin)
        ("Dzhamila", "Jamila"),  # dzh / j
        ("Şynar", "Shynar"),  # Kazakh Latin ş / sh
        ("Çolpan", "Cholpan"),  # Kazakh Latin ç / ch
        ("Tsoy", "Цой"),  # ts / ц
        ("Nourlan", "Nurlan"),  # ou / u
        ("Sawle", "Saule"),  # w / u
        ("Assel", "Asel"),  # doubled letters
        ("Dmitriy", "Dmitry"),  # iy / y ending
        ("Sergey", "Sergei"),  # ey / ei ending
        ("Yerlan", "Erlan"),  # initial ye / e
        ("Жаңаөзен", "Жанаозен"),  # Kazakh ң ө / Russian н о
        ("Ğalym", "Ғалым"),  # Kazakh Latin ğ / Kazakh Cyrillic ғ
        ("Aqmaral", "Ақмарал"),
    ],
)
def test_key_makes_spelling_variants_agree(variant: str, other: str) -> None:
    assert name_key(variant) == name_key(other)


def test_key_is_lowercase_ascii_words_without_punctuation() -> None:
    assert name_key("  Сайрагуль,   SAUYTBAY-Qyzy (née X.) ") == "sairagul sauitbai kizi ne x"


def test_key_drops_soft_signs_inside_a_word() -> None:
    assert name_key("Сайрагуль") == name_key("Sairagul")


def test_key_keeps_different_names_apart() -> None:
    keys = {name_key(name) for name in ("Qaisha", "Qaster", "Saken", "Shaken", "Aidos", "Aibol")}
    assert len(keys) == 6


def test_key_of_punctuation_only_is_empty() -> None:
    assert name_key(" -,. ") == ""


# One person, many spellings


@pytest.mark.parametrize(
    "query",
    ["Кайша Акан", "kaisha", "Kaysha", "qaisha aqan", "Aqan Qaisha", "Qaiysha Akan", "кайша"],
)
def test_any_spelling_of_qaisha_finds_her(names: NameIndex, query: str) -> None:
    assert first_person(names, query) == QAISHA


@pytest.mark.parametrize(
    "query",
    ["Sayragul Sauytbai", "Sauytbay", "Сайрагуль Сауытбай", "Sairagul", "sairagul sautbay"],
)
def test_any_spelling_of_sairagul_finds_her(names: NameIndex, query: str) -> None:
    assert first_person(names, query) == SAIRAGUL


@pytest.mark.parametrize("query", ["Мурагер Алимулы", "murager", "Alimuly", "Alimuli"])
def test_any_spelling_of_murager_finds_him(names: NameIndex, query: str) -> None:
    assert first_person(names, query) == MURAGER


@pytest.mark.parametrize("query", ["Kaster Musakhanuly", "Мусаханулы", "Musahanuly", "Qaster"])
def test_any_spelling_of_qaster_finds_him(names: NameIndex, query: str) -> None:
    assert first_person(names, query) == QASTER


def test_russian_cyrillic_spelling_finds_kazakh_cyrillic_name() -> None:
    index = NameIndex()
    index.add(QAISHA, "Қайша Ақан")
    assert index.search("Кайша Акан") == [NameMatch(QAISHA, "Қайша Ақан", 100.0)]


def test_kazakh_latin_spelling_finds_cyrillic_name() -> None:
    index = NameIndex()
    index.add(SAIRAGUL, "Сайрагүл Сауытбай")
    assert first_person(index, "Sairagül Sauıtbai") == SAIRAGUL


def test_exact_match_scores_100(names: NameIndex) -> None:
    assert names.search("Qaisha Aqan")[0].score == 100.0


def test_words_in_either_order_score_100(names: NameIndex) -> None:
    assert names.search("Aqan Qaisha")[0].score == 100.0


def test_one_word_of_a_name_scores_100(names: NameIndex) -> None:
    assert names.search("Musakhanuly")[0].score == 100.0


@pytest.mark.parametrize(
    ("query", "person_id"),
    [("Qai", QAISHA), ("Saira", SAIRAGUL), ("Mur", MURAGER), ("Мұсахан", QASTER)],
)
def test_prefix_of_three_letters_finds_the_name(
    names: NameIndex, query: str, person_id: int
) -> None:
    matches = names.search(query)
    assert matches[0].person_id == person_id
    assert matches[0].score < 100.0


@pytest.mark.parametrize(
    ("query", "person_id"),
    [
        ("Muragar", MURAGER),  # a letter replaced
        ("Kaisah Aqan", QAISHA),  # two letters swapped
        ("Sairagl", SAIRAGUL),  # a letter missing
        ("Musakhaniuly", QASTER),  # a letter added
        ("Qastre Musakanuly", QASTER),  # a typo in each word
    ],
)
def test_misspelled_name_is_still_found(names: NameIndex, query: str, person_id: int) -> None:
    matches = names.search(query)
    assert matches[0].person_id == person_id
    assert matches[0].score < 100.0


def test_two_typos_in_a_long_name_are_forgiven(names: NameIndex) -> None:
    assert first_person(names, "Musakanulu") == QASTER


def test_typo_that_folding_doubles_is_still_one_typo() -> None:
    index = NameIndex()
    index.add(1, "Михаил Фёдоров")
    assert first_person(index, "Михаил Фёдоов") == 1


def test_short_name_two_letters_off_is_another_name() -> None:
    index = NameIndex()
    index.add(1, "Aidos Serikuly")
    assert index.search("Aibol") == []


def test_long_name_sharing_many_letters_is_not_a_typo() -> None:
    index = NameIndex()
    index.add(1, "Ilşat Gülkendosūly")
    assert index.search("Gwendolyn") == []


def test_misspelling_scores_below_exact_spelling(names: NameIndex) -> None:
    assert names.search("sairagul sautbay")[0].score < names.search("sairagul sauytbay")[0].score


# Telling people apart


def test_qaisha_does_not_find_qaster_first(names: NameIndex) -> None:
    assert [match.person_id for match in names.search("Qaisha")] == [QAISHA]


@pytest.mark.parametrize("query", ["Nursultan", "xyzzy", "Bartholomew Smith"])
def test_name_nobody_has_finds_nobody(names: NameIndex, query: str) -> None:
    assert names.search(query) == []


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "?!"])
def test_empty_query_finds_nobody(names: NameIndex, query: str) -> None:
    assert names.search(query) == []


def test_shared_surname_finds_everyone_who_has_it(names: NameIndex) -> None:
    names.add(AIDOS, "Aidos Alimuly")
    matches = names.search("Alimuly")
    assert {match.person_id for match in matches} == {MURAGER, AIDOS}
    assert all(match.score == 100.0 for match in matches)


def test_full_name_picks_one_of_two_people_with_the_same_surname(names: NameIndex) -> None:
    names.add(AIDOS, "Aidos Alimuly")
    matches = names.search("Murager Alimuly")
    assert matches[0] == NameMatch(MURAGER, "Murager Alimuly", 100.0)
    assert all(match.score < 100.0 for match in matches[1:])


def test_exact_match_comes_before_close_spellings() -> None:
    index = NameIndex()
    index.add(1, "Erlan Serikuly")
    index.add(2, "Arlan Serikuly")
    index.add(3, "Erlanbek Serikuly")
    matches = index.search("Arlan Serikuly")
    assert matches[0] == NameMatch(2, "Arlan Serikuly", 100.0)
    assert [match.person_id for match in matches[1:]] and all(m.score < 100 for m in matches[1:])


def test_each_person_is_returned_once_with_their_best_spelling(names: NameIndex) -> None:
    names.add(QAISHA, "Kaisha Akanova")
    matches = names.search("Qaisha")
    assert [match.person_id for match in matches] == [QAISHA]


def test_match_shows_the_stored_spelling_written_like_the_query(names: NameIndex) -> None:
    assert names.search("Қайша")[0].spelling == "Қайша Ақан"
    assert names.search("Qaisha")[0].spelling == "Qaisha Aqan"


def test_search_returns_at_most_limit_people() -> None:
    index = NameIndex()
    for person_id in range(1, 21):
        index.add(person_id, f"Nurlan {'Serikuly' if person_id % 2 else 'Serikov'}")
    assert len(index.search("Nurlan", limit=5)) == 5
    assert index.search("Nurlan", limit=0) == []


def test_equal_scores_rank_the_shorter_name_first() -> None:
    index = NameIndex()
    index.add(1, "Nurlan Serik Alimuly")
    index.add(2, "Serik Alimuly")
    assert [match.person_id for match in index.search("Alimuly")] == [2, 1]


# Keeping the index up to date


def test_len_counts_spellings_held(names: NameIndex) -> None:
    assert len(names) == 8


def test_adding_the_same_spelling_twice_holds_it_once(names: NameIndex) -> None:
    names.add(QAISHA, "Qaisha Aqan")
    assert len(names) == 8


def test_spelling_without_letters_is_not_held() -> None:
    index = NameIndex()
    index.add(1, " ... ")
    assert len(index) == 0


def test_removed_person_is_no_longer_found(names: NameIndex) -> None:
    names.remove_person(MURAGER)
    assert names.search("Murager Alimuly") == []
    assert names.search("Мұрагер") == []
    assert len(names) == 6


def test_removing_one_person_keeps_others_with_the_same_surname(names: NameIndex) -> None:
    names.add(AIDOS, "Aidos Alimuly")
    names.remove_person(MURAGER)
    assert [match.person_id for match in names.search("Alimuly")] == [AIDOS]


def test_removing_an_unknown_person_changes_nothing(names: NameIndex) -> None:
    names.remove_person(999)
    assert len(names) == 8
    assert first_person(names, "Qaisha") == QAISHA


def test_person_added_after_a_search_is_found() -> None:
    index = NameIndex()
    index.add(1, "Qaisha Aqan")
    assert index.search("Sairagul") == []
    index.add(2, "Sairagul Sauytbay")
    assert first_person(index, "Sairagul") == 2


def test_person_added_again_after_removal_is_found(names: NameIndex) -> None:
    names.remove_person(QASTER)
    names.add(QASTER, "Qaster Musakhanuly")
    assert first_person(names, "Kaster") == QASTER
