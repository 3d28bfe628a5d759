"""/admins: owners give and take editors' and viewers' roles, by user id or by @username (an
invitation taken up at that user's next message); each change audited, each user's command
menu following at once (SQLite and PostgreSQL)."""

import json
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from handlers.admins import AdminsAction, AdminsArgs, parse_admins
from handlers.context import SERVICES
from handlers.i18n import t
from handlers.parsing import BadArguments
from storage.admins import (
    RoleChange,
    give_role,
    invite,
    role_of,
    roster,
    take_role,
    withdraw_invite,
)
from storage.engine import session_scope
from storage.models import Admin, AdminInvite, AuditEntry, Role, utcnow
from tests.e2e import BYSTANDER, EDITOR, FOLLOWER, GROUP, RUSSIAN, STRANGER, Story, User, story

OWNER = EDITOR  # 7001, in ADMIN_IDS
INVITED = User(7011, "Dana", language_code="en", username="Dana_Monitor")
USAGE = t("en", "error.usage") + " " + t("en", "usage.admins")


# --- the arguments


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AdminsArgs(AdminsAction.LIST)),
        ("list", AdminsArgs(AdminsAction.LIST)),
        ("add 123456789", AdminsArgs(AdminsAction.ADD, user_id=123456789)),
        ("ADD 42 viewer", AdminsArgs(AdminsAction.ADD, user_id=42, role=Role.VIEWER)),
        ("add 42 Редактор", AdminsArgs(AdminsAction.ADD, user_id=42, role=Role.EDITOR)),
        (
            "add @Dana_Monitor viewer",
            AdminsArgs(AdminsAction.ADD, username="Dana_Monitor", role=Role.VIEWER),
        ),
        ("remove 42", AdminsArgs(AdminsAction.REMOVE, user_id=42)),
        ("remove @dana_monitor", AdminsArgs(AdminsAction.REMOVE, username="dana_monitor")),
    ],
)
def test_admins_arguments(text: str, expected: AdminsArgs) -> None:
    assert parse_admins(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("add", "admins.error.who_missing"),
        ("remove", "admins.error.who_missing"),
        ("add 0", "admins.error.bad_id"),
        ("add -5", "admins.error.bad_id"),
        ("remove -1001234567890123", "admins.error.bad_id"),
        (f"add {2**63}", "admins.error.bad_id"),
        ("add Dana", "admins.error.not_a_user"),
        ("add 12a", "admins.error.not_a_user"),
        ("add ١٢٣", "admins.error.not_a_user"),  # digits, but not ours
        ("add @", "admins.error.bad_username"),
        ("add @da", "admins.error.bad_username"),
        ("add @9lives", "admins.error.bad_username"),
        ("add @dana-m", "admins.error.bad_username"),
        ("add 42 owner", "admins.error.owner_role"),
        ("add 42 boss", "admins.error.bad_role"),
        ("add 42 editor now", "error.usage"),
        ("remove 42 editor", "error.usage"),
        ("promote 42", "error.usage"),
        ("list all", "error.usage"),
    ],
)
def test_bad_admins_arguments_say_why(text: str, reason: str) -> None:
    with pytest.raises(BadArguments) as refused:
        parse_admins(text)
    assert refused.value.reason == reason


# --- storage: every change audited in its transaction, invitations taken up once


async def _audit(engine: AsyncEngine) -> list[tuple[int | None, str, dict[str, object]]]:
    async with session_scope(engine) as session:
        rows = await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
        return [(row.actor_id, row.action, json.loads(row.detail or "{}")) for row in rows]


async def test_giving_and_taking_roles_is_audited_and_owners_stay(engine: AsyncEngine) -> None:
    now = utcnow()
    async with session_scope(engine) as session:
        session.add(Admin(user_id=1, role=Role.OWNER))
    async with session_scope(engine) as session:

        async def give(user_id: int, role: Role) -> RoleChange:
            return await give_role(
                session=session, user_id=user_id, role=role, actor_id=1, now=now
            )

        async def take(user_id: int) -> RoleChange:
            return await take_role(session=session, user_id=user_id, actor_id=1, now=now)

        assert [
            await give(5, Role.EDITOR),
            await give(5, Role.EDITOR),
            await give(5, Role.VIEWER),
            await give(1, Role.VIEWER),
            await take(1),
            await take(5),
            await take(5),
        ] == [
            RoleChange.ADDED,
            RoleChange.UNCHANGED,
            RoleChange.CHANGED,
            RoleChange.OWNER,
            RoleChange.OWNER,
            RoleChange.REMOVED,
            RoleChange.NOT_FOUND,
        ]
    async with session_scope(engine) as session:
        assert await role_of(session=session, user_id=5) is None
        assert await role_of(session=session, user_id=1) == Role.OWNER
    assert await _audit(engine) == [
        (1, "admin_added", {"user_id": 5, "role": "editor"}),
        (1, "admin_role_changed", {"user_id": 5, "role": "viewer", "old": "editor"}),
        (1, "admin_removed", {"user_id": 5, "role": "viewer"}),
    ]


async def test_an_invitation_is_taken_up_once_by_its_username(engine: AsyncEngine) -> None:
    now = utcnow()
    async with session_scope(engine) as session:
        made = await invite(
            session=session, username="Dana_Monitor", role=Role.VIEWER, actor_id=1, now=now
        )
        again = await invite(
            session=session, username="dana_monitor", role=Role.VIEWER, actor_id=1, now=now
        )
        assert (made, again) == (RoleChange.ADDED, RoleChange.UNCHANGED)
        listed = await roster(session=session, now=now)
        assert [(i.username, i.role) for i in listed.invites] == [("dana_monitor", "viewer")]
    async with session_scope(engine) as session:
        # Someone else, or the user without a username, takes up nothing.
        assert await role_of(session=session, user_id=77, username="other_user") is None
        assert await role_of(session=session, user_id=77) is None
        assert await role_of(session=session, user_id=77, username="DANA_monitor") == Role.VIEWER
    async with session_scope(engine) as session:
        assert await role_of(session=session, user_id=77, username="dana_monitor") == Role.VIEWER
        assert await session.get(AdminInvite, "dana_monitor") is None
        admin = await session.get(Admin, 77)
        assert admin is not None and admin.added_by == 1
        # Taken up, it can no longer be withdrawn: the role is taken by user id.
        gone = await withdraw_invite(session=session, username="dana_monitor", actor_id=1, now=now)
        assert gone == RoleChange.NOT_FOUND
    actions = [(actor, action) for actor, action, _ in await _audit(engine)]
    assert actions == [(1, "admin_invited"), (77, "admin_invite_taken")]


async def test_an_expired_invitation_gives_nothing_and_an_owner_keeps_the_role(
    engine: AsyncEngine,
) -> None:
    long_ago = utcnow() - timedelta(days=8)
    async with session_scope(engine) as session:
        session.add(Admin(user_id=1, role=Role.OWNER))
        await invite(
            session=session, username="late_user", role=Role.EDITOR, actor_id=1, now=long_ago
        )
        await invite(
            session=session, username="the_owner", role=Role.VIEWER, actor_id=1, now=utcnow()
        )
    async with session_scope(engine) as session:
        assert await role_of(session=session, user_id=88, username="late_user") is None
        assert await role_of(session=session, user_id=1, username="the_owner") == Role.OWNER
        assert (await roster(session=session, now=utcnow())).invites[0].username == "the_owner"
        withdrawn = await withdraw_invite(
            session=session, username="the_owner", actor_id=1, now=utcnow()
        )
        assert withdrawn == RoleChange.REMOVED
        assert (await roster(session=session, now=utcnow())).invites == []


# --- end to end


def _menu(bot: Story, user: User) -> list[str]:
    scope = {"type": "chat", "chat_id": user.id}
    return [command["command"] for command in bot.api.commands_for(scope=scope)]


async def _roles(bot: Story) -> dict[int, str]:
    async with session_scope(bot.application.bot_data[SERVICES].engine) as session:
        return {a.user_id: a.role for a in (await session.exec(select(Admin))).all()}


async def test_an_owner_adds_an_editor_who_can_edit_at_once_and_loses_it_at_once(
    database_url: str,
) -> None:
    async with story(database_url) as bot:
        await bot.say(BYSTANDER, "/lang ru")  # a chat the bot knows, in Russian
        refused = await bot.say(BYSTANDER, "/addperson Nurlan Test")
        assert refused.text == t("ru", "editor.refused")
        added = await bot.say(OWNER, f"/admins add {BYSTANDER.id}")
        assert added.text == t("en", "admins.added", user=BYSTANDER.id, role="editor")
        assert "addperson" in _menu(bot, BYSTANDER) and "admins" not in _menu(bot, BYSTANDER)
        assert {"addperson", "admins"} <= set(_menu(bot, OWNER))
        assert bot.api.commands_for(scope={"type": "chat", "chat_id": BYSTANDER.id})[0][
            "description"
        ] == t("ru", "menu.start")
        allowed = await bot.say(BYSTANDER, "/addperson Nurlan Test")
        assert (allowed.text or "").startswith("Добавлено: <b>Nurlan Test</b>")
        listed = await bot.say(OWNER, "/admins")
        assert f"<b>{t('en', 'admins.editors')}</b>\n• {BYSTANDER.id}" in (listed.text or "")
        assert f"<b>{t('en', 'admins.owners')}</b>\n• {OWNER.id}" in (listed.text or "")
        removed = await bot.say(OWNER, f"/admins remove {BYSTANDER.id}")
        assert removed.text == t("en", "admins.removed", user=BYSTANDER.id, role="editor")
        assert await _roles(bot) == {OWNER.id: "owner"}
        again = await bot.say(BYSTANDER, "/addperson Nurlan Test")
        assert again.text == t("ru", "editor.refused")
        menu = _menu(bot, BYSTANDER)
        assert "find" in menu and "addperson" not in menu


async def test_a_viewer_sees_restricted_people_and_changes_nothing(database_url: str) -> None:
    async with story(database_url) as bot:
        restricted = await bot.say(OWNER, "/setvisibility #1 restricted")
        assert "restricted" in (restricted.text or "")
        hidden = await bot.say(FOLLOWER, "/person #1")
        added = await bot.say(OWNER, f"/admins add {FOLLOWER.id} viewer")
        assert added.text == t("en", "admins.added", user=FOLLOWER.id, role="viewer")
        seen = await bot.say(FOLLOWER, "/person #1")
        assert hidden.text != seen.text and (seen.text or "").startswith("<b>Qaisha Aqan</b> #1")
        refused = await bot.say(FOLLOWER, "/setasylum #1 refugee")
        assert refused.text == t("en", "roles.viewer_changes_nothing")
        menu = _menu(bot, FOLLOWER)
        assert "find" in menu and "addperson" not in menu and "admins" not in menu
        in_group = await bot.say(FOLLOWER, "/person #1", chat=GROUP)
        assert in_group.text == hidden.text  # never in a group


async def test_a_username_invitation_is_taken_up_at_the_first_message(database_url: str) -> None:
    async with story(database_url) as bot:
        invited = await bot.say(OWNER, "/admins add @Dana_Monitor viewer")
        assert invited.text == t("en", "admins.invited", user="@Dana_Monitor", role="viewer")
        listed = await bot.say(OWNER, "/admins")
        assert "• @dana_monitor: viewer, until " in (listed.text or "")
        assert _menu(bot, INVITED) == []
        await bot.say(INVITED, "/help")
        assert (await _roles(bot))[INVITED.id] == "viewer"
        menu = _menu(bot, INVITED)  # their own now, with the viewers' commands
        assert "find" in menu and "addperson" not in menu and "admins" not in menu
        listed = await bot.say(OWNER, "/admins")
        assert "@dana_monitor" not in (listed.text or "")
        assert f"<b>{t('en', 'admins.viewers')}</b>\n• {INVITED.id}" in (listed.text or "")
        withdrawn = await bot.say(OWNER, "/admins add @someone_else")
        assert withdrawn.text == t("en", "admins.invited", user="@someone_else", role="editor")
        withdrawn = await bot.say(OWNER, "/admins remove @Someone_Else")
        assert withdrawn.text == t("en", "admins.invite_withdrawn", user="@Someone_Else")
        engine = bot.application.bot_data[SERVICES].engine
        actions = [action for _, action, _ in await _audit(engine)]
        assert actions[-4:] == [
            "admin_invited",
            "admin_invite_taken",
            "admin_invited",
            "admin_invite_removed",
        ]


async def test_owners_are_not_changed_by_command_and_others_may_not_manage_roles(
    database_url: str,
) -> None:
    async with story(database_url, admin_ids=frozenset({OWNER.id, FOLLOWER.id})) as bot:
        engine = bot.application.bot_data[SERVICES].engine
        before = await _audit(engine)
        yourself = await bot.say(OWNER, f"/admins remove {OWNER.id}")
        assert yourself.text == t("en", "admins.not_yourself")
        other = await bot.say(OWNER, f"/admins remove {FOLLOWER.id}")
        assert other.text == t("en", "admins.owner", user=FOLLOWER.id, role="editor")
        demoted = await bot.say(OWNER, f"/admins add {FOLLOWER.id} viewer")
        assert demoted.text == t("en", "admins.owner", user=FOLLOWER.id, role="viewer")
        nobody = await bot.say(OWNER, "/admins remove 424242")
        assert nobody.text == t("en", "admins.not_found", user=424242, role="editor")
        for text, reason in (
            ("/admins add", "admins.error.who_missing"),
            ("/admins add 0", "admins.error.bad_id"),
            ("/admins add -7", "admins.error.bad_id"),
            ("/admins add Dana", "admins.error.not_a_user"),
            ("/admins add 42 owner", "admins.error.owner_role"),
        ):
            answer = await bot.say(OWNER, text)
            assert answer.text == t("en", reason) + "\n" + USAGE, text
        in_group = await bot.say(OWNER, "/admins", chat=GROUP)
        assert in_group.text == t("en", "admins.private_only")
        for user, chat in ((STRANGER, None), (RUSSIAN, None), (RUSSIAN, GROUP)):
            answer = await bot.say(user, f"/admins add {user.id}", chat)
            assert answer.text == t(user.language_code, "roles.owners_only")
        assert await _audit(engine) == before
        assert await _roles(bot) == {OWNER.id: "owner", FOLLOWER.id: "owner"}


async def test_help_lists_the_commands_of_each_role(database_url: str) -> None:
    async with story(database_url) as bot:
        await bot.say(OWNER, f"/admins add {FOLLOWER.id} viewer")
        await bot.say(OWNER, f"/admins add {BYSTANDER.id} editor")
        sections = {
            user: (await bot.say(user, "/help")).text or ""
            for user in (OWNER, BYSTANDER, FOLLOWER, STRANGER)
        }
    editor, viewer, owner = "Editor commands", "Viewer commands", "Owner commands"
    assert all(part in sections[OWNER] for part in (editor, owner, "/cancelhearing", "/audit"))
    assert editor in sections[BYSTANDER] and owner not in sections[BYSTANDER]
    assert viewer in sections[FOLLOWER] and editor not in sections[FOLLOWER]
    assert all(part not in sections[STRANGER] for part in (editor, viewer, owner))
