"""Rendering: what each message says, escaped, in the reader's language, within the limit."""

import json
from datetime import UTC, datetime, timedelta

from handlers.i18n import t
from handlers.render import (
    MAX_MESSAGE,
    fit,
    format_partial_date,
    net_changes,
    render_digest,
    render_hearings,
    render_history,
    render_nobody,
    render_person_card,
    render_push,
    render_refusal,
    render_reminder_offsets,
    render_watch_match,
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


# --- provenance and net changes ----------------------------------------------------------


def _at(day: int, hour: int = 5) -> dict[str, object]:
    """A hearing's stored value: `day` December 2026 at `hour` UTC (+5 h in Almaty)."""
    starts_at = datetime(2026, 12, day, hour, 0, tzinfo=UTC).isoformat()
    return {"hearing_id": 1, "starts_at": starts_at, "tz": "Asia/Almaty", "place": "Zharkent"}


def _change(
    kind: str,
    old: dict[str, object] | None,
    new: dict[str, object],
    event_id: int = 1,
    **fields: object,
) -> Event:
    return Event(
        id=event_id,
        person_id=1,
        kind=kind,
        old_value=json.dumps(old) if old else None,
        new_value=json.dumps(new),
        dedup_key=f"k{event_id}",
        **fields,
    )


def _status(
    old: str, new: str, event_id: int = 1, kind: str = "asylum_changed", **fields: object
) -> Event:
    return _change(kind, {"status": old}, {"status": new}, event_id, **fields)


def test_push_says_the_source_and_the_verification_level_in_the_readers_language() -> None:
    event = _status(
        "asylum_seeker",
        "refugee",
        source="https://example.org/ruling?a=1&b=2",
        verification="document",
    )
    english = render_push([event], _person(), "en")
    assert (
        'Source: <a href="https://example.org/ruling?a=1&amp;b=2">'
        "https://example.org/ruling?a=1&amp;b=2</a> · confirmed by a document"
    ) in english
    assert "Источник: <a" in render_push([event], _person(), "ru")
    assert "подтверждено документом" in render_push([event], _person(), "ru")
    assert "Дереккөз: <a" in render_push([event], _person(), "kk")
    assert "құжатпен расталған" in render_push([event], _person(), "kk")


def test_each_verification_level_is_said_in_words() -> None:
    said = {
        "relative": (
            "confirmed by a relative or the lawyer",
            "подтверждено родственником или адвокатом",
        ),
        "media": ("reported by the media", "по сообщениям СМИ"),
        "unverified": ("not verified", "не проверено"),
    }
    for level, (english, russian) in said.items():
        event = _status("none", "applied")
        event.verification = level
        assert f"No source given · {english}" in render_push([event], _person(), "en")
        assert f"Источник не указан · {russian}" in render_push([event], _person(), "ru")


def test_a_change_without_a_source_says_so_and_a_level_not_given_is_not_guessed() -> None:
    text = render_push([_status("asylum_seeker", "refugee")], _person(), "en")
    assert text.endswith("(was asylum seeker).\nNo source given")
    assert "Дереккөз көрсетілмеген" in render_push([_status("none", "applied")], _person(), "kk")


def test_a_reminder_is_not_a_change_and_says_no_source() -> None:
    text = render_push([_reminder("1d", timedelta(days=1))], _person(), "en")
    assert "Source" not in text and "No source" not in text


def test_two_moves_of_one_hearing_are_one_line_from_the_first_old_to_the_last_new() -> None:
    first = _change("hearing_moved", _at(1), _at(3), 1, source="https://a.example/1")
    second = _change("hearing_moved", _at(3), _at(7), 2, verification="relative")
    text = render_push([first, second], _person(), "en")
    assert text.count("next hearing moved") == 1 and "•" not in text
    assert "moved to <b>Mon 7 Dec 2026, 10:00, Zharkent</b>" in text
    assert "(was Tue 1 Dec 2026, 10:00, Zharkent)" in text
    assert "3 Dec" not in text
    # Followers are told the value the last change set, and where that one came from.
    assert text.endswith("No source given · confirmed by a relative or the lawyer")


def test_a_hearing_set_and_then_moved_is_told_as_set_at_its_final_time() -> None:
    set_ = _change("hearing_set", None, _at(3), 1)
    moved = _change("hearing_moved", _at(3), _at(9), 2)
    text = render_push([set_, moved], _person(), "en")
    assert "hearing set for <b>Wed 9 Dec 2026, 10:00, Zharkent</b>." in text
    assert "moved" not in text and "was" not in text


def test_two_status_changes_of_one_field_are_one_line_and_other_fields_stay_apart() -> None:
    changes = [
        _status("asylum_seeker", "rejected", 1),
        _status("free", "pretrial_detention", 2, kind="detention_changed"),
        _status("rejected", "appeal", 3),
    ]
    netted = net_changes(changes)
    assert [(change.first.id, change.last.id) for change in netted] == [(1, 3), (2, 2)]
    text = render_push(changes, _person(), "en")
    lines = text.split("\n")
    assert lines[1] == (
        "• asylum status is now <b>appealing the asylum decision</b> (was asylum seeker)."
    )
    assert lines[3].startswith("• detention status is now <b>pretrial detention</b>")
    assert "rejected" not in text


def test_a_change_taken_back_inside_its_window_is_left_out_or_said_to_stay() -> None:
    there = _change("hearing_moved", _at(1), _at(3), 1)
    back = _change("hearing_moved", _at(3), _at(1), 2)
    status = _status("free", "house_arrest", 3, kind="detention_changed")
    netted = net_changes([there, back, status])
    assert [change.unchanged for change in netted] == [True, False]
    text = render_push([there, back, status], _person(), "en")
    assert "hearing" not in text and "house arrest" in text
    alone = render_push(
        [_status("refugee", "rejected", 1), _status("rejected", "refugee", 2)], _person(), "ru"
    )
    assert "статус убежища не изменился: <b>беженец</b>" in alone
    assert "next hearing stays at <b>Tue 1 Dec 2026" in render_push([there, back], _person(), "en")


def test_moves_of_two_hearings_are_told_apart() -> None:
    other = {**_at(5), "hearing_id": 2}
    first = _change("hearing_moved", _at(1), _at(3), 1)
    second = _change("hearing_moved", {**_at(4), "hearing_id": 2}, other, 2)
    assert len(net_changes([first, second])) == 2
    assert render_push([first, second], _person(), "en").count("• next hearing moved") == 2


def test_one_change_alone_is_its_own_net_change() -> None:
    (only,) = net_changes([MOVED])
    assert only.first is only.last is MOVED and not only.unchanged


def test_card_shows_where_its_last_change_comes_from() -> None:
    event = _status("asylum_seeker", "refugee")
    event.verification = "media"
    text = render_person_card(_card(_person(asylum="refugee"), last_event=event), "en")
    assert "Last change: asylum status is now <b>refugee</b>" in text
    assert "\nNo source given · reported by the media" in text
    sourced = render_person_card(_card(_person(), last_event=MOVED), "ru")
    assert 'Источник: <a href="https://example.org/news?id=1&amp;x=2">' in sourced


def test_history_marks_a_correction_and_says_each_changes_provenance() -> None:
    fixed = _status("refugee", "asylum_seeker", 2)
    fixed.correction = True
    fixed.effective_at = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    told = _status(
        "asylum_seeker",
        "refugee",
        1,
        source="https://example.org/1",
        verification="document",
        effective_at=datetime(2026, 12, 1, 6, 0, tzinfo=UTC),
    )
    text = render_history(_person(), [], [fixed, told], "Asia/Almaty", "en")
    lines = text.split("\n")
    assert lines[1].endswith("<i>(correction, followers were not told)</i>")
    assert lines[2] == "No source given"
    assert "correction" not in lines[3]
    assert lines[4].endswith("· confirmed by a document")
    russian = render_history(_person(), [], [fixed], "Asia/Almaty", "ru")
    assert "(исправление, подписчики не уведомлялись)" in russian


def test_an_unknown_status_lists_the_statuses_of_its_own_command() -> None:
    asylum = render_refusal("setasylum", "error.bad_status", "en")
    assert asylum.startswith("Unknown asylum status.")
    assert "<code>asylum_seeker</code> — asylum seeker" in asylum and "house_arrest" not in asylum
    detention = render_refusal("setdetention", "error.bad_status", "kk")
    assert detention.startswith("Мұндай қамау мәртебесі жоқ.")
    assert "<code>house_arrest</code> — үйқамақ" in detention and "refugee" not in detention
    assert render_refusal("sethearing", "error.too_long", "en") == t("en", "error.too_long")


def test_an_id_nobody_has_is_said_as_a_number_and_a_name_as_a_name() -> None:
    assert render_nobody("#999", "en") == "No person has the number #999."
    assert render_nobody("#999", "ru") == "Нет лица с номером #999."  # noqa: RUF001
    assert render_nobody("<Eve>", "en").startswith("Nobody found for “&lt;Eve&gt;”")


def test_digest_and_watch_match_say_each_changes_provenance() -> None:
    person = _person()
    sourced = _status("none", "applied", source="https://example.org/d", verification="media")
    digest = render_digest([(person, [sourced], []), (person, [MOVED], [])], "en")
    assert 'Source: <a href="https://example.org/d">https://example.org/d</a>' in digest
    assert "· reported by the media" in digest
    assert digest.count("Source: ") == 2
    added = _change("person_added", None, {"name": "Qaisha Aqan"})
    match = render_watch_match("Qaisha", [added], person, "kk")
    assert match.endswith("Дереккөз көрсетілмеген")
