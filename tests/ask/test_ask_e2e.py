"""End to end over HTTP: asking the knowledge base through the real Application and stand-in."""

from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import format_date, t, tn
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from handlers.ask import admin as ask_admin
from handlers.ask.render import PHONE_LINES, expanded_article, visible_text
from handlers.kb import live as kb_live
from knowledge.service import KnowledgeBase
from storage.db import Database
from storage.knowledge.models import KbCoordinatorQuestion, KbFeedback
from storage.people.models import Role
from tests.ask.cards import (
    assert_emergency_card,
    assert_phone_sized,
    entity,
    length,
    links,
    shown,
)
from tests.conftest import ADMIN_ID, FakeClock
from tests.helpers import add_staff, create_invite, questions, register, staff_chat

GROUP = -1001


def kb_of(app: DalsbotApp) -> KnowledgeBase:
    """The knowledge base the running bot uses."""
    kb = app.bot_data.services.get(KnowledgeBase)
    return kb


def labels(event: ChatEvent) -> list[str]:
    """The button labels of a message."""
    return [button["text"] for button in event.buttons]


def title(app: DalsbotApp, article_id: str, lang: str) -> str:
    """An article's title."""
    article = kb_of(app).get(article_id, lang)
    assert article is not None
    return article.title


async def group_messages(standin: BotApiStandIn, count: int) -> list[ChatEvent]:
    """Wait until the bot has sent ``count`` messages to the group."""
    await standin.wait_for(lambda: len(standin.sent_messages(GROUP)) >= count)
    return standin.sent_messages(GROUP)


async def test_swedish_question_with_typo_gets_article_with_source_and_date(
    app: DalsbotApp, person: SimUser
) -> None:
    """A typo ("behovskompasen") still finds the article: bold title, short answer, the first
    source as a text link with +N, the reviewed date; two rows of buttons; phone-sized."""
    card = await person.ask("vad är behovskompasen?")
    article = kb_of(app).get("behovskompassen", "sv")
    assert article is not None
    bold = f"📘 {article.title}"
    assert entity(card, "bold")[:2] == (0, len(bold.encode("utf-16-le")) // 2)
    first_sentence = article.short_answer.split(". ")[0]
    assert shown(card).startswith(f"📘 {article.title}\n\n{first_sentence}")
    assert " ".join(shown(card).split()).count(" ".join(article.short_answer.split())[-40:]) == 1
    extra = f" (+{len(article.sources) - 1})" if len(article.sources) > 1 else ""
    domain = article.sources[0].split("/")[2].removeprefix("www.")
    assert f"🔗 Källa: {domain}{extra}" in shown(card)
    assert links(card) == [article.sources[0]] and "https://" not in shown(card)
    assert shown(card).endswith(f"Granskad {format_date(article.reviewed, 'sv')}")
    assert labels(card) == ["📖 Läs mer", "👍", "👎", "Fler val ▾"]
    assert len(card.message["reply_markup"]["inline_keyboard"]) == 2
    assert_phone_sized(card)
    logged = questions(app)
    assert [(q.question, q.answered, q.article_id, q.lang) for q in logged] == [
        ("vad är behovskompasen?", True, "behovskompassen", "sv")
    ]


async def test_english_question_is_answered_in_english(app: DalsbotApp, person: SimUser) -> None:
    """A Swedish-speaking person asking in English gets the English article."""
    card = await person.ask("How do I prepare a child team meeting?")
    assert shown(card).startswith(f"📘 {title(app, 'forbereda-mote', 'en')}\n\n")
    assert "Reviewed " in shown(card) and "Source: " in shown(card)
    assert labels(card) == ["📖 Read more", "👍", "👎", "More ▾"]
    menu = await person.tap(card, "More ▾")
    assert menu.kind == "edit" and "🙋 Ask a coordinator" in labels(menu)


async def test_short_question_uses_the_persons_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A bare "SIP?" is answered in the person's language (English or Swedish)."""
    cara = staff_chat(app, standin, 103, "Cara Ek", language="en")
    dag = staff_chat(app, standin, 104, "Dag Ek", language="sv")
    english = await cara.ask("SIP?")
    swedish = await dag.ask("SIP?")
    assert shown(english).startswith(f"📘 {title(app, 'sip', 'en')}\n\n")
    assert shown(swedish).startswith(f"📘 {title(app, 'sip', 'sv')}\n\n")


async def test_other_language_gets_a_bilingual_note_then_the_persons_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A German question: a short note in Swedish and English, then the answer in Swedish."""
    ulla = staff_chat(app, standin, 119, "Ulla Ek")
    question = "Wie funktioniert das Barnteam in der Schule?"
    expected = kb_of(app).answer(question, "sv")
    assert expected.unsupported_language and expected.lang == "sv" and expected.article_id
    card = await ulla.ask(question)
    assert shown(card).startswith(
        f"{t('ask.unsupported_note', 'sv')}\n\n📘 {title(app, expected.article_id, 'sv')}\n\n"
    )
    # The short answer's first sentence shows whole (never cut inside), a line over a screen.
    assert_phone_sized(card, max_lines=PHONE_LINES + 1)


async def test_off_topic_question_gets_an_honest_i_dont_know(
    app: DalsbotApp, person: SimUser
) -> None:
    """No article, whom to ask, suggestion buttons (if any) and the coordinator button."""
    for question in ("hur länge ska man koka potatis?", "vem betalar för möten och lokaler"):
        expected = kb_of(app).answer(question, "sv")
        assert not expected.answered
        card = await person.ask(question)
        assert shown(card).startswith(t("ask.dont_know", "sv"))
        assert t("ask.dont_know_whom", "sv") in shown(card)
        assert length(card) <= 1200
        suggested = [
            b["callback_data"].split(":")[2]
            for b in card.buttons
            if b["callback_data"].startswith("kb:art:")
        ]
        assert suggested == list(expected.suggestions)[:3]
        assert (t("ask.dont_know_suggestions", "sv") in shown(card)) == bool(suggested)
        assert labels(card)[-1] == "🙋 Fråga en samordnare"
    assert [q.answered for q in questions(app)] == [False, False]
    english = await person.ask("can you recommend a movie for tonight?")
    assert shown(english).startswith(t("ask.dont_know", "en"))


async def test_small_talk_case_and_off_topic_get_short_replies_and_nothing_is_stored(
    app: DalsbotApp, person: SimUser
) -> None:
    """Greetings and thanks get a friendly line in the person's language; a case question
    says whom to ask; an off-topic question says what the bot can help with; none of them is
    logged (so none reaches /kb_gaps) and none gets an article card or buttons."""
    cases = [
        ("hej!", "ask.hello", "sv"),
        ("hallo", "ask.hello", "sv"),
        ("Hi there 👋", "ask.hello", "sv"),
        ("tack så mycket!", "ask.welcome", "sv"),
        ("thanks!", "ask.welcome", "sv"),
        ("Tack Dalsbot 🙏", "ask.welcome", "sv"),
        ("ok", "ask.smalltalk", "sv"),
        ("har soc öppnat utredning på killen i 5b?", "ask.case", "sv"),
        ("what did soc say about the dad at the meeting last week?", "ask.case", "en"),
        ("hur många semesterdagar har jag kvar i år", "ask.offtopic", "sv"),
        ("får skolsköterskan ge alvedon till en elev", "ask.offtopic", "sv"),
    ]
    for text, key, lang in cases:
        reply = await person.ask(text)
        assert reply.text == t(key, lang), text
        assert reply.buttons == []
    assert questions(app) == []


async def test_typing_shows_only_while_the_knowledge_base_loads_and_hej_then_a_question(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A greeting or thanks needs no search (no "typing", nothing logged); "hej, vem kallar
    till SIP?" is a question all the same. An answer needs no "typing…" (it takes about a
    millisecond); a question asked while the knowledge base is still loading after a start
    waits for it (before any handler), and shows "typing…" once that takes longer than
    TYPING_AFTER."""
    assert (await person.ask("hej")).text == t("ask.hello", "sv")
    assert (await person.ask("tack!")).text == t("ask.welcome", "sv")
    assert standin.actions[person.chat_id] == []
    card = await person.ask("hej, vem kallar till SIP?")
    assert shown(card).startswith(f"📘 {title(app, 'sip', 'sv')}")
    assert standin.actions[person.chat_id] == []
    # The knowledge base still loading: the question waits until the person has seen
    # "typing…" (the loaded-flag is swapped for one the test sets).
    monkeypatch.setattr(kb_live, "TYPING_AFTER", 0.05)
    kb = kb_of(app)
    loaded = threading.Event()
    monkeypatch.setattr(kb, "_ready", loaded)
    sent_before = len(standin.sent_messages(person.chat_id))
    await person.send("vem kallar till SIP?")
    await standin.wait_for(lambda: standin.actions[person.chat_id] == ["typing"])
    assert len(standin.sent_messages(person.chat_id)) == sent_before  # no card yet
    loaded.set()
    card = await person.reply()
    assert shown(card).startswith(f"📘 {title(app, 'sip', 'sv')}")
    assert standin.actions[person.chat_id] == ["typing"]
    await person.ask("/artiklar")
    assert standin.actions[person.chat_id] == ["typing"]
    assert [q.question for q in questions(app)] == [
        "hej, vem kallar till SIP?",
        "vem kallar till SIP?",
    ]
    english = staff_chat(app, standin, 131, "Eve Ek", language="en")
    assert (await english.ask("hallo!")).text == t("ask.hello", "en")
    assert (await english.ask("tack så mycket")).text == t("ask.welcome", "en")


async def test_a_long_message_that_tells_a_situation_first_gets_the_right_article(
    app: DalsbotApp, person: SimUser
) -> None:
    """The asking sentence of a long, context-heavy message decides the article."""
    question = (
        "Vi har en elev i sjuan som har varit borta nästan varje måndag och fredag sedan "
        "höstlovet, oftast med en kort sjukanmälan från mamma. Mentorn har pratat med eleven "
        "som säger att allt är bra. Rektor vill vänta och se. När måste skolan utreda "
        "frånvaron?"
    )
    card = await person.ask(question)
    assert card.text.startswith(f"📘 {title(app, 'skolfranvaro', 'sv')}")
    assert [q.article_id for q in questions(app)] == ["skolfranvaro"]


async def test_an_indirect_emergency_gets_acute_guidance_first(
    app: DalsbotApp, person: SimUser
) -> None:
    """A pupil's disclosure written without "akut", "112" or "självmord" is an emergency."""
    card = await person.ask(
        "eleven sitter hos mig nu och har precis sagt att hon inte vill finnas kvar längre, "
        "vad gör jag"
    )
    assert shown(card).startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in shown(card)
    assert_emergency_card(card)
    assert [q.emergency for q in questions(app)] == [True]


async def test_a_possible_emergency_gets_the_answer_with_a_safety_footer(
    app: DalsbotApp, person: SimUser
) -> None:
    """A worrying but not clearly acute message gets its article and one line about 112."""
    card = await person.ask("en elev mår jättedåligt, hur gör jag en orosanmälan")
    assert shown(card).startswith(f"📘 {title(app, 'orosanmalan', 'sv')}")
    assert shown(card).endswith(t("ask.safety_note", "sv"))
    assert_phone_sized(card)


async def test_emergency_gets_acute_guidance_first_with_112(
    app: DalsbotApp, person: SimUser
) -> None:
    """Acute danger: the akut-lage card with 112 first; the ordinary match as a button."""
    question = "akut: våld hemma ikväll, vem kallar till SIP?"
    card = await person.ask(question)
    assert shown(card).startswith(f"🚨 {title(app, 'akut-lage', 'sv')}\n\n")
    assert "112" in shown(card).split("\n\n")[1]
    expected = kb_of(app).answer(question, "sv")
    assert expected.emergency
    assert labels(card)[3] == f"➡️ {title(app, expected.related[0], 'sv')}"
    assert len(card.message["reply_markup"]["inline_keyboard"]) == 2
    assert questions(app)[0].emergency is True


async def test_personnummer_in_a_question_is_refused_and_nothing_stored(
    app: DalsbotApp, person: SimUser, caplog: pytest.LogCaptureFixture
) -> None:
    """A question with a personnummer is not searched, stored or logged; one-line refusal."""
    for name in ("handlers", "knowledge", "storage", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)
    refused = await person.ask("behöver 19900101-0017 en SIP?")
    assert refused.text == t("ask.personnummer", "sv") and "\n" not in refused.text
    assert refused.buttons == []
    refused = await person.ask("/fraga samtycke för 900101-0017?")
    assert refused.text == t("ask.personnummer", "sv")
    assert questions(app) == []
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in ("handlers", "knowledge", "storage", "bot")
    )
    assert "0017" not in ours and "behöver" not in ours and "samtycke" not in ours


async def test_an_emergency_beside_a_personnummer_still_gets_112_first(
    app: DalsbotApp, person: SimUser
) -> None:
    """The acute-danger card comes first; the question is still refused and not stored."""
    await person.send("Eleven 121212-1212 sitter hos mig och säger att hon vill ta livet av sig")
    card, refused = await person.next(2, 30)
    assert shown(card).startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in shown(card) and card.buttons == []
    assert refused.text == t("ask.personnummer", "sv")
    assert questions(app) == []


async def test_read_more_edits_the_card_in_place_and_back(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """ "Läs mer" turns the card into the whole article in the same message (no new message):
    sections as bold lines, bullets, every source a text link, under 4,096 characters;
    "Kortare" turns it back. Asking and reading: one message sent, one tap."""
    question = "vem kallar till SIP?"
    article = kb_of(app).get("sip", "sv")
    assert article is not None
    card = await person.ask(question)
    assert_phone_sized(card)
    expanded = await person.tap(card, "Läs mer")
    assert expanded.kind == "edit" and expanded.message["message_id"] == card.message["message_id"]
    standin.allow_long(expanded)  # the article the person chose to read
    assert expanded.text == visible_text(expanded_article(article, "sv"))
    text = shown(expanded)
    assert text.startswith(f"📘 {article.title}\n\n{article.short_answer}\n\n")
    assert "Lagstöd\n• " in text and "##" not in text and "https://" not in text
    assert text.count(article.short_answer) == 1
    assert links(expanded) == list(article.sources)
    assert 1200 < length(expanded) <= 4096
    assert labels(expanded) == ["📕 Kortare", "👍", "👎", "Fler val ▾"]
    folded = await person.tap(expanded, "Kortare")
    assert folded.kind == "edit" and folded.text == card.text
    assert labels(folded) == labels(card)
    sent = [e for e in person.events() if e.kind == "send"]
    assert len(sent) == 1  # the card; reading more added no message


async def test_two_taps_in_flight_leave_the_card_consistent(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """ "Läs mer" and "Fler val ▾" tapped together on the card as it was: whichever lands last
    decides, text and buttons together (never the whole article under "Läs mer")."""
    card = await person.ask("vem kallar till SIP?")
    await person.press(card, "Läs mer")
    await person.press(card, "Fler val")
    await person.next(2)  # two edits
    final = person.last()
    expanded = "📕 Kortare" in labels(final)
    assert (length(final) > 1200) == expanded
    assert expanded or "📖 Läs mer" in labels(final)


async def test_an_overlong_article_is_cut_between_paragraphs_under_the_limit(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """An article five times Telegram's limit is shown in one message, cut and marked."""
    kb = kb_of(app)
    barnteam = kb.get("barnteam", "sv")
    assert barnteam is not None
    long = dataclasses.replace(barnteam, body=(barnteam.body + "\n\n") * 5)
    others = [kb.get(i, lang) for i in kb.ids() for lang in ("sv", "en")]
    articles = [long if a is barnteam else a for a in others if a is not None]
    app.bot_data.services.add(KnowledgeBase.from_articles(articles, kb.glossary))
    card = await person.ask("vad är ett barnteam?")
    expanded = await person.tap(card, "Läs mer")
    standin.allow_long(expanded)
    assert expanded.kind == "edit" and length(expanded) <= 4096
    assert t("ask.article_cut", "sv") in shown(expanded)
    assert shown(expanded).startswith(f"📘 {barnteam.title}\n\n{barnteam.short_answer}")


async def test_more_opens_related_and_coordinator_by_editing_the_buttons(
    app: DalsbotApp, person: SimUser
) -> None:
    """ "Fler val ▾" edits the card's buttons only: related articles, the coordinator, "▴ Färre
    val" (which closes them again); the text stays."""
    card = await person.ask("vem kallar till SIP?")
    related = kb_of(app).answer("vem kallar till SIP?", "sv").related
    menu = await person.tap(card, "Fler val ▾")
    assert menu.kind == "edit" and menu.text == card.text
    assert labels(menu) == [
        "📖 Läs mer",
        "👍",
        "👎",
        *[f"➡️ {title(app, r, 'sv')}" for r in related[:3]],
        "🙋 Fråga en samordnare",
        "▴ Färre val",
    ]
    closed = await person.tap(menu, "▴ Färre val")
    assert labels(closed) == labels(card)


async def test_related_button_opens_that_articles_card(app: DalsbotApp, person: SimUser) -> None:
    """A related article's button shows its card; the browse is logged without any text."""
    card = await person.ask("vem kallar till SIP?")
    related = kb_of(app).answer("vem kallar till SIP?", "sv").related[0]
    menu = await person.tap(card, "Fler val ▾")
    opened = await person.tap(menu, f"➡️ {title(app, related, 'sv')}")
    assert opened.kind == "send"
    assert shown(opened).startswith(f"📘 {title(app, related, 'sv')}\n\n")
    assert "👍" in labels(opened)
    assert "🙋 Fråga en samordnare" not in labels(await person.tap(opened, "Fler val ▾"))
    browse = questions(app)[-1]
    assert (browse.kind, browse.question, browse.article_id) == ("browse", None, related)


async def test_votes_are_stored_once_per_person_and_can_change(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """👍 twice keeps one vote; 👎 changes it; each is acknowledged with an alert."""
    staff_id = add_staff(app.bot_data.db, 110, "Jon Ek").id
    person = standin.user(110, "Jon")
    card = await person.ask("vem kallar till SIP?")
    assert (await person.tap(card, "👍")).alert == t("ask.vote_up", "sv")
    assert (await person.tap(card, "👍")).alert == t("ask.vote_same", "sv", vote="👍")
    assert (await person.tap(card, "👎")).alert == t("ask.vote_changed", "sv", vote="👎")
    votes = app.bot_data.db.call(
        lambda s: [(f.staff_id, f.vote) for f in s.exec(select(KbFeedback))]
    )
    assert votes == [(staff_id, -1)]


async def test_forged_or_foreign_callback_data_is_refused(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """Unknown ids, languages, cards and strangers are refused; nothing is stored."""
    card = await person.ask("vem kallar till SIP?")
    stale = t("core.stale_button", "sv")
    for forged in (
        "kb:vote:99999:up",
        "kb:vote:99999999999:up",  # beyond PostgreSQL's integer range: refused before the DB
        "kb:coord:0",
        "kb:vote:1:maybe",
        "kb:art:nosuch:sv",
        "kb:more:sip:de",
        "kb:art:..:sv",
        "kb:coord:x",
        "kb:page:99",
        "kb:reply:1",
        "kb:more:sip",
        "kb:card:99999:1:-",  # no such answer card
        "kb:card:1:99:-",  # no such view
        "kb:card:1:1:..",  # no article id
    ):
        await person.press(card, 0, data=forged)
        answer = await person.reply()
        expected = t("core.not_allowed_coordinator", "sv") if "reply" in forged else stale
        assert (forged, answer.alert) == (forged, expected)
    stranger = standin.user(112, "Lo")
    await stranger.press(card, "👍")
    assert (await stranger.reply()).alert == t("core.not_registered", "sv")
    assert (await stranger.ask("vem kallar till SIP?")).text == t("core.not_registered", "sv")
    assert app.bot_data.db.call(lambda s: list(s.exec(select(KbFeedback)))) == []
    assert len(questions(app)) == 1


def spy_force_replies(standin: BotApiStandIn) -> list[dict[str, object]]:
    """The reply markups of the messages the bot sends from now on that force a reply (the
    stand-in, like Telegram, does not keep them on the message)."""
    forced: list[dict[str, object]] = []
    send = standin._api_sendMessage

    def spy(params: dict[str, Any], files: object) -> Any:
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("force_reply"):
            forced.append({"chat": int(params["chat_id"]), **markup})
        return send(params, files)

    standin._api_sendMessage = spy  # type: ignore[method-assign,assignment]
    return forced


async def reply_to(user: SimUser, event: ChatEvent, text: str) -> ChatEvent:
    """``user`` answers ``event`` with Telegram's reply (what a forced reply sends), and the
    bot's next action."""
    message: dict[str, Any] = {
        "message_id": next(user.standin._message_ids),
        "from": user.user,
        "chat": user.standin.chats[user.id],
        "date": int(time.time()),
        "text": text,
        "reply_to_message": event.message,
    }
    user.standin.messages[(user.id, message["message_id"])] = message
    await user.standin.push_update({"message": message})
    return await user.reply()


async def test_a_coordinator_thread_goes_both_ways_with_forced_replies(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Forwarded to the municipality's coordinator; "Svara" forces a reply tied to the
    question; the asker gets the answer with "Reply" and "Thank you"; replying goes back to
    that coordinator, thanks gives them a short notice. A personnummer is refused and not
    stored or passed on; nobody else can use the thread's buttons."""
    forced = spy_force_replies(standin)
    code = await create_invite(standin, role="coordinator", municipality="Mellerud")
    await register(standin, 121, code, name="Cecilia")
    other = staff_chat(
        app, standin, 122, "Olle Åmålsson", role=Role.COORDINATOR, municipality="Åmål"
    )
    third = staff_chat(app, standin, 124, "Tor Ek", municipality="Mellerud")
    asker = staff_chat(app, standin, 123, "Maja Ek", municipality="Mellerud", language="en")
    coordinator = standin.user(121, "Cecilia")
    card = await asker.ask("Who pays for the meeting room?")
    assert shown(card).startswith(t("ask.dont_know", "en"))
    confirmation = await asker.tap(card, "Ask a coordinator")
    assert confirmation.text == t("ask.forwarded", "en", municipality="Mellerud")
    incoming = await coordinator.reply()
    assert incoming.text.startswith(
        "🙋 Fråga från Maja Ek (medarbetare, Mellerud):\n\nWho pays for the meeting room?"
    )
    assert t("ask.coordinator_bot_no_answer", "sv") in incoming.text
    assert labels(incoming) == ["✍️ Svara"]
    assert_phone_sized(incoming)
    assert (await asker.tap(card, "Ask a coordinator")).alert == t("ask.forward_already", "en")
    await other.press(incoming, "Svara")
    assert (await other.reply()).alert == t("ask.reply_not_recipient", "sv")
    # The coordinator: one tap, a forced reply, then typing.
    prompt = await coordinator.tap(incoming, "Svara")
    assert prompt.text == t(
        "ask.reply_prompt", "sv", name="Maja Ek", question="Who pays for the meeting room?"
    )
    assert forced == [
        {
            "chat": 121,
            "force_reply": True,
            "selective": True,
            "input_field_placeholder": "Ditt svar till Maja Ek",
        }
    ]
    refused = await reply_to(coordinator, prompt, "Fråga om 19900101-0017 först")
    assert refused.text == t("ask.reply_personnummer", "sv")
    assert standin.sent_messages(123)[-1].text == confirmation.text  # nothing passed on
    sent = await reply_to(coordinator, prompt, "Kommunen betalar lokalen. Boka via receptionen.")
    assert sent.text == t("ask.reply_sent", "sv", name="Maja Ek")
    answer = await asker.reply()
    assert answer.text == (
        "💬 Answer from Cecilia Ek (coordinator) to your question:\n"
        "“Who pays for the meeting room?”\n\n"
        "Kommunen betalar lokalen. Boka via receptionen."
    )
    assert labels(answer) == ["↩️ Reply", "🙏 Thank you"]
    assert standin.sent_messages(122) == []
    stored = app.bot_data.db.call(lambda s: s.exec(select(KbCoordinatorQuestion)).one())
    assert stored.answer == "Kommunen betalar lokalen. Boka via receptionen."
    await coordinator.press(incoming, "Svara")  # wait: the same coordinator may write again
    again_prompt = await coordinator.reply()
    assert again_prompt.text.startswith("✍️")
    # Nobody else may use the thread's buttons.
    for stranger in (other, third):
        await stranger.press(answer, "Reply")
        assert (await stranger.reply()).alert == t("ask.reply_not_recipient", "sv")
        await stranger.press(answer, "Thank you")
        assert (await stranger.reply()).alert == t("ask.reply_not_recipient", "sv")
    await other.press(incoming, "Svara")
    assert (await other.reply()).alert == t("ask.reply_not_recipient", "sv")
    # The asker writes back with a forced reply; it reaches that coordinator only.
    back_prompt = await asker.tap(answer, "Reply")
    assert back_prompt.text == t(
        "ask.reply_prompt", "en", name="Cecilia Ek", question="Who pays for the meeting room?"
    )
    assert forced[-1]["input_field_placeholder"] == "Your answer to Cecilia Ek"
    refused = await reply_to(asker, back_prompt, "It is about 121212-1212")
    assert refused.text == t("ask.reply_personnummer", "en")
    back = await reply_to(asker, back_prompt, "Great, and who books it?")
    assert back.text == t("ask.reply_sent", "en", name="Cecilia Ek")
    followup = await coordinator.reply()
    assert followup.text == (
        "💬 Maja Ek svarar om frågan ”Who pays for the meeting room?”:\n\nGreat, and who books it?"
    )
    assert labels(followup) == ["✍️ Svara"]
    assert "121212" not in "".join(e.text for e in standin.sent_messages(121))
    # The coordinator's earlier prompt still takes their reply, whatever was pressed since.
    await reply_to(coordinator, again_prompt, "Receptionen bokar.")
    reply_two = await asker.reply()
    assert reply_two.text.endswith("Receptionen bokar.")
    assert labels(reply_two) == ["↩️ Reply", "🙏 Thank you"]
    # Thanks: one tap; the coordinator gets a short notice, once.
    thanked = await asker.tap(reply_two, "Thank you", count=2)
    assert [e.alert for e in asker.events()[-2:] if e.alert] == [
        t("ask.thanks_sent", "en", name="Cecilia Ek")
    ]
    assert thanked.kind == "edit" and labels(thanked) == ["↩️ Reply"]
    notice = await coordinator.reply()
    assert notice.text == "👍 Maja Ek tackar för ditt svar på ”Who pays for the meeting room?”."
    await asker.press(reply_two, 0, data="kb:thanks:1")
    assert (await asker.reply()).alert == t("core.already_done", "en")
    assert standin.sent_messages(121)[-1].text == notice.text
    stored = app.bot_data.db.call(lambda s: s.exec(select(KbCoordinatorQuestion)).one())
    assert stored.answer == "Kommunen betalar lokalen. Boka via receptionen."
    for event in [*standin.sent_messages(121), *standin.sent_messages(123)]:
        assert length(event) <= 1200


async def test_a_command_while_writing_a_reply_says_the_reply_was_cancelled(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The coordinator taps "Svara", then sends /planer: one line "Svaret avbröts." and the
    command still runs; the next text is no reply (it is a question); "Svara" again works.
    In English: "Reply cancelled.". /avbryt keeps its own "Avbrutet" line."""
    coordinator = staff_chat(
        app, standin, 141, "Cecilia Ek", role=Role.COORDINATOR, municipality="Mellerud"
    )
    asker = staff_chat(app, standin, 142, "Maja Ek", municipality="Mellerud")
    card = await asker.ask("vem betalar för möten och lokaler")
    await asker.tap(card, "Fråga en samordnare")
    incoming = await coordinator.reply()
    await coordinator.tap(incoming, "Svara")
    await coordinator.send("/planer")
    notice, planer = await coordinator.next(2)
    assert notice.text == "Svaret avbröts."
    assert planer.text != notice.text and "plan" in planer.text.lower()
    await coordinator.ask("vem kallar till SIP?")
    assert not [e for e in standin.sent_messages(142) if e.text.startswith("💬")]
    assert questions(app)[-1].article_id == "sip"
    await coordinator.tap(incoming, "Svara")
    assert (await coordinator.ask("/avbryt")).text == t("core.cancelled", "sv")
    await coordinator.tap(incoming, "Svara")
    sent = await coordinator.ask("Kommunen betalar.")
    assert sent.text == t("ask.reply_sent", "sv", name="Maja Ek")
    english = staff_chat(
        app, standin, 143, "Eve Ek", role=Role.COORDINATOR, municipality="Åmål", language="en"
    )
    other = staff_chat(app, standin, 144, "Ola Ek", municipality="Åmål")
    await other.tap(await other.ask("vem betalar för möten och lokaler"), "Fråga en samordnare")
    await english.tap(await english.reply(), "Reply")
    await english.send("/help")
    notice, help_text = await english.next(2)
    assert notice.text == "Reply cancelled." and help_text.text != notice.text
    assert t("ask.reply_abandoned", "sv") == "Svaret avbröts."


async def test_fraga_without_text_takes_the_next_message_and_cancel_stops_it(
    app: DalsbotApp, person: SimUser
) -> None:
    """/fraga alone asks for the question; the next text is it; /cancel drops the request."""
    assert (await person.ask("/fraga")).text == t("ask.ask_prompt", "sv")
    card = await person.ask("vem kallar till SIP?")
    assert shown(card).startswith(f"📘 {title(app, 'sip', 'sv')}")
    assert (await person.ask("/ask")).text == t("ask.ask_prompt", "sv")
    assert (await person.ask("/cancel")).text == t("core.cancelled", "sv")
    assert (await person.ask("/cancel")).text == t("core.nothing_to_cancel", "sv")


async def test_in_a_group_only_fraga_and_mentions_are_questions(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser
) -> None:
    """Plain group text is ignored; /fraga, /fraga@bot and a mention are answered."""
    standin.group(GROUP)
    await person.send("vem kallar till SIP?", chat_id=GROUP)
    await person.send("/fraga vem kallar till SIP?", chat_id=GROUP)
    first = (await group_messages(standin, 1))[0]
    assert shown(first).startswith(f"📘 {title(app, 'sip', 'sv')}")
    await person.send("@dalsbot_local_bot vad är ett barnteam?", chat_id=GROUP)
    second = (await group_messages(standin, 2))[1]
    assert shown(second).startswith(f"📘 {title(app, 'barnteam', 'sv')}")
    await person.send("/fraga@dalsbot_local_bot", chat_id=GROUP)
    prompt = (await group_messages(standin, 3))[2]
    assert prompt.text == t("ask.ask_prompt_group", "sv")
    await person.send("vad är samtycke?", chat_id=GROUP)
    third = (await group_messages(standin, 4))[3]
    assert shown(third).startswith(f"📘 {title(app, 'samtycke', 'sv')}")
    await person.send("hej @someone_else", chat_id=GROUP)
    await person.send("/fraga behovskompassen", chat_id=GROUP)
    last = (await group_messages(standin, 5))[4]
    assert shown(last).startswith(f"📘 {title(app, 'behovskompassen', 'sv')}")
    assert [q.question for q in questions(app)] == [
        "vem kallar till SIP?",
        "vad är ett barnteam?",
        "vad är samtycke?",
        "behovskompassen",
    ]
    assert len(standin.sent_messages(GROUP)) == 5


async def test_artiklar_pages_through_topics_and_opens_one(
    app: DalsbotApp, person: SimUser
) -> None:
    """/artiklar: eight titles per page, next/previous in place, a title opens its card."""
    kb = kb_of(app)
    pages = -(-len(kb.ids()) // 8)
    first = await person.ask("/artiklar")
    assert first.text == t("ask.articles_title", "sv", page=1, pages=pages)
    assert len(first.buttons) == 9 and labels(first)[-1] == t("core.next_page", "sv")
    second = await person.tap(first, t("core.next_page", "sv"))
    assert second.kind == "edit"
    assert second.text == t("ask.articles_title", "sv", page=2, pages=pages)
    assert labels(second)[-2:] == [t("core.previous_page", "sv"), t("core.next_page", "sv")]
    topics = labels(first)[:8] + labels(second)[:8]
    assert len(set(topics)) == 16
    opened = await person.tap(second, labels(second)[0])
    assert shown(opened).startswith(f"📘 {labels(second)[0]}\n\n")


async def test_kb_reload_and_kb_gaps_are_for_admins_only(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser, tmp_path: Path
) -> None:
    """Staff are refused; the admin reloads (or sees why not) and sees the gaps."""
    admin = standin.user(ADMIN_ID, "Astrid")
    assert (await person.ask("/kb_reload")).text == t("core.not_allowed", "sv")
    assert (await person.ask("/kb_gaps")).text == t("kb.gaps.editors_only", "sv")
    kb = kb_of(app)
    reloaded = await admin.ask("/kb_reload")
    count = len(kb.ids())
    articles, numbers = reloaded.text.split("\n\n")
    assert numbers == t("ask.contacts_reloaded", "sv", numbers="0 nummer")
    in_words = tn("ask.articles_count", count, "sv")
    assert in_words == f"{count} artiklar"
    assert articles in (
        t("ask.reload_ok", "sv", articles=in_words),
        *(
            t("ask.reload_ok_warnings", "sv", articles=in_words, warnings=w)
            for w in ("1 varning", *(f"{n} varningar" for n in range(2, 100)))
        ),
    )
    await person.ask("hur länge ska man koka potatis?")
    await person.ask("Hur länge ska man koka potatis")
    card = await person.ask("vem kallar till SIP?")
    await person.tap(card, "👎")
    gaps = await admin.ask("/kb_gaps")
    assert gaps.text.startswith(t("kb.gaps.title", "sv", days=30))
    assert len(gaps.text) <= 1200
    assert labels(gaps) == ["2× Hur länge ska man koka potatis", "1× vem kallar till SIP?"]
    assert f"{title(app, 'sip', 'sv')}: 1 👎, 0 👍" in gaps.text
    broken = tmp_path / "articles"
    shutil.copytree(kb.root, broken)
    (broken / "sv" / "sip.md").write_text("no front matter", encoding="utf-8")
    kb.root = broken
    refused = await admin.ask("/kb_reload")
    assert refused.text.startswith(t("ask.reload_failed", "sv", error="")[:60])
    assert "sip.md" in refused.text
    still = await person.ask("vem kallar till SIP?")
    assert shown(still).startswith(f"📘 {title(app, 'sip', 'sv')}")


async def test_purge_job_is_scheduled_daily_and_clears_old_texts(
    app: DalsbotApp, person: SimUser, clock: FakeClock
) -> None:
    """The daily job exists; run 91 days later it deletes the question text."""
    assert app.job_queue is not None
    jobs = app.job_queue.get_jobs_by_name("kb:purge-old-questions")
    assert len(jobs) == 1
    await person.ask("vem kallar till SIP?")
    clock.advance(days=91)
    await jobs[0].run(app)
    assert [(q.question, q.staff_id, q.article_id) for q in questions(app)] == [(None, None, "sip")]


def test_start_up_fails_clearly_when_the_knowledge_base_cannot_load(
    settings: Settings, sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken article folder stops start-up with a one-line reason."""
    monkeypatch.setattr(
        ask_admin,
        "KnowledgeBase",
        lambda **kwargs: KnowledgeBase(root=tmp_path / "missing", **kwargs),
    )
    with pytest.raises(SystemExit, match=r"Cannot load the knowledge base: .*missing"):
        build_application(settings, db=sqlite_db, api_root="http://127.0.0.1:9")


async def test_a_forward_that_reached_nobody_can_be_tried_again(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """When every coordinator has blocked the bot, the asker is told and may try again later."""
    coordinator = staff_chat(
        app, standin, 150, "Rut Ek", role=Role.COORDINATOR, municipality="Dals-Ed"
    )
    asker = staff_chat(app, standin, 151, "Sam Ek", municipality="Dals-Ed")
    card = await asker.ask("Vem betalar fikat på mötet?")
    standin.blocked.add(150)
    await asker.press(card, "Fråga en samordnare")
    assert (await asker.reply()).alert == t("ask.forward_nobody", "sv")
    assert app.bot_data.db.call(lambda s: list(s.exec(select(KbCoordinatorQuestion)))) == []
    standin.blocked.discard(150)
    confirmation = await asker.tap(card, "Fråga en samordnare")
    assert confirmation.text == t("ask.forwarded", "sv", municipality="Dals-Ed")
    assert "Vem betalar fikat på mötet?" in (await coordinator.reply()).text


async def test_acute_danger_gets_112_even_from_someone_not_registered(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Emergency guidance is never withheld; the stranger's text is still not stored."""
    stranger = standin.user(160, "Vera")
    await stranger.send("pappan slår barnet just nu, vad gör jag")
    guidance, note = await stranger.next(2)
    assert shown(guidance).startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in shown(guidance) and not guidance.buttons
    assert note.text == t("core.not_registered", "sv")
    assert questions(app) == []


# -- the emergency card's phone numbers (contacts.yaml) ------------------------------------------

# Fictional numbers: PTS reserves 070-174 06 05 to 070-174 06 99 for fiction.
CONTACTS = """
municipalities:
  Mellerud:
    mottagning:
      label: {sv: "Socialtjänsten, barn och unga (kontorstid)"}
      phone: "070-174 06 10"
    socialjour:
      label: {sv: "Socialjouren (kvällar, nätter, helger)"}
      phone: "+46 70 174 06 11"
    barnkontakt:
      label: {sv: "Barnkontakt/samordnare i Mellerud"}
      phone: "070-174 06 12"
  Åmål:
    mottagning:
      label: {sv: "Socialtjänsten, barn och unga (kontorstid)"}
      phone: ""
"""
INDIRECT_EMERGENCY = "eleven sitter hos mig och säger att hon inte vill leva längre"


@pytest.fixture
async def app_with_contacts(
    settings: Settings,
    sqlite_db: Database,
    standin: BotApiStandIn,
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[DalsbotApp]:
    """The real Application with its own contacts file (DALSBOT_CONTACTS_FILE)."""
    contacts = tmp_path / "contacts.yaml"
    contacts.write_text(CONTACTS, encoding="utf-8")
    configured = settings.model_copy(update={"contacts_file": contacts})
    application = build_application(configured, db=sqlite_db, api_root=standin.url, clock=clock)
    async with running(application, poll_timeout=2):
        yield application


async def test_emergency_card_shows_112_and_the_askers_municipalitys_numbers(
    app_with_contacts: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Mellerud staff writing an indirect emergency get akut-lage, 112 and Mellerud's numbers;
    Åmål staff (nothing filled in) and strangers get 112 and the general text only."""
    app = app_with_contacts
    ulf = staff_chat(app, standin, 180, "Ulf Ek", municipality="Mellerud")
    vilma = staff_chat(app, standin, 181, "Vilma Ek", municipality="Åmål")
    card = await ulf.ask(INDIRECT_EMERGENCY)
    short = kb_of(app).get("akut-lage", "sv")
    assert short is not None
    head, answer = shown(card).split("\n\n")[:2]
    assert (head, " ".join(answer.split())) == (f"🚨 {short.title}", short.short_answer)
    assert shown(card).split("\n\n")[2].splitlines() == [
        "📞 Akut fara, och socialjouren utanför kontorstid: 112",
        "Nummer i Mellerud:",
        "📞 Socialtjänsten, barn och unga (kontorstid): 070-174 06 10",
        "📞 Socialjouren (kvällar, nätter, helger): +46 70 174 06 11",
        "📞 Barnkontakt/samordnare i Mellerud: 070-174 06 12",
    ]
    assert_emergency_card(card)
    assert labels(card)[:3] == ["📖 Läs mer", "👍", "👎"]
    assert "🙋 Fråga en samordnare" in labels(await ulf.tap(card, "Fler val ▾"))
    assert [(q.article_id, q.emergency) for q in questions(app)] == [("akut-lage", True)]
    amal = await vilma.ask(INDIRECT_EMERGENCY)
    assert shown(amal).split("\n\n")[2] == "📞 Akut fara, och socialjouren utanför kontorstid: 112"
    assert "070-174" not in amal.text
    assert_emergency_card(amal)
    stranger = standin.user(182, "Xena")
    await stranger.send(INDIRECT_EMERGENCY)
    guidance, note = await stranger.next(2)
    assert shown(guidance).startswith(f"🚨 {short.title}")
    assert "112" in shown(guidance) and "070-174" not in guidance.text and not guidance.buttons
    assert note.text == t("core.not_registered", "sv")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``."""
    return [part for part in re.split(r"(?<=[.!?…])\s+", text.strip()) if part]


async def test_the_emergency_card_shows_every_instruction_without_a_tap(
    app_with_contacts: DalsbotApp, standin: BotApiStandIn
) -> None:
    """ "akut fara" (sv) and "acute danger" (en), with a municipality's numbers or without: the
    phone shows every sentence of the emergency short answer at once (the daytime number and
    the report of concern too), nothing folded, at most 1,200 characters."""
    app = app_with_contacts
    people = [
        (staff_chat(app, standin, 190, "Ulf Ek", municipality="Mellerud"), "akut fara", "sv"),
        (staff_chat(app, standin, 191, "Vilma Ek", municipality="Åmål"), "akut fara", "sv"),
        (
            staff_chat(app, standin, 192, "Eve Ek", municipality="Mellerud", language="en"),
            "a child is in acute danger",
            "en",
        ),
        (
            staff_chat(app, standin, 193, "Em Ek", language="en"),
            "the child is in danger right now",
            "en",
        ),
    ]
    for person, question, lang in people:
        card = await person.ask(question)
        article = kb_of(app).get("akut-lage", lang)
        assert article is not None
        assert shown(card).startswith(f"🚨 {article.title}\n\n"), (question, shown(card))
        visible = " ".join(card.visible_text.split())
        for sentence in sentences(article.short_answer):
            assert sentence in visible, (lang, sentence)
        assert "expandable_blockquote" not in str(card.message.get("entities"))
        assert length(card) <= 1200
    sv = " ".join(people[0][0].last().visible_text.split())
    assert "Under kontorstid ringer du socialtjänstens mottagning" in sv
    assert "Gör också en orosanmälan." in sv


async def test_a_folded_english_short_answer_is_cut_between_sentences(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """The SIP card in English and Swedish: what shows before a tap ends a sentence, and
    the folded part starts one; no "…" cut inside a sentence."""
    before_a_tap: dict[str, str] = {}
    for telegram_id, lang, question in ((194, "en", "what is a SIP?"), (195, "sv", "vad är SIP?")):
        person = staff_chat(app, standin, telegram_id, "Ivy Ek", language=lang)
        card = await person.ask(question)
        article = kb_of(app).get("sip", lang)
        assert article is not None and shown(card).startswith(f"📘 {article.title}")
        whole = sentences(article.short_answer)
        quotes = [e for e in card.message["entities"] if e["type"] == "expandable_blockquote"]
        body = shown(card).split("\n\n")[1]
        assert "…" not in body
        if quotes:
            units = shown(card).encode("utf-16-le")
            start = quotes[0]["offset"] * 2
            folded = units[start : start + quotes[0]["length"] * 2].decode("utf-16-le")
            lead = body.removesuffix(folded).strip()
            assert sentences(lead) == whole[: len(sentences(lead))], lead
            assert sentences(folded) == whole[len(sentences(lead)) :], folded
        else:
            assert " ".join(body.split()) == article.short_answer
        before_a_tap[lang] = " ".join(card.visible_text.split())
    assert "a joint plan is needed. " in before_a_tap["en"]
    assert "och en gemensam plan behövs." in before_a_tap["sv"]


async def test_kb_reload_rereads_the_numbers_and_keeps_them_when_the_file_is_broken(
    app_with_contacts: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A broken contacts file is refused with its first error; a fixed one is used at once."""
    app = app_with_contacts
    person = staff_chat(app, standin, 183, "Yngve Ek", municipality="Åmål")
    admin = standin.user(ADMIN_ID, "Astrid")
    path = app.bot_data.settings.contacts_file
    assert path is not None
    path.write_text(CONTACTS.replace('phone: ""', "phone: fylls i"), encoding="utf-8")
    refused = await admin.ask("/kb_reload")
    assert refused.text.split("\n\n")[1] == t(
        "ask.contacts_reload_failed",
        "sv",
        error="Åmål.mottagning: phone 'fylls i' may contain only digits, spaces, + and -",
    )
    assert "Nummer i" not in shown(await person.ask(INDIRECT_EMERGENCY))
    path.write_text(CONTACTS.replace('phone: ""', 'phone: "070-174 06 13"'), encoding="utf-8")
    reloaded = await admin.ask("/kb_reload")
    assert reloaded.text.split("\n\n")[1] == t("ask.contacts_reloaded", "sv", numbers="4 nummer")
    card = await person.ask(INDIRECT_EMERGENCY)
    assert shown(card).split("\n\n")[2].splitlines()[1:] == [
        "Nummer i Åmål:",
        "📞 Socialtjänsten, barn och unga (kontorstid): 070-174 06 13",
    ]


def test_start_up_fails_clearly_when_the_contacts_file_is_broken(
    settings: Settings, sqlite_db: Database, tmp_path: Path
) -> None:
    """A contacts file with a structural error stops start-up with a one-line reason."""
    broken = tmp_path / "contacts.yaml"
    broken.write_text("municipalities: {Mellerud: {mottagning: {phone: 'TBD'}}}", encoding="utf-8")
    configured = settings.model_copy(update={"contacts_file": broken})
    with pytest.raises(SystemExit, match=r"Cannot load the contacts file: Mellerud\.mottagning"):
        build_application(configured, db=sqlite_db, api_root="http://127.0.0.1:9")
