"""/audit: who changed what and when, old → new, newest first, a page at a time, for owners,
editors and viewers in their private chats; and the log itself, which nothing can change:
the database refuses to update or delete an entry, and /undo appends rather than rewrites."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from bot.localapi import SentMessage, User, parse_html
from handlers.buttons import button_data, read_button
from handlers.context import SERVICES
from handlers.i18n import t
from handlers.render import telegram_length
from handlers.render_audit import AuditView, describe_entry, render_audit
from storage.engine import session_scope
from storage.models import Admin, AuditEntry, Event, EventKind, Role, utcnow
from storage.people import add_person
from tests.e2e import (
    BYSTANDER,
    EDITOR,
    FOLLOWER,
    GROUP,
    RUSSIAN,
    STRANGER,
    Story,
    answer_to,
    story,
)

QAISHA = 1  # the demo records' first person: Qaisha Aqan
# How a command or a button is refused: by the viewer tier's guard.
REFUSED = t("en", "roles.viewers_only")


def _engine(bot: Story) -> AsyncEngine:
    return bot.application.bot_data[SERVICES].engine


async def _give_role(bot: Story, user: User, role: Role | None) -> None:
    """`user` gets `role` (added by the owner); None takes their role away."""
    async with session_scope(_engine(bot)) as session:
        await session.exec(delete(Admin).where(col(Admin.user_id) == user.id))
        if role is not None:
            session.add(Admin(user_id=user.id, role=role, added_by=EDITOR.id))


def _labels(message: SentMessage) -> list[str]:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [button["text"] for row in rows for button in row]


def _button(message: SentMessage, label: str) -> str:
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return next(b["callback_data"] for row in rows for b in row if b["text"] == label)


async def _edited(bot: Story, user: User, message: SentMessage, data: str) -> SentMessage:
    before = len(bot.api.edits)
    await bot.api.user_presses(user, message, data)
    await bot.api.wait_until(lambda: len(bot.api.edits) > before)
    return bot.api.edits[-1]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    async with story(database_url, notify_grace_seconds=3600) as running_story:
        yield running_story


# --- the log cannot be changed ---------------------------------------------------------------


async def test_the_database_refuses_to_update_or_delete_an_audit_entry(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        entry = AuditEntry(actor_id=EDITOR.id, action="note", person_id=1, detail="{}")
        session.add(entry)
    for statement in (
        update(AuditEntry).values(detail='{"new": "rewritten"}'),
        delete(AuditEntry),
        text("UPDATE audit_entry SET actor_id = 1"),
        text("DELETE FROM audit_entry"),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session_scope(engine) as session:
                await session.exec(statement)  # type: ignore[call-overload]
    async with session_scope(engine) as session:
        kept = (await session.exec(select(AuditEntry))).all()
    assert [(e.actor_id, e.action, e.detail) for e in kept] == [(EDITOR.id, "note", "{}")]


async def test_undo_leaves_the_change_in_the_log_and_appends_an_undo_entry(bot: Story) -> None:
    saved = await bot.say(EDITOR, "/setasylum Qaisha Aqan refugee")
    assert (saved.text or "").startswith("Saved")
    async with session_scope(_engine(bot)) as session:
        before = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    undone = await bot.say(EDITOR, "/undo")
    assert "refugee" in (undone.text or "")
    async with session_scope(_engine(bot)) as session:
        after = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
        change = (await session.exec(select(Event).where(Event.actor_id == EDITOR.id))).one()
    assert [e.model_dump() for e in after[: len(before)]] == [e.model_dump() for e in before]
    assert [(e.action, e.actor_id, e.detail) for e in after[len(before) :]] == [
        ("undo", EDITOR.id, str(change.id))
    ]
    assert before[-1].action == EventKind.ASYLUM_CHANGED
    assert json.loads(before[-1].detail or "")["new"]["status"] == "refugee"
    log = await bot.say(EDITOR, "/audit Qaisha Aqan")
    lines = (log.text or "").split("\n")
    # Newest first: the undo, then the change it took back, both by the owner.
    assert lines[1].endswith("user 7001") and lines[2].startswith("took back a change: asylum")
    assert lines[3].endswith("user 7001") and "<b>refugee</b>" in lines[4]


# --- what /audit shows -------------------------------------------------------------------------


async def test_audit_shows_who_changed_what_and_when_old_to_new_newest_first(bot: Story) -> None:
    await bot.say(EDITOR, "/setdetention Qaisha Aqan released https://example.org/ruling")
    await bot.say(EDITOR, "/setvisibility Murager Alimuly restricted")
    log = await bot.say(EDITOR, "/audit")
    text = log.text or ""
    assert text.startswith("<b>Audit log</b>, newest first (times in Asia/Almaty):")
    visibility, detention = text.split("\n• ")[1:3]
    assert "user 7001 · <b>Murager Alimuly</b> #2" in visibility
    assert "record visibility: <b>editors only</b> (was public)." in visibility
    assert "user 7001 · <b>Qaisha Aqan</b> #1" in detention
    assert "detention status is now <b>released</b>" in detention
    assert "Source: https://example.org/ruling." in detention
    # The demo records were loaded by casewatch itself, not by a person.
    assert "casewatch itself · <b>Sairagul Sauytbay</b>" in text
    assert "added to casewatch." in text
    # Restricted people are named in the log: it is for private chats only.
    assert _labels(log) == []


async def test_audit_pages_edit_the_message_in_place_and_recheck_the_role(bot: Story) -> None:
    async with session_scope(_engine(bot)) as session:
        seeded = len((await session.exec(select(AuditEntry))).all())
        for number in range(25 - seeded):
            session.add(AuditEntry(actor_id=EDITOR.id, action="test_step", detail=str(number)))
    await _give_role(bot, BYSTANDER, Role.EDITOR)
    first = await bot.say(BYSTANDER, "/audit")
    assert _labels(first) == ["Next ▶️"] and (first.text or "").count("\n• ") == 10
    second = await _edited(bot, BYSTANDER, first, _button(first, "Next ▶️"))
    assert second.message_id == first.message_id and second.method == "editMessageText"
    assert _labels(second) == ["◀️ Previous", "Next ▶️"]
    assert not set((first.text or "").split("\n• ")[1:]) & set(
        (second.text or "").split("\n• ")[1:]
    )
    third = await _edited(bot, BYSTANDER, first, _button(second, "Next ▶️"))
    assert _labels(third) == ["◀️ Previous"] and (third.text or "").count("\n• ") == 5
    back = await _edited(bot, BYSTANDER, first, _button(third, "◀️ Previous"))
    assert back.text == second.text
    # The role is checked again on every press: an editor removed meanwhile sees nothing more.
    await _give_role(bot, BYSTANDER, None)
    edits = len(bot.api.edits)
    pressed = await bot.api.user_presses(BYSTANDER, first, _button(back, "◀️ Previous"))
    assert await answer_to(bot, pressed) == REFUSED
    assert len(bot.api.edits) == edits  # the refusal is the press's whole answer
    assert len(bot.api.messages_to(BYSTANDER.id)) == 1


async def test_audit_of_one_person_and_a_name_that_matches_several(bot: Story) -> None:
    async with session_scope(_engine(bot)) as session:
        for _ in range(2):
            await add_person(session=session, name="Erlan Serik", actor_id=EDITOR.id, pushed=False)
    await bot.say(EDITOR, "/setasylum #1 refugee")
    one = await bot.say(EDITOR, "/audit #1")
    text = one.text or ""
    assert text.startswith("<b>Audit log</b> of <b>Qaisha Aqan</b> #1, newest first")
    assert text.count("\n• ") == 2 and "Murager" not in text  # her change and her arrival
    several = await bot.say(EDITOR, "/audit Erlan Serik")
    assert (several.text or "").startswith(t("en", "find.several"))
    key = bot.application.bot_data[SERVICES].button_key
    pressed = [read_button(key, data) for data in several.callback_data]
    assert [(p.action, len(p.values)) for p in pressed if p] == [("audit", 1), ("audit", 1)]
    chosen = await bot.press(EDITOR, several, several.callback_data[1])
    assert chosen.message_id != several.message_id
    assert (chosen.text or "").startswith("<b>Audit log</b> of <b>Erlan Serik</b>")
    nobody = await bot.say(EDITOR, "/audit #999")
    assert nobody.text == "No person has the number #999."


async def test_owners_editors_and_viewers_read_the_log_in_private_only(bot: Story) -> None:
    await _give_role(bot, BYSTANDER, Role.VIEWER)
    viewer = await bot.say(BYSTANDER, "/audit")
    assert (viewer.text or "").startswith("<b>Audit log</b>")
    await _give_role(bot, BYSTANDER, None)  # a removed viewer (or editor) loses it at once
    for user in (FOLLOWER, STRANGER, BYSTANDER):
        refused = await bot.say(user, "/audit")
        assert refused.text == REFUSED
    bot.api.set_administrators(GROUP.id, [RUSSIAN.id], creator=EDITOR.id)
    in_group = await bot.say(EDITOR, "/audit", GROUP)
    assert in_group.text == t("en", "audit.private_only")
    # A page button forged for a stranger does nothing for them.
    key = bot.application.bot_data[SERVICES].button_key
    forged = button_data(key, "audit", "", "o", 10**6)
    message = bot.api.messages_to(STRANGER.id)[-1]
    pressed = await bot.api.user_presses(STRANGER, message, forged, check_button=False)
    assert await answer_to(bot, pressed) == REFUSED


# --- rendering ---------------------------------------------------------------------------------


def _entry(action: str, detail: object, person_id: int | None = None) -> AuditEntry:
    raw = detail if isinstance(detail, str) or detail is None else json.dumps(detail)
    return AuditEntry(id=1, actor_id=None, action=action, person_id=person_id, detail=raw)


def test_a_change_says_old_to_new_with_its_source_verification_and_correction() -> None:
    entry = _entry(
        EventKind.ASYLUM_CHANGED,
        {
            "old": {"status": "asylum_seeker"},
            "new": {"status": "refugee"},
            "source": "https://example.org/a?b=<c>",
            "verification": "document",
            "correction": True,
        },
    )
    assert describe_entry(entry, {}, "en") == (
        "asylum status is now <b>refugee</b> (was asylum seeker). "
        "(silent correction: nobody was told) Source: https://example.org/a?b=&lt;c&gt;. "
        "Confirmed by a document."
    )
    assert "Подтверждено документом." in describe_entry(entry, {}, "ru")


def test_entries_of_every_kind_are_readable_and_unknown_ones_shown_as_stored() -> None:
    owner = _entry("owner_removed", "13")
    assert describe_entry(owner, {}, "en") == t("en", "audit.owner_removed", user="13")
    unknown = _entry("admin_added", {"user_id": 42, "role": "viewer", "note": "<b>x</b>"})
    assert describe_entry(unknown, {}, "en") == (
        "admin_added: user_id: 42; role: viewer; note: &lt;b&gt;x&lt;/b&gt;"
    )
    plain = _entry("something_new", "not json <at all>")
    assert describe_entry(plain, {}, "en") == "something_new: not json &lt;at all&gt;"
    # A change of a kind this version knows, in a shape it does not: its values as stored.
    odd = _entry(EventKind.HEARING_MOVED, {"old": None, "new": {"day": "soon"}})
    assert describe_entry(odd, {}, "en") == "hearing_moved: day: soon (was —)"
    undo = _entry("undo", "77")
    assert describe_entry(undo, {}, "en") == "took back a change: #77"


def test_a_page_of_long_notes_stays_within_one_message() -> None:
    entries = [
        AuditEntry(
            id=number,
            actor_id=EDITOR.id,
            action=EventKind.NOTE,
            person_id=None,
            detail=json.dumps({"old": None, "new": {"text": "word " * 800}}),
            at=utcnow() - timedelta(minutes=number),
        )
        for number in range(10)
    ]
    shown = render_audit(AuditView(entries=entries), None, "Asia/Almaty", "ru")
    assert telegram_length(shown) <= 4096 and shown.count("\n• ") == 10


@settings(max_examples=60, deadline=None)
@given(
    action=st.sampled_from([*EventKind, "undo", "visibility_changed", "owner_removed", "new"]),
    detail=st.one_of(
        st.none(),
        st.text(max_size=300),
        st.dictionaries(
            st.sampled_from(["old", "new", "source", "verification", "correction", "x"]),
            st.one_of(st.none(), st.text(max_size=200), st.booleans(), st.integers()),
        ).map(json.dumps),
    ),
)
def test_any_stored_entry_renders_as_valid_telegram_html(action: str, detail: str | None) -> None:
    entry = AuditEntry(id=3, actor_id=None, action=action, person_id=1, detail=detail, at=utcnow())
    for language in ("en", "ru", "kk"):
        shown = render_audit(AuditView(entries=[entry]), None, "Asia/Almaty", language)
        parse_html(shown)  # as Telegram reads it: raises on anything it would refuse
        assert telegram_length(shown) <= 4096
