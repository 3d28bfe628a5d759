"""Who may see and change what: restricted people reach owners', editors' and viewers' private
chats only, and in a group only its administrators change what it follows and how (SQLite and
PostgreSQL)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Chat as TelegramChat
from telegram import Message, Update
from telegram import User as TelegramUser

from handlers.buttons import button_data
from handlers.context import SERVICES, CaseContext
from handlers.group_admins import sent_by_group_admin
from handlers.render import render_watch_offer
from storage.engine import session_scope
from storage.following import ensure_chat, subscribe
from storage.models import (
    Admin,
    AuditEntry,
    Chat,
    Delivery,
    DeliveryState,
    Person,
    Role,
    Visibility,
)
from storage.outbox import expand_due_events
from storage.people import add_person
from storage.visibility import set_visibility
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, GROUP, STRANGER, Story, answer_to, story
from tests.factories import change_status
from tests.test_lifecycle import sends_to

NOW = datetime(2030, 1, 1, tzinfo=UTC)
EDITOR_CHAT, VIEWER_CHAT, STRANGER_CHAT = 7001, 7008, 7004
GROUP_CHAT = -1001234567890123
EDITOR_IN_A_GROUP = -1009999999999  # not a private chat, whoever is in it
GONE = "This person's record is no longer available here."


async def _followers_of(engine: AsyncEngine, person_id: int) -> None:
    """An editor, a viewer, a stranger and two groups follow the person, and everyone."""
    async with session_scope(engine) as session:
        session.add(Admin(user_id=EDITOR_CHAT, role=Role.EDITOR))
        session.add(Admin(user_id=VIEWER_CHAT, role=Role.VIEWER))
        for chat_id in (EDITOR_CHAT, VIEWER_CHAT, STRANGER_CHAT, GROUP_CHAT, EDITOR_IN_A_GROUP):
            kind = "private" if chat_id > 0 else "supergroup"
            await ensure_chat(session=session, chat_id=chat_id, kind=kind, language="en")
            await subscribe(session=session, chat_id=chat_id, person_id=person_id)
            await subscribe(session=session, chat_id=chat_id, person_id=None)


async def _restrict(session: AsyncSession, person: Person) -> bool:
    return await set_visibility(
        session=session,
        person=person,
        visibility=Visibility.RESTRICTED,
        actor_id=EDITOR_CHAT,
        now=NOW,
    )


async def _pushed_to(engine: AsyncEngine) -> list[int]:
    async with session_scope(engine) as session:
        await expand_due_events(session=session, now=NOW)
        pending = select(Delivery.chat_id).where(Delivery.state == DeliveryState.PENDING)
        return sorted((await session.exec(pending.order_by(col(Delivery.chat_id)))).all())


async def test_a_push_about_a_restricted_person_reaches_editors_and_viewers_private_chats_only(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(
            session=session, name="Murager Alimuly", actor_id=1, pushed=False
        )
    assert person.id is not None
    await _followers_of(engine, person.id)
    async with session_scope(engine) as session:
        assert await _restrict(session, person)
        await change_status(session, person)
    assert await _pushed_to(engine) == [EDITOR_CHAT, VIEWER_CHAT]


async def test_restricting_drops_what_outsiders_were_still_owed_and_is_audited(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        person = await add_person(session=session, name="Qaisha Aqan", actor_id=1, pushed=False)
    assert person.id is not None
    await _followers_of(engine, person.id)
    async with session_scope(engine) as session:
        await change_status(session, person)
    everyone = [GROUP_CHAT, EDITOR_IN_A_GROUP, EDITOR_CHAT, STRANGER_CHAT, VIEWER_CHAT]
    assert await _pushed_to(engine) == everyone
    async with session_scope(engine) as session:
        assert await _restrict(session, person)
        assert not await _restrict(session, person)
    assert await _pushed_to(engine) == [EDITOR_CHAT, VIEWER_CHAT]
    async with session_scope(engine) as session:
        (audit,) = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == "visibility_changed"))
        ).all()
        assert (audit.actor_id, audit.person_id) == (EDITOR_CHAT, person.id)
        assert audit.detail == '{"old": "public", "new": "restricted"}'


# --- end to end: group administrators and restricted people, against the emulator

REFUSAL = (
    "In a group, only its administrators can change whom it follows, its reminders, "
    "quiet hours and digest."
)
GROUP_CHANGES = (
    "/subscribe Qaisha Aqan",
    "/unsubscribe Qaisha Aqan",
    "/subscribe all",
    "/remind 7d",
    "/quiet 22-07",
    "/digest 20",
)


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url) as running_story:
        running_story.api.set_administrators(GROUP.id, [FOLLOWER.id], creator=BYSTANDER.id)
        yield running_story


async def _group_chat(bot: Story) -> Chat | None:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        return await session.get(Chat, GROUP.id)


async def test_a_group_member_changes_nothing_and_its_admins_change_everything(
    bot: Story,
) -> None:
    for text in GROUP_CHANGES:
        refused = await bot.say(STRANGER, text, chat=GROUP)
        assert refused.text == REFUSAL, text
    assert bot.api.calls["getChatMember"] == 1  # asked once, then remembered
    assert await _group_chat(bot) is None  # nothing of the group was stored
    shown = await bot.say(STRANGER, "/remind", chat=GROUP)  # reading is for everyone
    assert "Hearing reminders: 1 day and 1 hour" in (shown.text or "")

    answers = [await bot.say(FOLLOWER, text, chat=GROUP) for text in GROUP_CHANGES]
    assert [answer.text == REFUSAL for answer in answers] == [False] * len(GROUP_CHANGES)
    owner = await bot.say(BYSTANDER, "/unsubscribe all", chat=GROUP)  # the group's creator
    assert owner.text == "You no longer follow everyone."
    chat = await _group_chat(bot)
    assert chat is not None
    assert (chat.reminder_offsets, chat.quiet_hours, chat.digest_hour) == ("7d", "22:00-07:00", 20)
    assert bot.api.calls["getChatMember"] == 3


async def test_a_group_member_cannot_press_follow_and_an_admin_can(bot: Story) -> None:
    card = await bot.say(STRANGER, "/person Qaisha Aqan", chat=GROUP)  # looking is for everyone
    follow = card.callback_data[0]  # Follow comes first
    await bot.api.user_presses(STRANGER, card, follow)
    await bot.api.wait_until(lambda: bool(bot.api.callback_answers))
    assert bot.api.callback_answers[-1].text == REFUSAL
    marker = await bot.say(FOLLOWER, "/subscriptions", chat=GROUP)  # the next message: no follow
    assert marker.text == "This chat follows nobody yet. Try /subscribe &lt;name&gt;."
    followed = await bot.press(FOLLOWER, card, follow)
    assert (followed.text or "").startswith("You now follow <b>Qaisha Aqan</b>")
    (unfollow,) = followed.callback_data
    await bot.api.user_presses(STRANGER, followed, unfollow)
    await bot.api.wait_until(lambda: len(bot.api.callback_answers) == 3)
    assert bot.api.callback_answers[-1].text == REFUSAL
    still = await bot.say(FOLLOWER, "/subscriptions", chat=GROUP)
    assert "Qaisha Aqan" in (still.text or "")


async def test_private_chats_need_no_admin(bot: Story) -> None:
    answer = await bot.say(STRANGER, "/subscribe Qaisha Aqan")
    assert (answer.text or "").startswith("You now follow")
    assert bot.api.calls["getChatMember"] == 0


async def test_a_restricted_person_is_neither_shown_to_nor_followed_by_a_group(
    bot: Story,
) -> None:
    restricted = await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    assert (restricted.text or "").startswith("<b>Murager Alimuly</b> #2 is restricted now")
    person_id = await _person_id(bot, "Murager Alimuly")
    nobody = _nobody("Murager Alimuly")
    for text in ("/find Murager Alimuly", "/person Murager Alimuly"):
        assert (await bot.say(FOLLOWER, text, chat=GROUP)).text == nobody, text
    # As for a name nobody has: the offer to watch for it (a watch never tells of them).
    offer = await bot.say(FOLLOWER, "/subscribe Murager Alimuly", chat=GROUP)
    assert offer.text == render_watch_offer("Murager Alimuly", "en")
    by_id = await bot.say(FOLLOWER, f"/subscribe #{person_id}", chat=GROUP)
    assert by_id.text == _nobody(f"#{person_id}")
    # Not even an editor sees them in a group; in a private chat an editor does.
    assert (await bot.say(EDITOR, "/find Murager Alimuly", chat=GROUP)).text == nobody
    # Nor can an editor's change command in a group name them.
    edit = await bot.say(EDITOR, "/setdetention Murager Alimuly released", chat=GROUP)
    assert edit.text == nobody
    card = await bot.say(EDITOR, "/person Murager Alimuly")
    key = bot.application.bot_data[SERVICES].button_key
    assert "Murager Alimuly" in (card.text or "")
    assert card.callback_data[0] == button_data(key, "follow", person_id)
    # A real button of the editor's card, pressed in the group (by its admin), is checked again.
    qaisha = await bot.say(FOLLOWER, "/person Qaisha Aqan", chat=GROUP)
    said = len(bot.api.messages_to(GROUP.id))
    for action in ("card", "follow", "hist", "hear"):
        data = button_data(key, action, person_id)
        pressed = await bot.api.user_presses(FOLLOWER, qaisha, data, check_button=False)
        assert await answer_to(bot, pressed) == GONE, action
    assert len(bot.api.messages_to(GROUP.id)) == said  # nothing said in the group about them
    assert (await _group_chat(bot)) is None  # the group follows nobody
    hearings = await bot.say(FOLLOWER, "/hearings", chat=GROUP)
    assert "Murager" not in (hearings.text or "")


async def test_a_push_about_a_restricted_person_reaches_only_an_editors_private_chat(
    bot: Story,
) -> None:
    for user, chat in ((FOLLOWER, GROUP), (STRANGER, None), (EDITOR, None)):
        answer = await bot.say(user, "/subscribe Murager Alimuly", chat=chat)
        assert (answer.text or "").startswith("You now follow"), user
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    mentions = await bot.say(STRANGER, "/subscriptions")
    assert "Murager" not in (mentions.text or "")
    await bot.say(EDITOR, "/setdetention Murager Alimuly released")
    push = (await bot.api.wait_for_messages(EDITOR.id, 4))[3]
    assert "Murager Alimuly" in (push.text or "") and "released" in (push.text or "")
    # The fan-out wrote every delivery at once: the editor's push went, nothing else was owed.
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        owed = (await session.exec(select(Delivery.chat_id))).all()
    assert list(owed) == [EDITOR.id]
    assert sends_to(bot, STRANGER.id) == 2 and sends_to(bot, GROUP.id) == 1

    public = await bot.say(EDITOR, "/setvisibility Murager Alimuly public")
    assert (public.text or "").startswith("<b>Murager Alimuly</b> #2 is public now")
    await bot.say(EDITOR, "/setdetention Murager Alimuly deported")
    for chat_id, count in ((STRANGER.id, 3), (GROUP.id, 2)):
        told = (await bot.api.wait_for_messages(chat_id, count))[count - 1]
        assert "deported" in (told.text or "")


async def test_setvisibility_is_for_editors_and_says_when_nothing_changes(bot: Story) -> None:
    refused = await bot.say(STRANGER, "/setvisibility Qaisha Aqan restricted")
    assert refused.text == "This command is for editors only."
    same = await bot.say(EDITOR, "/setvisibility Qaisha Aqan public")
    assert same.text == "<b>Qaisha Aqan</b> #1 is public already."
    bad = await bot.say(EDITOR, "/setvisibility Qaisha Aqan hidden")
    assert (bad.text or "").startswith("Visibility is public (everyone) or restricted")
    card = await bot.say(STRANGER, "/person Qaisha Aqan")  # nothing was restricted
    assert "Qaisha Aqan" in (card.text or "")


def _nobody(query: str) -> str:
    if query.startswith("#"):
        return f"No person has the number {query}."
    return f"Nobody found for “{query}”. Try another spelling, or part of the name."


async def _person_id(bot: Story, name: str) -> int:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        person = (await session.exec(select(Person).where(Person.name == name))).one()
    assert person.id is not None
    return person.id


@pytest.mark.parametrize(("sender_chat_id", "admin"), [(GROUP.id, True), (-1005555555555, False)])
async def test_writing_as_the_group_itself_is_an_anonymous_admin_and_as_a_channel_is_not(
    sender_chat_id: int, admin: bool
) -> None:
    group = TelegramChat(GROUP.id, "supergroup", title="Monitors")
    anonymous = TelegramUser(1087968824, "Group", is_bot=True, username="GroupAnonymousBot")
    message = Message(
        1,
        datetime.now(UTC),
        group,
        from_user=anonymous,
        sender_chat=TelegramChat(sender_chat_id, "supergroup" if admin else "channel"),
        text="/quiet 22-07",
    )
    context = cast(CaseContext, None)  # not needed: Telegram is not asked
    assert await sent_by_group_admin(Update(1, message=message), context) is admin


async def test_an_edited_group_command_by_a_member_is_neither_refused_nor_run(bot: Story) -> None:
    sent = await bot.api.user_sends(STRANGER, GROUP, "/find Qaisha")
    await bot.api.wait_for_messages(GROUP.id, 1)
    await bot.api.user_edits(STRANGER, GROUP, sent, "/subscribe all")
    marker = await bot.say(STRANGER, "/subscriptions", chat=GROUP)  # next: no refusal before
    assert marker.text == "This chat follows nobody yet. Try /subscribe &lt;name&gt;."
    assert await _group_chat(bot) is None
