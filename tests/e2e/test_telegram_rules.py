"""The stand-in refuses what the Bot API refuses (bot/shell/telegram_rules.py), so a test
cannot pass where Telegram would answer 400."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import DalsbotApp
from bot.shell import telegram_rules as rules
from bot.shell.standin import BotApiStandIn


def test_html_becomes_plain_text_and_entities() -> None:
    text, entities = rules.parse_html(
        '<b>SIP &amp; plan</b>\nKälla: <a href="https://example.se/a?b=1&amp;c=2">Skolverket</a>'
        "\n<blockquote expandable>lång 😀 text</blockquote>"
    )
    assert text == "SIP & plan\nKälla: Skolverket\nlång 😀 text"
    kinds = {e["type"]: e for e in entities}
    assert kinds["bold"] == {"type": "bold", "offset": 0, "length": 10}
    assert kinds["text_link"]["url"] == "https://example.se/a?b=1&c=2"
    quote = kinds["expandable_blockquote"]
    # Offsets and lengths count UTF-16 code units: the emoji is two.
    assert quote["length"] == rules.utf16_len("lång 😀 text") == 12


@pytest.mark.parametrize(
    "bad",
    [
        "<b>bold",  # never closed
        "<b><i>x</b></i>",  # wrongly nested
        "a < b",  # a bare '<' must be &lt;
        "<p>paragraph</p>",  # not a tag Telegram takes
        "<br>",
        '<span class="x">y</span>',
        "<a>no href</a>",
        '<a href="javascript:alert(1)">x</a>',
        "</b>",
    ],
)
def test_malformed_html_is_refused(bad: str) -> None:
    with pytest.raises(rules.Refused, match=r"(?i)can't parse entities"):
        rules.parse_html(bad)


def test_a_lone_ampersand_is_kept_as_telegram_keeps_it() -> None:
    assert rules.parse_html("Tom & Jerry &nbsp")[0] == "Tom & Jerry &nbsp"


@given(st.text(max_size=300))
def test_escaped_text_always_parses_back_to_itself(text: str) -> None:
    parsed, entities = rules.parse_html(f"<b>{html.escape(text)}</b>")
    assert parsed == text
    assert entities == (
        [{"type": "bold", "offset": 0, "length": rules.utf16_len(text)}] if text else []
    )


def test_lengths_count_after_parsing() -> None:
    long_tags = "<b>" + "x" * 4096 + "</b>"
    assert rules.formatted(long_tags, "HTML", limit=rules.MAX_TEXT, what="text")[0] == "x" * 4096
    with pytest.raises(rules.Refused, match=r"(?i)too long"):
        rules.formatted("x" * 4097, None, limit=rules.MAX_TEXT, what="text")
    with pytest.raises(rules.Refused, match=r"(?i)too long"):
        # 2,049 emoji are 4,098 UTF-16 units.
        rules.formatted("😀" * 2049, None, limit=rules.MAX_TEXT, what="text")
    with pytest.raises(rules.Refused, match="empty"):
        rules.formatted("<b> </b>", "HTML", limit=rules.MAX_TEXT, what="text")


async def test_the_standin_answers_400_like_telegram(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    person = standin.user(5150, "Eva")
    bot = app.bot
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(person.chat_id, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(person.chat_id, "<b>open", parse_mode=ParseMode.HTML)
    too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(person.chat_id, "ok", reply_markup=too_long_data)
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(person.chat_id, b"data", filename="a.txt", caption="c" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Hjälp", "x")])
    with pytest.raises(BadRequest):
        await bot.set_my_short_description("s" * 121)

    sent = await bot.send_message(
        person.chat_id,
        "<b>Titel</b> &lt;3",
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Kopiera", copy_text=CopyTextButton("https://t.me/x"))]]
        ),
    )
    assert sent.text == "Titel <3"
    assert sent.entities[0].type == "bold"
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text(
            "<b>Titel</b> &lt;3",
            person.chat_id,
            sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=sent.reply_markup,
        )

    await bot.set_my_commands([BotCommand("hjalp", "Hjälp")], scope=BotCommandScopeChat(5150))
    assert standin.menu("", {"type": "chat", "chat_id": 5150}) == [
        {"command": "hjalp", "description": "Hjälp"}
    ]
    await bot.send_chat_action(person.chat_id, "typing")
    assert standin.actions[person.chat_id] == ["typing"]
