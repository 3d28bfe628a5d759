"""/cancelhearing, /held, /setverdict, /note, their undo, and /addperson asking before it adds
a second person of a name: parsed, stored, pushed, shown."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from handlers.parsing import (
    BadArguments,
    HeldArgs,
    NoteArgs,
    Who,
    parse_cancelhearing,
    parse_held,
    parse_note,
    parse_setverdict,
)
from handlers.render import (
    MAX_MESSAGE,
    describe_event,
    hearing_outcome,
    render_person_card,
    telegram_length,
)
from storage.engine import create_engine, session_scope
from storage.following import ensure_chat, subscribe
from storage.models import Case, Event, EventKind, Hearing, HearingStatus, Person, utcnow
from storage.outbox import expand_due_events
from storage.people import (
    UndoOutcome,
    add_note,
    add_person,
    cancel_hearing,
    current_case,
    load_person_card,
    mark_hearing_held,
    next_hearing,
    set_verdict,
    undo_last_change,
    upcoming_hearings,
)
from storage.reminders import queue_due_reminders
from storage.timeline import load_value
from tests.e2e import EDITOR, FOLLOWER, STRANGER, Story, answer_to, eventually, story
from tests.factories import change_hearing
from tests.test_e2e import _next_month

ALMATY = ZoneInfo("Asia/Almaty")
ACTOR = 1


# --- parsing ---------------------------------------------------------------------------


def test_held_takes_the_outcome_and_what_was_decided_after_a_colon_or_a_new_line() -> None:
    assert parse_held("Qaisha Aqan adjourned") == HeldArgs(
        who=Who(text="Qaisha Aqan"), outcome="adjourned", text=None
    )
    held = parse_held("#12 verdict: guilty, 6 months https://court.kz/1 document")
    assert (held.who, held.outcome, held.text) == (
        Who(person_id=12),
        "verdict",
        "guilty, 6 months",
    )
    assert held.provenance.source == "https://court.kz/1"
    kazakh = parse_held("Қайша Ақан қалдырылды\nаудармашы келмеді")  # noqa: RUF001
    assert (kazakh.outcome, kazakh.text) == ("adjourned", "аудармашы келмеді")
    assert parse_held("Qaisha Aqan: adjourned until Monday").text == "until Monday"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Qaisha Aqan", "error.bad_outcome"),
        ("Qaisha Aqan postponed: rain", "error.bad_outcome"),
        ("adjourned", "error.usage"),
        ("Qaisha Aqan adjourned: " + "x" * 1001, "error.outcome_too_long"),
    ],
)
def test_held_refuses_what_is_not_an_outcome(text: str, reason: str) -> None:
    with pytest.raises(BadArguments) as refused:
        parse_held(text)
    assert refused.value.reason == reason


def test_note_and_verdict_take_the_free_text_after_a_colon_or_a_new_line() -> None:
    note = parse_note("Qaisha Aqan\nThe court asked for an interpreter.\nNext week.")
    assert note == NoteArgs(
        who=Who(text="Qaisha Aqan"), text="The court asked for an interpreter.\nNext week."
    )
    assert parse_note("#3: seen in court https://azattyq.org/a/1").who == Who(person_id=3)
    verdict = parse_setverdict("Qaisha Aqan: guilty of illegal crossing; 6 months suspended")
    assert (verdict.verdict, verdict.sentence) == (
        "guilty of illegal crossing",
        "6 months suspended",
    )
    whole = parse_setverdict("Qaisha Aqan: acquitted --silent")
    assert (whole.verdict, whole.sentence, whole.provenance.silent) == ("acquitted", None, True)
    assert parse_cancelhearing("Qaisha Aqan media").provenance.verification == "media"


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (parse_note, "Qaisha Aqan", "error.text_missing"),
        (parse_note, "Qaisha Aqan: " + "x" * 1001, "error.note_too_long"),
        (parse_note, ": a note about nobody", "error.who_missing"),
        (parse_setverdict, "Qaisha Aqan: " + "x" * 2001, "error.verdict_too_long"),
        (parse_setverdict, "Qaisha Aqan:", "error.text_missing"),
        (parse_cancelhearing, "", "error.usage"),
    ],
)
def test_free_text_commands_say_what_is_wrong(parse: object, text: str, reason: str) -> None:
    with pytest.raises(BadArguments) as refused:
        parse(text)  # type: ignore[operator]
    assert refused.value.reason == reason


def test_a_held_hearings_outcome_reads_in_the_readers_language() -> None:
    assert hearing_outcome("adjourned: no interpreter", "ru") == "отложено: no interpreter"
    assert hearing_outcome("verdict", "kk") == "үкім жарияланды"
    assert hearing_outcome("She testified.", "ru") == "She testified."  # as it was written


# --- stored, and taken back ----------------------------------------------------------------


async def _person(engine: AsyncEngine, name: str = "Qaisha Aqan") -> Person:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=None, pushed=False)
        await ensure_chat(session=session, chat_id=100, kind="private", language="en")
        assert person.id is not None
        await subscribe(session=session, chat_id=100, person_id=person.id)
        return person


async def _hearing(engine: AsyncEngine, person: Person, local_start: datetime) -> int:
    async with session_scope(engine) as session:
        event = await change_hearing(session, await session.get(Person, person.id), local_start)
        assert event is not None
        await expand_due_events(session=session, now=utcnow())
        hearing_id: int = load_value(event.new_value)["hearing_id"]
        return hearing_id


async def _undo(engine: AsyncEngine) -> UndoOutcome:
    async with session_scope(engine) as session:
        return (await undo_last_change(session=session, actor_id=ACTOR)).outcome


async def _hearing_row(engine: AsyncEngine, hearing_id: int) -> Hearing:
    async with session_scope(engine) as session:
        hearing = await session.get(Hearing, hearing_id)
        assert hearing is not None
        return hearing


def _local(days: int) -> datetime:
    return (datetime.now(ALMATY) + timedelta(days=days)).replace(
        hour=10, minute=0, second=0, microsecond=0, tzinfo=None
    )


async def test_cancel_then_undo_schedules_the_hearing_again_and_calendars_see_both(
    engine: AsyncEngine,
) -> None:
    person = await _person(engine)
    hearing_id = await _hearing(engine, person, _local(10))
    before = await _hearing_row(engine, hearing_id)
    async with session_scope(engine) as session:
        event = await cancel_hearing(
            session=session, person=person, actor_id=ACTOR, grace=timedelta(minutes=5)
        )
        assert event is not None and event.kind == EventKind.HEARING_CANCELLED
        assert await next_hearing(session=session, person_id=person.id or 0) is None
    assert "заседание, назначенное на <b>" in describe_event(event, "ru")
    assert "сот отырысы болдырылмады" in describe_event(event, "kk")
    cancelled = await _hearing_row(engine, hearing_id)
    assert cancelled.status == HearingStatus.CANCELLED
    assert cancelled.sequence == before.sequence + 1
    assert await _undo(engine) == UndoOutcome.UNDONE
    restored = await _hearing_row(engine, hearing_id)
    assert (restored.status, restored.starts_at) == (HearingStatus.SCHEDULED, before.starts_at)
    assert restored.sequence == before.sequence + 2


async def test_nothing_to_cancel_writes_nothing(engine: AsyncEngine) -> None:
    person = await _person(engine)
    await _hearing(engine, person, _local(-3))  # gone by: not the next one
    async with session_scope(engine) as session:
        event = await cancel_hearing(
            session=session, person=person, actor_id=ACTOR, grace=timedelta(0)
        )
    assert event is None
    async with session_scope(engine) as session:
        kinds = (await session.exec(select(Event.kind))).all()
    assert EventKind.HEARING_CANCELLED not in kinds


async def test_held_marks_the_latest_begun_hearing_and_undo_schedules_it_again(
    engine: AsyncEngine,
) -> None:
    person = await _person(engine)
    older = await _hearing(engine, person, _local(-20))
    async with session_scope(engine) as session:  # a second hearing, later than the first
        case = await current_case(session=session, person_id=person.id or 0)
        assert case is not None and case.id is not None
        latest = Hearing(case_id=case.id, starts_at=utcnow() - timedelta(hours=2))
        session.add(latest)
        await session.flush()
        latest_id = latest.id
        event = await mark_hearing_held(
            session=session,
            person=person,
            outcome="adjourned",
            text="no interpreter",
            actor_id=ACTOR,
            grace=timedelta(minutes=5),
        )
    assert event is not None
    held = await _hearing_row(engine, latest_id or 0)
    assert (held.status, held.outcome) == (HearingStatus.HELD, "adjourned: no interpreter")
    assert (await _hearing_row(engine, older)).status == HearingStatus.SCHEDULED
    assert "was held: adjourned. <i>no interpreter</i>" in describe_event(event, "en")
    assert "разбирательство отложено" in describe_event(event, "ru")
    assert "кейінге қалдырылды" in describe_event(event, "kk")
    assert await _undo(engine) == UndoOutcome.UNDONE
    restored = await _hearing_row(engine, latest_id or 0)
    assert (restored.status, restored.outcome) == (HearingStatus.SCHEDULED, None)


async def test_held_with_no_hearing_begun_writes_nothing(engine: AsyncEngine) -> None:
    person = await _person(engine)
    await _hearing(engine, person, _local(5))
    async with session_scope(engine) as session:
        event = await mark_hearing_held(
            session=session,
            person=person,
            outcome="verdict",
            text=None,
            actor_id=ACTOR,
            grace=timedelta(0),
        )
    assert event is None


async def test_verdict_shows_on_the_card_and_undo_gives_back_the_old_one(
    engine: AsyncEngine,
) -> None:
    person = await _person(engine)
    for verdict, sentence in (("guilty", "6 months"), ("acquitted on appeal", None)):
        async with session_scope(engine) as session:
            event = await set_verdict(
                session=session,
                person=person,
                verdict=verdict,
                sentence=sentence,
                default_tz="Asia/Almaty",
                actor_id=ACTOR,
                grace=timedelta(minutes=5),
            )
    assert event is not None
    assert describe_event(event, "en") == (
        "verdict: <b>acquitted on appeal</b> (was <b>guilty</b>; sentence: 6 months)"
    )
    assert describe_event(event, "ru").startswith("приговор: <b>acquitted on appeal</b>")
    assert "жаза: 6 months" in describe_event(event, "kk")
    async with session_scope(engine) as session:
        card = await load_person_card(session=session, person=person)
    assert "Verdict: acquitted on appeal" in render_person_card(card, "en")
    assert await _undo(engine) == UndoOutcome.UNDONE
    async with session_scope(engine) as session:
        case = (await session.exec(select(Case))).one()
    assert (case.verdict, case.sentence) == ("guilty", "6 months")
    async with session_scope(engine) as session:
        same = await set_verdict(
            session=session,
            person=person,
            verdict="guilty",
            sentence="6 months",
            default_tz="Asia/Almaty",
            actor_id=ACTOR,
            grace=timedelta(0),
        )
    assert same is None  # so it is already


async def test_a_note_is_taken_back_alone_even_after_a_later_note(engine: AsyncEngine) -> None:
    person = await _person(engine)
    async with session_scope(engine) as session:
        first = await add_note(
            session=session,
            person=person,
            text="first",
            actor_id=ACTOR,
            grace=timedelta(minutes=5),
        )
        await add_note(
            session=session, person=person, text="second", actor_id=2, grace=timedelta(minutes=5)
        )
    async with session_scope(engine) as session:
        result = await undo_last_change(session=session, actor_id=ACTOR, event_id=first.id)
    assert result.outcome == UndoOutcome.UNDONE
    async with session_scope(engine) as session:
        kept = (
            await session.exec(
                select(Event.new_value).where(
                    Event.kind == EventKind.NOTE, col(Event.cancelled).is_(False)
                )
            )
        ).all()
    assert kept == ['{"text": "second"}']


async def test_a_cancelled_hearing_leaves_the_lists_and_gets_no_reminder(
    engine: AsyncEngine,
) -> None:
    cancelled, kept = await _person(engine), await _person(engine, "Murager Alimuly")
    start = _local(3)
    for person in (cancelled, kept):
        await _hearing(engine, person, start)
    async with session_scope(engine) as session:
        await cancel_hearing(session=session, person=cancelled, actor_id=ACTOR, grace=timedelta(0))
        await expand_due_events(session=session, now=utcnow())
    starts_at = start.replace(tzinfo=ALMATY).astimezone(UTC)
    async with session_scope(engine) as session:
        listed = await upcoming_hearings(
            session=session, start=utcnow(), end=None, include_restricted=True
        )
        assert [slot.person.id for slot in listed] == [kept.id]
        # A day before: the 1d reminder is due, for the hearing still on only.
        queued = await queue_due_reminders(
            session=session, now=starts_at - timedelta(days=1) + timedelta(minutes=1)
        )
    assert queued == 1
    async with session_scope(engine) as session:
        reminded = (
            await session.exec(select(Event.person_id).where(Event.kind == EventKind.REMINDER))
        ).all()
    assert reminded == [kept.id]


# --- end to end ----------------------------------------------------------------------------


def _when(moment: datetime) -> str:
    """How a push writes a hearing's time in English: `Thu 3 Dec 2026, 10:00`."""
    return f"{moment:%a} {moment.day} {moment:%b %Y}, {moment:%H:%M}"


async def _count(database_url: str, statement: object) -> int:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        found = (await session.exec(statement)).one()  # type: ignore[call-overload]
    await engine.dispose()
    return int(found)


async def _followed(bot: Story) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")


async def _push(bot: Story, count: int) -> str:
    """The follower's message number `count` (their /subscribe answer is the first)."""
    return (await bot.api.wait_for_messages(FOLLOWER.id, count))[count - 1].text or ""


async def test_cancelhearing_tells_followers_and_the_hearing_is_gone_from_lists(
    database_url: str,
) -> None:
    day = _next_month()
    async with story(database_url) as bot:
        await _followed(bot)
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {day:%d.%m.%Y %H:%M}")
        await _push(bot, 2)
        preview = await bot.say(EDITOR, "/cancelhearing Qaisha Aqan https://court.kz/n/1")
        push = await _push(bot, 3)
        hearings = await bot.say(FOLLOWER, "/hearings")
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        again = await bot.say(EDITOR, "/cancelhearing Qaisha Aqan")
    assert (preview.text or "").startswith("Saved for <b>Qaisha Aqan</b>")
    assert f"the hearing of <b>{_when(day)}, court in Zharkent</b> is cancelled." in push
    assert "https://court.kz/n/1" in push
    assert _when(day) not in (hearings.text or "")
    assert "No upcoming hearing known." in (card.text or "")
    assert (again.text or "").endswith("has no upcoming hearing to cancel. Nothing changed.")
    cancellations = select(func.count()).where(Event.kind == EventKind.HEARING_CANCELLED)
    assert await _count(database_url, cancellations) == 1


async def test_held_after_a_confirmed_past_hearing_tells_the_outcome(database_url: str) -> None:
    day = (datetime.now(ALMATY) - timedelta(days=1)).replace(hour=10, minute=0)
    async with story(database_url) as bot:
        await _followed(bot)
        none_yet = await bot.say(EDITOR, "/held Qaisha Aqan adjourned")
        question = await bot.say(EDITOR, f"/sethearing Qaisha Aqan {day:%Y-%m-%d} 10:00")
        assert "is in the past" in (question.text or "")
        saved = await bot.press(EDITOR, question, question.callback_data[0])
        assert (saved.text or "").startswith("Saved for <b>Qaisha Aqan</b>")
        await _push(bot, 2)
        preview = await bot.say(
            EDITOR, "/held Qaisha Aqan adjourned\nthe interpreter did not come"
        )
        push = await _push(bot, 3)
    assert "has no scheduled hearing that has begun" in (none_yet.text or "")
    assert "was held: adjourned. <i>the interpreter did not come</i>" in (preview.text or "")
    assert f"the hearing of <b>{_when(day)}, court in Zharkent</b> was held: adjourned." in push


async def test_setverdict_and_note_reach_followers_and_the_card_shows_the_verdict(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        await _followed(bot)
        await bot.say(
            EDITOR,
            "/setverdict Qaisha Aqan: guilty of illegal border crossing; 6 months "
            "https://azattyq.org/a/1 document",
        )
        verdict = await _push(bot, 2)
        await bot.say(EDITOR, "/note Қайша Ақан\nThe court asked for a Kazakh interpreter.")
        note = await _push(bot, 3)
        card = await bot.say(FOLLOWER, "/person Qaisha Aqan")
        history = await bot.say(FOLLOWER, "/history Qaisha Aqan")
    assert "verdict: <b>guilty of illegal border crossing</b>; sentence: 6 months" in verdict
    assert "https://azattyq.org/a/1" in verdict
    assert "note: The court asked for a Kazakh interpreter." in note
    assert "Verdict: guilty of illegal border crossing" in (card.text or "")
    assert "Sentence: 6 months" in (card.text or "")
    assert "note: The court asked for a Kazakh interpreter." in (history.text or "")
    assert "verdict: <b>guilty of illegal border crossing</b>" in (history.text or "")


async def test_bad_input_gets_the_reason_and_the_usage(database_url: str) -> None:
    async with story(database_url) as bot:
        outcome = await bot.say(EDITOR, "/held Qaisha Aqan postponed")
        note = await bot.say(EDITOR, "/note Qaisha Aqan")
        verdict = await bot.say(EDITOR, "/setverdict Qaisha Aqan: " + "x" * 2001)
        nobody = await bot.say(EDITOR, "/cancelhearing")
    assert (outcome.text or "").startswith("Say how the hearing ended: adjourned or verdict.")
    assert "/held &lt;name or #id&gt;" in (outcome.text or "")
    assert (note.text or "").startswith("Write the text after a colon or on a new line.")
    assert "A verdict may be at most 2000 characters long." in (verdict.text or "")
    assert "/cancelhearing &lt;name or #id&gt;" in (nobody.text or "")


async def test_silent_changes_are_corrections_nobody_is_told_of(database_url: str) -> None:
    async with story(database_url) as bot:
        await _followed(bot)
        preview = await bot.say(EDITOR, "/setverdict Qaisha Aqan: aquitted --silent")
        await bot.say(EDITOR, "/note Qaisha Aqan: interpretor asked for --silent")
        await bot.say(EDITOR, "/note Qaisha Aqan: the marker")
        marker = await _push(bot, 2)
        history = await bot.say(FOLLOWER, "/history Qaisha Aqan")
    assert "A correction: the record is changed, and nobody is told." in (preview.text or "")
    assert "the marker" in marker  # the first push is the marker: the corrections went nowhere
    corrected = "<i>(correction, followers were not told)</i>"
    assert f"verdict: <b>aquitted</b> {corrected}" in (history.text or "")
    assert f"note: interpretor asked for {corrected}" in (history.text or "")
    corrections = select(func.count()).where(col(Event.correction).is_(True))
    assert await _count(database_url, corrections) == 2


async def test_a_note_full_of_markup_still_gets_its_preview(database_url: str) -> None:
    async with story(database_url) as bot:
        preview = await bot.say(EDITOR, "/note Qaisha Aqan: " + "<&>" * 333)
    text = preview.text or ""
    assert text.startswith("Saved for <b>Qaisha Aqan</b> #1: note: &lt;&amp;&gt;")
    assert telegram_length(text) <= MAX_MESSAGE
    assert "Nobody follows this person yet" in text


async def test_undo_button_under_a_cancellation_schedules_the_hearing_again(
    database_url: str,
) -> None:
    day = _next_month()
    async with story(database_url, notify_grace_seconds=3600) as bot:
        await bot.say(EDITOR, f"/sethearing Qaisha Aqan {day:%Y-%m-%d %H:%M}")
        preview = await bot.say(EDITOR, "/cancelhearing Qaisha Aqan")
        assert "is cancelled" in (preview.text or "")
        pressed = await bot.api.user_presses(EDITOR, preview, preview.callback_data[0])
        await answer_to(bot, pressed)
        hearings = await bot.say(FOLLOWER, "/hearings")
    assert _when(day) in (hearings.text or "")


async def test_addperson_asks_before_a_second_person_of_the_name(database_url: str) -> None:
    people = select(func.count()).select_from(Person)
    async with story(database_url) as bot:
        before = await _count(database_url, people)
        question = await bot.say(EDITOR, "/addperson Кайша Акан")
        assert (question.text or "") == (
            "1 person already matches this name: <b>Qaisha Aqan</b> #1. Add a new person anyway?"
        )
        dropped = await bot.press(EDITOR, question, question.callback_data[1])
        assert dropped.text == "Left as it was: nothing was changed."
        assert await _count(database_url, people) == before

        question = await bot.say(EDITOR, "/addperson Qaisha Aqan; Қайша Ақан")
        # The role is checked again on the press: someone else's Yes adds nobody.
        forged = await bot.api.user_presses(
            STRANGER, question, question.callback_data[0], check_button=False
        )
        assert await answer_to(bot, forged) == "This command is for editors only."
        assert await _count(database_url, people) == before
        added = await bot.press(EDITOR, question, question.callback_data[0])
        assert (added.text or "").startswith("Added <b>Qaisha Aqan</b>")
        again = await bot.api.user_presses(
            EDITOR, question, question.callback_data[0], check_button=False
        )
        assert await answer_to(bot, again) == (
            "This question is answered already, or it lapsed. Send the command again."
        )
        assert await _count(database_url, people) == before + 1

        # Two people of the name now: a change command offers both, and the one pressed is
        # the one changed.
        choice = await bot.say(EDITOR, "/note Qaisha Aqan: which one?")
        assert "Choose the person" in (choice.text or "")
        chosen = await bot.press(EDITOR, choice, choice.callback_data[1])
        assert (chosen.text or "").startswith("Saved for <b>Qaisha Aqan</b>")
        assert "note: which one?" in (chosen.text or "")
        fresh = await bot.say(EDITOR, "/addperson Nurlan Qabdesh")
        assert (fresh.text or "").startswith("Added <b>Nurlan Qabdesh</b>")

    notes = select(func.count()).where(Event.kind == EventKind.NOTE, Event.person_id != 1)
    await eventually(lambda: _positive(database_url, notes))


async def _positive(database_url: str, statement: object) -> bool:
    return await _count(database_url, statement) > 0
