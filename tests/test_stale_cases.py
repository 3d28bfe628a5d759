# ruff: noqa: RUF001  (Russian and Kazakh words are what is tested here)
"""Stale cases: an open case with no change for 90 days is listed to owners and editors in
a weekly "needs a check" note (Mondays 09:00, CASEWATCH_TZ). Viewers and followers are not
sent it: viewers change nothing, and the note asks for a change."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from bot.stale_cases import STALE_CASES_JOB
from handlers.context import SERVICES
from handlers.i18n import t
from handlers.render_audit import render_stale_cases
from storage.engine import session_scope
from storage.models import Admin, Case, Event, EventKind, Person, Role, Visibility, utcnow
from storage.people import add_case, add_person
from storage.stale_cases import STALE_AFTER, StaleCase, StaleCases, stale_cases
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, RUSSIAN, STRANGER, story

SECOND = timedelta(seconds=1)


async def _person_with_case(engine: AsyncEngine, name: str, **case: object) -> tuple[int, int]:
    """A person (added now, so their last change is now) with one case; their ids."""
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=None, pushed=False)
        assert person.id is not None
        added = await add_case(session=session, person_id=person.id, court="Zharkent", **case)
        assert added.id is not None
        return person.id, added.id


async def _last_change(engine: AsyncEngine, person_id: int, case_id: int) -> datetime:
    """The later of the person's last event and the case's creation."""
    async with session_scope(engine) as session:
        changed = (
            await session.exec(
                select(func.max(Event.created_at)).where(col(Event.person_id) == person_id)
            )
        ).one()
        case = await session.get(Case, case_id)
        assert changed is not None and case is not None
        return max(changed, case.created_at)


async def _stale_ids(engine: AsyncEngine, now: datetime) -> list[int]:
    async with session_scope(engine) as session:
        found = await stale_cases(session=session, now=now)
    return [stale.case.id or 0 for stale in found.cases]


async def test_a_case_is_stale_ninety_days_after_its_last_change(engine: AsyncEngine) -> None:
    person_id, case_id = await _person_with_case(engine, "Qaisha Aqan")
    last = await _last_change(engine, person_id, case_id)
    assert await _stale_ids(engine, last + STALE_AFTER - SECOND) == []
    assert await _stale_ids(engine, last + STALE_AFTER) == [case_id]
    async with session_scope(engine) as session:
        found = await stale_cases(session=session, now=last + STALE_AFTER)
    assert found.total == 1 and found.cases[0].last_change == last


async def test_only_a_real_change_to_the_person_resets_the_ninety_days(
    engine: AsyncEngine,
) -> None:
    person_id, case_id = await _person_with_case(engine, "Qaisha Aqan")
    last = await _last_change(engine, person_id, case_id)
    later = last + timedelta(days=30)
    async with session_scope(engine) as session:
        # A reminder is not a change, nor is a change /undo took back.
        for kind, cancelled in ((EventKind.REMINDER, False), (EventKind.NOTE, True)):
            session.add(
                Event(
                    person_id=person_id,
                    kind=kind,
                    dedup_key=f"{kind}:{cancelled}",
                    created_at=later,
                    cancelled=cancelled,
                )
            )
    assert await _stale_ids(engine, last + STALE_AFTER) == [case_id]
    async with session_scope(engine) as session:
        session.add(
            Event(person_id=person_id, kind=EventKind.NOTE, dedup_key="note", created_at=later)
        )
    assert await _stale_ids(engine, last + STALE_AFTER) == []
    assert await _stale_ids(engine, later + STALE_AFTER) == [case_id]


async def test_a_new_case_is_not_stale_closed_ones_never_and_restricted_people_are_listed(
    engine: AsyncEngine,
) -> None:
    old_id, old_case = await _person_with_case(engine, "Murager Alimuly", stage="trial")
    _, closed = await _person_with_case(engine, "Qaster Musakhanuly", stage="Closed")
    restricted, restricted_case = await _person_with_case(engine, "Sairagul Sauytbay")
    last = await _last_change(engine, restricted, restricted_case)
    async with session_scope(engine) as session:
        person = await session.get(Person, restricted)
        assert person is not None
        person.visibility = Visibility.RESTRICTED
        session.add(person)
        # A second case of an old person, opened later: not stale when the first one is.
        appeal = await add_case(session=session, person_id=old_id, stage="appeal")
        await session.exec(
            update(Case)
            .where(col(Case.id) == appeal.id)
            .values(created_at=last + timedelta(days=10))
        )
    assert sorted(await _stale_ids(engine, last + STALE_AFTER)) == [old_case, restricted_case]
    assert closed not in await _stale_ids(engine, last + 2 * STALE_AFTER)


async def test_at_most_the_limit_is_listed_stalest_first_with_how_many_in_all(
    engine: AsyncEngine,
) -> None:
    ids = [(await _person_with_case(engine, f"Person {n}"))[1] for n in range(3)]
    async with session_scope(engine) as session:
        found = await stale_cases(session=session, now=utcnow() + STALE_AFTER, limit=2)
    assert found.total == 3 and [stale.case.id for stale in found.cases] == ids[:2]


def test_the_note_lists_each_case_and_says_how_many_more_in_each_language() -> None:
    when = datetime(2026, 3, 2, 12, 0, tzinfo=ZoneInfo("UTC"))
    case = Case(id=5, person_id=1, court="Zharkent district court")
    person = Person(id=1, name="Qaisha Aqan")
    found = StaleCases(cases=[StaleCase(case=case, person=person, last_change=when)], total=22)
    english = render_stale_cases(found, {}, "en")
    assert english.split("\n")[:3] == [
        t("en", "stale.title", count=22),
        "• <b>Qaisha Aqan</b> #1 — Zharkent district court — last change 2 March 2026",
        "… and 21 more cases.",
    ]
    nowhere = StaleCase(case=Case(id=6, person_id=1), person=person, last_change=when)
    alone = render_stale_cases(StaleCases(cases=[nowhere], total=1), {}, "en")
    assert alone.split("\n")[:2] == [
        t("en", "stale.title", count=1),
        "• <b>Qaisha Aqan</b> #1 — last change 2 March 2026",
    ]
    assert "1 case has had no change" in alone
    assert "22 cases have had no change" in english
    russian = render_stale_cases(found, {1: ["Қайша Ақан"]}, "ru")
    assert "<b>Требуют проверки</b>: 22 дела" in russian and "ещё 21 дело." in russian
    kazakh = render_stale_cases(found, {1: ["Қайша Ақан"]}, "kk")
    assert "<b>Қайша Ақан</b> #1" in kazakh and "тағы 21 іс." in kazakh


async def test_the_weekly_job_tells_owners_and_editors_but_not_viewers_nor_followers(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        engine = bot.application.bot_data[SERVICES].engine
        await bot.say(RUSSIAN, "/lang ru")  # the language of the note, too
        for user in (EDITOR, BYSTANDER, STRANGER):  # a bot writes only to who started it
            await bot.say(user, "/help")
        await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
        long_ago = utcnow() - STALE_AFTER - timedelta(days=1)
        async with session_scope(engine) as session:
            await session.exec(update(Event).values(created_at=long_ago))
            await session.exec(update(Case).values(created_at=long_ago))
            for user, role in ((BYSTANDER, Role.EDITOR), (RUSSIAN, Role.EDITOR)):
                session.add(Admin(user_id=user.id, role=role, added_by=EDITOR.id))
            session.add(Admin(user_id=STRANGER.id, role=Role.VIEWER, added_by=EDITOR.id))
        assert bot.application.job_queue is not None
        (job,) = bot.application.job_queue.get_jobs_by_name(STALE_CASES_JOB)
        next_run = job.next_t
        assert next_run is not None
        local = next_run.astimezone(ZoneInfo("Asia/Almaty"))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)  # Monday 09:00
        before = {user.id: len(bot.api.messages_to(user.id)) for user in (FOLLOWER, STRANGER)}
        await job.run(bot.application)  # as the JobQueue runs it on Monday morning
        for user, language, name in (
            (EDITOR, "en", "Qaisha Aqan"),
            (BYSTANDER, "en", "Qaisha Aqan"),
            (RUSSIAN, "ru", "Қайша Ақан"),  # no Russian spelling stored: the Kazakh one
        ):
            (note,) = bot.api.messages_to(user.id)[-1:]
            lines = (note.text or "").split("\n")
            assert lines[0] == t(language, "stale.title", count=4), user
            assert lines[1].startswith(f"• <b>{name}</b> #1 — court in Zharkent — "), user
            assert lines[2].startswith("• <b>"), user  # no court, no city: the person alone
        after = {user.id: len(bot.api.messages_to(user.id)) for user in (FOLLOWER, STRANGER)}
        assert after == before  # the job has finished: nothing was sent to them
