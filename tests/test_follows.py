# ruff: noqa: RUF001  (answers in Russian and Kazakh, and page ranges with dashes, are tested)
"""Follows of a court or a city, kinds of change and mute: who is told, in one statement, and
the /subscriptions buttons that change them (SQLite and PostgreSQL alike)."""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.localapi import SentMessage, User
from handlers.buttons import button_data
from handlers.context import SERVICES
from storage.engine import create_engine, session_scope
from storage.following import (
    CHANGE_OF_EVENT,
    ensure_chat,
    follow_place,
    followed_person_ids,
    subscribe,
)
from storage.models import (
    Admin,
    Chat,
    Delivery,
    Event,
    EventKind,
    Person,
    Role,
    Subscription,
    SubscriptionScope,
    Visibility,
)
from storage.outbox import expand_due_events
from storage.people import add_case, add_hearing, add_person, current_case
from storage.reminders import queue_due_reminders
from storage.timeline import record_change
from tests.e2e import (
    BYSTANDER,
    FOLLOWER,
    GROUP,
    KAZAKH,
    RUSSIAN,
    STRANGER,
    Story,
    eventually,
    story,
)
from tests.e2e import EDITOR as E2E_EDITOR

NOW = datetime(2030, 3, 1, 5, 0, tzinfo=UTC)
COURT, CITY = "Zharkent district court", "Zharkent"
EDITOR_ID = 5001
COURT_FOLLOWERS = 2_000


async def _person_at(
    engine: AsyncEngine, name: str, court: str = COURT, city: str = CITY, **fields: Any
) -> int:
    """A person with a case at `court` in `city`, added quietly (no push)."""
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=1, pushed=False, **fields)
        assert person.id is not None
        await add_case(session=session, person_id=person.id, court=court, city=city)
        return person.id


async def _follow(
    engine: AsyncEngine,
    chat_id: int,
    *,
    person_id: int | None = None,
    scope: SubscriptionScope = SubscriptionScope.PERSON,
    place: str | None = None,
    kinds: str | None = None,
    muted: bool = False,
    kind: str = "private",
) -> None:
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=chat_id, kind=kind, language="en")
        if place is not None:
            await follow_place(session=session, chat_id=chat_id, scope=scope, place=place)
        else:
            all_people = scope == SubscriptionScope.ALL
            await subscribe(
                session=session, chat_id=chat_id, person_id=None if all_people else person_id
            )
        rows = await session.exec(select(Subscription).where(col(Subscription.chat_id) == chat_id))
        for subscription in rows.all():
            if subscription.scope == scope:
                subscription.kinds, subscription.muted = kinds, muted
                session.add(subscription)


async def _told(engine: AsyncEngine, person_id: int, kind: EventKind) -> set[int]:
    """The chats a change of `kind` about the person reaches."""
    async with session_scope(engine) as session:
        change = await record_change(
            session=session,
            person_id=person_id,
            kind=kind,
            old=None,
            new={"text": "x"},
            actor_id=1,
        )
        assert change is not None
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=datetime.now(UTC) + timedelta(hours=1))
    async with session_scope(engine) as session:
        chats = await session.exec(
            select(Delivery.chat_id).where(col(Delivery.event_id) == change.id)
        )
        return set(chats.all())


def test_every_kind_of_event_is_one_a_follow_chooses_or_goes_to_every_follow() -> None:
    assert set(CHANGE_OF_EVENT) == set(EventKind)


async def test_a_court_or_city_follow_reaches_people_there_added_before_or_after(
    engine: AsyncEngine,
) -> None:
    before = await _person_at(engine, "Qaisha Aqan")
    elsewhere = await _person_at(engine, "Sairagul Sauytbay", court="Almaty court", city="Almaty")
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY)
    await _follow(engine, 3, scope=SubscriptionScope.CITY, place="Almaty")
    after = await _person_at(engine, "Murager Alimuly")

    assert await _told(engine, before, EventKind.NOTE) == {1, 2}
    assert await _told(engine, after, EventKind.NOTE) == {1, 2}
    assert await _told(engine, elsewhere, EventKind.NOTE) == {3}


async def test_kinds_and_mute_choose_what_a_follow_hears(engine: AsyncEngine) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT, kinds="hearings")
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY, kinds="asylum,notes")
    await _follow(engine, 3, scope=SubscriptionScope.ALL, muted=True)
    await _follow(engine, 4, person_id=person_id)

    assert await _told(engine, person_id, EventKind.ASYLUM_CHANGED) == {2, 4}
    assert await _told(engine, person_id, EventKind.HEARING_MOVED) == {1, 4}
    assert await _told(engine, person_id, EventKind.VERDICT) == {4}
    # A person added: for everyone following where they are, whatever kinds they chose.
    assert await _told(engine, person_id, EventKind.PERSON_ADDED) == {1, 2, 4}


async def test_a_follow_by_name_decides_over_a_court_city_or_everyone(engine: AsyncEngine) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    # Muted by name, but the city is followed: the person stays muted.
    await _follow(engine, 1, person_id=person_id, muted=True)
    await _follow(engine, 1, scope=SubscriptionScope.CITY, place=CITY)
    # Only hearings by name, everything from everyone: only hearings.
    await _follow(engine, 2, person_id=person_id, kinds="hearings")
    await _follow(engine, 2, scope=SubscriptionScope.ALL)
    # Muted court, but followed by name: told.
    await _follow(engine, 3, scope=SubscriptionScope.COURT, place=COURT, muted=True)
    await _follow(engine, 3, person_id=person_id)

    assert await _told(engine, person_id, EventKind.ASYLUM_CHANGED) == {3}
    assert await _told(engine, person_id, EventKind.HEARING_SET) == {2, 3}


async def test_a_restricted_person_reaches_only_editors_following_them_by_name(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan", visibility=Visibility.RESTRICTED)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=EDITOR_ID, role=Role.EDITOR))
    await _follow(engine, EDITOR_ID, person_id=person_id)
    await _follow(engine, EDITOR_ID, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 3, person_id=person_id)

    assert await _told(engine, person_id, EventKind.NOTE) == {EDITOR_ID}


async def _followed_by(
    session: AsyncSession, chat_id: int, *, include_restricted: bool
) -> set[int]:
    """The people a chat follows, as the calendar and others ask for them."""
    followed = followed_person_ids(chat_id=chat_id, include_restricted=include_restricted)
    people = await session.exec(select(Person.id).where(col(Person.id).in_(followed)))
    return {person_id for person_id in people.all() if person_id is not None}


async def test_the_people_a_chat_follows_by_any_kind_of_follow(engine: AsyncEngine) -> None:
    qaisha = await _person_at(engine, "Qaisha Aqan")
    sairagul = await _person_at(engine, "Sairagul Sauytbay", court="Almaty court", city="Almaty")
    hidden = await _person_at(engine, "Hidden", visibility=Visibility.RESTRICTED)
    await _follow(engine, 1, scope=SubscriptionScope.CITY, place=CITY, muted=True)
    await _follow(engine, 1, person_id=hidden)
    await _follow(engine, 2, scope=SubscriptionScope.ALL)
    later = await _person_at(engine, "Murager Alimuly")

    async with session_scope(engine) as session:
        by_city = await _followed_by(session, 1, include_restricted=False)
        with_hidden = await _followed_by(session, 1, include_restricted=True)
        everyone = await _followed_by(session, 2, include_restricted=True)
    assert by_city == {qaisha, later}
    assert with_hidden == {qaisha, later, hidden}
    assert everyone == {qaisha, sairagul, later}


async def test_reminders_reach_court_followers_who_want_hearings_and_are_not_muted(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    async with session_scope(engine) as session:
        case = await current_case(session=session, person_id=person_id)
        assert case is not None and case.id is not None
        await add_hearing(session=session, case_id=case.id, starts_at=NOW + timedelta(minutes=30))
    await _follow(engine, 1, scope=SubscriptionScope.COURT, place=COURT)
    await _follow(engine, 2, scope=SubscriptionScope.CITY, place=CITY, muted=True)
    await _follow(engine, 3, scope=SubscriptionScope.COURT, place=COURT, kinds="asylum")
    await _follow(engine, 4, scope=SubscriptionScope.CITY, place=CITY, kinds="notes,hearings")

    async with session_scope(engine) as session:
        assert await queue_due_reminders(session=session, now=NOW) == 2
        reminded = await session.exec(select(Delivery.chat_id))
        assert set(reminded.all()) == {1, 4}


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_fan_out_to_a_court_with_many_followers_is_one_insert_select(
    engine: AsyncEngine,
) -> None:
    person_id = await _person_at(engine, "Qaisha Aqan")
    chats = range(1, COURT_FOLLOWERS + 1)
    async with session_scope(engine) as session:
        await session.exec(insert(Chat).values([{"id": c, "kind": "private"} for c in chats]))
        await session.exec(
            insert(Subscription).values(
                [
                    {"chat_id": c, "scope": "court", "place": COURT, "muted": c % 10 == 0}
                    for c in chats
                ]
            )
        )
    async with session_scope(engine) as session:
        await record_change(
            session=session,
            person_id=person_id,
            kind=EventKind.NOTE,
            old=None,
            new={"text": "x"},
            actor_id=1,
        )
    async with session_scope(engine) as session:
        with _statements(engine) as seen:
            created = await expand_due_events(
                session=session, now=datetime.now(UTC) + timedelta(hours=1)
            )
    inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert created == COURT_FOLLOWERS - COURT_FOLLOWERS // 10
    assert len(inserts) == 1 and "SELECT" in inserts[0].upper()
    assert not any(
        s.lstrip().upper().startswith("INSERT INTO DELIVERY") for s in seen if s is not inserts[0]
    )


# --- end to end, against the Bot API emulator ---------------------------------------------

REFUSAL = (
    "In a group, only its administrators can change whom it follows, its reminders, "
    "quiet hours and digest."
)
ZHARKENT_COURT = "court in Zharkent"  # as the demo records have it


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        yield running_story


def _button(message: SentMessage, label: str) -> str:
    """The callback data of the button whose label contains `label`."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    found = [b["callback_data"] for row in rows for b in row if label in b["text"]]
    assert len(found) == 1, (label, rows)
    return str(found[0])


async def _press_edits(bot: Story, user: User, message: SentMessage, label: str) -> SentMessage:
    """`user` presses the button labelled `label`; returns the message as the bot edited it."""
    before = len(bot.api.edits)
    await bot.api.user_presses(user, message, _button(message, label))
    await bot.api.wait_until(lambda: len(bot.api.edits) > before)
    return bot.api.edits[-1]


async def _press_refused(bot: Story, user: User, message: SentMessage, label: str) -> str:
    """`user` presses a button and is only answered (nothing edited); returns the answer."""
    answered, edited = len(bot.api.callback_answers), len(bot.api.edits)
    await bot.api.user_presses(user, message, _button(message, label))
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) > answered)
    assert len(bot.api.edits) == edited
    return bot.api.callback_answers[-1].text or ""


async def _add_person_at_court(database_url: str, name: str) -> int:
    """An editor adds a person with a case at the court in Zharkent (pushed at once)."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        person = await add_person(session=session, name=name, actor_id=E2E_EDITOR.id)
        assert person.id is not None
        await add_case(session=session, person_id=person.id, court=ZHARKENT_COURT, city=CITY)
    await engine.dispose()
    return person.id


async def _delivered_to(database_url: str, chat_id: int) -> list[str]:
    """The kinds of the events delivered (or owed) to a chat, in order."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        rows = await session.exec(
            select(Event.kind)
            .join(Delivery, col(Delivery.event_id) == col(Event.id))
            .where(col(Delivery.chat_id) == chat_id)
            .order_by(col(Delivery.id))
        )
        kinds = list(rows.all())
    await engine.dispose()
    return kinds


async def _settled(database_url: str) -> bool:
    """Every event is expanded and no delivery is pending."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        waiting = await session.exec(select(Event.id).where(col(Event.expanded_at).is_(None)))
        pending = await session.exec(select(Delivery.id).where(col(Delivery.state) == "pending"))
        settled = not waiting.all() and not pending.all()
    await engine.dispose()
    return settled


async def _subscriptions_of(database_url: str, chat_id: int) -> list[Subscription]:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        rows = await session.exec(select(Subscription).where(col(Subscription.chat_id) == chat_id))
        found = list(rows.all())
    await engine.dispose()
    return found


async def test_a_court_follow_is_told_of_people_there_including_people_added_later(
    bot: Story, database_url: str
) -> None:
    answer = await bot.say(FOLLOWER, "/subscribe court zharkent")
    assert answer.text == (
        "You now follow every case at this court: <b>court in Zharkent</b>. "
        "People added later are included."
    )
    await bot.say(E2E_EDITOR, "/setasylum Qaisha Aqan refugee")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 2)
    assert "Qaisha Aqan" in (told[1].text or "")

    later = await _add_person_at_court(database_url, "Nurlan Serik")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 3)
    assert "Nurlan Serik" in (told[2].text or "")
    await bot.say(E2E_EDITOR, f"/setdetention #{later} released")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 4)
    assert "Nurlan Serik" in (told[3].text or "") and "released" in (told[3].text or "")

    # Almaty is another court: its change comes first, and only Qaisha's reaches the follower.
    await bot.say(E2E_EDITOR, "/setasylum Sairagul Sauytbay refugee")
    await bot.say(E2E_EDITOR, "/setasylum Qaisha Aqan appeal")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 5)
    assert "Qaisha Aqan" in (told[4].text or "")
    assert await _delivered_to(database_url, FOLLOWER.id) == [
        "asylum_changed",
        "person_added",
        "detention_changed",
        "asylum_changed",
    ]


async def test_a_city_follow_in_russian_and_kazakh(bot: Story, database_url: str) -> None:
    answer = await bot.say(RUSSIAN, "/subscribe город алматы")
    assert answer.text == (
        "Вы подписались на все дела в этом городе: <b>Almaty</b>. "
        "Люди, добавленные позже, тоже войдут в подписку."
    )
    answer = await bot.say(KAZAKH, "/subscribe қала Zharkent")
    assert (answer.text or "").startswith("Сіз осы қаладағы барлық істерге жазылдыңыз")
    await bot.say(E2E_EDITOR, "/setasylum Sairagul Sauytbay refugee")
    await bot.say(E2E_EDITOR, "/setasylum Qaisha Aqan refugee")
    # Each push names the person in the reader's script (their Cyrillic spelling).
    assert "Сайрагүл Сауытбай" in ((await bot.api.wait_for_messages(RUSSIAN.id, 2))[1].text or "")
    assert "Қайша Ақан" in ((await bot.api.wait_for_messages(KAZAKH.id, 2))[1].text or "")
    await eventually(lambda: _settled(database_url))
    assert await _delivered_to(database_url, RUSSIAN.id) == ["asylum_changed"]
    assert await _delivered_to(database_url, KAZAKH.id) == ["asylum_changed"]
    gone = await bot.say(RUSSIAN, "/unsubscribe город Алматы")
    assert gone.text == "Вы отписались от дел в этом городе: <b>Almaty</b>."


@pytest.mark.parametrize(
    ("user", "command", "answer"),
    [
        (
            FOLLOWER,
            "/subscribe court Nowhere",
            "No court matching “Nowhere” is known from the cases. Nothing was changed. "
            "Check the spelling, or try part of the name.",
        ),
        (
            RUSSIAN,
            "/subscribe суд Nowhere",
            "Суд «Nowhere» не найден среди известных дел. Ничего не изменено. "
            "Проверьте написание или введите часть названия.",
        ),
        (
            KAZAKH,
            "/subscribe city Nowhere",
            "«Nowhere» деген қала белгілі істердің арасынан табылмады. Ештеңе өзгертілген жоқ. "
            "Жазылуын тексеріңіз немесе атауының бір бөлігін жазып көріңіз.",
        ),
        (
            FOLLOWER,
            "/unsubscribe city Zharkent",
            "This chat follows no city matching “Zharkent”. Its follows: /subscriptions",
        ),
    ],
)
async def test_an_unknown_court_or_city_is_answered_and_nothing_stored(
    bot: Story, database_url: str, user: User, command: str, answer: str
) -> None:
    assert (await bot.say(user, command)).text == answer
    assert await _subscriptions_of(database_url, user.id) == []


async def test_a_court_word_without_a_name_gets_the_reason(bot: Story) -> None:
    answer = await bot.say(FOLLOWER, "/subscribe court")
    assert (answer.text or "").startswith("Write the name of the court or city after the word")


async def test_several_matching_courts_are_offered_as_buttons(
    bot: Story, database_url: str
) -> None:
    offer = await bot.say(FOLLOWER, "/subscribe court court in")
    assert offer.text == "Several courts match. Which one do you want to follow?"
    chosen = await _press_edits(bot, FOLLOWER, offer, "court in Almaty")
    assert (chosen.text or "").startswith(
        "You now follow every case at this court: <b>court in Almaty</b>."
    )
    (follow,) = await _subscriptions_of(database_url, FOLLOWER.id)
    assert (follow.scope, follow.place) == ("court", "court in Almaty")


async def test_buttons_choose_kinds_and_mute_in_place(bot: Story, database_url: str) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")  # told of everything: the marker
    listing = await bot.say(FOLLOWER, "/subscriptions")
    assert "1. <b>Qaisha Aqan</b> #1 — every change" in (listing.text or "")
    shown = await _press_edits(bot, FOLLOWER, listing, "Qaisha Aqan")
    for kind in ("asylum", "detention", "verdicts", "notes"):
        shown = await _press_edits(bot, FOLLOWER, shown, f"✅ {kind}")
    assert shown.message_id == listing.message_id
    assert "Tells you of: hearings." in (shown.text or "")
    last = await _press_refused(bot, FOLLOWER, shown, "✅ hearings")
    assert last == "Keep at least one kind of change. To hear nothing for a while, mute instead."

    await bot.say(E2E_EDITOR, "/setasylum Qaisha Aqan refugee")
    await bot.api.wait_for_messages(BYSTANDER.id, 2)
    await eventually(lambda: _settled(database_url))
    await bot.say(E2E_EDITOR, "/sethearing Qaisha Aqan 2028-05-01 10:00")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 3)
    assert "hearing" in (told[2].text or "")
    assert await _delivered_to(database_url, FOLLOWER.id) == ["hearing_set"]

    muted = await _press_edits(bot, FOLLOWER, shown, "Mute")
    assert "🔕 Muted: nothing is sent until you unmute." in (muted.text or "")
    await bot.say(E2E_EDITOR, "/sethearing Qaisha Aqan 2028-05-02 10:00")
    await bot.api.wait_for_messages(BYSTANDER.id, 4)
    await eventually(lambda: _settled(database_url))
    assert await _delivered_to(database_url, FOLLOWER.id) == ["hearing_set"]

    unmuted = await _press_edits(bot, FOLLOWER, muted, "Unmute")
    assert "Muted" not in (unmuted.text or "")
    await bot.say(E2E_EDITOR, "/sethearing Qaisha Aqan 2028-05-03 10:00")
    told = await bot.api.wait_for_messages(FOLLOWER.id, 4)
    assert "hearing" in (told[3].text or "")
    listing = await _press_edits(bot, FOLLOWER, unmuted, "Back to the list")
    assert "1. <b>Qaisha Aqan</b> #1 — hearings" in (listing.text or "")


async def test_in_a_group_only_admins_change_a_follow(bot: Story, database_url: str) -> None:
    bot.api.set_administrators(GROUP.id, [FOLLOWER.id], creator=BYSTANDER.id)
    await bot.say(FOLLOWER, "/subscribe city Zharkent", chat=GROUP)
    listing = await bot.say(STRANGER, "/subscriptions", chat=GROUP)  # looking is for anyone
    shown = await _press_edits(bot, STRANGER, listing, "city: Zharkent")
    assert await _press_refused(bot, STRANGER, shown, "Mute") == REFUSAL
    assert await _press_refused(bot, STRANGER, shown, "✅ asylum") == REFUSAL
    assert await _press_refused(bot, STRANGER, shown, "Unfollow") == REFUSAL
    refused = await bot.say(STRANGER, "/unsubscribe city Zharkent", chat=GROUP)
    assert refused.text == REFUSAL
    (follow,) = await _subscriptions_of(database_url, GROUP.id)
    assert (follow.muted, follow.kinds) == (False, None)

    muted = await _press_edits(bot, FOLLOWER, shown, "Mute")
    assert "🔕 Muted" in (muted.text or "")
    (follow,) = await _subscriptions_of(database_url, GROUP.id)
    assert follow.muted


async def test_a_stale_or_foreign_or_forged_button_is_answered_politely(
    bot: Story, database_url: str
) -> None:
    await bot.say(FOLLOWER, "/subscribe Qaisha Aqan")
    await bot.say(BYSTANDER, "/subscribe Qaisha Aqan")
    listing = await bot.say(FOLLOWER, "/subscriptions")
    shown = await _press_edits(bot, FOLLOWER, listing, "Qaisha Aqan")
    await bot.say(FOLLOWER, "/unsubscribe Qaisha Aqan")
    gone = await _press_edits(bot, FOLLOWER, shown, "Mute")
    assert gone.text == "This chat follows nobody yet. Try /subscribe &lt;name&gt;."
    assert bot.api.callback_answers[-1].text == "That follow no longer exists."

    (theirs,) = await _subscriptions_of(database_url, BYSTANDER.id)
    key = bot.application.bot_data[SERVICES].button_key
    mine = await bot.say(FOLLOWER, "/subscriptions")
    await bot.api.user_presses(
        FOLLOWER, mine, button_data(key, "subm", theirs.id, 1, 1), check_button=False
    )
    await bot.api.wait_until(
        lambda: bot.api.callback_answers[-1].text == "That follow no longer exists."
    )
    await bot.api.user_presses(FOLLOWER, mine, "subm:1:1:1:AAAAAAAAAA", check_button=False)
    await bot.api.wait_until(
        lambda: (
            bot.api.callback_answers[-1].text
            == "This button no longer works. Send /help for the commands."
        )
    )
    (theirs,) = await _subscriptions_of(database_url, BYSTANDER.id)
    assert not theirs.muted


async def test_many_follows_are_listed_a_page_at_a_time(bot: Story, database_url: str) -> None:
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=FOLLOWER.id, kind="private", language="en")
        for number in range(21):
            person = await add_person(
                session=session, name=f"Person {number:02}", actor_id=1, pushed=False
            )
            await subscribe(session=session, chat_id=FOLLOWER.id, person_id=person.id)
        for place in ("court in Almaty", ZHARKENT_COURT):
            await follow_place(
                session=session, chat_id=FOLLOWER.id, scope=SubscriptionScope.COURT, place=place
            )
        await subscribe(session=session, chat_id=FOLLOWER.id, person_id=None)
        await follow_place(
            session=session, chat_id=FOLLOWER.id, scope=SubscriptionScope.CITY, place=CITY
        )
    await engine.dispose()
    first = await bot.say(FOLLOWER, "/subscriptions")
    assert "Showing 1–10 of 25 follows." in (first.text or "")
    assert (first.text or "").index("everyone") < (first.text or "").index("city: <b>Zharkent")
    assert len(first.callback_data) == 11  # ten follows, and Next
    second = await _press_edits(bot, FOLLOWER, first, "Next")
    assert "Showing 11–20 of 25 follows." in (second.text or "")
    assert "11. <b>Person 06</b>" in (second.text or "")
    third = await _press_edits(bot, FOLLOWER, second, "Next")
    assert "Showing 21–25 of 25 follows." in (third.text or "")
    assert len(third.callback_data) == 6  # five follows, and Previous
