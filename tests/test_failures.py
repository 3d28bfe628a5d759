"""The failure policy: every way a send can fail, and what is done about it."""

import random
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.failures import (
    CHAT_NOT_FOUND_ATTEMPTS,
    READ_TIMEOUT,
    Action,
    Attempt,
    backoff,
    decide,
)
from bot.http import AnswerTimedOut
from storage.models import utcnow

FIRST = Attempt(attempts=1, queued_at=utcnow())
YESTERDAY = Attempt(attempts=40, queued_at=utcnow() - timedelta(hours=25))


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), Action.DEACTIVATE),
        (Forbidden("Forbidden: bot was kicked from the supergroup chat"), Action.DEACTIVATE),
        (Forbidden("Forbidden: user is deactivated"), Action.DEACTIVATE),
        (ChatMigrated(-1009999), Action.MIGRATE),
        (BadRequest("Bad Request: chat not found"), Action.RETRY),
        (BadRequest("Bad Request: message is too long"), Action.DEAD),
        (BadRequest("Bad Request: wrong file identifier"), Action.DEAD),
        (BadRequest("Bad Request: can't parse entities: unexpected end tag"), Action.SEND_AGAIN),
        (RetryAfter(7), Action.SEND_AGAIN),
        (NetworkError("Internal Server Error (500)"), Action.RETRY),
        (NetworkError("Bad Gateway"), Action.RETRY),
        (TimedOut("no connection to Telegram in time: not sent"), Action.RETRY),
        (AnswerTimedOut("Telegram did not answer in time"), Action.RETRY),
        (KeyError("a rendering bug"), Action.RETRY),
        (OperationalError("UPDATE", {}, Exception("database is locked")), Action.RETRY),
    ],
)
def test_each_failure_of_a_first_attempt_is_sorted(error: Exception, action: Action) -> None:
    assert decide(error, FIRST).action is action


def test_a_429_waits_its_retry_after_and_is_not_a_failure_even_after_a_day() -> None:
    decision = decide(RetryAfter(7), YESTERDAY)
    assert decision.action is Action.SEND_AGAIN and decision.pause == 7.0


@pytest.mark.parametrize(
    "error",
    [NetworkError("Bad Gateway"), KeyError("a rendering bug"), TimedOut("not sent")],
)
def test_what_is_retried_is_dead_after_a_day(error: Exception) -> None:
    decision = decide(error, YESTERDAY)
    assert decision.action is Action.DEAD


def test_an_unexpected_exception_is_named_never_quoted() -> None:
    decision = decide(ValueError("the text of a push about someone"), FIRST)
    assert decision.reason == "ValueError"


def test_refused_markup_is_sent_as_plain_text_once() -> None:
    refused = BadRequest("Bad Request: can't parse entities")
    assert decide(refused, FIRST).plain
    assert decide(refused, Attempt(attempts=1, queued_at=utcnow(), plain=True)).action is (
        Action.DEAD
    )


def test_chat_not_found_deactivates_at_the_third_attempt() -> None:
    missing = BadRequest("Bad Request: chat not found")
    third = Attempt(attempts=CHAT_NOT_FOUND_ATTEMPTS, queued_at=utcnow())
    assert decide(missing, third).action is Action.DEACTIVATE


def test_a_second_read_timeout_is_taken_as_delivered() -> None:
    again = Attempt(attempts=2, queued_at=utcnow(), last_error=READ_TIMEOUT)
    timed_out = AnswerTimedOut("Telegram did not answer in time")
    assert decide(timed_out, FIRST).reason == READ_TIMEOUT
    assert decide(timed_out, again).action is Action.TAKEN_AS_SENT


def test_backoff_doubles_with_jitter_up_to_an_hour() -> None:
    rng = random.Random(7)
    waits = [backoff(attempts, 2.0, rng).total_seconds() for attempts in (1, 2, 3, 30)]
    assert 1.0 <= waits[0] <= 3.0 and 2.0 <= waits[1] <= 6.0 and 4.0 <= waits[2] <= 12.0
    assert 1800.0 <= waits[3] <= 5400.0
