# ruff: noqa: RUF001  (Russian and Kazakh answers are tested here)
"""/forget: everything stored about a chat is deleted after a confirmation, and a delivery
in flight at that moment brings nothing back (SQLite and PostgreSQL)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.failures import Action, Decision, settle
from bot.localapi import SentMessage, User
from handlers.alerts import OwnerAlerts
from handlers.buttons import button_data
from handlers.context import SERVICES
from handlers.forget import FORGET, render_forgotten
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe
from storage.forget import ForgottenChats, forget_chat
from storage.models import Chat, Delivery, DeliveryState, NameWatch, Person, Subscription
from storage.outbox import expand_due_events, lease_deliveries, mark_sent_many
from storage.people import add_person
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, GROUP, RUSSIAN, STRANGER, Story, story
from tests.factories import change_status

ROWS = (Subscription, NameWatch, Delivery)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id], creator=BYSTANDER.id)
        yield running_story


def _engine(bot: Story) -> AsyncEngine:
    engine: AsyncEngine = bot.application.bot_data[SERVICES].engine
    return engine


async def _stored(engine: AsyncEngine, chat_id: int) -> dict[str, int]:
    """How many rows of each kind are stored about the chat (its own row included)."""
    counts = {}
    async with session_scope(engine) as session:
        for model in ROWS:
            rows = select(func.count()).select_from(model).where(col(model.chat_id) == chat_id)
            counts[model.__name__] = (await session.exec(rows)).one()
        counts["Chat"] = 1 if await session.get(Chat, chat_id) is not None else 0
    return counts


async def _watch_a_name(engine: AsyncEngine, chat_id: int) -> None:
    async with session_scope(engine) as session:
        session.add(
            NameWatch(
                chat_id=chat_id,
                name="Serikzhan",
                key="serikzhan",
                expires_at=datetime.now(UTC) + timedelta(days=90),
            )
        )


async def _following_and_told(
    bot: Story, user: User, chat_id: int | None = None, *, status: str = "refugee"
) -> None:
    """The chat follows Qaisha Aqan and everyone, watches a name, and was told of a change
    (to `status`: a change, so one the records did not have)."""
    chat = GROUP if chat_id == GROUP.id else None
    target = chat_id or user.id
    for text in ("/subscribe Qaisha Aqan", "/subscribe all", "/remind 7d"):
        await bot.say(user, text, chat=chat)
    await _watch_a_name(_engine(bot), target)
    before = len(bot.api.messages_to(target))
    await bot.say(EDITOR, f"/setasylum Qaisha Aqan {status}")
    await bot.api.wait_for_messages(target, before + 1)


async def _answer_to(bot: Story, user: User, question: SentMessage, button: int) -> str:
    """`user` presses a button under the question; the text it is edited to."""
    edits = len(bot.api.edits)
    await bot.api.user_presses(user, question, question.callback_data[button])
    await bot.api.wait_until(lambda: len(bot.api.edits) > edits)
    return bot.api.edits[-1].text or ""


async def test_forget_confirmed_deletes_everything_about_the_chat_and_says_what(
    bot: Story,
) -> None:
    await _following_and_told(bot, FOLLOWER)
    await _following_and_told(bot, STRANGER, status="appeal")
    engine = _engine(bot)
    # Told of both changes (the second one together with the stranger).
    assert await _stored(engine, FOLLOWER.id) == {
        "Subscription": 2,
        "NameWatch": 1,
        "Delivery": 2,
        "Chat": 1,
    }
    question = await bot.say(FOLLOWER, "/forget")
    assert (question.text or "").startswith("Delete everything casewatch stores about this chat?")
    done = await _answer_to(bot, FOLLOWER, question, 0)
    assert done.startswith(
        "Deleted: 2 follows, 1 name watch, 2 notification records, and this chat's settings."
    )
    assert set((await _stored(engine, FOLLOWER.id)).values()) == {0}
    # Another chat keeps everything; the people followed are still there.
    assert await _stored(engine, STRANGER.id) == {
        "Subscription": 2,
        "NameWatch": 1,
        "Delivery": 1,
        "Chat": 1,
    }
    # The bot no longer writes there: a change reaches the stranger only.
    before = len(bot.api.messages_to(FOLLOWER.id))
    await bot.say(EDITOR, "/setasylum Qaisha Aqan asylum_seeker")
    await bot.api.wait_for_messages(STRANGER.id, len(bot.api.messages_to(STRANGER.id)) + 1)
    assert len(bot.api.messages_to(FOLLOWER.id)) == before
    # /start does not bring the chat back; forgetting again finds nothing.
    await bot.say(FOLLOWER, "/start")
    again = await _answer_to(bot, FOLLOWER, await bot.say(FOLLOWER, "/forget"), 0)
    assert again == "Nothing is stored about this chat: there was nothing to delete."


async def test_cancel_deletes_nothing(bot: Story) -> None:
    await _following_and_told(bot, FOLLOWER)
    stored = await _stored(_engine(bot), FOLLOWER.id)
    question = await bot.say(FOLLOWER, "/forget")
    assert await _answer_to(bot, FOLLOWER, question, 1) == "Nothing was deleted."
    assert await _stored(_engine(bot), FOLLOWER.id) == stored
    # The question's buttons are gone with the edit: it cannot be pressed again.
    assert bot.api.edits[-1].reply_markup is None


async def test_a_forged_or_expired_confirmation_deletes_nothing(bot: Story) -> None:
    await _following_and_told(bot, FOLLOWER)
    stored = await _stored(_engine(bot), FOLLOWER.id)
    question = await bot.say(FOLLOWER, "/forget")
    key = bot.application.bot_data[SERVICES].button_key
    an_hour_ago = int(datetime.now(UTC).timestamp()) - 3600
    for data in (f"{FORGET}:{an_hour_ago}:forged", button_data(key, FORGET, an_hour_ago)):
        await bot.api.user_presses(FOLLOWER, question, data, check_button=False)
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) == 2)
    assert [answer.text for answer in bot.api.callback_answers] == [
        "This button no longer works. Send /help for the commands.",  # not made by the bot
        "This confirmation has expired. Send /forget again.",
    ]
    assert await _stored(_engine(bot), FOLLOWER.id) == stored


async def test_in_a_group_only_an_admin_forgets_it(bot: Story) -> None:
    await _following_and_told(bot, FOLLOWER, GROUP.id)
    stored = await _stored(_engine(bot), GROUP.id)
    refused = await bot.say(STRANGER, "/forget", chat=GROUP)
    assert (refused.text or "").startswith("In a group, only its administrators")
    question = await bot.say(FOLLOWER, "/forget", chat=GROUP)
    for button in (0, 1):  # neither confirm nor cancel an administrator's question
        await bot.api.user_presses(STRANGER, question, question.callback_data[button])
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) == 2)
    assert all(
        (answer.text or "").startswith("In a group, only its administrators")
        for answer in bot.api.callback_answers
    )
    assert await _stored(_engine(bot), GROUP.id) == stored
    done = await _answer_to(bot, FOLLOWER, question, 0)
    assert done.startswith("Deleted: 2 follows, 1 name watch, 1 notification record")
    assert set((await _stored(_engine(bot), GROUP.id)).values()) == {0}


async def test_forget_speaks_the_users_language(bot: Story) -> None:
    await _following_and_told(bot, RUSSIAN)
    question = await bot.say(RUSSIAN, "/forget")
    assert (question.text or "").startswith("Удалить всё, что casewatch хранит об этом чате?")
    assert (question.reply_markup or {})["inline_keyboard"][0][1]["text"] == "Отмена"
    done = await _answer_to(bot, RUSSIAN, question, 0)
    assert done.startswith(
        "Удалено: 2 подписки, 1 отслеживаемое имя, 1 запись об уведомлении и настройки этого чата."
    )


@pytest.mark.parametrize(
    ("language", "counts", "said"),
    [
        ("en", (1, 2, 5), "Deleted: 1 follow, 2 name watches, 5 notification records,"),
        ("ru", (1, 3, 5), "Удалено: 1 подписка, 3 отслеживаемых имени, 5 записей об уведомлениях"),
        (
            "ru",
            (21, 5, 22),
            "Удалено: 21 подписка, 5 отслеживаемых имён, 22 записи об уведомлениях",
        ),
        ("kk", (1, 2, 5), "Жойылды: 1 жазылым, 2 бақыланатын есім, хабарлар туралы 5 жазба"),
    ],
)
def test_what_was_deleted_is_counted_in_each_languages_plural_forms(
    language: str, counts: tuple[int, int, int], said: str
) -> None:
    follows, watches, deliveries = counts
    forgotten = ForgottenChats(1, follows, watches, deliveries)
    assert render_forgotten(forgotten, language).startswith(said)


# --- a delivery on its way while the chat is forgotten --------------------------------------

CHAT = 424242


async def _leased_delivery(engine: AsyncEngine) -> int:
    """A chat follows someone, a change is fanned out, and its delivery is leased (sending)."""
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
        assert person.id is not None
        await ensure_chat(session=session, chat_id=CHAT, kind="private", language="en")
        await subscribe(session=session, chat_id=CHAT, person_id=person.id)
        await change_status(session, await session.get(Person, person.id))
        await expand_due_events(session=session, now=datetime.now(UTC))
    async with session_scope(engine) as session:
        (outgoing,) = await lease_deliveries(
            session=session, now=datetime.now(UTC), lease=timedelta(seconds=60)
        )
    assert outgoing.delivery.id is not None
    return outgoing.delivery.id


@pytest.mark.parametrize(
    "decision",
    [
        Decision(Action.RETRY, "Bad Gateway", wait=timedelta(seconds=1)),
        Decision(Action.DEACTIVATE, "Forbidden: bot was blocked by the user"),
        Decision(Action.MIGRATE, "migrated", new_chat_id=-100777),
        Decision(Action.DEAD, "Bad Request: message is too long"),
    ],
)
async def test_a_delivery_settled_after_its_chat_was_forgotten_brings_nothing_back(
    engine: AsyncEngine, decision: Decision
) -> None:
    delivery_id = await _leased_delivery(engine)
    async with session_scope(engine) as session:
        forgotten = await forget_chat(session=session, chat_id=CHAT)
    assert forgotten == ForgottenChats(chats=1, follows=1, name_watches=0, deliveries=1)
    # The send in flight ends, either way: settled against rows that are gone.
    async with session_scope(engine) as session:
        await mark_sent_many(session=session, sent=[(delivery_id, 99)], now=datetime.now(UTC))
    await settle(
        decision,
        engine=engine,
        chat=Chat(id=CHAT),
        delivery_ids=[delivery_id],
        parts_sent=0,
        alerts=OwnerAlerts(frozenset()),
    )
    async with session_scope(engine) as session:
        assert (await session.exec(select(Chat))).all() == []
        assert (await session.exec(select(Delivery))).all() == []
        assert (await session.exec(select(Subscription))).all() == []


async def test_forgetting_leaves_what_other_chats_are_owed(engine: AsyncEngine) -> None:
    await _leased_delivery(engine)
    async with session_scope(engine) as session:
        await ensure_chat(session=session, chat_id=CHAT + 1, kind="private", language="en")
        await subscribe(session=session, chat_id=CHAT + 1, person_id=None)
    async with session_scope(engine) as session:
        person = (await session.exec(select(Person))).one()
        await change_status(session, person, "asylum_seeker")
        await expand_due_events(session=session, now=datetime.now(UTC))
        await forget_chat(session=session, chat_id=CHAT)
    async with session_scope(engine) as session:
        left = (await session.exec(select(Delivery.chat_id, Delivery.state))).all()
    assert list(left) == [(CHAT + 1, DeliveryState.PENDING)]
