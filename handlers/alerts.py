"""What the owners should know (dead letters, groups that removed the bot, handler errors,
broken services), gathered here and sent by the `owner-alerts` job as one summary per owner
at most every ALERT_INTERVAL_SECONDS.

Noting is cheap and never sends anything, so a storm of failures (or a stranger flooding the
bot with updates that fail) neither slows the sender nor makes the bot message an owner more
than once a summary. Memory stays small: a count per kind and its first few examples.
"""

from dataclasses import dataclass, field
from enum import StrEnum
from html import escape

from handlers.i18n import t
from handlers.render import fit

EXAMPLES_PER_KIND = 5
EXAMPLE_LENGTH = 120  # kept of each example
# Shown of each example, escaped, in UTF-16 units: a summary of every kind, full, fits in one
# message.
EXAMPLE_ROOM = 150


class AlertKind(StrEnum):
    DEAD_LETTER = "dead_letter"  # a delivery given up on
    GROUP_LEFT = "group_left"  # a group removed the bot: its follows are kept a while
    HANDLER_ERROR = "handler_error"  # an update that failed with a bug or a broken service
    BROKEN = "broken"  # the sender could not lease or settle


@dataclass
class Tally:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, count: int, examples: list[str]) -> None:
        self.count += count
        room = EXAMPLES_PER_KIND - len(self.examples)
        self.examples.extend(examples[: max(room, 0)])


Summary = dict[AlertKind, Tally]


class OwnerAlerts:
    """What went wrong since each owner's last summary."""

    def __init__(self, owner_ids: frozenset[int]) -> None:
        self.owner_ids = owner_ids
        self._pending: dict[int, Summary] = {}

    def note(self, kind: AlertKind, example: str) -> None:
        """One more thing of `kind` went wrong; `example` says which (no message text)."""
        for owner_id in self.owner_ids:
            self._pending.setdefault(owner_id, {}).setdefault(kind, Tally()).add(
                1, [example[:EXAMPLE_LENGTH]]
            )

    def take(self, owner_id: int) -> Summary | None:
        """The owner's summary, if anything happened; it is theirs no longer."""
        return self._pending.pop(owner_id, None)

    def give_back(self, owner_id: int, summary: Summary) -> None:
        """A summary that could not be sent: it goes out with the next one."""
        pending = self._pending.setdefault(owner_id, {})
        for kind, tally in summary.items():
            pending.setdefault(kind, Tally()).add(tally.count, tally.examples)


def render_owner_summary(summary: Summary, language: str) -> str:
    """`casewatch: what went wrong …`, a count per kind with its first examples."""
    lines = [t(language, "alerts.title")]
    for kind in AlertKind:
        tally = summary.get(kind)
        if tally is None:
            continue
        lines.append(t(language, f"alerts.{kind}", count=tally.count))
        lines += [f"• {_shown(example)}" for example in tally.examples]
    lines.append(t(language, "alerts.footer"))
    return "\n".join(lines)


def _shown(example: str) -> str:
    """The example HTML-escaped, cut (with "…") to EXAMPLE_ROOM."""
    return fit(escape(example), EXAMPLE_ROOM)
