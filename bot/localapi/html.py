"""Telegram's HTML parse mode, and the bot_command entities a client adds to a text."""

import re

from bot.localapi.records import JSONDict

# A bot command as Telegram's clients mark it: "/cmd" or "/cmd@botname", not inside a word.
_BOT_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


class EntityError(Exception):
    """Text Telegram cannot parse in the requested parse mode."""


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,7})|([a-zA-Z]+));")
_ATTRIBUTE = re.compile(r"""([\w-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_reference(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return None


def _tag_end(text: str, start: int) -> int:
    """Index of the '>' closing the tag opened at `start` (quotes respected), or -1."""
    quote: str | None = None
    for index in range(start + 1, len(text)):
        char = text[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == ">":
            return index
    return -1


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JSONDict]]:
    """The visible text and the entities Telegram makes of `text` in HTML parse mode.

    Raises `EntityError` with Telegram's wording for unsupported, unclosed or misnested
    tags and a bare '<'. Telegram itself keeps a bare '&' as it is; with `strict` (the
    default) the emulator refuses it, so a stored value that was not HTML-escaped fails
    loudly in tests instead of by chance in production.
    """
    visible: list[str] = []
    position = 0  # in UTF-16 code units, as entity offsets are
    open_tags: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSONDict] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "&":
            match = _REFERENCE.match(text, index)
            decoded = _decode_reference(match) if match else None
            if decoded is None:
                if strict:
                    offset = _byte_offset(text, index)
                    raise EntityError(f'Unescaped "&" at byte offset {offset}')
                decoded, end = "&", index + 1
            else:
                assert match is not None
                end = match.end()
            visible.append(decoded)
            position += _utf16_length(decoded)
            index = end
            continue
        if char != "<":
            visible.append(char)
            position += _utf16_length(char)
            index += 1
            continue
        end = _tag_end(text, index)
        offset = _byte_offset(text, index)
        if end < 0:
            raise EntityError(f"Unclosed start tag at byte offset {offset}")
        inner = text[index + 1 : end]
        if inner.startswith("/"):
            _close_tag(inner[1:].strip().lower(), offset, open_tags, entities, position)
        else:
            name, _, rest = inner.strip().partition(" ")
            name = name.lower()
            if name not in _ENTITY_TYPES:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
            attributes = {
                match[1].lower(): next(value for value in match.groups()[1:] if value is not None)
                for match in _ATTRIBUTE.finditer(rest)
            }
            open_tags.append((name, position, attributes))
        index = end + 1
    if open_tags:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{open_tags[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(visible), entities


def _close_tag(
    name: str,
    offset: int,
    open_tags: list[tuple[str, int, dict[str, str]]],
    entities: list[JSONDict],
    position: int,
) -> None:
    if not open_tags:
        raise EntityError(f"Unexpected end tag at byte offset {offset}")
    open_name, start, attributes = open_tags.pop()
    if name != open_name:
        raise EntityError(
            f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
            f'found "</{name}>"'
        )
    language = attributes.get("class", "")
    in_pre = bool(open_tags) and open_tags[-1][0] == "pre"
    if open_name == "code" and in_pre and language.startswith("language-"):
        # <pre><code class="language-x"> makes one pre entity with a language.
        open_tags[-1][2]["language"] = language.removeprefix("language-")
        return
    if position == start:
        return
    entity: JSONDict = {
        "type": _ENTITY_TYPES[open_name],
        "offset": start,
        "length": position - start,
    }
    if open_name == "a":
        if not attributes.get("href"):
            return
        entity["url"] = attributes["href"]
    elif open_name == "pre" and attributes.get("language"):
        entity["language"] = attributes["language"]
    elif open_name == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif open_name == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    entities.append(entity)


def command_entities(text: str) -> list[JSONDict]:
    """The bot_command entities a Telegram client adds to `text`."""
    return [
        {
            "type": "bot_command",
            "offset": _utf16_length(text[: match.start()]),
            "length": _utf16_length(match.group()),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]
