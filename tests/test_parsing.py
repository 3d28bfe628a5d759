"""Command arguments: what is accepted, and the reason given for what is not."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing import (
    MAX_ID,
    MAX_QUERY,
    BadArguments,
    Provenance,
    Who,
    id_reference,
    parse_hearings_window,
    parse_id,
    parse_offsets,
    parse_query,
    parse_setasylum,
    parse_setdetention,
    parse_sethearing,
    parse_spellings,
    parse_target,
    parse_who,
    split_provenance,
)
from storage.models import Verification

NOW = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 30 Nov, 01:00 in Almaty (UTC+5)


def _reason(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(BadArguments) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason


def test_who_by_id_or_by_any_name() -> None:
    assert parse_who("#12") == Who(person_id=12)
    assert parse_who("  Qaisha   Aqan ") == Who(text="Qaisha Aqan")
    assert parse_who("Қайша") == Who(text="Қайша")
    assert parse_who("#12 Aqan") == Who(text="#12 Aqan")


NOT_IDS = [
    "",
    "0",
    "²",  # a superscript: str.isdigit() says yes, int() says no
    "\u0661\u0662",  # Arabic-Indic 12: int() takes them, and so does the regex `\d`
    "\uff11\uff12",  # full-width 12
    "1" * 25,
    str(MAX_ID + 1),
    "-5",
    "+5",
    "0x1F",
    "1F",
    "1e3",
    "1_000",
    "1.0",
    " 12",
    "12 ",
    "12\n",
    "1 2",
    "1\u200b2",
    "12\u00a0",
]


def test_ids_are_ascii_digits_in_the_database_range() -> None:
    assert parse_id("12") == 12
    assert parse_id("007") == 7
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id("0" * 30 + "1") == 1


@pytest.mark.parametrize("text", NOT_IDS)
def test_anything_else_is_no_id(text: str) -> None:
    assert parse_id(text) is None


# Space around a typed `<who>` is not part of it ("#12 " is 12); inside it, it is.
@pytest.mark.parametrize(
    "text", [f"#{bad}" for bad in NOT_IDS if bad and bad == bad.strip()] + ["#12 Aqan", "# 12"]
)
def test_a_who_written_as_a_bad_id_names_nobody_by_id_or_name(text: str) -> None:
    who = parse_who(text)
    assert who.person_id is None and who.is_id


def test_ids_from_links_and_buttons_are_as_strict() -> None:
    assert id_reference("12") == Who(person_id=12)
    assert id_reference("²") == Who(text="#²")
    assert id_reference("-1").is_id and id_reference("-1").person_id is None
    long_junk = id_reference("9" * 500)
    assert long_junk.person_id is None and len(long_junk.label) <= MAX_QUERY + 2


@given(st.integers(min_value=1, max_value=MAX_ID))
def test_every_id_in_range_is_read_back(person_id: int) -> None:
    assert parse_id(str(person_id)) == person_id
    assert parse_who(f"#{person_id}") == Who(person_id=person_id)


@given(st.text())
def test_parse_id_accepts_only_ascii_digits_in_range(text: str) -> None:
    person_id = parse_id(text)
    if person_id is not None:
        assert text.isascii() and text.isdigit() and 1 <= person_id <= MAX_ID
        assert int(text) == person_id


@given(st.text(max_size=300))
def test_any_who_is_refused_with_a_reason_or_is_a_valid_reference(text: str) -> None:
    try:
        who = parse_who(text)
    except BadArguments as error:
        assert error.reason in {"error.who_missing", "error.too_long"}
        return
    assert who.person_id is None or 1 <= who.person_id <= MAX_ID
    assert 0 < len(who.label) <= MAX_QUERY + 20


@given(st.text(max_size=100))
def test_any_link_or_button_tail_names_one_id_or_nobody(text: str) -> None:
    who = id_reference(text)
    assert who.is_id
    assert who.person_id == parse_id(text)


def test_who_missing_or_too_long_is_refused() -> None:
    assert _reason(parse_who, "   ") == "error.who_missing"
    assert _reason(parse_who, "x" * 101) == "error.too_long"


def test_query_is_one_line_of_bounded_length() -> None:
    assert parse_query("Sayragul\nSauytbai") == "Sayragul Sauytbai"
    assert _reason(parse_query, "") == "error.usage"
    assert _reason(parse_query, "a" * 200) == "error.too_long"


def test_target_all_or_a_person() -> None:
    assert parse_target("ALL") is None
    assert parse_target("Qaisha") == Who(text="Qaisha")


def test_spellings_canonical_first_without_repeats() -> None:
    assert parse_spellings("Qaisha Aqan; Қайша Ақан ;; Qaisha Aqan; Кайша  Акан") == [
        "Qaisha Aqan",
        "Қайша Ақан",
        "Кайша Акан",
    ]
    assert _reason(parse_spellings, " ; ") == "error.usage"
    assert _reason(parse_spellings, "#5") == "error.name_hash"


def test_sethearing_with_multiword_name_and_place() -> None:
    args = parse_sethearing("Qaisha Aqan 2026-12-03 10:00 Zharkent district court, room 2")
    assert args.who == Who(text="Qaisha Aqan")
    assert args.local_start == datetime(2026, 12, 3, 10, 0)
    assert args.place == "Zharkent district court, room 2"


def test_sethearing_by_id_without_place() -> None:
    args = parse_sethearing("#3 2026-12-03 9:05")
    assert args.who == Who(person_id=3) and args.place is None
    assert args.local_start == datetime(2026, 12, 3, 9, 5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Qaisha 2026-02-30 10:00", "error.bad_datetime"),
        ("Qaisha 2026-12-03 25:00", "error.bad_datetime"),
        ("Qaisha 31.02.2026 10:00", "error.bad_datetime"),
        ("Qaisha 2026/12/03 10:00", "error.usage"),
        ("2026-12-03 10:00", "error.usage"),
        ("Qaisha", "error.usage"),
        ("", "error.usage"),
    ],
)
def test_sethearing_refuses_bad_dates_and_shapes(text: str, reason: str) -> None:
    assert _reason(parse_sethearing, text) == reason


def test_status_with_and_without_source() -> None:
    args = parse_setasylum("Qaisha Aqan refugee https://example.org/news/1")
    assert (args.who, args.status, args.source) == (
        Who(text="Qaisha Aqan"),
        "refugee",
        "https://example.org/news/1",
    )
    args = parse_setdetention("#2 Pretrial_Detention")
    assert (args.who, args.status, args.source) == (Who(person_id=2), "pretrial_detention", None)


def test_sethearing_takes_the_local_date_habit_and_provenance() -> None:
    args = parse_sethearing("Qaisha Aqan 03.12.2026 10:00 court in Zharkent https://ex.org/1 doc")
    assert (args.who, args.local_start, args.place) == (
        Who(text="Qaisha Aqan"),
        datetime(2026, 12, 3, 10, 0),
        "court in Zharkent",
    )
    assert args.provenance == Provenance("https://ex.org/1", Verification.DOCUMENT)


def test_provenance_words_come_last_in_any_order_and_keep_line_breaks() -> None:
    rest, provenance = split_provenance("Qaisha: first line\nsecond --silent media https://e.org")
    assert rest == "Qaisha: first line\nsecond"
    assert provenance == Provenance("https://e.org", Verification.MEDIA, silent=True)
    assert split_provenance("#2 refugee") == ("#2 refugee", Provenance())


def test_a_source_link_without_its_scheme_is_named_as_such() -> None:
    assert _reason(parse_setasylum, "#2 refugee azattyq.org/a/1") == "error.source_scheme"
    assert _reason(parse_setasylum, "#2 refugee www.azattyq.org") == "error.source_scheme"


def test_a_two_word_status_may_be_written_with_a_space_or_a_hyphen() -> None:
    for text in ("Qaisha Aqan house arrest", "Qaisha Aqan House-Arrest"):
        args = parse_setdetention(text)
        assert (args.who, args.status) == (Who(text="Qaisha Aqan"), "house_arrest")


def test_unknown_status_or_missing_person_is_refused() -> None:
    assert _reason(parse_setasylum, "Qaisha jailed") == "error.bad_status"
    assert _reason(parse_setdetention, "Qaisha refugee") == "error.bad_status"
    assert _reason(parse_setasylum, "refugee") == "error.usage"


def test_hearings_windows_in_the_court_time_zone() -> None:
    everything = parse_hearings_window("", now=NOW, tz="Asia/Almaty")
    assert everything.end is None and everything.place is None
    today = parse_hearings_window("today", now=NOW, tz="Asia/Almaty")
    assert today.end == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # midnight in Almaty
    tomorrow = parse_hearings_window("Tomorrow", now=NOW, tz="Asia/Almaty")
    assert tomorrow.start == today.end and tomorrow.end == today.end + timedelta(days=1)
    assert parse_hearings_window("week", now=NOW, tz="Asia/Almaty").end == NOW + timedelta(days=7)
    assert parse_hearings_window("10d", now=NOW, tz="Asia/Almaty").end == NOW + timedelta(days=10)
    assert parse_hearings_window("Zharkent", now=NOW, tz="Asia/Almaty").place == "zharkent"


def test_hearings_day_count_is_bounded() -> None:
    assert _reason(parse_hearings_window, "0d", now=NOW, tz="Asia/Almaty") == "error.bad_days"
    assert _reason(parse_hearings_window, "999d", now=NOW, tz="Asia/Almaty") == "error.bad_days"


def test_reminder_offsets_largest_first_without_repeats() -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    assert parse_offsets("7d,1d,1h") == (7 * day, day, hour)
    assert parse_offsets(" 1H, 7d 1d;30m ") == (7 * day, day, hour, timedelta(minutes=30))
    assert parse_offsets("1h,60m,1h") == (hour,)  # the same time written twice
    assert parse_offsets("OFF") == ()
    assert parse_offsets("30d,5m") == (30 * day, timedelta(minutes=5))


def test_reminder_offsets_refused_with_the_reason() -> None:
    assert _reason(parse_offsets, "   ") == "error.usage"
    assert _reason(parse_offsets, "tomorrow") == "error.bad_offset"
    assert _reason(parse_offsets, "1w") == "error.bad_offset"
    assert _reason(parse_offsets, "1d,off") == "error.bad_offset"
    assert _reason(parse_offsets, "-1h") == "error.bad_offset"
    assert _reason(parse_offsets, "31d") == "error.offset_range"
    assert _reason(parse_offsets, "0m") == "error.offset_range"
    assert _reason(parse_offsets, "4m") == "error.offset_range"
    assert _reason(parse_offsets, "1m,2h,3h,4h,5h,6h,7h") == "error.offset_range"
    assert _reason(parse_offsets, "1h,2h,3h,4h,5h,6h,7h") == "error.too_many_offsets"
