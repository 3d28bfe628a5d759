# ruff: noqa: RUF001, RUF003  (look-alike letters from other scripts are what is tested here)
"""Every command parser and every renderer, driven with arbitrary text.

HTML metacharacters, bidi and zero-width characters, emoji beyond U+FFFF, 10,000-character
arguments, SQL-looking strings, impossible dates. A parser either returns a value or raises
`BadArguments` (which the handler answers with the reason); every message a renderer makes
is valid Telegram HTML (the emulator's strict parser) within Telegram's 4,096 UTF-16 units.
The end-to-end test at the bottom sends such text to every command of the running bot.
"""

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from html import escape
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import SQLModel

import handlers.parsing
from bot.localapi import User, parse_html
from handlers.context import SERVICES, Services
from handlers.i18n import LANGUAGES, t
from handlers.parsing import ASYLUM_STATUSES, DETENTION_STATUSES, BadArguments
from handlers.registry import COMMANDS
from handlers.render import (
    MAX_MESSAGE,
    describe_event,
    fit,
    render_candidates,
    render_digest,
    render_followings,
    render_hearings,
    render_matches,
    render_person_card,
    render_push,
    render_reminder_offsets,
    render_stats,
    split_message,
    telegram_length,
)
from storage.engine import session_scope
from storage.following import Following
from storage.models import Case, Event, EventKind, Hearing, Person, Subscription
from storage.names import NameMatch
from storage.outbox import DeliveryStats
from storage.people import HearingSlot, PersonCard
from tests.e2e import EDITOR, Story, story

EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces a person (or an attacker) might type, each a small trap of its own.
NASTY = [
    "<b>",
    "</b>",
    "<a href='x'>",
    "&",
    "&amp;",
    "&#0;",
    "&lt",
    '"quoted"',
    "'; DROP TABLE person; --",
    "1 OR 1=1",
    "2026-02-30",
    "2026-13-01 25:61",
    "24:00",
    "#1",
    "#-1",
    "#²",
    "#99999999999999999999999",
    "\u202eQaisha\u202c",  # right-to-left override
    "\u2066Aqan\u2069",  # isolate
    "Қайша\u200bАқан",  # zero-width space
    "\ufeff",
    "👩🏽‍⚖️",  # a zero-width-joined emoji
    "𝕏𝔸",  # letters beyond U+FFFF
    "all",
    "off",
    "7d,1d,1h",
    "22-07",
    "https://example.org/a?b=1&c=<2>",
    "\n",
    "\t",
    ";",
    "",
]
TRICKY_CHARACTERS = "".join(NASTY) + "abcАБВӘҒҚ 0123456789-:/#.,;@"
LONG = 10_000

piece = st.one_of(
    st.sampled_from(NASTY),
    st.text(alphabet=TRICKY_CHARACTERS, max_size=30),
    st.text(max_size=20),  # anything at all, surrogates excepted
)
nasty_text = st.one_of(
    st.lists(piece, max_size=8).map(" ".join),
    st.sampled_from(NASTY).map(lambda seed: ((seed or "x") * LONG)[:LONG]),
)
language = st.sampled_from(LANGUAGES)


def assert_valid_message(text: str) -> None:
    """What Telegram accepts: HTML that parses strictly, within the length limit."""
    parse_html(text)
    assert telegram_length(text) <= MAX_MESSAGE


# --- parsers ------------------------------------------------------------------------------

# The arguments a parser takes besides the text, by name.
PARSER_CONTEXT: dict[str, Any] = {"now": datetime(2026, 12, 2, 9, 0, tzinfo=UTC), "tz": "UTC"}
PARSERS = [
    function
    for name, function in vars(handlers.parsing).items()
    if name.startswith("parse_") and inspect.isfunction(function)
]


def _call_parser(parser: Callable[..., object], text: str) -> object:
    _text, *others = inspect.signature(parser).parameters.values()
    needed = [p.name for p in others if p.default is inspect.Parameter.empty]
    unknown = set(needed) - set(PARSER_CONTEXT)
    assert not unknown, f"{parser.__name__} needs {unknown}: add them to PARSER_CONTEXT"
    return parser(text, **{name: PARSER_CONTEXT[name] for name in needed})


def test_every_parser_is_driven() -> None:
    assert len(PARSERS) >= 11


@pytest.mark.parametrize("parser", PARSERS, ids=lambda parser: parser.__name__)
@EXAMPLES
@given(text=nasty_text)
def test_parser_returns_a_value_or_its_own_error(parser: Callable[..., object], text: str) -> None:
    try:
        _call_parser(parser, text)
    except BadArguments as error:
        assert error.reason.startswith("error.")
        assert t("en", error.reason)  # a reason the user can be told


# --- renderers ----------------------------------------------------------------------------

some_text = st.one_of(st.none(), nasty_text)
when = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
zone = st.sampled_from(["Asia/Almaty", "Asia/Aqtobe", "UTC", "Europe/Moscow"])


@st.composite
def people(draw: st.DrawFn) -> Person:
    return Person(
        id=draw(st.integers(1, 2**53)),
        name=draw(nasty_text),
        birth_year=draw(st.none() | st.integers(1900, 2030)),
        age_note=draw(some_text),
        ethnicity=draw(some_text),
        citizenship=draw(some_text),
        origin=draw(some_text),
        location=draw(some_text),
        detention=draw(st.none() | st.sampled_from(sorted(DETENTION_STATUSES))),
        detention_since=draw(st.none() | st.sampled_from(["2018", "2018-08", "2018-08-14"])),
        detention_note=draw(some_text),
        asylum=draw(st.none() | st.sampled_from(sorted(ASYLUM_STATUSES))),
        asylum_note=draw(some_text),
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    return Case(
        id=1,
        person_id=1,
        court=draw(some_text),
        city=draw(some_text),
        tz=draw(zone),
        charge=draw(some_text),
        case_number=draw(some_text),
        stage=draw(some_text),
        verdict=draw(some_text),
        sentence=draw(some_text),
        note=draw(some_text),
    )


@st.composite
def hearing_slots(draw: st.DrawFn) -> HearingSlot:
    hearing = Hearing(case_id=1, starts_at=draw(when), place=draw(some_text))
    return HearingSlot(hearing=hearing, case=draw(cases()), person=draw(people()))


@st.composite
def hearing_values(draw: st.DrawFn) -> dict[str, str]:
    value = {"starts_at": draw(when).isoformat(), "tz": draw(zone)}
    if (place := draw(some_text)) is not None:
        value["place"] = place
    return value


@st.composite
def events(draw: st.DrawFn) -> Event:
    kind = draw(st.sampled_from(list(EventKind)))
    old: dict[str, str] = {}
    if kind in (EventKind.HEARING_SET, EventKind.HEARING_MOVED, EventKind.REMINDER):
        new = draw(hearing_values())
        old = draw(st.just({}) | hearing_values())
        if kind == EventKind.REMINDER:
            new["offset"] = draw(st.sampled_from(["1d", "1h", "7d", "90m", ""]))
    elif kind in (EventKind.ASYLUM_CHANGED, EventKind.DETENTION_CHANGED):
        allowed = ASYLUM_STATUSES if kind == EventKind.ASYLUM_CHANGED else DETENTION_STATUSES
        new, old = ({"status": draw(st.sampled_from(sorted(allowed)))} for _ in range(2))
    else:
        new = {"text": draw(nasty_text)}
    return Event(
        id=1,
        person_id=1,
        kind=kind,
        old_value=json.dumps(old) if old else None,
        new_value=json.dumps(new),
        source=draw(some_text | nasty_text.map(lambda text: f"https://example.org/{text}")),
        effective_at=draw(when),
        dedup_key="k",
    )


@st.composite
def cards(draw: st.DrawFn) -> PersonCard:
    person = draw(people())
    return PersonCard(
        person=person,
        spellings=[person.name, *draw(st.lists(nasty_text, max_size=3))],
        sources=draw(st.lists(nasty_text | nasty_text.map("https://x.org/".__add__), max_size=3)),
        case=draw(st.none() | cases()),
        next_hearing=draw(st.none() | hearing_slots()),
        last_event=draw(st.none() | events()),
    )


@EXAMPLES
@given(card=cards(), language=language)
def test_person_card_is_valid_telegram_html(card: PersonCard, language: str) -> None:
    assert_valid_message(render_person_card(card, language))


@EXAMPLES
@given(changes=st.lists(events(), min_size=1, max_size=4), person=people(), language=language)
def test_push_is_valid_telegram_html(changes: list[Event], person: Person, language: str) -> None:
    # Longer than one message when it must be: the sender sends it in parts, each valid.
    for part in split_message(render_push(changes, person, language)):
        assert_valid_message(part)
    for event in changes:
        parse_html(describe_event(event, language))


@EXAMPLES
@given(
    pushes=st.lists(
        st.tuples(people(), st.lists(events(), min_size=1, max_size=2), st.just(())), max_size=3
    ),
    language=language,
)
def test_digest_is_valid_telegram_html(
    pushes: list[tuple[Person, list[Event], tuple[str, ...]]], language: str
) -> None:
    # Longer than one message by design: the sender sends it in parts, each valid.
    for part in split_message(render_digest(pushes, language)):
        assert_valid_message(part)


@EXAMPLES
@given(found=st.lists(people(), max_size=30), spellings=st.lists(nasty_text), language=language)
def test_lists_of_people_are_valid_telegram_html(
    found: list[Person], spellings: list[str], language: str
) -> None:
    matches = [
        (NameMatch(person_id=person.id or 0, spelling=spelling, score=90.0), person)
        for person, spelling in zip(found, spellings, strict=False)
    ]
    followings = [
        Following(subscription=Subscription(chat_id=1, scope="person"), person=person)
        for person in found
    ]
    # Any spelling may be the one shown: each person's is one of the nasty texts too.
    named = {
        person.id or 0: [spelling] for person, spelling in zip(found, spellings, strict=False)
    }
    assert_valid_message(render_candidates(found, named, language))
    assert_valid_message(render_matches(matches, named, language))
    assert_valid_message(render_followings(followings, named, language))


@EXAMPLES
@given(slots=st.lists(hearing_slots(), max_size=20), language=language)
def test_hearing_list_is_valid_telegram_html(slots: list[HearingSlot], language: str) -> None:
    assert_valid_message(render_hearings(slots, {}, language))


@EXAMPLES
@given(
    numbers=st.lists(st.integers(0, 10**12), min_size=5, max_size=5),
    offsets=st.lists(st.integers(1, 60 * 24 * 60).map(lambda m: timedelta(minutes=m))),
    language=language,
)
def test_stats_and_reminder_settings_are_valid_telegram_html(
    numbers: list[int], offsets: list[timedelta], language: str
) -> None:
    assert_valid_message(render_stats(DeliveryStats(*numbers), language))
    assert_valid_message(render_reminder_offsets(sorted(offsets, reverse=True), language))


# --- fit: the cut every renderer relies on -------------------------------------------------

markup = st.lists(
    st.one_of(
        st.text(alphabet=TRICKY_CHARACTERS, max_size=12).map(escape),
        st.sampled_from(["&amp;", "&lt;", "&#128512;", "😀", "𝕏", "\n", " "]),
        st.sampled_from(["b", "i", "code"]).map(lambda tag: f"<{tag}>x</{tag}>"),
        st.just('<a href="https://example.org/?a=1&amp;b=2">link</a>'),
    ),
    max_size=60,
).map("".join)


@EXAMPLES
@given(body=markup, wrapper=st.sampled_from(["{}", "<b>{}</b>", "<b><i>{}</i></b>"]))
@pytest.mark.parametrize("limit", [7, 40, 200])
def test_fit_cuts_valid_html_to_valid_html_within_the_limit(
    limit: int, body: str, wrapper: str
) -> None:
    text = wrapper.format(body)
    cut = fit(text, limit)
    parse_html(cut)
    assert telegram_length(cut) <= limit
    if telegram_length(text) <= limit:
        assert cut == text


def test_fit_counts_utf16_units_never_splits_an_entity_and_closes_its_tags() -> None:
    assert telegram_length("😀a") == 3
    assert fit("😀" * 3000) == "😀" * 2047 + "…"  # 2,047 × 2 + 1 = 4,095 units
    assert fit("<b>" + "x &amp; " * 20 + "</b>", 30) == "<b>x &amp; x &amp; x</b>…"


# --- the running bot, end to end -----------------------------------------------------------

# No one's name among them: a stranger's /subscribe to a person found is meant to be stored.
E2E_INPUTS = [
    "<b>&amp;</b> <script>alert(1)</script> & \"quote\" 'single'",
    "'; DROP TABLE person; -- 2026-02-30 25:61",
    "Zzyx Qwv 2026-02-30 10:00 <i>court",
    "\u202eЖзq\u200b Xw\u2066 👩🏽‍⚖️ 𝕏 #99999999999999999999999",
    "Жзq\ufeff " + "ы" * 3900,
]


@pytest.fixture
async def bot(database_url: str) -> AsyncIterator[Story]:
    # One editor and one stranger per command, so that no one sends more than a handful.
    editors = frozenset({EDITOR.id} | {_editor(n).id for n in range(len(COMMANDS))})
    async with story(database_url, admin_ids=editors) as running_story:
        yield running_story


def _editor(n: int) -> User:
    return User(8000 + n, f"Editor {n}", language_code="en")


def _stranger(n: int) -> User:
    return User(9000 + n, f"Stranger {n}", language_code=("en", "ru", "kk")[n % 3])


async def _row_counts(bot: Story) -> dict[str, int]:
    services: Services = bot.application.bot_data[SERVICES]
    async with session_scope(services.engine) as session:
        return {
            table.name: (await session.exec(select(func.count()).select_from(table))).one()
            for table in SQLModel.metadata.sorted_tables
        }


async def _send_nasty_inputs(bot: Story, user: User, command: str) -> None:
    internal_error = {t(language, "error.internal") for language in LANGUAGES}
    for text in E2E_INPUTS:
        reply = await bot.say(user, f"/{command} {text}")
        assert reply.text is not None and reply.text not in internal_error, (command, text)
        assert telegram_length(reply.text) <= MAX_MESSAGE
        if (reply.parse_mode or "").lower() == "html":
            parse_html(reply.text)


async def test_nasty_input_to_every_command_gets_a_valid_answer_and_strangers_store_nothing(
    bot: Story,
) -> None:
    strangers = [_stranger(n) for n in range(len(COMMANDS))]
    editors = [_editor(n) for n in range(len(COMMANDS))]
    await asyncio.gather(*(bot.say(stranger, "/start") for stranger in strangers))
    before = await _row_counts(bot)
    # Each in their own chat, all at once: replies in one chat are paced, not across chats.
    await asyncio.gather(*map(partial(_send_nasty_inputs, bot), strangers, COMMANDS))
    assert await _row_counts(bot) == before
    await asyncio.gather(*map(partial(_send_nasty_inputs, bot), editors, COMMANDS))
