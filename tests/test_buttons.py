"""Button data: signed by the bot, so a made-up or altered button is told apart."""

import pytest

from handlers.buttons import MAX_DATA, button_data, read_button

KEY = b"k" * 32


def test_a_signed_button_reads_back_its_action_and_values() -> None:
    pressed = read_button(KEY, button_data(KEY, "hist", 42, 3))

    assert pressed is not None
    assert (pressed.action, pressed.values) == ("hist", ("42", "3"))
    assert (pressed.number(0), pressed.number(1), pressed.number(2)) == (42, 3, None)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "card:42",
        "card:42:AAAAAAAAAA",
        "card:42:²",  # beyond ASCII, as a modified client may send
        button_data(KEY, "card", 42).replace("42", "43"),
        button_data(b"another key", "card", 42),
    ],
)
def test_data_the_bot_did_not_sign_reads_as_nothing(data: str | None) -> None:
    assert read_button(KEY, data) is None


@pytest.mark.parametrize("value", ["0", "01", "-1", "1e3", "٣", str(2**63), ""])
def test_a_value_that_is_not_a_record_id_is_no_number(value: str) -> None:
    pressed = read_button(KEY, button_data(KEY, "card", value))

    assert pressed is not None and pressed.number() is None


def test_button_data_longer_than_telegram_allows_is_refused() -> None:
    with pytest.raises(ValueError):
        button_data(KEY, "x" * MAX_DATA)
