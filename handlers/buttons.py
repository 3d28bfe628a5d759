"""Button data: an action and its values, signed so that only the bot's own buttons count.

Callback data comes from the client. Each button carries `action:value:…:signature`, the
signature an HMAC under a key stored in the database (storage/secrets.py), so a button
keeps working after a restart and in every process, and data made up by a client is told
apart from a real but stale button. What a button names is checked again on every press
(rights, visibility, that the record still exists): the signature proves only that this
bot made the button.
"""

import hmac
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from hashlib import sha256

# Telegram's limit on callback data, in bytes.
MAX_DATA = 64
_SIGNATURE_LENGTH = 10  # characters of base64: 60 bits


@dataclass(frozen=True)
class Pressed:
    """A button of ours that was pressed: what it does, and what it does it to."""

    action: str
    values: tuple[str, ...]

    def number(self, index: int = 0) -> int | None:
        """The value at `index` as a record id (1 … 2^63 - 1), None if it is none."""
        value = self.values[index] if index < len(self.values) else ""
        if not (value.isascii() and value.isdigit()) or value.startswith("0"):
            return None
        number = int(value)
        return number if number < 2**63 else None


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), sha256).digest()
    return urlsafe_b64encode(digest).decode()[:_SIGNATURE_LENGTH]


def button_data(key: bytes, action: str, *values: object) -> str:
    """Callback data for a button: `action` and `values` (no colons in them), signed."""
    payload = ":".join([action, *(str(value) for value in values)])
    data = f"{payload}:{_signature(key, payload)}"
    if len(data.encode()) > MAX_DATA:
        raise ValueError(f"button data longer than {MAX_DATA} bytes: {action}")
    return data


def read_button(key: bytes, data: str | None) -> Pressed | None:
    """The action and values of a button of ours; None for data this bot did not sign."""
    payload, _, signature = (data or "").rpartition(":")
    # Compared as bytes: compare_digest refuses a str with anything beyond ASCII in it.
    expected = _signature(key, payload).encode()
    if not payload or not hmac.compare_digest(signature.encode(), expected):
        return None
    action, *values = payload.split(":")
    return Pressed(action=action, values=tuple(values))
