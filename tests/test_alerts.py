"""Owner alerts: a storm of failures is one short summary per owner."""

import pytest

from handlers.alerts import EXAMPLES_PER_KIND, AlertKind, OwnerAlerts, render_owner_summary
from handlers.i18n import LANGUAGES, t
from handlers.render import MAX_MESSAGE, telegram_length
from tests.test_i18n import html_problems

OWNERS = frozenset({1, 2})


def test_a_thousand_failures_are_counted_with_their_first_examples_for_each_owner() -> None:
    alerts = OwnerAlerts(OWNERS)
    for number in range(1000):
        alerts.note(AlertKind.DEAD_LETTER, f"#{number}: Bad Gateway")
    for owner_id in OWNERS:
        summary = alerts.take(owner_id)
        assert summary is not None
        tally = summary[AlertKind.DEAD_LETTER]
        assert tally.count == 1000 and tally.examples == [f"#{n}: Bad Gateway" for n in range(5)]
        assert alerts.take(owner_id) is None  # taken: the next summary starts afresh


def test_a_summary_given_back_goes_out_with_what_came_since() -> None:
    alerts = OwnerAlerts(frozenset({1}))
    alerts.note(AlertKind.HANDLER_ERROR, "RuntimeError")
    unsent = alerts.take(1)
    assert unsent is not None
    alerts.note(AlertKind.HANDLER_ERROR, "KeyError")
    alerts.give_back(1, unsent)
    summary = alerts.take(1)
    assert summary is not None
    assert summary[AlertKind.HANDLER_ERROR].count == 2
    assert summary[AlertKind.HANDLER_ERROR].examples == ["KeyError", "RuntimeError"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_fullest_summary_is_one_valid_message(language: str) -> None:
    alerts = OwnerAlerts(frozenset({1}))
    for kind in AlertKind:
        for _ in range(EXAMPLES_PER_KIND + 1):
            alerts.note(kind, "<&>" * 1000)
    summary = alerts.take(1)
    assert summary is not None
    text = render_owner_summary(summary, language)
    assert telegram_length(text) <= MAX_MESSAGE and html_problems(text) == []
    assert text.count("• &lt;&amp;&gt;") == len(AlertKind) * EXAMPLES_PER_KIND
    for kind in AlertKind:
        assert t(language, f"alerts.{kind}", count=EXAMPLES_PER_KIND + 1) in text
