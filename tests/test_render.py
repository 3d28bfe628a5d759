"""Rendering: what each message says, escaped, in the reader's language, within the limit."""

import json
from datetime import UTC, datetime, timedelta

from handlers.render import (
    MAX_MESSAGE,
    fit,
    format_partial_date,
    render_hearings,
    render_person_card,
    render_push,
    render_reminder_offsets,
)
from storage.models import Case, Event, Hearing, Person
from storage.people import HearingSlot, PersonCard

MOVED = Event(
    id=1,
    person_id=1,
    kind="hearing_moved",
    old_value=json.dumps(
        {
            "starts_at": "2026-11-20T05:00:00+00:00",
            "tz": "Asia/Almaty",
            "place": "court in Zharkent",
        }
    ),
    new_value=json.dumps(
        {
            "starts_at": "2026-12-03T05:00:00+00:00",
            "tz": "Asia/Almaty",
            "place": "court in Zharkent",
        }
    ),
    source="https://example.org/news?id=1&x=2",
    dedup_key="k",
)


def _person(**fields: object) -> Person:
    values: dict[str, object] = {"id": 1, "name": "Qaisha Aqan"}
    values.update(fields)
    return Person(**values)


def _card(person: Person, **fields: object) -> PersonCard:
    values: dict[str, object] = {
        "person": person,
        "spellings": [person.name, "Қайша Ақан"],
        "sources": [],
        "case": None,
        "next_hearing": None,
        "last_event": None,
    }
    values.update(fields)
    return PersonCard(**values)  # type: ignore[arg-type]


def test_push_about_moved_hearing_shows_new_and_earlier_time_in_court_time() -> None:
    text = render_push([MOVED], _person(), "en")
    assert "<b>Qaisha Aqan</b> #1" in text
    assert "next hearing moved to <b>Thu 3 Dec 2026, 10:00, court in Zharkent</b>" in text
    assert "(was Fri 20 Nov 2026, 10:00, court in Zharkent)" in text
    assert 'href="https://example.org/news?id=1&amp;x=2"' in text


def test_push_is_in_the_readers_language() -> None:
    russian = render_push([MOVED], _person(), "ru")
    kazakh = render_push([MOVED], _person(), "kk")
    assert "дек" in russian and "moved" not in russian
    assert "moved" not in kazakh and "2026" in kazakh


def test_status_push_names_old_and_new_status() -> None:
    event = Event(
        person_id=1,
        kind="asylum_changed",
        old_value=json.dumps({"status": "asylum_seeker", "since": None}),
        new_value=json.dumps({"status": "refugee", "since": "2026-11-29"}),
        dedup_key="k",
    )
    text = render_push([event], _person(), "en")
    assert "asylum status is now <b>refugee</b> (was asylum seeker)" in text


def test_card_shows_statuses_with_dates_case_next_hearing_and_last_change() -> None:
    person = _person(
        detention="pretrial_detention",
        detention_since="2026-10",
        asylum="asylum_seeker",
        asylum_note="granted “last month”",
    )
    case = Case(
        id=1,
        person_id=1,
        court="court in Zharkent",
        city="Zharkent",
        charge="illegal border crossing",
        stage="trial",
    )
    hearing = Hearing(id=1, case_id=1, starts_at=datetime(2026, 12, 3, 5, 0, tzinfo=UTC))
    card = _card(
        person,
        case=case,
        next_hearing=HearingSlot(hearing=hearing, case=case, person=person),
        last_event=MOVED,
    )
    text = render_person_card(card, "en")
    assert "Also written: Қайша Ақан" in text
    assert "Detention: <b>pretrial detention</b> since October 2026" in text
    assert "Asylum: <b>asylum seeker</b> — <i>granted “last month”</i>" in text
    assert "Case: illegal border crossing, court in Zharkent\n" in text
    assert "Stage: trial" in text
    assert "Next hearing: <b>Thu 3 Dec 2026, 10:00, court in Zharkent</b>" in text
    assert "Last change: next hearing moved" in text and "Source:" in text


def test_card_says_a_source_once_and_a_city_its_court_names_not_again() -> None:
    person = _person(asylum="refugee", asylum_since="2026-12-02")
    case = Case(id=1, person_id=1, court="Жаркентский районный суд", city="жаркент")
    sources = [MOVED.source or "", "https://example.org/other"]
    card = _card(person, case=case, last_event=MOVED, sources=sources)

    text = render_person_card(card, "kk")

    assert text.count("https://example.org/news?id=1&amp;x=2</a>") == 1
    assert 'Дереккөздер: <a href="https://example.org/other">' in text
    assert "Іс: Жаркентский районный суд\n" in text  # noqa: RUF001
    assert "<b>босқын</b> 2026 жылғы 2 желтоқсаннан бастап" in text


def test_stored_values_are_html_escaped() -> None:
    person = _person(name="<b>Eve</b> & co", asylum_note="<script>")
    text = render_person_card(_card(person, spellings=[person.name]), "en")
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in text
    assert "<script>" not in text


def test_card_stays_under_telegram_limit_however_long_the_notes() -> None:
    person = _person(asylum_note="word " * 2000)
    assert len(render_person_card(_card(person), "en")) <= MAX_MESSAGE


def test_fit_cuts_at_a_line_boundary() -> None:
    text = "\n".join(f"line {n}" for n in range(2000))
    cut = fit(text, 100)
    assert len(cut) <= 100 and cut.endswith("…")
    assert all(line.startswith("line ") for line in cut[:-1].split("\n"))


def test_hearing_list_is_soonest_first_as_given_and_says_when_empty() -> None:
    assert render_hearings([], {}, "en") == "No upcoming hearings found."
    person = _person()
    case = Case(id=1, person_id=1, court="court in Almaty", tz="Asia/Almaty")
    slots = [
        HearingSlot(
            hearing=Hearing(case_id=1, starts_at=datetime(2026, 12, day, 4, 0, tzinfo=UTC)),
            case=case,
            person=person,
        )
        for day in (1, 2)
    ]
    text = render_hearings(slots, {}, "en")
    assert text.index("1 Dec 2026, 09:00") < text.index("2 Dec 2026, 09:00")


def test_partial_dates_keep_only_what_is_known() -> None:
    assert format_partial_date("2018", "en") == "2018"
    assert format_partial_date("2018-08", "en") == "August 2018"
    assert format_partial_date("2018-08-14", "en") == "14 Aug 2018"
    assert format_partial_date("2018-08", "ru") == "августа 2018 г."  # noqa: RUF001


def _reminder(offset: str, left: timedelta) -> Event:
    """A reminder written `left` before a hearing on 3 Dec 2026 at 10:00 in Almaty."""
    starts_at = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
    value = {
        "hearing_id": 1,
        "starts_at": starts_at.isoformat(),
        "tz": "Asia/Almaty",
        "place": "court in Zharkent",
        "offset": offset,
    }
    return Event(
        id=2,
        person_id=1,
        kind="reminder",
        new_value=json.dumps(value),
        effective_at=starts_at - left,
        dedup_key="r",
    )


def test_reminder_says_how_soon_and_when_in_the_courts_time() -> None:
    text = render_push([_reminder("1d", timedelta(hours=23, minutes=59))], _person(), "en")
    assert "reminder: hearing in 1 day, <b>Thu 3 Dec 2026, 10:00, court in Zharkent</b>" in text
    assert "in 7 days" in render_push([_reminder("7d", timedelta(days=7))], _person(), "en")


def test_reminder_that_goes_late_says_the_time_really_left() -> None:
    def said(offset: str, left: timedelta) -> str:
        return render_push([_reminder(offset, left)], _person(), "en")

    assert "hearing in 30 minutes" in said("1h", timedelta(minutes=29, seconds=40))
    assert "hearing in 5 hours" in said("1d", timedelta(hours=5, minutes=10))
    assert "hearing in 3 days" in said("7d", timedelta(days=3, hours=2))


def test_reminder_in_russian_and_kazakh_agrees_with_its_number() -> None:
    def said(offset: str, left: timedelta, language: str) -> str:
        return render_push([_reminder(offset, left)], _person(), language)

    assert "заседание через 1 день" in said("1d", timedelta(days=1), "ru")
    assert "через 2 часа" in said("2h", timedelta(hours=2), "ru")
    assert "через 21 минуту" in said("1h", timedelta(minutes=21), "ru")
    assert "3 дек. 2026" in said("1d", timedelta(days=1), "ru")
    assert "сот отырысы 1 күннен кейін" in said("1d", timedelta(days=1), "kk")


def test_reminder_times_are_listed_or_said_to_be_off() -> None:
    day, hour = timedelta(days=1), timedelta(hours=1)
    assert "7 days, 1 day and 1 hour before" in render_reminder_offsets((7 * day, day, hour), "en")
    assert "остаётся 1 день и 90 минут" in render_reminder_offsets((day, 90 * hour / 60), "ru")
    assert "No hearing reminders" in render_reminder_offsets((), "en")
