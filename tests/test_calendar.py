# ruff: noqa: RUF001  (Russian and Kazakh texts in the files are what is tested here)
"""/calendar: hearings as an .ics file that calendar apps keep up to date (parsed back here)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.localapi import SentMessage, User
from handlers.buttons import button_data
from handlers.calendar import calendar_filename
from handlers.context import SERVICES
from handlers.i18n import t
from handlers.ical import hearing_uid, render_calendar
from storage.calendar import KEPT_AFTER, followed_hearings, person_hearings
from storage.engine import create_engine, session_scope
from storage.following import subscribe
from storage.models import Case, Chat, Hearing, HearingStatus, Person, Subscription, Visibility
from storage.people import (
    HearingSlot,
    add_case,
    add_hearing,
    add_person,
    get_person_by_name,
    undo_last_change,
)
from storage.visibility import set_visibility
from tests.e2e import EDITOR, FOLLOWER, GROUP, KAZAKH, RUSSIAN, STRANGER, Story, story
from tests.factories import call_off_hearing, change_hearing

KEY = b"calendar test key"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _slot(
    hearing_id: int = 5,
    *,
    name: str = "Qaisha Aqan",
    tz: str = "Asia/Almaty",
    local: datetime = datetime(2026, 12, 20, 10, 0),
    status: str = HearingStatus.SCHEDULED,
    sequence: int = 0,
) -> HearingSlot:
    """A hearing in memory, at `local` time in the court's zone `tz`."""
    starts_at = local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    return HearingSlot(
        hearing=Hearing(
            id=hearing_id,
            case_id=1,
            starts_at=starts_at,
            place="court in Zharkent",
            kind="trial",
            status=status,
            sequence=sequence,
        ),
        case=Case(
            id=1,
            person_id=1,
            court="court in Zharkent",
            city="Zharkent",
            tz=tz,
            charge="illegal border crossing",
            case_number="2-118/2026",
        ),
        person=Person(id=1, name=name),
    )


def _ics(
    slots: list[HearingSlot],
    language: str,
    *,
    now: datetime = NOW,
    spellings: dict[int, list[str]] | None = None,
) -> bytes:
    return render_calendar(slots, language, key=KEY, now=now, spellings=spellings or {})


def _events(ics: bytes) -> list[Event]:
    return list(Calendar.from_ical(ics).walk("VEVENT"))


# --- the file, built alone ----------------------------------------------------------------


def test_each_hearing_is_at_its_courts_local_time_with_the_zone_defined() -> None:
    almaty = _slot(1)
    berlin = _slot(2, tz="Europe/Berlin", local=datetime(2027, 3, 29, 9, 30))

    calendar = Calendar.from_ical(_ics([almaty, berlin], "en"))

    starts = [event.decoded("DTSTART") for event in calendar.walk("VEVENT")]
    assert [(start.tzinfo.key, start.hour, start.minute) for start in starts] == [
        ("Asia/Almaty", 10, 0),
        ("Europe/Berlin", 9, 30),  # summer time, from the zone's own rules
    ]
    assert starts[1] == datetime(2027, 3, 29, 7, 30, tzinfo=UTC)
    zones = {str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")}
    assert zones == {"Asia/Almaty", "Europe/Berlin"}
    assert [event["DURATION"].dt for event in calendar.walk("VEVENT")] == [timedelta(hours=1)] * 2


def test_a_hearing_keeps_its_uid_in_every_file_and_the_uid_tells_nothing() -> None:
    first = _events(_ics([_slot(5)], "en"))
    later = _events(_ics([_slot(7), _slot(5)], "ru", now=NOW + timedelta(days=3)))

    uid = str(first[0]["UID"])
    assert uid == str(later[1]["UID"]) == hearing_uid(KEY, 5)
    assert uid != str(later[0]["UID"])
    assert uid.endswith("@casewatch") and len(uid.partition("@")[0]) == 32
    assert hearing_uid(b"another key", 5) != uid  # not derived from the id alone
    assert first[0].decoded("DTSTAMP") == NOW


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (HearingStatus.SCHEDULED, "CONFIRMED"),
        (HearingStatus.HELD, "CONFIRMED"),
        (HearingStatus.CANCELLED, "CANCELLED"),
        (HearingStatus.POSTPONED, "CANCELLED"),
    ],
)
def test_called_off_hearings_stay_in_the_file_as_cancelled(status: str, shown: str) -> None:
    (event,) = _events(_ics([_slot(status=status, sequence=3)], "en"))

    assert str(event["STATUS"]) == shown
    assert event["SEQUENCE"] == 3


def test_summary_location_and_description_in_the_readers_language() -> None:
    for language, summary, line in [
        ("en", "Court hearing: Qaisha Aqan", "Charge: illegal border crossing"),
        ("ru", "Судебное заседание: Qaisha Aqan", "Номер дела: 2-118/2026"),
        ("kk", "Сот отырысы: Qaisha Aqan", "Сот: court in Zharkent"),
    ]:
        (event,) = _events(_ics([_slot()], language))
        assert str(event["SUMMARY"]) == summary
        assert line in str(event["DESCRIPTION"]).splitlines()
        assert str(event["LOCATION"]) == "court in Zharkent"  # the city is in it already
    (event,) = _events(_ics([_slot(status="postponed")], "ru"))
    assert str(event["SUMMARY"]) == "Заседание отложено: Qaisha Aqan"


def test_each_reader_gets_the_name_in_their_script_where_one_is_stored() -> None:
    spellings = {1: ["Qaisha Aqan", "Қайша Ақан", "Кайша Акан"]}

    summaries = [
        str(_events(_ics([_slot()], language, spellings=spellings))[0]["SUMMARY"])
        for language in ("en", "ru", "kk")
    ]

    assert summaries == [
        "Court hearing: Qaisha Aqan",
        "Судебное заседание: Кайша Акан",
        "Сот отырысы: Қайша Ақан",
    ]


def test_odd_names_come_back_exactly_as_written() -> None:
    name = 'Ä, "B"; C\\D\nE: 阿依夏 🙂 <b>&amp;'

    ics = _ics([_slot(name=name)], "en")

    (event,) = _events(ics)
    assert str(event["SUMMARY"]) == f"Court hearing: {name}"
    assert b"\\;" in ics and b"\\," in ics and b"\\n" in ics  # escaped, as RFC 5545 wants
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))  # folded lines


def test_the_file_name_is_the_persons_name_in_any_script() -> None:
    assert calendar_filename(Person(id=3, name="Qaisha Aqan")) == "Qaisha-Aqan.ics"
    assert calendar_filename(Person(id=3, name="Қайша Ақан")) == "Қайша-Ақан.ics"
    assert calendar_filename(Person(id=3, name="../etc/passwd")) == "etc-passwd.ics"
    assert calendar_filename(Person(id=3, name="???")) == "person-3.ics"


# --- what is stored: the sequence, and which hearings a file holds ------------------------


async def test_moving_a_hearing_raises_its_sequence_and_setting_the_same_time_does_not(
    engine: AsyncEngine,
) -> None:
    when = datetime(2027, 1, 10, 10, 0)
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1)
        await change_hearing(session, person, when)
    hearing_id = await _only_hearing(engine)
    async with session_scope(engine) as session:
        person = await get_person_by_name(session=session, name="Qaisha Aqan")
        await change_hearing(session, person, when)  # the same time again
        assert (await session.get(Hearing, hearing_id)).sequence == 0  # type: ignore[union-attr]
        await change_hearing(session, person, when + timedelta(days=2))
        assert (await session.get(Hearing, hearing_id)).sequence == 1  # type: ignore[union-attr]
    async with session_scope(engine) as session:
        assert (await undo_last_change(session=session, actor_id=1)).event is not None
        moved_back = await session.get(Hearing, hearing_id)
        assert moved_back is not None and moved_back.sequence == 2
        assert moved_back.starts_at == when.replace(tzinfo=ZoneInfo("Asia/Almaty"))
        cancelled = await call_off_hearing(session, hearing_id)
        assert (cancelled.status, cancelled.sequence) == ("cancelled", 3)


async def _only_hearing(engine: AsyncEngine) -> int:
    async with session_scope(engine) as session:
        (hearing_id,) = (await session.exec(select(Hearing.id))).all()
    assert hearing_id is not None
    return hearing_id


async def test_a_chat_gets_the_hearings_of_whom_it_follows_by_name_court_city_or_all(
    engine: AsyncEngine,
) -> None:
    soon = NOW + timedelta(days=5)
    async with session_scope(engine) as session:
        ids = {}
        for name, court, city in [
            ("by name", "court A", "City A"),
            ("at court", "court B", "City B"),
            ("in city", "court C", "City C"),
            ("elsewhere", "court D", "City D"),
            ("hidden", "court B", "City B"),
        ]:
            person = await add_person(session=session, name=name, actor_id=1)
            case = await add_case(session=session, person_id=person.id, court=court, city=city)
            await add_hearing(session=session, case_id=case.id, starts_at=soon)
            ids[name] = person.id
        hidden = await session.get(Person, ids["hidden"])
        await set_visibility(
            session=session, person=hidden, visibility=Visibility.RESTRICTED, actor_id=1, now=NOW
        )
        old = await add_case(session=session, person_id=ids["elsewhere"], court="court Z")
        await add_hearing(session=session, case_id=old.id, starts_at=NOW - KEPT_AFTER * 2)
        await add_hearing(session=session, case_id=old.id, date_note="in the spring")
        session.add(Chat(id=1))
        await session.flush()
        await subscribe(session=session, chat_id=1, person_id=ids["by name"])
        await subscribe(session=session, chat_id=1, person_id=ids["hidden"])
        for scope, place in [("court", "court B"), ("city", "City C")]:
            session.add(Subscription(chat_id=1, scope=scope, place=place))

    async def names(include_restricted: bool) -> list[str]:
        async with session_scope(engine) as session:
            found = await followed_hearings(
                session=session, chat_id=1, include_restricted=include_restricted, now=NOW
            )
        return sorted(slot.person.name for slot in found.slots)

    assert await names(False) == ["at court", "by name", "in city"]
    assert await names(True) == ["at court", "by name", "hidden", "in city"]
    async with session_scope(engine) as session:
        elsewhere = await person_hearings(session=session, person_id=ids["elsewhere"], now=NOW)
    assert (len(elsewhere.slots), elsewhere.undated) == (1, 1)  # the old one is left out


# --- end to end ---------------------------------------------------------------------------


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


def _next_month() -> datetime:
    return (datetime.now(ZoneInfo("Asia/Almaty")) + timedelta(days=30)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )


async def _file(bot: Story, user: User, text: str = "/calendar", **chat: object) -> SentMessage:
    sent = await bot.say(user, text, **chat)  # type: ignore[arg-type]
    assert sent.method == "sendDocument", sent.text
    assert sent.document is not None
    return sent


async def test_calendar_of_followed_people_moves_a_moved_hearing(bot: Story) -> None:
    first = _next_month()
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {first:%Y-%m-%d %H:%M} Zharkent court")

    sent = await _file(bot, FOLLOWER)
    (event,) = _events(sent.document or b"")
    assert sent.document_filename == "casewatch.ics"
    assert sent.text == "1 court hearing in this file. Open it in your calendar app."
    assert str(event["SUMMARY"]) == "Court hearing: Qaisha Aqan"
    assert str(event["LOCATION"]) == "Zharkent court"
    assert event.decoded("DTSTART") == first
    assert str(event.decoded("DTSTART").tzinfo) == "Asia/Almaty"

    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {first + timedelta(days=3):%Y-%m-%d} 15:00")
    (moved,) = _events((await _file(bot, FOLLOWER)).document or b"")
    assert moved["UID"] == event["UID"]
    assert moved["SEQUENCE"] > event["SEQUENCE"]
    assert moved.decoded("DTSTART") == (first + timedelta(days=3)).replace(hour=15)


async def test_a_cancelled_hearing_stays_in_the_file_as_cancelled(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe all")
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")
    await bot.say(EDITOR, f"/sethearing Qaster Musakhanuly {_next_month():%Y-%m-%d} 11:00")
    before = {str(e["SUMMARY"]): e for e in _events((await _file(bot, FOLLOWER)).document or b"")}
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        qaisha = await get_person_by_name(session=session, name="Qaisha Aqan")
        statement = (
            select(Hearing.id)
            .join(Case)
            .where(
                Case.person_id == qaisha.id,  # type: ignore[union-attr]
                col(Hearing.starts_at).is_not(None),
            )
        )
        await call_off_hearing(session, (await session.exec(statement)).one())  # type: ignore[arg-type]
    await engine.dispose()

    sent = await _file(bot, FOLLOWER)
    after = {str(e["UID"]): e for e in _events(sent.document or b"")}
    cancelled = after[str(before["Court hearing: Qaisha Aqan"]["UID"])]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert str(cancelled["SUMMARY"]) == "Hearing cancelled: Qaisha Aqan"
    assert cancelled["SEQUENCE"] == before["Court hearing: Qaisha Aqan"]["SEQUENCE"] + 1
    assert str(after[str(before["Court hearing: Qaster Musakhanuly"]["UID"])]["STATUS"]) == (
        "CONFIRMED"
    )
    assert sent.text == "2 court hearings in this file. Open it in your calendar app."


async def test_a_city_followed_brings_the_hearings_of_every_case_there(bot: Story) -> None:
    followed = await bot.say(FOLLOWER, "/subscribe city Zharkent")
    assert (followed.text or "").startswith("You now follow every case in this city")
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")  # Zharkent
    await bot.say(EDITOR, f"/sethearing Qaster Musakhanuly {_next_month():%Y-%m-%d} 11:00")

    (event,) = _events((await _file(bot, FOLLOWER)).document or b"")
    assert str(event["SUMMARY"]) == "Court hearing: Qaisha Aqan"


async def test_calendar_of_one_person_and_of_nobody(bot: Story, database_url: str) -> None:
    nothing = await bot.say(STRANGER, "/calendar")
    assert nothing.method == "sendMessage"
    assert (nothing.text or "").startswith("No upcoming hearings of the people this chat follows")
    engine = create_engine(database_url)
    async with session_scope(engine) as session:  # a date known only in words
        await add_hearing(session=session, case_id=1, date_note="after the New Year")
    await engine.dispose()
    none_yet = await bot.say(STRANGER, "/calendar Qaisha Aqan")
    assert none_yet.text == (
        "<b>Qaisha Aqan</b> #1\nNo upcoming hearings known.\n"
        "1 hearing without an exact date and time cannot go in a calendar."
    )
    await bot.say(EDITOR, f"/sethearing Кайша Акан {_next_month():%Y-%m-%d} 10:00")

    sent = await _file(bot, STRANGER, "/calendar Кайша Акан")
    assert sent.document_filename == "Qaisha-Aqan.ics"
    assert sent.text == (
        "<b>Qaisha Aqan</b> #1\n1 court hearing in this file. Open it in your calendar app.\n"
        "1 hearing without an exact date and time cannot go in a calendar."
    )
    assert "/calendar [&lt;name or #id&gt;] — upcoming hearings" in (
        (await bot.say(STRANGER, "/help")).text or ""
    )
    nobody = await bot.say(STRANGER, "/calendar Nursultan Nazarbayev")
    assert "Nobody found" in (nobody.text or "")
    too_long = await bot.say(STRANGER, "/calendar " + "x" * 300)
    assert "/calendar [&lt;name or #id&gt;]" in (too_long.text or "")


async def test_the_cards_calendar_button_and_forged_or_stale_ones(bot: Story) -> None:
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")
    card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
    key = bot.application.bot_data[SERVICES].button_key

    def answers() -> list[str | None]:
        return [answer.text for answer in bot.api.callback_answers]

    (calendar_button,) = [data for data in card.callback_data if data.startswith("cal:")]
    assert calendar_button == button_data(key, "cal", 1)
    await bot.api.user_presses(FOLLOWER, card, calendar_button)
    sent = (await bot.api.wait_for_messages(FOLLOWER.id, 2))[1]
    assert sent.method == "sendDocument" and sent.document_filename == "Qaisha-Aqan.ics"
    assert len(_events(sent.document or b"")) == 1

    for count, data in enumerate(
        ["cal:1:forgedsig", button_data(key, "cal", 999999), button_data(key, "x", 1)], start=2
    ):
        await bot.api.user_presses(FOLLOWER, card, data, check_button=False)
        await bot.api.wait_until(lambda: len(answers()) == count)  # noqa: B023  (awaited here)
    forged, gone = t("en", "conversation.stale_button"), t("en", "button.gone")
    assert answers() == [None, forged, gone, forged]


async def test_restricted_people_only_in_an_editors_private_chat_never_in_groups(
    bot: Story,
) -> None:
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")
    await bot.say(EDITOR, "/subscribe Qaisha Aqan")
    bot.api.set_administrators(GROUP.id, [EDITOR.id])
    await bot.say(EDITOR, "/subscribe #1", chat=GROUP)
    assert len(_events((await _file(bot, FOLLOWER, "/calendar", chat=GROUP)).document or b""))
    await bot.say(EDITOR, "/setvisibility Qaisha Aqan restricted")
    key = bot.application.bot_data[SERVICES].button_key

    assert len(_events((await _file(bot, EDITOR)).document or b"")) == 1
    in_group = await bot.say(FOLLOWER, "/calendar", chat=GROUP)
    assert in_group.method == "sendMessage"  # the group's follow from before shows nothing
    by_id = await bot.say(EDITOR, "/calendar #1", chat=GROUP)
    assert by_id.text == "No person has the number #1."
    group_card = await bot.say(FOLLOWER, "/person Sairagul Sauytbay", chat=GROUP)
    await bot.api.user_presses(
        FOLLOWER, group_card, button_data(key, "cal", 1), check_button=False
    )
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) == 1)
    assert bot.api.callback_answers[0].text == t("en", "button.gone")


async def test_russian_and_kazakh_get_the_file_in_their_language(bot: Story) -> None:
    await bot.say(EDITOR, f"/sethearing Qaisha Aqan {_next_month():%Y-%m-%d} 10:00")
    for user, summary, caption in [
        (
            RUSSIAN,
            "Судебное заседание: Қайша Ақан",  # her name as stored in Cyrillic
            "В этом файле 1 судебное заседание. Откройте его в приложении календаря.",
        ),
        (
            KAZAKH,
            "Сот отырысы: Қайша Ақан",
            "Бұл файлда 1 сот отырысы бар. Оны күнтізбе қосымшасында ашыңыз.",
        ),
    ]:
        await bot.say(user, "/subscribe all")
        sent = await _file(bot, user)
        (event,) = _events(sent.document or b"")
        assert (str(event["SUMMARY"]), sent.text) == (summary, caption)
        nothing = await bot.say(user, "/calendar Sairagul Sauytbay")
        assert nothing.text == (
            "<b>Сайрагүл Сауытбай</b> #4\n" + t(user.language_code or "", "calendar.none_person")
        )


@pytest.mark.parametrize(
    ("user", "start"),
    [
        (FOLLOWER, "Calendar feeds that a calendar app refreshes by itself are not available"),
        (RUSSIAN, "Календарные подписки, которые приложение календаря обновляет само"),
        (KAZAKH, "Күнтізбе қосымшасы өзі жаңартып отыратын күнтізбе жазылымдары"),
    ],
)
async def test_calendar_feed_says_plainly_that_feeds_are_not_there_yet(
    bot: Story, user: User, start: str
) -> None:
    answer = await bot.say(user, "/calendar feed")
    assert (answer.text or "").startswith(start)
    assert answer.document is None
