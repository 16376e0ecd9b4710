"""What a person sees of the bot's HTML messages: the shown text and its phone lines.

The stand-in keeps a message's text as the bot sent it (HTML) or, like Telegram, as the
parsed text with its entities; both are read here.
"""

from __future__ import annotations

from typing import Any

from bot.shell.standin import ChatEvent
from handlers.ask.render import (
    PHONE_LINES,
    QUOTE_LINES,
    phone_lines,
    telegram_length,
    visible_text,
)

# "Short by default": every message in these flows, except an expanded article.
CARD_LIMIT = 1200


def _parsed(message: dict[str, Any]) -> bool:
    return "entities" in message or "<" not in str(message.get("text") or "")


def shown(event: ChatEvent) -> str:
    """The text Telegram shows for this message."""
    text = event.text
    return text if _parsed(event.message) else visible_text(text)


def length(event: ChatEvent) -> int:
    """Telegram's count of the message (UTF-16 code units of the shown text)."""
    return (
        len(shown(event).encode("utf-16-le")) // 2
        if _parsed(event.message)
        else (telegram_length(event.text))
    )


def lines(event: ChatEvent) -> int:
    """About how many lines the message takes on a phone (a collapsed expandable blockquote
    counts as the three lines it shows)."""
    if not _parsed(event.message):
        return phone_lines(event.text)
    text = shown(event)
    units = text.encode("utf-16-le")
    total = phone_lines(_escape(text))
    for entity in event.message.get("entities", []):
        if entity.get("type") == "expandable_blockquote":
            start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
            quote = units[start:end].decode("utf-16-le")
            total -= max(0, phone_lines(_escape(quote)) - QUOTE_LINES)
    return total


def entity(event: ChatEvent, kind: str) -> tuple[int, int, str]:
    """The first entity of ``kind``: offset, length (UTF-16 units) and its URL if a link."""
    found = [e for e in event.message.get("entities", []) if e.get("type") == kind]
    assert found, f"no {kind} entity in {event.message.get('entities')}"
    return int(found[0]["offset"]), int(found[0]["length"]), str(found[0].get("url", ""))


def links(event: ChatEvent) -> list[str]:
    """The URLs of the message's text links, in order."""
    entities = event.message.get("entities", [])
    return [str(e["url"]) for e in entities if e.get("type") == "text_link"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def assert_phone_sized(event: ChatEvent, max_lines: int = PHONE_LINES) -> None:
    """The message is at most 1,200 characters and about a phone screen."""
    assert length(event) <= CARD_LIMIT, (length(event), shown(event))
    assert lines(event) <= max_lines, (lines(event), shown(event))


def assert_emergency_card(event: ChatEvent) -> None:
    """An emergency card: at most 1,200 characters and nothing folded behind a tap (it may
    take more than one phone screen: every instruction shows at once)."""
    assert length(event) <= CARD_LIMIT, (length(event), shown(event))
    kinds = [e.get("type") for e in event.message.get("entities", [])]
    assert "expandable_blockquote" not in kinds and "<blockquote" not in event.text
