"""What the Bot API refuses, for the local stand-in (bot/shell/standin.py).

A test that passes against a lenient stand-in can fail against Telegram with a 400. The rules
here are Telegram's documented limits and its HTML parse mode, as the stand-in applies them:

- a message text is 1–4,096 characters and a caption at most 1,024, **after entity parsing**
  (the tags of an HTML text do not count, what they show does), counted in UTF-16 code units
  as Telegram counts;
- ``parse_mode="HTML"`` accepts only the tags Telegram lists (``b strong i em u ins s strike
  del span class="tg-spoiler" tg-spoiler a href tg-emoji code pre blockquote [expandable]``),
  properly nested and closed, and the entities ``&lt; &gt; &amp; &quot;`` and numeric ones;
- an inline button's ``callback_data`` is 1–64 bytes; a URL button needs an ``http(s)://`` or
  ``tg://`` address; a ``copy_text`` is at most 256 characters;
- a callback answer's text is at most 200 characters;
- bot commands are ``[a-z0-9_]{1,32}`` with a 1–256 character description, at most 100;
  the bot's description is at most 512 characters and its short description 120.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Final

MAX_TEXT: Final = 4096
MAX_CAPTION: Final = 1024
MAX_CALLBACK_DATA: Final = 64
MAX_CALLBACK_ANSWER: Final = 200
MAX_COPY_TEXT: Final = 256
MAX_COMMANDS: Final = 100
MAX_DESCRIPTION: Final = 512
MAX_SHORT_DESCRIPTION: Final = 120

# Tag name -> the entity type it makes.
_TAGS: Final[dict[str, str]] = {
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
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_COMMAND: Final = re.compile(r"[a-z0-9_]{1,32}")
_ATTRIBUTE: Final = re.compile(r'\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s>]+)))?')
_ENTITY: Final = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")
_NAMED: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class Refused(Exception):
    """What Telegram would answer with a 400 ``Bad Request: ...``."""


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    start: int
    attributes: dict[str, str] = field(default_factory=dict)


def _attributes(raw: str, tag: str, at: int) -> dict[str, str]:
    found: dict[str, str] = {}
    position = 0
    raw = raw.strip()
    while position < len(raw):
        match = _ATTRIBUTE.match(raw, position)
        if match is None or match.end() == position:
            raise Refused(f"can't parse entities: Unexpected character in tag {tag!r} at {at}")
        value = match.group(2) or match.group(3) or match.group(4) or ""
        found[match.group(1).lower()] = html.unescape(value)
        position = match.end()
    return found


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The plain text and the entities Telegram makes of an HTML ``text``; raises
    :class:`Refused` where Telegram answers "can't parse entities"."""
    out: list[str] = []
    length = 0  # UTF-16 units written so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "&":
            match = _ENTITY.match(text, i)
            if match is not None:
                name = match.group(1)
                if name.startswith("#x"):
                    decoded = chr(int(name[2:], 16))
                elif name.startswith("#"):
                    decoded = chr(int(name[1:]))
                else:
                    decoded = _NAMED.get(name, "")
                if decoded:
                    out.append(decoded)
                    length += utf16_len(decoded)
                    i = match.end()
                    continue
            # Telegram keeps an '&' that starts no entity it knows as it is.
            out.append("&")
            length += 1
            i += 1
            continue
        if char != "<":
            out.append(char)
            length += utf16_len(char)
            i += 1
            continue
        end = text.find(">", i)
        if end < 0:
            raise Refused(f"can't parse entities: Unclosed start tag at byte offset {i}")
        inside = text[i + 1 : end]
        if inside.startswith("/"):
            name = inside[1:].strip().lower()
            if not stack:
                raise Refused(f'can\'t parse entities: Unexpected end tag "{name}" at {i}')
            top = stack.pop()
            if top.tag != name:
                raise Refused(
                    f"can't parse entities: Unmatched end tag at byte offset {i}, "
                    f'expected "</{top.tag}>", found "</{name}>"'
                )
            if length > top.start:
                entities.append(_entity(top, length - top.start))
            i = end + 1
            continue
        match = re.match(r"([a-zA-Z][a-zA-Z0-9-]*)", inside)
        if match is None:
            raise Refused(f"can't parse entities: Unsupported start tag at byte offset {i}")
        name = match.group(1).lower()
        if name not in _TAGS:
            raise Refused(f'can\'t parse entities: Unsupported start tag "{name}" at {i}')
        attributes = _attributes(inside[match.end() :], name, i)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise Refused(f'can\'t parse entities: Unsupported start tag "span" at {i}')
        if name == "a" and not attributes.get("href"):
            raise Refused(f'can\'t parse entities: Tag "a" must have attribute href at {i}')
        stack.append(_Open(name, length, attributes))
        i = end + 1
    if stack:
        tag = stack[-1].tag
        raise Refused(f"can't parse entities: Can't find end tag corresponding to {tag!r}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity(opened: _Open, length: int) -> dict[str, Any]:
    kind = _TAGS[opened.tag]
    if kind == "blockquote" and "expandable" in opened.attributes:
        kind = "expandable_blockquote"
    entity: dict[str, Any] = {"type": kind, "offset": opened.start, "length": length}
    if kind == "text_link":
        href = opened.attributes["href"]
        if not re.match(r"(https?|tg|mailto)://|mailto:", href):
            raise Refused(f"can't parse entities: wrong URL {href!r}")
        entity["url"] = href
    if kind == "pre" and opened.attributes.get("class", "").startswith("language-"):
        entity["language"] = opened.attributes["class"].removeprefix("language-")
    return entity


def formatted(raw: Any, parse_mode: Any, *, limit: int, what: str) -> tuple[str, list[Any]]:
    """A text or caption as Telegram stores it (plain text and entities), or :class:`Refused`
    for a bad parse mode, malformed HTML, an empty text or one over ``limit``."""
    text = "" if raw is None else str(raw)
    entities: list[Any] = []
    if parse_mode:
        if str(parse_mode).upper() != "HTML":
            # Dalsbot formats with HTML only; MarkdownV2 would need its own parser here.
            raise Refused(f"unsupported parse_mode {parse_mode!r} in the stand-in")
        text, entities = parse_html(text)
    if what == "text" and not text.strip():
        raise Refused("message text is empty")
    if utf16_len(text) > limit:
        raise Refused(f"{'message' if what == 'text' else what} is too long")
    return text, entities


def check_markup(markup: Any) -> None:
    """The inline keyboard's buttons, as Telegram checks them."""
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise Refused("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise Refused("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(https?|tg)://", str(url)):
                raise Refused("BUTTON_URL_INVALID")
            copy = button.get("copy_text")
            if copy is not None and not 1 <= len(str(copy.get("text", ""))) <= MAX_COPY_TEXT:
                raise Refused("COPY_TEXT_INVALID")
    placeholder = markup.get("input_field_placeholder")
    if placeholder is not None and len(str(placeholder)) > 64:
        raise Refused("input field placeholder is too long")


def check_callback_answer(text: Any) -> None:
    """A callback answer's text (shown as a toast or an alert)."""
    if text is not None and len(str(text)) > MAX_CALLBACK_ANSWER:
        raise Refused("MESSAGE_TOO_LONG")


def check_commands(commands: Any) -> list[dict[str, Any]]:
    """A command menu as setMyCommands takes it."""
    items = list(commands or [])
    if len(items) > MAX_COMMANDS:
        raise Refused("too many commands")
    for item in items:
        if not _COMMAND.fullmatch(str(item.get("command", ""))):
            raise Refused("BOT_COMMAND_INVALID")
        if not 1 <= len(str(item.get("description", ""))) <= 256:
            raise Refused("BOT_COMMAND_DESCRIPTION_INVALID")
    return [dict(item) for item in items]


def check_description(text: Any, *, short: bool) -> str:
    """The bot's description (512) or short description (120)."""
    value = "" if text is None else str(text)
    if len(value) > (MAX_SHORT_DESCRIPTION if short else MAX_DESCRIPTION):
        raise Refused("BOT_DESCRIPTION_INVALID" if not short else "BOT_ABOUT_INVALID")
    return value


def scope_key(scope: Any) -> str:
    """One string per command scope (``default``, ``all_private_chats``, ``chat:1001``...)."""
    if not isinstance(scope, dict):
        return "default"
    parts = [str(scope.get("type", "default"))]
    for name in ("chat_id", "user_id"):
        if name in scope:
            parts.append(str(scope[name]))
    return ":".join(parts)
