"""Who may change the records: every editor command and button, sent by every kind of user.

Owners (ADMIN_IDS) and editors may; a stranger, a group's administrator or member who is not
an editor, and an owner taken out of ADMIN_IDS (after a restart) get a short refusal and
the database stays exactly as it was.
"""

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from telegram import CallbackQuery, Update
from telegram import User as TelegramUser
from telegram.ext import CallbackQueryHandler

from bot.app import build_application
from bot.localapi import Chat, User
from handlers.changes import CHANGE_ACTIONS
from handlers.context import SERVICES
from handlers.following import FOLLOWING_ACTIONS
from handlers.forget import FORGET, KEEP
from handlers.guards import EDITOR_COMMANDS
from handlers.guided import GUIDED_ACTIONS
from handlers.i18n import language_of, t
from handlers.language import LANG
from handlers.name_watches import UNWATCH, WATCH
from handlers.replies import CALENDAR, CARD, FOLLOW, HEARINGS, HISTORY, UNFOLLOW
from storage.admins import role_of, sync_owners
from storage.engine import create_engine, session_scope
from storage.models import Admin, AuditEntry, Role, utcnow
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    KAZAKH,
    RUSSIAN,
    STRANGER,
    Story,
    settings_for,
    story,
)

# The buttons there are: none of them changes records (a card only shows; following, the
# language, name watches and forgetting are the chat's own matter, for a group's admins
# only: tests/test_rights.py). A new kind of button fails test_every_button_is_known until
# it is listed here, and one for editors gets rows in the matrix below.
PUBLIC_BUTTONS = (
    CARD,
    FOLLOW,
    UNFOLLOW,
    HISTORY,
    HEARINGS,
    CALENDAR,
    LANG,
    *FOLLOWING_ACTIONS,
    WATCH,
    UNWATCH,
    FORGET,
    KEEP,
)
# Buttons under an editor's change: the role is checked again on every press.
EDITOR_BUTTONS = (*CHANGE_ACTIONS, *GUIDED_ACTIONS)

# What an allowed command answers with.
ALLOWED = {
    "addperson": "Added <b>",
    "sethearing": "Saved for <b>",
    "setasylum": "Saved for <b>",
    "setdetention": "Saved for <b>",
    "setvisibility": "<b>",  # "<b>Name</b> #id is restricted now: …"
    "undo": "Taken back for <b>",
    "stats": "<b>Deliveries</b>",
    "edit": "✏️ Editing <b>",
}
CHANGES_NOTHING = frozenset({"stats"})


def editor_commands(person: str) -> dict[str, str]:
    """One use of each editor command about `person`, in the order an editor might send them."""
    day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    return {
        "addperson": f"/addperson {person}",
        "sethearing": f"/sethearing {person} {day} 10:00",
        "setasylum": f"/setasylum {person} refugee",
        "setdetention": f"/setdetention {person} released",
        "setvisibility": f"/setvisibility {person} restricted",
        "undo": "/undo",
        "stats": "/stats",
        "edit": f"/edit {person}",
    }


async def make_editor(database_url: str, user_id: int) -> None:
    """`user_id` becomes an editor, added by the owner."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=user_id, role=Role.EDITOR, added_by=EDITOR.id))
    await engine.dispose()


async def _snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the processed update ids."""
    rows = {}
    async with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name != "processed_update":
                result = await connection.execute(select(table).order_by(*table.primary_key))
                rows[table.name] = [tuple(row) for row in result.all()]
    return rows


def test_every_editor_command_is_in_the_matrix() -> None:
    assert set(editor_commands("x")) == set(EDITOR_COMMANDS) == set(ALLOWED)


def test_every_button_is_known(database_url: str) -> None:
    application = build_application(settings_for("http://127.0.0.1:1", database_url))
    known = [f"{prefix}:1" for prefix in (*PUBLIC_BUTTONS, *EDITOR_BUTTONS)]
    for handler in application.handlers[0]:
        if isinstance(handler, CallbackQueryHandler):
            assert any(handler.check_update(_press(data)) for data in known), handler.pattern


def _press(data: str) -> Update:
    user = TelegramUser(STRANGER.id, STRANGER.first_name, is_bot=False)
    query = CallbackQuery("1", user, chat_instance="1", data=data)
    return Update(1, callback_query=query)


async def _try_every_command(
    bot: Story, user: User, chat: Chat | None, person: str
) -> dict[str, tuple[str, bool]]:
    """Each editor command as `user` in `chat`: (the reply, whether the database changed)."""
    engine = bot.application.bot_data[SERVICES].engine  # the bot's own
    outcome = {}
    for command, text in editor_commands(person).items():
        before = await _snapshot(engine)
        reply = await bot.say(user, text, chat)
        outcome[command] = (reply.text or "", await _snapshot(engine) != before)
    return outcome


async def test_owner_and_editor_may_use_every_editor_command(database_url: str) -> None:
    await make_editor(database_url, BYSTANDER.id)
    async with story(database_url, notify_grace_seconds=3600) as bot:
        for user in (EDITOR, BYSTANDER):
            outcome = await _try_every_command(bot, user, None, f"Nurlan {user.first_name}")
            allowed = {
                command: (reply.startswith(ALLOWED[command]), changed)
                for command, (reply, changed) in outcome.items()
            }
            assert allowed == {
                command: (True, command not in CHANGES_NOTHING) for command in ALLOWED
            }, (user, outcome)


async def test_everyone_else_is_refused_and_nothing_changes(database_url: str) -> None:
    async with story(database_url, admin_ids=frozenset({EDITOR.id, FOLLOWER.id})) as bot:
        stats = await bot.say(FOLLOWER, "/stats")
        assert (stats.text or "").startswith(ALLOWED["stats"])  # an owner while listed
    refused = {
        "stranger": (STRANGER, None),
        "group administrator": (RUSSIAN, GROUP),
        "group member": (KAZAKH, GROUP),
        "owner taken out of ADMIN_IDS": (FOLLOWER, None),
    }
    async with story(database_url) as bot:  # restarted: ADMIN_IDS is the first editor only
        bot.api.set_administrators(GROUP.id, [RUSSIAN.id], creator=BYSTANDER.id)
        for role, (user, chat) in refused.items():
            outcome = await _try_every_command(bot, user, chat, "Qaisha Aqan")
            refusal = t(language_of(user.language_code), "editor.refused")
            assert outcome == {command: (refusal, False) for command in ALLOWED}, role


async def test_an_owner_taken_out_of_admin_ids_loses_the_role_at_the_next_start(
    engine: AsyncEngine,
) -> None:
    promoted, listed, unlisted, kept = 11, 12, 13, 14
    async with session_scope(engine) as session:
        session.add(Admin(user_id=promoted, role=Role.EDITOR, added_by=listed))
        session.add(Admin(user_id=kept, role=Role.EDITOR, added_by=listed))
        await sync_owners(session=session, owner_ids=[promoted, listed, unlisted])
    async with session_scope(engine) as session:
        assert await role_of(session=session, user_id=promoted) == Role.OWNER
        await sync_owners(session=session, owner_ids=[listed])
    async with session_scope(engine) as session:
        roles = {
            user_id: await role_of(session=session, user_id=user_id)
            for user_id in (11, 12, 13, 14)
        }
        audit = (await session.exec(select(AuditEntry.action, AuditEntry.detail))).all()
    # Added as an editor before being listed: an editor again. Only ever an owner: nobody.
    assert roles == {promoted: Role.EDITOR, listed: Role.OWNER, unlisted: None, kept: Role.EDITOR}
    assert sorted(audit) == [("owner_made_editor", "11"), ("owner_removed", "13")]
