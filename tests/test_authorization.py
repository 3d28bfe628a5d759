"""Who may do what: every owner, editor and viewer command, and every editor button, sent by
every kind of user (SQLite and PostgreSQL).

The matrix below says, for each use of a command, which roles may: owners (ADMIN_IDS),
editors, viewers. Everyone else (a stranger, a group's administrator or member who has no
role, an editor an owner removed a moment ago, an owner taken out of ADMIN_IDS) gets a short
refusal, and the database stays exactly as it was. A command another branch adds takes one
row here.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from telegram import CallbackQuery, Update
from telegram import User as TelegramUser
from telegram.ext import CallbackQueryHandler

from bot.app import build_application
from bot.localapi import Chat, User
from handlers import guards
from handlers.buttons import button_data
from handlers.context import SERVICES, CaseContext
from handlers.following import FOLLOWING_ACTIONS
from handlers.forget import FORGET, KEEP
from handlers.guards import (
    EDITOR_BUTTONS,
    EDITOR_COMMANDS,
    OWNER_COMMANDS,
    VIEWER_BUTTONS,
    VIEWER_COMMANDS,
)
from handlers.i18n import language_of, t
from handlers.language import LANG
from handlers.name_watches import UNWATCH, WATCH
from handlers.registry import COMMANDS
from handlers.replies import (
    CALENDAR,
    CARD,
    DROP,
    FIELD,
    FOLLOW,
    GO,
    HEARINGS,
    HISTORY,
    HUSH,
    LEVEL,
    PICK,
    SKIP,
    UNDO,
    UNFOLLOW,
    VALUE,
    WHO,
)
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
    answer_to,
    settings_for,
    story,
)

# The buttons there are: none of them changes records (a card only shows; following, the
# language, name watches and forgetting are the chat's own matter, for a group's admins
# only: tests/test_rights.py). A new kind of button fails test_every_button_is_known until
# it is listed here, or (one that changes records) in handlers/guards.py EDITOR_BUTTONS
# with a row in BUTTON_MATRIX below.
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
# The commands for everyone; every other command belongs to a tier in handlers/guards.py.
PUBLIC_COMMANDS = frozenset(
    {
        "start",
        "help",
        "find",
        "person",
        "history",
        "hearings",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "remind",
        "quiet",
        "digest",
        "lang",
        "calendar",
        "forget",
    }
)

OWNERS = frozenset({"owner"})
EDITORS = frozenset({"owner", "editor"})
VIEWERS = frozenset({"owner", "editor", "viewer"})
TIERS = {OWNERS: OWNER_COMMANDS, EDITORS: EDITOR_COMMANDS, VIEWERS: VIEWER_COMMANDS}
# What each tier answers those it refuses (a viewer refused an editor's command is told why).
REFUSALS = {OWNERS: "roles.owners_only", EDITORS: "editor.refused", VIEWERS: "roles.viewers_only"}
VIEWER_REFUSED = "roles.viewer_changes_nothing"
NEW_ROLE = 4242  # a user id /admins gives a role to, and takes it from


@dataclass(frozen=True)
class Use:
    """One use of a command: who may, and what an allowed use does."""

    command: str
    text: str  # as sent: {person} and {day} are filled in
    allowed: frozenset[str]
    answer: str | None  # how an allowed answer starts; None: anything but a refusal
    changes: bool | None  # whether an allowed use changes the database; None: not judged


# In the order one person might send them (/undo takes back the /cancelhearing before it).
MATRIX = (
    Use("addperson", "/addperson {person}", EDITORS, "Added <b>", True),
    Use("sethearing", "/sethearing {person} {day} 10:00", EDITORS, "Saved for <b>", True),
    Use("setasylum", "/setasylum {person} refugee", EDITORS, "Saved for <b>", True),
    Use("setdetention", "/setdetention {person} released", EDITORS, "Saved for <b>", True),
    Use("setverdict", "/setverdict {person}: acquitted", EDITORS, "Saved for <b>", True),
    Use(
        "note", "/note {person}: the court asked for a translator", EDITORS, "Saved for <b>", True
    ),
    Use("cancelhearing", "/cancelhearing {person}", EDITORS, "Saved for <b>", True),
    # The person's only hearing is a month ahead: none has begun that /held could mark.
    Use("held", "/held {person} adjourned", EDITORS, "<b>", False),
    Use("setvisibility", "/setvisibility {person} restricted", EDITORS, "<b>", True),
    Use("undo", "/undo", EDITORS, "Taken back for <b>", True),
    Use("stats", "/stats", EDITORS, "<b>Deliveries</b>", False),
    Use("import", "/import", EDITORS, "Send a .json or .csv file", False),
    Use("admins", "/admins", OWNERS, "<b>Owners", False),
    Use("admins", f"/admins add {NEW_ROLE} viewer", OWNERS, f"{NEW_ROLE} now has", True),
    Use("admins", f"/admins remove {NEW_ROLE}", OWNERS, f"{NEW_ROLE} no longer has", True),
    Use("audit", "/audit", VIEWERS, None, None),
    Use("export", "/export", VIEWERS, None, None),
    # Last: its edit waits for a field, which the presses below must not choose.
    Use("edit", "/edit {person}", EDITORS, "✏️ Editing <b>", True),
)


@dataclass(frozen=True)
class Press:
    """One press of an editor's button: its action and values ({person} is a person's id)."""

    action: str
    values: tuple[str, ...]
    changes: bool  # whether an allowed press changes the database


# One row per action in handlers/guards.py EDITOR_BUTTONS. A change's buttons name a draft or
# an event the sender did not make: an editor's press is answered and changes nothing.
BUTTON_MATRIX: tuple[Press, ...] = (
    Press(PICK, ("1", "{person}"), changes=False),
    Press(GO, ("1",), changes=False),
    Press(DROP, ("1",), changes=False),
    Press(UNDO, ("1",), changes=False),
    Press(HUSH, ("1",), changes=False),
    # A guided edit's buttons: draft 1 is not the sender's, or not at the step pressed.
    Press(WHO, ("1", "{person}"), changes=False),
    Press(FIELD, ("1", "{person}"), changes=False),
    Press(VALUE, ("1", "refugee"), changes=False),
    Press(SKIP, ("1",), changes=False),
    Press(LEVEL, ("1", "document"), changes=False),
)


@dataclass(frozen=True)
class Sender:
    """Who sends, where, and the role the matrix judges them by (None: no role)."""

    user: User
    chat: Chat | None
    role: str | None


VIEWER = User(7008, "Viewer", language_code="en")
REMOVED = User(7009, "Removed", language_code="en")
SENDERS = {
    "owner": Sender(EDITOR, None, "owner"),
    "editor": Sender(BYSTANDER, None, "editor"),
    "viewer": Sender(VIEWER, None, "viewer"),
    "stranger": Sender(STRANGER, None, None),
    "group administrator": Sender(RUSSIAN, GROUP, None),
    "group member": Sender(KAZAKH, GROUP, None),
    "removed editor": Sender(REMOVED, None, None),
    "owner taken out of ADMIN_IDS": Sender(FOLLOWER, None, None),
}


def test_every_command_is_public_or_in_a_tier_with_rows_in_the_matrix() -> None:
    tiered = {*OWNER_COMMANDS, *EDITOR_COMMANDS, *VIEWER_COMMANDS}
    assert set(COMMANDS) - tiered == PUBLIC_COMMANDS - tiered
    assert PUBLIC_COMMANDS.isdisjoint(tiered)
    assert {use.command for use in MATRIX} == tiered
    for use in MATRIX:
        assert use.command in TIERS[use.allowed], use


def test_every_editor_button_is_in_the_matrix() -> None:
    assert [press.action for press in BUTTON_MATRIX] == list(EDITOR_BUTTONS)


def test_every_button_is_known(database_url: str) -> None:
    application = build_application(settings_for("http://127.0.0.1:1", database_url))
    known = [f"{prefix}:1" for prefix in (*PUBLIC_BUTTONS, *VIEWER_BUTTONS, *EDITOR_BUTTONS)]
    for handler in application.handlers[0]:
        if isinstance(handler, CallbackQueryHandler):
            assert any(handler.check_update(_press(data)) for data in known), handler.pattern


def _press(data: str) -> Update:
    user = TelegramUser(STRANGER.id, STRANGER.first_name, is_bot=False)
    query = CallbackQuery("1", user, chat_instance="1", data=data)
    return Update(1, callback_query=query)


async def make_editor(database_url: str, user_id: int) -> None:
    """`user_id` becomes an editor, added by the owner."""
    await give_role(database_url, user_id, Role.EDITOR)


async def give_role(database_url: str, user_id: int, role: Role) -> None:
    """`user_id` gets `role`, as the owner gave it."""
    engine = create_engine(database_url)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=user_id, role=role, added_by=EDITOR.id))
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


def _refusal(allowed: frozenset[str], sender: Sender) -> str:
    key = VIEWER_REFUSED if allowed == EDITORS and sender.role == "viewer" else REFUSALS[allowed]
    return t(language_of(sender.user.language_code), key)


async def _use_every_command(bot: Story, sender: Sender) -> dict[str, str | None]:
    """Each registered use in the matrix, sent by `sender`: what is wrong with its outcome
    (None: it is as the matrix says), by the use's text."""
    engine = bot.application.bot_data[SERVICES].engine  # the bot's own
    person = f"Nurlan {sender.user.first_name}" if sender.role in EDITORS else "Qaisha Aqan"
    day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    problems = {}
    for use in MATRIX:
        before = await _snapshot(engine)
        reply = await bot.say(sender.user, use.text.format(person=person, day=day), sender.chat)
        changed = await _snapshot(engine) != before
        problems[use.text] = _judge(
            use.allowed, use.answer, use.changes, sender, reply.text, changed
        )
    return problems


def _judge(
    allowed: frozenset[str],
    answer: str | None,
    changes: bool | None,
    sender: Sender,
    got: str | None,
    changed: bool,
) -> str | None:
    """What is wrong with what `sender` got (None: nothing), where `allowed` may act, an
    allowed use answers `answer…` and `changes` the database or not."""
    text = got or ""
    if sender.role not in allowed:
        if text != _refusal(allowed, sender):
            return f"not refused: {text!r}"
        return "refused, but the database changed" if changed else None
    if any(text == _refusal(tier, sender) for tier in REFUSALS):
        return f"refused: {text!r}"
    if answer is not None and not text.startswith(answer):
        return f"answered {text!r}"
    if changes is not None and changed != changes:
        return "the database changed" if changed else "the database did not change"
    return None


async def _press_every_button(
    bot: Story, sender: Sender, presses: tuple[Press, ...]
) -> dict[str, str | None]:
    """Each editor button pressed by `sender` under the bot's last message to their chat:
    what is wrong with its outcome (None: it is as the matrix says), by action."""
    services = bot.application.bot_data[SERVICES]
    chat_id = (sender.chat or sender.user.private_chat).id
    under = bot.api.messages_to(chat_id)[-1]
    problems = {}
    for press in presses:
        values = [value.format(person=1) for value in press.values]
        data = button_data(services.button_key, press.action, *values)
        before = await _snapshot(services.engine)
        pressed = await bot.api.user_presses(sender.user, under, data, check_button=False)
        answer = await answer_to(bot, pressed)
        changed = await _snapshot(services.engine) != before
        problems[press.action] = _judge(EDITORS, None, press.changes, sender, answer, changed)
    return problems


async def _prepare(database_url: str, name: str) -> None:
    """The roles the matrix's senders have (and, for an owner taken out of ADMIN_IDS, a start
    of the bot while they were listed)."""
    await make_editor(database_url, BYSTANDER.id)
    await give_role(database_url, VIEWER.id, Role.VIEWER)
    await make_editor(database_url, REMOVED.id)
    if name == "owner taken out of ADMIN_IDS":
        async with story(database_url, admin_ids=frozenset({EDITOR.id, FOLLOWER.id})) as bot:
            listed = await bot.say(FOLLOWER, "/admins")  # an owner while listed
            assert (listed.text or "").startswith("<b>Owners")


@pytest.mark.parametrize("name", SENDERS)
async def test_the_authorization_matrix(database_url: str, name: str) -> None:
    sender = SENDERS[name]
    await _prepare(database_url, name)
    async with story(
        database_url, notify_grace_seconds=3600, flood_commands_per_minute=1000
    ) as bot:
        # A Telegram group's administrator, who is given no role by being one.
        bot.api.set_administrators(GROUP.id, [RUSSIAN.id], creator=BYSTANDER.id)
        if name == "removed editor":
            stats = await bot.say(REMOVED, "/stats")  # an editor a moment ago
            assert (stats.text or "").startswith("<b>Deliveries</b>")
            removed = await bot.say(EDITOR, f"/admins remove {REMOVED.id}")
            assert removed.text == t("en", "admins.removed", user=REMOVED.id)
        problems = await _use_every_command(bot, sender)
        assert problems == dict.fromkeys(problems)
        pressed = await _press_every_button(bot, sender, BUTTON_MATRIX)
        assert pressed == dict.fromkeys(pressed)


async def _count_presses(update: Update, context: CaseContext) -> None:
    """A button that changes the database: one audit entry per press."""
    async with session_scope(context.services.engine) as session:
        session.add(AuditEntry(actor_id=update.effective_user.id, action="test_press"))
    await update.callback_query.answer("done")


async def test_an_editors_button_is_checked_again_at_every_press(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard of editors' buttons, with a button of the test's own (none of the bot's
    changes records yet)."""
    monkeypatch.setattr(guards, "EDITOR_BUTTONS", ("testpress",))
    await _prepare(database_url, "removed editor")
    async with story(database_url) as bot:
        bot.application.add_handler(CallbackQueryHandler(_count_presses, pattern="^testpress:"))
        bot.api.set_administrators(GROUP.id, [RUSSIAN.id], creator=BYSTANDER.id)
        press = (Press("testpress", ("{person}",), changes=True),)
        for name, sender in SENDERS.items():
            if name == "removed editor":
                await bot.say(EDITOR, f"/admins remove {REMOVED.id}")
            elif name == "owner taken out of ADMIN_IDS":
                continue  # it takes a restart: the command matrix has it
            await bot.say(sender.user, "/help", sender.chat)  # a message to press under
            problems = await _press_every_button(bot, sender, press)
            assert problems == {"testpress": None}, name


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
