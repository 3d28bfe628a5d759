"""A message too long for one is sent in parts: at paragraphs, then lines, then words, marked
(1/3) …, each valid Telegram HTML within 4,096 UTF-16 units."""

import re
from html import escape

from hypothesis import given
from hypothesis import strategies as st

from handlers.render import MAX_MESSAGE, html_to_plain, split_message, telegram_length
from tests.test_i18n import html_problems

_MARKER = re.compile(r"\n\((\d+)/(\d+)\)$")


def _bodies(parts: list[str]) -> list[str]:
    """The parts without their markers, checking that the markers count 1/n … n/n."""
    bodies = []
    for number, part in enumerate(parts, 1):
        marker = _MARKER.search(part)
        assert marker is not None, part[-20:]
        assert (int(marker[1]), int(marker[2])) == (number, len(parts))
        bodies.append(part[: marker.start()])
    return bodies


def test_a_message_that_fits_is_left_as_it_is() -> None:
    text = "<b>Qaisha Aqan</b>\n\n" + "word " * 800
    assert split_message(text) == [text]


def test_parts_end_between_paragraphs_when_they_can() -> None:
    paragraphs = [f"<b>Paragraph {n}</b>" + "\nline of words" * 60 for n in range(12)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) >= 3
    for body in _bodies(parts):
        assert body.startswith("<b>Paragraph ") and body.endswith("line of words")
    assert "\n\n".join(_bodies(parts)) == "\n\n".join(paragraphs)


def test_no_word_is_cut_and_every_part_is_within_the_limit() -> None:
    words = [f"слово{n:05}" for n in range(2500)]  # one paragraph, one line: only words
    parts = split_message(" ".join(words))
    assert len(parts) >= 3
    assert all(telegram_length(part) <= MAX_MESSAGE for part in parts)
    assert [word for body in _bodies(parts) for word in body.split(" ")] == words


def test_tags_open_at_a_cut_are_closed_and_opened_again() -> None:
    link = '<a href="https://example.org/?a=1&amp;b=2">'
    text = f"<b>{link}" + "linked text &amp; more " * 700 + "</a> after</b>"
    parts = split_message(text)
    assert len(parts) >= 3
    for part in parts:
        assert html_problems(part) == []
    bodies = _bodies(parts)
    assert all(body.startswith(f"<b>{link}") for body in bodies[:-1])
    assert all(body.endswith("</a></b>") for body in bodies[:-1])
    assert bodies[-1] == "<b>after</b>"  # the link ended in the part before


def test_a_tag_too_long_to_open_again_in_each_part_leaves_the_parts_plain() -> None:
    link = f'<a href="https://example.org/{"x" * 2000}">'
    parts = split_message(f"<b>{link}" + "a &amp; b " * 1000 + "</a></b>")
    assert len(parts) >= 3
    assert all("<" not in part and telegram_length(part) <= MAX_MESSAGE for part in parts)
    assert "a &amp; b" in parts[0]  # still HTML: what was escaped stays escaped


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    text = "🔔 " * 3000  # 6,000 characters, 9,000 UTF-16 units
    parts = split_message(text)
    assert len(parts) == 3 and all(telegram_length(part) <= MAX_MESSAGE for part in parts)


def test_a_word_longer_than_a_part_is_cut_but_never_inside_a_reference() -> None:
    text = "&amp;" * 3000  # one "word" of 3,000 ampersands
    bodies = _bodies(split_message(text))
    assert all(re.fullmatch(r"(&amp;)+", body) for body in bodies)
    assert "".join(bodies) == text


_WORDS = st.lists(
    st.tuples(
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Z", "Cc")), max_size=20),
        st.sampled_from(["", "b", "i"]),
    ).filter(lambda word: word[0] != ""),
    max_size=300,
)
_SEPARATORS = st.lists(st.sampled_from([" ", "\n", "\n\n"]), min_size=300, max_size=300)


@given(words=_WORDS, separators=_SEPARATORS)
def test_any_text_is_cut_between_whole_words_into_valid_parts(
    words: list[tuple[str, str]], separators: list[str]
) -> None:
    text = "".join(
        (f"<{tag}>{escape(word, quote=False)}</{tag}>" if tag else escape(word, quote=False))
        + separator
        for (word, tag), separator in zip(words, separators, strict=False)
    ).strip()
    parts = split_message(text, limit=200)
    assert all(telegram_length(part) <= 200 and html_problems(part) == [] for part in parts)
    bodies = _bodies(parts) if len(parts) > 1 else parts
    visible = [word for body in bodies for word in html_to_plain(body).split()]
    assert visible == html_to_plain(text).split()
