"""What an editor is shown after a change (the preview), and after taking one back."""

from dataclasses import dataclass

from handlers.i18n import t
from handlers.render import (
    Spellings,
    describe_event,
    fit,
    format_when,
    listed_title,
    render_provenance,
)
from storage.models import Event, Person
from storage.people import UndoOutcome, UndoResult
from storage.timeline import PushProgress

# Of one message, the most the change itself may take (a long note or verdict, its markup
# escaped): the rest says who is told and when.
CHANGE_ROOM = 3000


@dataclass(frozen=True)
class Preview:
    """A change just made (None: nothing to change), and how many chats will be told."""

    person: Person
    spellings: Spellings
    event: Event | None
    told: int


def render_preview(preview: Preview, tz: str, language: str) -> str:
    """Old → new, where it comes from, and who will be told when (or that nobody will)."""
    person = listed_title(preview.person, preview.spellings, language)
    event = preview.event
    if event is None:
        return t(language, "editor.unchanged", person=person)
    lines = [
        t(language, "editor.saved", person=person, change=_change(event, language)),
        render_provenance(event.source, event.verification, language),
    ]
    if event.correction:
        lines.append(t(language, "change.correction"))
    elif preview.told == 0:
        lines.append(t(language, "change.nobody_follows"))
    else:
        when = format_when(event.not_before, tz, language)
        lines.append(t(language, "change.will_tell", count=preview.told, when=when))
    return "\n".join(lines)


def render_undo(
    result: UndoResult,
    person: Person | None,
    spellings: Spellings,
    progress: PushProgress | None,
    tz: str,
    language: str,
) -> str:
    """What /undo (or an Undo button) did, or why it did nothing: too late (and how far the
    push went), or a later change by someone (who, and when) stands in the way."""
    if result.event is None or person is None:
        return t(language, "undo.nothing")
    said = {
        "person": listed_title(person, spellings, language),
        "change": _change(result.event, language),
    }
    if result.outcome == UndoOutcome.NOT_UNDOABLE:
        return t(language, "undo.not_undoable", **said)
    if result.outcome == UndoOutcome.TOO_LATE and progress is not None:
        return t(language, "undo.too_late", told=progress.told, waiting=progress.waiting, **said)
    if result.outcome == UndoOutcome.CHANGED_SINCE and result.later is not None:
        actor_id = result.later.actor_id
        who = (
            t(language, "undo.by_import")
            if actor_id is None
            else t(language, "undo.by", id=actor_id)
        )
        when = format_when(result.later.created_at, tz, language)
        return t(language, "undo.changed_since", who=who, when=when, **said)
    return t(language, "undo.done", **said)


def _change(event: Event, language: str) -> str:
    """The change, old → new, cut short if it would crowd out the rest of the message."""
    return fit(describe_event(event, language), CHANGE_ROOM)
