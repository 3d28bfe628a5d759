"""Links to the bot that editors and journalists publish: `t.me/<bot>?start=<payload>`.

`p<id>` opens a person's card; `f<id>` opens it and asks whether to follow them (what the
bot does with them: handlers/start.py). Any other payload is no link of ours. A payload is
never taken for a name to search: `p` or `f` followed by anything but an id (a link cut
short, `p²`) names nobody, and the bot says so.
"""

from dataclasses import dataclass
from enum import StrEnum

from handlers.parsing import Who, id_reference


class LinkAction(StrEnum):
    OPEN = "p"  # open the card
    FOLLOW = "f"  # open the card and offer to follow


@dataclass(frozen=True)
class StartLink:
    action: LinkAction
    who: Who  # by id alone, never among the names


def person_link(bot_username: str, person_id: int) -> str:
    """The link that opens a person's card in the bot."""
    return _link(bot_username, LinkAction.OPEN, person_id)


def follow_link(bot_username: str, person_id: int) -> str:
    """The link that opens a person's card and offers to follow them."""
    return _link(bot_username, LinkAction.FOLLOW, person_id)


def _link(bot_username: str, action: LinkAction, person_id: int) -> str:
    return f"https://t.me/{bot_username}?start={action.value}{person_id}"


def parse_start_payload(payload: str) -> StartLink | None:
    """The link a /start payload is (`p12`, `f12`); None for anything else."""
    action, rest = payload[:1], payload[1:]
    if action not in tuple(LinkAction) or not rest:
        return None
    return StartLink(action=LinkAction(action), who=id_reference(rest))
