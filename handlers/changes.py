"""The one way an editor's change to a person's record is made, whatever the command.

Parse the arguments (a wrong one: the reason and the usage); ask first when the change looks
like a mistake (a hearing in the past); find the person (several match: buttons that finish
the command for the one chosen); apply it, its event and its audit entry in one transaction,
once per update; then show the editor a preview: old → new, how many chats will be told and
when, with Undo and "Don't notify" buttons. `--silent` makes the change a correction nobody
is told of.

A waiting command (a choice, a question) is an `EditorDraft`: it survives a restart, is the
editor's own, and is taken up once. A command that is not a change of one person's record
(/addperson) may ask its question the same way (`keep_waiting`, `ask`), and is finished by
its own callback when Yes is pressed (`change_buttons`' `asking`).
"""

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler

from handlers.buttons import Pressed, button_data
from handlers.context import CaseContext, Services, command_args, language
from handlers.i18n import t
from handlers.parsing import BadArguments, Provenance, Who
from handlers.render import Spellings, listed_title, render_candidates
from handlers.render_preview import Preview, render_preview, render_undo
from handlers.replies import (
    CHANGE_ACTIONS,
    DROP,
    GO,
    HUSH,
    PICK,
    UNDO,
    edit_in_place,
    person_buttons,
    read_press,
    reply,
    reply_unresolved,
    reply_usage,
)
from handlers.visibility import resolve_here
from handlers.who import read_spellings
from storage.drafts import drop_drafts, save_draft, take_draft
from storage.engine import session_scope
from storage.models import Event, Person, utcnow
from storage.outbox import count_told
from storage.people import (
    UNDOABLE,
    UndoOutcome,
    get_person,
    make_correction,
    undo_last_change,
)
from storage.timeline import claim_update, push_progress

DRAFT = "change"  # the kind of draft a waiting change command is


class Unchangeable(Exception):
    """Raised by a command's `apply` before it writes anything: the change cannot be made to
    this person (no hearing to cancel). `reason` is a translation key taking `{person}`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Finishes a command that asked first (/addperson) or offered a choice of people
# (/setvisibility), given its text and the person chosen (None: Yes was pressed).
Resume = Callable[[Update, CaseContext, str, int | None], Awaitable[None]]


class ChangeArgs(Protocol):
    """What every change command's parser returns: the person meant, and the provenance."""

    @property
    def who(self) -> Who: ...

    @property
    def provenance(self) -> Provenance: ...


ArgsT = TypeVar("ArgsT", bound=ChangeArgs)


@dataclass(frozen=True)
class Editor:
    """Who makes a change, and the services it is made with."""

    user_id: int | None
    services: Services

    def today(self) -> str:
        """Today's date in the default time zone (ISO): when a status took effect."""
        return datetime.now(ZoneInfo(self.services.default_tz)).date().isoformat()

    def made(self, args: ChangeArgs) -> dict[str, Any]:
        """Who makes the change, its grace window and its provenance: the keywords every
        storage change takes besides its own."""
        return {"actor_id": self.user_id, "grace": self.services.grace, **provenance_of(args)}


def provenance_of(args: ChangeArgs) -> dict[str, Any]:
    """The provenance keywords every storage change takes: source, verification, correction."""
    provenance = args.provenance
    return {
        "source": provenance.source,
        "verification": provenance.verification,
        "correction": provenance.silent,
    }


@dataclass(frozen=True)
class ChangeCommand(Generic[ArgsT]):
    """One editor command that changes a person's record.

    `apply` makes the change (None: nothing to change, it is so already); `doubt` returns
    the translation key of a question to ask before making it (None: no doubt), given the
    arguments and the moment now.
    """

    name: str
    parse: Callable[[str], ArgsT]
    apply: Callable[[AsyncSession, Person, ArgsT, Editor], Awaitable[Event | None]]
    doubt: Callable[[ArgsT, datetime, Services], dict[str, str] | None] | None = None


def typed_change(
    command: ChangeCommand[Any],
) -> Callable[[Update, CaseContext], Coroutine[Any, Any, None]]:
    """The callback of a change command typed by an editor."""

    async def change(update: Update, context: CaseContext) -> None:
        """An editor's change command, typed."""
        await carry_out(update, context, command, command_args(update))

    return change


def change_buttons(
    commands: Mapping[str, ChangeCommand[Any]], asking: Mapping[str, Resume] | None = None
) -> CallbackQueryHandler[Any, Any]:
    """The handler of the change commands' buttons, and of the Yes and No of the other
    commands `asking` first, by name (their role is checked in the guard group,
    handlers/guards.py EDITOR_BUTTONS, and the button's own rights here)."""

    async def pressed(update: Update, context: CaseContext) -> None:
        """A button of a change: choose the person, confirm, undo, or make it a correction."""
        await _change_pressed(update, context, commands, asking or {})

    return CallbackQueryHandler(pressed, pattern=f"^({'|'.join(CHANGE_ACTIONS)}):")


async def carry_out(
    update: Update,
    context: CaseContext,
    command: ChangeCommand[Any],
    text: str,
    *,
    person_id: int | None = None,
    confirmed: bool = False,
) -> None:
    """Make the change `text` asks for (for `person_id`, when chosen by a button), asking
    first if in doubt; then the preview."""
    lang = language(update)
    try:
        args = command.parse(text)
    except BadArguments as error:
        await reply_usage(update, command.name, error, lang)
        return
    if person_id is not None:
        args = replace(args, who=Who(person_id=person_id))
    services = context.services
    question = (
        None if confirmed or command.doubt is None else command.doubt(args, utcnow(), services)
    )
    editor = Editor(user_id=_user_id(update), services=services)
    if question is not None:
        async with session_scope(services.engine) as session:
            if not await claim_update(session=session, update_id=update.update_id):
                return
            draft = await keep_waiting(session, update, command.name, text, person_id)
        await ask(update, _question(question, lang), draft, services.button_key, lang)
        return
    async with session_scope(services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        found = await resolve_here(session, update, context, args.who)
        person = found.person
        if person is None:
            spellings = found.spellings
            draft = await keep_waiting(
                session, update, command.name, text, None, confirmed=confirmed
            )
        else:
            done = await _apply(session, command, person, args, editor, lang)
    if person is None:
        if not found.candidates:
            await reply_unresolved(update, found, args.who.label, lang, key=services.button_key)
            return
        await offer_choice(update, found.candidates, spellings, draft, services.button_key, lang)
        return
    if isinstance(done, str):
        await reply(update, done)
        return
    await reply(
        update,
        render_preview(done, services.default_tz, lang),
        _preview_buttons(done, services.button_key, lang),
    )


async def _apply(
    session: AsyncSession,
    command: ChangeCommand[Any],
    person: Person,
    args: ChangeArgs,
    editor: Editor,
    lang: str,
) -> Preview | str:
    """Make the change: its preview, or why it cannot be made."""
    try:
        event = await command.apply(session, person, args, editor)
    except Unchangeable as refusal:
        spellings = await read_spellings(session, [person])
        return t(lang, refusal.reason, person=listed_title(person, spellings, lang))
    return await _preview(session, person, event)


async def keep_waiting(
    session: AsyncSession,
    update: Update,
    name: str,
    text: str,
    person_id: int | None = None,
    *,
    confirmed: bool = False,
) -> int:
    """Keep the command `name` for the editor to finish with a button; returns the draft's id."""
    user_id, chat_id = _user_id(update), update.effective_chat.id if update.effective_chat else 0
    state = {"command": name, "text": text, "person_id": person_id, "confirmed": confirmed}
    # The latest question wins: the editor's earlier ones in this chat lapse (no pile-up).
    await drop_drafts(session=session, user_id=user_id or 0, chat_id=chat_id, kinds=(DRAFT,))
    draft = await save_draft(
        session=session, user_id=user_id or 0, chat_id=chat_id, kind=DRAFT, state=state
    )
    assert draft.id is not None
    return draft.id


def _question(question: dict[str, str], lang: str) -> str:
    """The doubt about a change, in words."""
    return t(lang, question["key"], **{k: v for k, v in question.items() if k != "key"})


async def ask(update: Update, text: str, draft_id: int, key: bytes, lang: str) -> None:
    """A question about the waiting command `draft_id`, with Yes and No."""
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "change.go"), callback_data=button_data(key, GO, draft_id)
                ),
                InlineKeyboardButton(
                    t(lang, "change.drop"), callback_data=button_data(key, DROP, draft_id)
                ),
            ]
        ]
    )
    await reply(update, text, buttons)


async def offer_choice(
    update: Update,
    candidates: list[Person],
    spellings: Spellings,
    draft_id: int,
    key: bytes,
    lang: str,
) -> None:
    """Several people match: one button each, finishing the command for that person."""
    text = render_candidates(candidates, spellings, lang) + "\n" + t(lang, "change.choose")
    await reply(update, text, person_buttons(candidates, spellings, lang, key, PICK, draft_id))


async def _preview(session: AsyncSession, person: Person, event: Event | None) -> Preview:
    """What the editor is shown after a change: the change, and who will be told when."""
    spellings = await read_spellings(session, [person])
    told = (
        0 if event is None or event.correction else await count_told(session=session, event=event)
    )
    return Preview(person=person, spellings=spellings, event=event, told=told)


def _preview_buttons(preview: Preview, key: bytes, lang: str) -> InlineKeyboardMarkup | None:
    """Undo, and (while nobody is told yet) Don't notify."""
    event = preview.event
    if event is None:
        return None
    row = []
    # /undo takes back hearings and statuses; a field changed by guided editing is changed
    # back by editing it again.
    if event.kind in UNDOABLE:
        row.append(
            InlineKeyboardButton(
                t(lang, "change.undo"), callback_data=button_data(key, UNDO, event.id)
            )
        )
    if not event.correction:
        row.append(
            InlineKeyboardButton(
                t(lang, "change.hush"), callback_data=button_data(key, HUSH, event.id)
            )
        )
    return InlineKeyboardMarkup([row]) if row else None


async def _change_pressed(
    update: Update,
    context: CaseContext,
    commands: Mapping[str, ChangeCommand[Any]],
    asking: Mapping[str, Resume],
) -> None:
    pressed = await read_press(update, context)
    if pressed is None:
        return
    if pressed.action in (UNDO, HUSH):
        await _event_pressed(update, context, pressed)
        return
    await _draft_pressed(update, context, pressed, commands, asking)


async def _draft_pressed(
    update: Update,
    context: CaseContext,
    pressed: Pressed,
    commands: Mapping[str, ChangeCommand[Any]],
    asking: Mapping[str, Resume],
) -> None:
    """Finish (or drop) the waiting command the button belongs to, once."""
    query = update.callback_query
    assert query is not None
    lang = language(update)
    draft_id = pressed.number()
    chat_id = update.effective_chat.id if update.effective_chat else 0
    async with session_scope(context.services.engine) as session:
        state = None
        if draft_id is not None:
            state = await take_draft(
                session=session,
                user_id=_user_id(update) or 0,
                chat_id=chat_id,
                kind=DRAFT,
                draft_id=draft_id,
            )
    name = state["command"] if state else ""
    command, resume = commands.get(name), asking.get(name)
    if state is None or (command is None and resume is None):
        await query.answer(t(lang, "change.gone"))
        return
    await query.answer()
    await _drop_buttons(update)
    if pressed.action == DROP:
        await reply(update, t(lang, "change.dropped"))
        return
    person_id = pressed.number(1) if pressed.action == PICK else state["person_id"]
    if command is None:
        assert resume is not None
        await resume(update, context, state["text"], person_id)
        return
    await carry_out(
        update,
        context,
        command,
        state["text"],
        person_id=person_id,
        confirmed=state["confirmed"] or pressed.action == GO,
    )


async def _event_pressed(update: Update, context: CaseContext, pressed: Pressed) -> None:
    """Undo the change, or make it a correction nobody is told of (only its own editor may);
    the preview says what came of it."""
    query = update.callback_query
    assert query is not None
    lang = language(update)
    event_id, user_id = pressed.number(), _user_id(update)
    services = context.services
    text: str | None = None  # the preview as it is now (None: it stays as it was)
    markup, toast = None, None
    async with session_scope(services.engine) as session:
        event = await session.get(Event, event_id) if event_id is not None else None
        if event is None or event.actor_id != user_id or user_id is None:
            toast = t(lang, "change.not_yours")
        elif not await claim_update(session=session, update_id=update.update_id):
            pass  # this press was handled already
        elif pressed.action == UNDO:
            text = await take_back(session, user_id, event.id, services.default_tz, lang)
        elif await make_correction(session=session, event=event, actor_id=user_id):
            person = await get_person(session=session, person_id=event.person_id)
            assert person is not None
            preview = await _preview(session, person, event)
            text = render_preview(preview, services.default_tz, lang)
            markup = _preview_buttons(preview, services.button_key, lang)
        else:
            toast = t(lang, "change.hush_too_late")
    await query.answer(toast)
    if text is not None:
        await edit_in_place(update, text, markup)


async def take_back(
    session: AsyncSession, actor_id: int, event_id: int | None, tz: str, lang: str
) -> str:
    """Undo the actor's change `event_id` (None: their last), and say what came of it."""
    result = await undo_last_change(session=session, actor_id=actor_id, event_id=event_id)
    event = result.event
    person = await get_person(session=session, person_id=event.person_id) if event else None
    spellings = await read_spellings(session, [person])
    progress = None
    if event is not None and result.outcome == UndoOutcome.TOO_LATE:
        progress = await push_progress(session=session, event=event)
    return render_undo(result, person, spellings, progress, tz, lang)


async def _drop_buttons(update: Update) -> None:
    """The buttons under the pressed message go: what they offered is done."""
    query = update.callback_query
    assert query is not None
    with suppress(BadRequest):  # pressed twice: they are gone already
        await query.edit_message_reply_markup(reply_markup=None)


def _user_id(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None
