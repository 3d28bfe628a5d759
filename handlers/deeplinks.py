"""Links to the bot that editors and journalists publish: `t.me/<bot>?start=<payload>`.

`p<id>` opens a person's card; `f<id>` opens it and asks whether to follow them (what the
bot does with them: handlers/start.py). Any other payload is no link of ours. Ids only: a
payload can never be taken for a name to search.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.parsing import parse_id

# Telegram allows 1-64 of A-Z, a-z, 0-9, _ and - in a start payload; ours are a letter and
# an id in its one written form (no leading zeros).
_PAYLOAD = re.compile(r"([pf])([1-9][0-9]{0,18})")


class LinkAction(StrEnum):
    OPEN = "p"  # open the card
    FOLLOW = "f"  # open the card and offer to follow


@dataclass(frozen=True)
class StartLink:
    action: LinkAction
    person_id: int


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
    matched = _PAYLOAD.fullmatch(payload)
    person_id = parse_id(matched.group(2)) if matched else None
    if matched is None or person_id is None:
        return None
    return StartLink(action=LinkAction(matched.group(1)), person_id=person_id)
