"""What /audit shows and the weekly "needs a check" note says: pure, HTML-escaped, within
Telegram's limit (see handlers/render.py for the rest of the bot's messages)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from handlers.i18n import t
from handlers.render import Spellings, describe_event, fit, format_day, format_when, listed_title
from storage.audit import undone_event_id
from storage.models import AuditEntry, Event, EventKind, Person, Verification, Visibility
from storage.stale_cases import StaleCases

# Room for what one entry says (a long note is cut short): ten entries fit in a message.
_ENTRY_ROOM = 300
_DETAIL_ROOM = 200
# Entries that name a user id in their detail, as `sync_owners` writes them.
_ABOUT_A_USER = ("owner_removed", "owner_made_editor")
_CHANGES = frozenset(EventKind)
_VERIFICATIONS = frozenset(Verification)


@dataclass(frozen=True)
class AuditView:
    """A page of the log with what it names: the people (with their spellings) and the
    changes /undo took back, by event id."""

    entries: list[AuditEntry]
    people: Mapping[int, Person] = field(default_factory=dict)
    spellings: Spellings = field(default_factory=dict)
    undone: Mapping[int, Event] = field(default_factory=dict)


def render_audit(view: AuditView, person: Person | None, tz: str, language: str) -> str:
    """A page of /audit (about `person` only, if given): when, who, whom, what; newest first."""
    if person is None:
        lines = [t(language, "audit.title", tz=escape(tz))]
    else:
        title = listed_title(person, view.spellings, language)
        lines = [t(language, "audit.title_person", person=title, tz=escape(tz))]
    if not view.entries:
        lines.append(t(language, "audit.empty"))
    for entry in view.entries:
        head = [f"<b>{format_when(entry.at, tz, language)}</b>", _actor(entry, language)]
        about = view.people.get(entry.person_id or 0)
        if person is None and about is not None:
            head.append(listed_title(about, view.spellings, language))
        elif person is None and entry.person_id is not None:
            head.append(f"#{entry.person_id}")
        what = fit(describe_entry(entry, view.undone, language), _ENTRY_ROOM)
        lines.append(f"• {' · '.join(head)}\n{what}")
    return fit("\n".join(lines))


def _actor(entry: AuditEntry, language: str) -> str:
    if entry.actor_id is None:
        return t(language, "audit.by_casewatch")
    return t(language, "audit.by_user", user=entry.actor_id)


def describe_entry(entry: AuditEntry, undone: Mapping[int, Event], language: str) -> str:
    """What one entry records, in the reader's language; an action this version does not
    know is shown as it is stored."""
    detail = _load(entry.detail)
    if entry.action in _CHANGES and _is_change(detail):
        return _describe_change(entry, detail, language)
    if entry.action == "visibility_changed" and isinstance(detail, dict):
        old, new = (_visibility(detail.get(side), language) for side in ("old", "new"))
        return t(language, "audit.visibility_changed", old=old, new=new)
    if (event_id := undone_event_id(entry)) is not None:
        event = undone.get(event_id)
        change = _describe_event(event, language) if event else f"#{event_id}"
        return t(language, "audit.undo", change=change)
    if entry.action in _ABOUT_A_USER:
        return t(language, f"audit.{entry.action}", user=escape(entry.detail or "?"))
    return t(language, "audit.other", action=escape(entry.action), detail=_generic(detail))


def _is_change(detail: object) -> bool:
    """Whether a detail is one `record_change` writes: old and new values, each an object."""
    return (
        isinstance(detail, dict)
        and "new" in detail
        and all(isinstance(detail.get(side), dict | None) for side in ("old", "new"))
    )


def _describe_change(entry: AuditEntry, detail: dict[str, Any], language: str) -> str:
    """A change written by `record_change`: old → new as the history says it, its source and
    verification, and whether it was a silent correction."""
    event = Event(
        person_id=entry.person_id or 0,
        kind=entry.action,
        old_value=_dump(detail.get("old")),
        new_value=_dump(detail.get("new")),
        effective_at=entry.at,
        dedup_key="",
    )
    parts = [_describe_event(event, language)]
    if detail.get("correction"):
        parts.append(t(language, "audit.correction"))
    if source := detail.get("source"):
        parts.append(t(language, "audit.source", source=escape(str(source))))
    if verification := detail.get("verification"):
        parts.append(_verification(str(verification), language))
    return " ".join(parts)


def _describe_event(event: Event, language: str) -> str:
    """`describe_event`, or (for a kind or a value shape it does not know yet, written by a
    newer version) the stored values as they are: the log must stay readable."""
    try:
        return describe_event(event, language)
    except (KeyError, ValueError, TypeError, AttributeError):
        old, new = _load(event.old_value), _load(event.new_value)
        return t(
            language,
            "audit.change",
            kind=escape(event.kind),
            old=_generic(old) if old else "—",
            new=_generic(new) if new else "—",
        )


def _visibility(value: object, language: str) -> str:
    if value in (Visibility.PUBLIC, Visibility.RESTRICTED):
        return t(language, f"audit.visibility_{value}")
    return escape(str(value))


def _verification(value: str, language: str) -> str:
    if value in _VERIFICATIONS:
        return t(language, f"audit.verified_{value}")
    return escape(value)


def _load(raw: str | None) -> Any:
    """A detail as stored: JSON if it is JSON, else the text itself."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _dump(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _generic(value: object) -> str:
    """Any stored detail, escaped and short: `key: value; …` for an object."""
    if isinstance(value, dict):
        shown = "; ".join(
            f"{key}: {item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)}"
            for key, item in value.items()
            if item not in (None, "", False)
        )
    else:
        shown = "" if value is None else str(value)
    if len(shown) > _DETAIL_ROOM:
        shown = shown[: _DETAIL_ROOM - 1] + "…"
    return escape(shown) or "—"


# --- the weekly note about stale cases -----------------------------------------------------


def render_stale_cases(found: StaleCases, spellings: Spellings, language: str) -> str:
    """The "needs a check" note: the cases untouched longest first, each with its person,
    court (or city) and last change; how many more there are."""
    lines = [t(language, "stale.title", count=found.total)]
    for stale in found.cases:
        title = listed_title(stale.person, spellings, language)
        place = stale.case.court or stale.case.city
        case = f"{title} — {escape(place)}" if place else title
        when = format_day(stale.last_change, language)
        lines.append("• " + t(language, "stale.item", case=case, date=when))
    if (more := found.total - len(found.cases)) > 0:
        lines.append(t(language, "stale.more", count=more))
    lines.append(t(language, "stale.hint"))
    return fit("\n".join(lines))
