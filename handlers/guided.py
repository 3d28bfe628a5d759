"""/edit: an editor changes a record step by step, with buttons, typing nothing but values.

Choose a person (typed, or `/edit #id`; several match: a button each) → a field (buttons) →
a value (fixed lists as buttons; anything else typed as the next message, with a format
hint) → optionally a source link and how it is known → the same preview as the typed
commands, made by the same pipeline (handlers/changes.py `carry_out`), with Undo and Don't
notify. `/cancel` leaves it.

The conversation is an `EditorDraft` of kind "edit", one per editor and chat: in the
database, so it survives a restart and every process sees it. Each step takes the draft up
and saves the next one under a new id, so the buttons of a step that is over do nothing. The
role is checked again at every step: a press, a typed value.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from handlers.buttons import Pressed, button_data
from handlers.changes import ChangeCommand, Editor, carry_out
from handlers.context import CaseContext, command_args, language
from handlers.conversation import plain_text
from handlers.editing import RECORD_CHANGES
from handlers.guards import is_editor
from handlers.hearing_changes import HEARING_COMMANDS
from handlers.i18n import t
from handlers.parsing import (
    BadArguments,
    Provenance,
    Who,
    parse_note,
    parse_sethearing,
    parse_setverdict,
    parse_spellings,
    parse_who,
    split_provenance,
)
from handlers.render import Spellings, listed_title, render_candidates
from handlers.replies import (
    FIELD,
    LEVEL,
    SKIP,
    VALUE,
    WHO,
    person_buttons,
    read_press,
    reply,
    reply_usage,
)
from handlers.visibility import resolve_here, visible_person
from handlers.who import read_spellings
from storage.drafts import draft_state, drop_drafts, find_draft, save_draft, take_draft
from storage.engine import session_scope
from storage.models import (
    AsylumStatus,
    Case,
    CaseStage,
    DetentionStatus,
    EditorDraft,
    Event,
    Person,
    PersonRelation,
    RelationKind,
    Verification,
    column_length,
    plausible_birth_year,
)
from storage.people import current_case, get_person, spellings_of
from storage.records import (
    APPEAL,
    APPEAL_STAGES,
    CASE_FIELDS,
    PERSON_FIELDS,
    SPELLING,
    MadeBy,
    add_relation,
    add_spelling,
    remove_relation,
    remove_spelling,
    set_case_field,
    set_person_field,
    start_appeal,
)
from storage.relations import relations_of
from storage.timeline import claim_update

EDIT = "edit"  # the kind of draft a guided edit is
# The steps a draft waits at; at these a typed message is the answer.
TYPED_STEPS = frozenset({"who", "typed", "source"})
NO_LEVEL = "-"
CLEAR = "-"  # typed instead of a value: the field is emptied
ADD = "add"
REMOVE = "del"  # REMOVE + n: remove the n-th of the offered spellings or relations
# Free values are held to the lengths the records keep.
MAX_LENGTHS: dict[str, int] = {
    **{name: column_length(Case, name) for name in CASE_FIELDS if name != "stage"},
    **{name: column_length(Person, name) for name in ("citizenship", "origin", "location")},
    APPEAL: column_length(Case, "court"),
}
MAX_RELATION_NOTE = column_length(PersonRelation, "note")  # "sister", "the same crossing"
# Free text told to followers as typed: checked by its command's own parser.
_FREE_TEXT: dict[str, Callable[[str], object]] = {"verdict": parse_setverdict, "note": parse_note}


@dataclass(frozen=True)
class Field:
    """A field guided editing changes: its value typed, or chosen from `choices` (each
    shown translated under `label` + choice); `sourced`: a source link may be given."""

    name: str
    choices: tuple[str, ...] = ()
    label: str = ""
    sourced: bool = True

    @property
    def typed(self) -> bool:
        return not self.choices and self.name not in (SPELLING, "relation")


FIELDS = {
    f.name: f
    for f in (
        Field("hearing"),
        Field("asylum", tuple(AsylumStatus), "asylum."),
        Field("detention", tuple(DetentionStatus), "detention."),
        Field("stage", tuple(CaseStage), "stage."),
        Field("court"),
        Field("city"),
        Field("charge"),
        Field("case_number"),
        Field("lawyer"),
        Field("birth_year"),
        Field("citizenship"),
        Field("origin"),
        Field("location"),
        Field(SPELLING, sourced=False),
        Field("relation"),
        Field(APPEAL, tuple(APPEAL_STAGES), "stage."),
        Field("verdict"),
        Field("note"),
    )
}


@dataclass(frozen=True)
class Answer:
    """What to say, said once the transaction is over (never hold a session open across a
    Telegram call)."""

    text: str
    markup: InlineKeyboardMarkup | None = None


# --- parsing: pure ------------------------------------------------------------------------


def parse_typed(field_name: str, text: str) -> Any:
    """A typed value of a field, checked and tidied (None: cleared); `BadArguments` with the
    reason otherwise. A relation is `{"who": …, "note": …}`, its person found afterwards."""
    text = text.strip()
    if field_name == "hearing":
        parse_sethearing(f"#1 {text}")  # the same grammar as /sethearing
        return " ".join(text.split())
    if field_name in _FREE_TEXT:
        _FREE_TEXT[field_name](f"#1: {text}")  # the same grammar as /setverdict, /note
        return text
    if field_name == SPELLING:
        return parse_spellings(text.replace(";", " "))[0]
    if field_name == "relation":
        who, _, note = text.partition(":")
        note = " ".join(note.split())
        if len(note) > MAX_RELATION_NOTE:
            raise BadArguments("error.too_long")
        return {"who": parse_who(who).label, "note": note or None}
    if text == CLEAR:
        if field_name == APPEAL:  # an appeal is heard by some court
            raise BadArguments("error.usage")
        return None
    if field_name == "birth_year":
        return parse_birth_year(text)
    value = " ".join(text.split())
    if not value:
        raise BadArguments("error.usage")
    if len(value) > MAX_LENGTHS[field_name]:
        raise BadArguments("error.too_long")
    return value


def parse_birth_year(text: str) -> int:
    """A year of birth, from 1900 to this year (the records' own rule)."""
    year = int(text) if text.isascii() and text.isdigit() and len(text) == 4 else 0
    if not plausible_birth_year(year):
        raise BadArguments("guided.bad_year")
    return year


def parse_source(text: str) -> str:
    """A source link typed on its own (https://…)."""
    rest, provenance = split_provenance(text)
    if rest or provenance.source is None:
        raise BadArguments("guided.bad_source")
    return provenance.source


@dataclass(frozen=True)
class GuidedArgs:
    """A guided change of a field that has no typed command of its own (storage/records.py)."""

    who: Who
    field: str
    choice: str | None
    value: Any
    provenance: Provenance


def parse_guided(text: str) -> GuidedArgs:
    """The change as the conversation wrote it down (JSON: never typed by anyone)."""
    state = json.loads(text)
    level = state.get("verification")
    return GuidedArgs(
        who=Who(person_id=state["person_id"]),
        field=state["field"],
        choice=state.get("choice"),
        value=state.get("value"),
        provenance=Provenance(
            source=state.get("source"),
            verification=Verification(level) if level else None,
        ),
    )


async def _apply_guided(
    session: AsyncSession, person: Person, args: GuidedArgs, editor: Editor
) -> Event | None:
    by = MadeBy(**editor.made(args))
    name, value = args.field, args.value
    if name in PERSON_FIELDS:
        return await set_person_field(
            session=session, person=person, field=name, value=value, by=by
        )
    if name in CASE_FIELDS:
        tz = editor.services.default_tz
        return await set_case_field(
            session=session, person=person, field=name, value=value, default_tz=tz, by=by
        )
    if name == APPEAL:
        return await start_appeal(
            session=session,
            person=person,
            court=value,
            stage=CaseStage(args.choice or CaseStage.APPEAL),
            default_tz=editor.services.default_tz,
            by=by,
        )
    if name == SPELLING:
        change = remove_spelling if args.choice == REMOVE else add_spelling
        return await change(session=session, person=person, spelling=value, by=by)
    other = await get_person(session=session, person_id=value["other_id"])
    if other is None:
        return None
    kind = RelationKind(value["kind"])
    if args.choice == REMOVE:
        return await remove_relation(session=session, person=person, other=other, kind=kind, by=by)
    return await add_relation(
        session=session, person=person, other=other, kind=kind, note=value["note"], by=by
    )


# The change every field without a typed command of its own is made with.
GUIDED_CHANGE = ChangeCommand(name=EDIT, parse=parse_guided, apply=_apply_guided)
_TYPED_COMMANDS = {command.name: command for command in (*RECORD_CHANGES, *HEARING_COMMANDS)}
# The fields a typed command changes, by the command's name.
_COMMAND_OF = {
    "hearing": "sethearing",
    "asylum": "setasylum",
    "detention": "setdetention",
    "verdict": "setverdict",
    "note": "note",
}


def change_for(state: dict[str, Any]) -> tuple[ChangeCommand[Any], str]:
    """The change command a finished conversation comes to, and its text: the typed commands'
    own for a hearing or a status, so a guided change is made exactly as a typed one."""
    name, person_id = state["field"], state["person_id"]
    if name in _COMMAND_OF:
        provenance = " ".join(w for w in (state.get("source"), state.get("verification")) if w)
        colon = ":" if name in _FREE_TEXT else ""  # free text follows the name after a colon
        text = f"#{person_id}{colon} {_kept_whole(state['value'])} {provenance}"
        return _TYPED_COMMANDS[_COMMAND_OF[name]], text.strip()
    return GUIDED_CHANGE, json.dumps(state, ensure_ascii=False, sort_keys=True)


def _kept_whole(value: str) -> str:
    """A typed value as the command's text takes it whole: one whose last word would read as
    provenance (`… his lawyer`, `… media`, a link) gets a full stop after it."""
    try:
        kept = split_provenance(value)[0] == value.strip()
    except BadArguments:  # it ends with a link written without https://
        kept = False
    return value if kept else value.rstrip() + "."


# --- rendering: pure ----------------------------------------------------------------------


def _button(text: str, key: bytes, action: str, *values: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=button_data(key, action, *values))


def _rows(buttons: Sequence[InlineKeyboardButton], width: int = 2) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [list(buttons[i : i + width]) for i in range(0, len(buttons), width)]
    )


def render_fields(
    person: Person, spellings: Spellings, draft_id: int, key: bytes, lang: str
) -> Answer:
    """Which field to change, a button each."""
    text = t(lang, "guided.choose_field", person=listed_title(person, spellings, lang))
    buttons = [
        _button(t(lang, f"guided.field.{name}"), key, FIELD, draft_id, name) for name in FIELDS
    ]
    return Answer(text, _rows(buttons))


def render_choices(state: dict[str, Any], draft_id: int, key: bytes, lang: str) -> Answer:
    """The values to choose from: a fixed list, or add one / remove one of those offered."""
    chosen = FIELDS[state["field"]]
    name = t(lang, f"guided.field.{chosen.name}")
    if chosen.choices:
        labels = [(choice, t(lang, f"{chosen.label}{choice}")) for choice in chosen.choices]
    else:
        adds = [ADD] if chosen.name == SPELLING else [kind.value for kind in RelationKind]
        labels = [(a, t(lang, f"guided.add.{a}")) for a in adds] + [
            (f"{REMOVE}{n}", t(lang, "guided.remove", value=_offered_label(offered)))
            for n, offered in enumerate(state.get("offered", []))
        ]
    buttons = [_button(label, key, VALUE, draft_id, choice) for choice, label in labels]
    return Answer(t(lang, "guided.choose_value", field=name), _rows(buttons))


def _offered_label(offered: Any) -> str:
    """A spelling, or a relation (`name #id`), as its Remove button names it."""
    if isinstance(offered, str):
        return offered
    return f"{offered['name']} #{offered['other_id']}"


def render_typed_hint(state: dict[str, Any], lang: str) -> str:
    """What to type, and in what form."""
    name = state["field"]
    if name in ("hearing", "birth_year", "lawyer", SPELLING, "verdict", "note"):
        return t(lang, f"guided.ask.{name}")
    if name == "relation":
        return t(lang, f"guided.ask.{state['choice']}")
    if name == APPEAL:
        return t(lang, "guided.ask.appeal", stage=t(lang, f"stage.{state['choice']}"))
    return t(lang, "guided.ask.text", field=t(lang, f"guided.field.{name}"))


def render_source_question(draft_id: int, key: bytes, lang: str) -> Answer:
    buttons = [_button(t(lang, "guided.skip"), key, SKIP, draft_id)]
    return Answer(t(lang, "guided.ask.source"), InlineKeyboardMarkup([buttons]))


def render_level_question(draft_id: int, key: bytes, lang: str) -> Answer:
    buttons = [
        _button(t(lang, f"guided.level.{level}"), key, LEVEL, draft_id, level.value)
        for level in Verification
    ]
    buttons.append(_button(t(lang, "guided.skip"), key, LEVEL, draft_id, NO_LEVEL))
    return Answer(t(lang, "guided.ask.level"), _rows(buttons))


def render_people(
    people: Sequence[Person], spellings: Spellings, draft_id: int, key: bytes, lang: str
) -> Answer:
    """Several people match: a button each."""
    text = render_candidates(people, spellings, lang) + "\n" + t(lang, "change.choose")
    return Answer(text, person_buttons(people, spellings, lang, key, WHO, draft_id))


# --- the conversation ---------------------------------------------------------------------


class StepGone(Exception):
    """The draft a step answers was taken up by another update (a press, a message)."""


@dataclass
class Step:
    """A step of the conversation being handled: the update, and the draft it answers."""

    update: Update
    context: CaseContext
    state: dict[str, Any] = field(default_factory=dict)
    draft_id: int | None = None

    @property
    def lang(self) -> str:
        return language(self.update)

    @property
    def key(self) -> bytes:
        return self.context.services.button_key

    @property
    def user_id(self) -> int:
        return self.update.effective_user.id if self.update.effective_user else 0

    @property
    def chat_id(self) -> int:
        return self.update.effective_chat.id if self.update.effective_chat else 0

    async def find(self, session: AsyncSession) -> EditorDraft | None:
        """The editor's edit in this chat: the one this step answers, or the latest."""
        return await find_draft(
            session=session,
            user_id=self.user_id,
            chat_id=self.chat_id,
            kind=EDIT,
            draft_id=self.draft_id,
        )

    async def take(self, session: AsyncSession) -> dict[str, Any] | None:
        """The state of the draft this step answers, which is deleted (None: taken already)."""
        return await take_draft(
            session=session,
            user_id=self.user_id,
            chat_id=self.chat_id,
            kind=EDIT,
            draft_id=self.draft_id or 0,
        )

    async def save(self, session: AsyncSession, **changes: Any) -> int:
        """The next step: the draft taken up, and saved again (a new id) with `changes`;
        `StepGone` if another update took it up first."""
        if self.draft_id is not None and await self.take(session) is None:
            raise StepGone
        self.state = {**self.state, **changes}
        draft = await save_draft(
            session=session,
            user_id=self.user_id,
            chat_id=self.chat_id,
            kind=EDIT,
            state=self.state,
        )
        assert draft.id is not None
        self.draft_id = draft.id
        return draft.id


async def edit(update: Update, context: CaseContext) -> None:
    """`/edit [<who>]`: change a person's record with buttons, step by step (in a private
    chat: the values typed are taken from the editor's next messages, and the lists may name
    restricted people)."""
    lang = language(update)
    chat = update.effective_chat
    if chat is None or chat.type != chat.PRIVATE:
        await reply(update, t(lang, "guided.private_only"))
        return
    text = command_args(update)
    try:
        who = parse_who(text) if text else None
    except BadArguments as error:
        await reply_usage(update, "edit", error, lang)
        return
    step = Step(update, context)
    async with session_scope(context.services.engine) as session:
        if not await claim_update(session=session, update_id=update.update_id):
            return
        await drop_drafts(
            session=session, user_id=step.user_id, chat_id=step.chat_id, kinds=(EDIT,)
        )
        if who is None:
            await step.save(session, step="who")
            answer = Answer(t(lang, "guided.ask.who"))
        else:
            answer = await _choose_person(session, step, who)
    await reply(update, answer.text, answer.markup)


async def cancel(update: Update, context: CaseContext) -> None:
    """`/cancel`: leave a guided edit (anyone may ask: there may be nothing to leave)."""
    user, chat = update.effective_user, update.effective_chat
    async with session_scope(context.services.engine) as session:
        dropped = await drop_drafts(
            session=session,
            user_id=user.id if user else 0,
            chat_id=chat.id if chat else 0,
            kinds=(EDIT,),
        )
    await reply(update, t(language(update), "guided.cancelled" if dropped else "guided.nothing"))


async def _choose_person(session: AsyncSession, step: Step, who: Who) -> Answer:
    """The person `who` names: their fields; several: a button each; nobody: ask again."""
    found = await resolve_here(session, step.update, step.context, who)
    if found.person is not None:
        return await _person_chosen(session, step, found.person)
    draft_id = await step.save(session, step="who")
    if found.candidates:
        return render_people(found.candidates, found.spellings, draft_id, step.key, step.lang)
    nobody = t(step.lang, "guided.nobody", query=escape(who.label))
    return Answer(nobody + "\n" + t(step.lang, "guided.ask.who"))


async def _person_chosen(session: AsyncSession, step: Step, person: Person) -> Answer:
    draft_id = await step.save(session, step="field", person_id=person.id)
    spellings = await read_spellings(session, [person])
    return render_fields(person, spellings, draft_id, step.key, step.lang)


async def typed_value(update: Update, context: CaseContext) -> None:
    """A message typed while the sender's guided edit waits for a value in this chat: the
    value. Any other text goes where it would have gone (the plain-text answer)."""
    step = Step(update, context)
    async with session_scope(context.services.engine) as session:
        draft = await step.find(session)
        state = draft_state(draft) if draft is not None else {}
        waiting = draft is not None and state.get("step") in TYPED_STEPS
        allowed = waiting and await is_editor(session, update)
        if waiting and not allowed:
            await drop_drafts(session=session, user_id=step.user_id, chat_id=step.chat_id)
    if not waiting:
        await plain_text(update, context)
        return
    if not allowed:
        await reply(update, t(step.lang, "editor.refused"))
        return
    assert draft is not None and update.message is not None
    step.state, step.draft_id = state, draft.id
    answer = await _take_typed(step, update.message.text or "")
    if answer is not None:
        await reply(update, answer.text, answer.markup)


async def _take_typed(step: Step, text: str) -> Answer | None:
    """The typed answer to the step the draft waits at; a wrong one: why, and the hint again
    (the draft stays as it was)."""
    try:
        return await _answer_typed(step, text)
    except BadArguments as error:
        return Answer(t(step.lang, error.reason) + "\n" + _hint(step))
    except StepGone:
        return Answer(t(step.lang, "guided.gone"))


async def _answer_typed(step: Step, text: str) -> Answer | None:
    state = step.state
    if state["step"] == "who":
        who = parse_who(text)
        async with session_scope(step.context.services.engine) as session:
            return await _choose_person(session, step, who)
    if state["step"] == "source":
        source = parse_source(text)
        async with session_scope(step.context.services.engine) as session:
            draft_id = await step.save(session, step="level", source=source)
        return render_level_question(draft_id, step.key, step.lang)
    value = parse_typed(state["field"], text)
    async with session_scope(step.context.services.engine) as session:
        if state["field"] == "relation":
            value = await _relation_value(session, step, value)
            if isinstance(value, Answer):
                return value
        answer = await _value_given(session, step, value)
    if answer is None:
        await _finish(step)  # the change claims the update (handlers/changes.py)
    return answer


def _hint(step: Step) -> str:
    """What the step waiting for a typed answer asks for."""
    if step.state["step"] == "who":
        return t(step.lang, "guided.ask.who")
    if step.state["step"] == "source":
        return t(step.lang, "guided.ask.source")
    return render_typed_hint(step.state, step.lang)


async def _relation_value(
    session: AsyncSession, step: Step, typed: dict[str, Any]
) -> dict[str, Any] | Answer:
    """The other person of a relation, found among those this chat may see; or what to say
    when it is not one person (the hint again)."""
    found = await resolve_here(session, step.update, step.context, parse_who(typed["who"]))
    other = found.person
    if other is None or other.id == step.state["person_id"]:
        if found.candidates:
            listed = render_candidates(found.candidates, found.spellings, step.lang)
            return Answer(listed + "\n" + t(step.lang, "guided.type_id"))
        nobody = t(step.lang, "guided.nobody", query=escape(typed["who"]))
        return Answer(nobody + "\n" + _hint(step))
    kind = step.state["choice"]
    return {"other_id": other.id, "name": other.name, "kind": kind, "note": typed["note"]}


async def _value_given(session: AsyncSession, step: Step, value: Any) -> Answer | None:
    """The value is known: ask for the source if the field takes one; None: make the change
    now (the draft taken up)."""
    if FIELDS[step.state["field"]].sourced:
        draft_id = await step.save(session, step="source", value=value)
        return render_source_question(draft_id, step.key, step.lang)
    await step.save(session, step="done", value=value)
    return None


async def _finish(step: Step) -> None:
    """The change, made as if typed (handlers/changes.py), once: the draft is taken up first."""
    async with session_scope(step.context.services.engine) as session:
        state = await step.take(session)
    if state is None:
        return
    command, text = change_for(state)
    await carry_out(step.update, step.context, command, text)


async def guided_pressed(update: Update, context: CaseContext) -> None:
    """A button of a guided edit: the person, the field, the value, the source, the level."""
    pressed = await read_press(update, context)
    if pressed is None:
        return
    query = update.callback_query
    assert query is not None
    step = Step(update, context, draft_id=pressed.number())
    answer: Answer | bool | None = False
    # The role was checked in the guard group (handlers/guards.py EDITOR_BUTTONS).
    try:
        async with session_scope(context.services.engine) as session:
            draft = await step.find(session) if step.draft_id is not None else None
            if draft is not None:
                step.state = draft_state(draft)
                answer = await _press(session, step, pressed)
    except StepGone:
        answer = False
    if answer is False:
        await query.answer(t(step.lang, "guided.gone"))
        return
    await query.answer()
    if isinstance(answer, Answer):
        await reply(update, answer.text, answer.markup)
    else:
        await _finish(step)


async def _press(session: AsyncSession, step: Step, pressed: Pressed) -> Answer | bool | None:
    """What a press at this step comes to: what to say next; None: make the change now;
    False: the button does not belong to this step."""
    state, key, lang = step.state, step.key, step.lang
    value = pressed.values[1] if len(pressed.values) > 1 else ""
    if pressed.action == WHO and state["step"] == "who":
        person = await visible_person(session, step.update, pressed.number(1))
        return False if person is None else await _person_chosen(session, step, person)
    if pressed.action == FIELD and state["step"] == "field" and value in FIELDS:
        return await _field_chosen(session, step, FIELDS[value])
    if pressed.action == VALUE and state["step"] == "choice":
        return await _value_chosen(session, step, value)
    if pressed.action == SKIP and state["step"] == "source":
        return render_level_question(await step.save(session, step="level"), key, lang)
    if pressed.action == LEVEL and state["step"] == "level":
        level = None if value == NO_LEVEL else Verification(value).value
        await step.save(session, step="done", verification=level)
        return None
    return False


async def _field_chosen(session: AsyncSession, step: Step, chosen: Field) -> Answer:
    if chosen.typed:
        await step.save(session, step="typed", field=chosen.name)
        return Answer(
            render_typed_hint(step.state, step.lang) + _now(step, await _current(session, step))
        )
    offered: list[Any] = []
    person_id = step.state["person_id"]
    if chosen.name == SPELLING:
        person = await get_person(session=session, person_id=person_id)
        names = await spellings_of(session=session, person_id=person_id)
        offered = [name for name in names if person is None or name != person.name]
    elif chosen.name == "relation":
        offered = [
            {"other_id": r.other.id, "name": r.other.name, "kind": r.kind.value, "note": r.note}
            for r in await relations_of(session=session, person_id=person_id)
        ]
    draft_id = await step.save(session, step="choice", field=chosen.name, offered=offered)
    return render_choices(step.state, draft_id, step.key, step.lang)


async def _current(session: AsyncSession, step: Step) -> str | None:
    """The field's value now, shown beside the hint (None: not set, or not a plain field)."""
    name, person_id = step.state["field"], step.state["person_id"]
    if name in PERSON_FIELDS:
        person = await get_person(session=session, person_id=person_id)
        value = getattr(person, name) if person is not None else None
    elif name in CASE_FIELDS:
        case = await current_case(session=session, person_id=person_id)
        value = getattr(case, name) if case is not None else None
    else:
        return None
    return None if value is None else str(value)


def _now(step: Step, current: str | None) -> str:
    if current is None:
        return ""
    return "\n" + t(step.lang, "guided.now", value=escape(current))


async def _value_chosen(session: AsyncSession, step: Step, choice: str) -> Answer | bool | None:
    """A value pressed: a status or stage; add (then typed); remove one of those offered."""
    chosen = FIELDS[step.state["field"]]
    if chosen.choices:
        if choice not in chosen.choices:
            return False
        if chosen.name == APPEAL:
            await step.save(session, step="typed", choice=choice)
            return Answer(render_typed_hint(step.state, step.lang))
        return await _value_given(session, step, choice)
    offered = step.state.get("offered", [])
    if choice.startswith(REMOVE) and choice[len(REMOVE) :].isdigit():
        index = int(choice[len(REMOVE) :])
        if index >= len(offered):
            return False
        await step.save(session, step="done", choice=REMOVE, value=offered[index])
        return None
    adds = [ADD] if chosen.name == SPELLING else [kind.value for kind in RelationKind]
    if choice not in adds:
        return False
    await step.save(session, step="typed", choice=ADD if chosen.name == SPELLING else choice)
    return Answer(render_typed_hint(step.state, step.lang))
