"""End to end over HTTP: asking the knowledge base through the real Application and stand-in."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.context import DalsbotApp
from bot.i18n import format_date, t
from bot.settings import Settings
from bot.shell.app import build_application, running
from bot.shell.standin import BotApiStandIn, ChatEvent, SimUser
from handlers.ask import admin as ask_admin
from handlers.ask.render import full_article
from knowledge.service import KnowledgeBase
from storage.db import Database
from storage.knowledge.models import KbCoordinatorQuestion, KbFeedback
from storage.people.models import Role
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
    """A typo ("behovskompasen") still finds the article, with source +N and reviewed date."""
    card = await person.ask("vad är behovskompasen?")
    article = kb_of(app).get("behovskompassen", "sv")
    assert article is not None
    assert card.text.startswith(f"📘 {article.title}\n\n{article.short_answer}")
    extra = f" (+{len(article.sources) - 1} till)" if len(article.sources) > 1 else ""
    assert f"Källa: {article.sources[0]}{extra}" in card.text
    assert card.text.endswith(f"Granskad {format_date(article.reviewed, 'sv')}")
    assert labels(card)[0] == "📖 Läs mer"
    assert labels(card)[-3:] == ["👍", "👎", "🙋 Fråga en samordnare"]
    logged = questions(app)
    assert [(q.question, q.answered, q.article_id, q.lang) for q in logged] == [
        ("vad är behovskompasen?", True, "behovskompassen", "sv")
    ]


async def test_english_question_is_answered_in_english(app: DalsbotApp, person: SimUser) -> None:
    """A Swedish-speaking person asking in English gets the English article."""
    card = await person.ask("How do I prepare a child team meeting?")
    assert card.text.startswith(f"📘 {title(app, 'forbereda-mote', 'en')}\n\n")
    assert "Reviewed " in card.text and "Source: " in card.text
    assert labels(card)[0] == "📖 Read more" and "🙋 Ask a coordinator" in labels(card)


async def test_short_question_uses_the_persons_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A bare "SIP?" is answered in the person's language (English or Swedish)."""
    cara = staff_chat(app, standin, 103, "Cara Ek", language="en")
    dag = staff_chat(app, standin, 104, "Dag Ek", language="sv")
    english = await cara.ask("SIP?")
    swedish = await dag.ask("SIP?")
    assert english.text.startswith(f"📘 {title(app, 'sip', 'en')}\n\n")
    assert swedish.text.startswith(f"📘 {title(app, 'sip', 'sv')}\n\n")


async def test_other_language_gets_a_bilingual_note_then_the_persons_language(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """A German question: a short note in Swedish and English, then the answer in Swedish."""
    ulla = staff_chat(app, standin, 119, "Ulla Ek")
    question = "Wie funktioniert das Barnteam in der Schule?"
    expected = kb_of(app).answer(question, "sv")
    assert expected.unsupported_language and expected.lang == "sv" and expected.article_id
    card = await ulla.ask(question)
    assert card.text.startswith(
        f"{t('ask.unsupported_note', 'sv')}\n\n📘 {title(app, expected.article_id, 'sv')}\n\n"
    )
    assert "Jag kan bara svara" in card.text and "I can only answer" in card.text


async def test_off_topic_question_gets_an_honest_i_dont_know(
    app: DalsbotApp, person: SimUser
) -> None:
    """No article, whom to ask, suggestion buttons (if any) and the coordinator button."""
    for question in ("hur länge ska man koka potatis?", "vem betalar för möten och lokaler"):
        expected = kb_of(app).answer(question, "sv")
        assert not expected.answered
        card = await person.ask(question)
        assert card.text.startswith(t("ask.dont_know", "sv"))
        assert t("ask.dont_know_whom", "sv") in card.text
        suggested = [
            b["callback_data"].split(":")[2]
            for b in card.buttons
            if b["callback_data"].startswith("kb:art:")
        ]
        assert suggested == list(expected.suggestions)[:3]
        assert (t("ask.dont_know_suggestions", "sv") in card.text) == bool(suggested)
        assert labels(card)[-1] == "🙋 Fråga en samordnare"
    assert [q.answered for q in questions(app)] == [False, False]
    english = await person.ask("can you recommend a movie for tonight?")
    assert english.text.startswith(t("ask.dont_know", "en"))


async def test_small_talk_case_and_off_topic_get_short_replies_and_nothing_is_stored(
    app: DalsbotApp, person: SimUser
) -> None:
    """Greetings and thanks get a friendly line; a case question says whom to ask; an
    off-topic question says what the bot can help with; none of them is logged (so none
    reaches /kb_gaps) and none gets an article card or buttons."""
    cases = [
        ("hej!", "ask.smalltalk", "sv"),
        ("tack så mycket!", "ask.smalltalk_thanks", "sv"),
        ("thanks!", "ask.smalltalk_thanks", "sv"),
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
    assert card.text.startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in card.text
    assert [q.emergency for q in questions(app)] == [True]


async def test_a_possible_emergency_gets_the_answer_with_a_safety_footer(
    app: DalsbotApp, person: SimUser
) -> None:
    """A worrying but not clearly acute message gets its article and one line about 112."""
    card = await person.ask("en elev mår jättedåligt, hur gör jag en orosanmälan")
    assert card.text.startswith(f"📘 {title(app, 'orosanmalan', 'sv')}")
    assert t("ask.safety_note", "sv") in card.text


async def test_emergency_gets_acute_guidance_first_with_112(
    app: DalsbotApp, person: SimUser
) -> None:
    """Acute danger: the akut-lage card with 112 first; the ordinary match as a button."""
    question = "akut: våld hemma ikväll, vem kallar till SIP?"
    card = await person.ask(question)
    assert card.text.startswith(f"🚨 {title(app, 'akut-lage', 'sv')}\n\n")
    assert "112" in card.text.split("\n\n")[1]
    expected = kb_of(app).answer(question, "sv")
    assert expected.emergency
    assert labels(card)[1] == f"➡️ {title(app, expected.related[0], 'sv')}"
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
    assert card.text.startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in card.text and card.buttons == []
    assert refused.text == t("ask.personnummer", "sv")
    assert questions(app) == []


async def test_read_more_sends_the_whole_article_in_parts_under_the_limit(
    app: DalsbotApp, person: SimUser
) -> None:
    """A long article arrives as several plain-text messages, each under 4096 characters."""
    kb = kb_of(app)
    barnteam = kb.get("barnteam", "sv")
    assert barnteam is not None
    long = dataclasses.replace(barnteam, body=(barnteam.body + "\n\n") * 5)
    others = [kb.get(i, lang) for i in kb.ids() for lang in ("sv", "en")]
    articles = [long if a is barnteam else a for a in others if a is not None]
    app.bot_data.services.add(KnowledgeBase.from_articles(articles, kb.glossary))
    card = await person.ask("vad är ett barnteam?")
    assert card.text.startswith(f"📘 {barnteam.title}")
    await person.press(card, "Läs mer")
    expected = full_article(long, "sv")
    parts = await person.next(len(expected))
    assert len(parts) >= 3
    assert [p.text for p in parts] == expected
    assert all(len(p.text) < 4096 for p in parts)
    assert not any(line.startswith("##") for p in parts for line in p.text.splitlines())
    assert parts[0].text.startswith(f"📘 {barnteam.title}\n\n{barnteam.short_answer}")


async def test_related_button_opens_that_articles_card(app: DalsbotApp, person: SimUser) -> None:
    """A related article's button shows its card; the browse is logged without any text."""
    card = await person.ask("vem kallar till SIP?")
    related = kb_of(app).answer("vem kallar till SIP?", "sv").related[0]
    opened = await person.tap(card, f"➡️ {title(app, related, 'sv')}")
    assert opened.text.startswith(f"📘 {title(app, related, 'sv')}\n\n")
    assert "👍" in labels(opened) and "🙋 Fråga en samordnare" not in labels(opened)
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


async def test_ask_a_coordinator_and_the_reply_reaches_the_asker(
    app: DalsbotApp, standin: BotApiStandIn
) -> None:
    """Forwarded to the municipality's coordinator, who replies through the bot (guarded)."""
    code = await create_invite(standin, role="coordinator", municipality="Mellerud")
    await register(standin, 121, code, name="Cecilia")
    other = staff_chat(
        app, standin, 122, "Olle Åmålsson", role=Role.COORDINATOR, municipality="Åmål"
    )
    asker = staff_chat(app, standin, 123, "Maja Ek", municipality="Mellerud", language="en")
    coordinator = standin.user(121, "Cecilia")
    card = await asker.ask("Who pays for the meeting room?")
    assert card.text.startswith(t("ask.dont_know", "en"))
    confirmation = await asker.tap(card, "Ask a coordinator")
    assert confirmation.text == t("ask.forwarded", "en", municipality="Mellerud")
    incoming = await coordinator.reply()
    assert incoming.text.startswith(
        "🙋 Fråga från Maja Ek (medarbetare, Mellerud):\n\nWho pays for the meeting room?"
    )
    assert t("ask.coordinator_bot_no_answer", "sv") in incoming.text
    assert labels(incoming) == ["✍️ Svara"]
    assert (await asker.tap(card, "Ask a coordinator")).alert == t("ask.forward_already", "en")
    await other.press(incoming, "Svara")
    assert (await other.reply()).alert == t("ask.reply_not_recipient", "sv")
    prompt = await coordinator.tap(incoming, "Svara")
    assert prompt.text == t("ask.reply_prompt", "sv", name="Maja Ek")
    refused = await coordinator.ask("Fråga om 19900101-0017 först")
    assert refused.text == t("ask.reply_personnummer", "sv")
    sent = await coordinator.ask("Kommunen betalar lokalen. Boka via receptionen.")
    assert sent.text == t("ask.reply_sent", "sv", name="Maja Ek")
    answer = await asker.reply()
    assert answer.text == (
        "💬 Answer from Cecilia Ek (coordinator) to your question:\n"
        "“Who pays for the meeting room?”\n\n"
        "Kommunen betalar lokalen. Boka via receptionen."
    )
    assert standin.sent_messages(122) == []
    stored = app.bot_data.db.call(lambda s: s.exec(select(KbCoordinatorQuestion)).one())
    assert stored.answer == "Kommunen betalar lokalen. Boka via receptionen."
    await coordinator.press(incoming, "Svara")
    assert (await coordinator.reply()).alert == t("ask.reply_answered", "sv", name="Cecilia Ek")


async def test_fraga_without_text_takes_the_next_message_and_cancel_stops_it(
    app: DalsbotApp, person: SimUser
) -> None:
    """/fraga alone asks for the question; the next text is it; /cancel drops the request."""
    assert (await person.ask("/fraga")).text == t("ask.ask_prompt", "sv")
    card = await person.ask("vem kallar till SIP?")
    assert card.text.startswith(f"📘 {title(app, 'sip', 'sv')}")
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
    assert first.text.startswith(f"📘 {title(app, 'sip', 'sv')}")
    await person.send("@dalsbot_local_bot vad är ett barnteam?", chat_id=GROUP)
    second = (await group_messages(standin, 2))[1]
    assert second.text.startswith(f"📘 {title(app, 'barnteam', 'sv')}")
    await person.send("/fraga@dalsbot_local_bot", chat_id=GROUP)
    prompt = (await group_messages(standin, 3))[2]
    assert prompt.text == t("ask.ask_prompt_group", "sv")
    await person.send("vad är samtycke?", chat_id=GROUP)
    third = (await group_messages(standin, 4))[3]
    assert third.text.startswith(f"📘 {title(app, 'samtycke', 'sv')}")
    await person.send("hej @someone_else", chat_id=GROUP)
    await person.send("/fraga behovskompassen", chat_id=GROUP)
    last = (await group_messages(standin, 5))[4]
    assert last.text.startswith(f"📘 {title(app, 'behovskompassen', 'sv')}")
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
    shown = labels(first)[:8] + labels(second)[:8]
    assert len(set(shown)) == 16
    opened = await person.tap(second, labels(second)[0])
    assert opened.text.startswith(f"📘 {labels(second)[0]}\n\n")


async def test_kb_reload_and_kb_gaps_are_for_admins_only(
    app: DalsbotApp, standin: BotApiStandIn, person: SimUser, tmp_path: Path
) -> None:
    """Staff are refused; the admin reloads (or sees why not) and sees the gaps."""
    admin = standin.user(ADMIN_ID, "Astrid")
    assert (await person.ask("/kb_reload")).text == t("core.not_allowed", "sv")
    assert (await person.ask("/kb_gaps")).text == t("core.not_allowed", "sv")
    kb = kb_of(app)
    reloaded = await admin.ask("/kb_reload")
    count = len(kb.ids())
    articles, numbers = reloaded.text.split("\n\n")
    assert numbers == t("ask.contacts_reloaded", "sv", count=0)
    assert articles in (
        t("ask.reload_ok", "sv", count=count),
        *(t("ask.reload_ok_warnings", "sv", count=count, warnings=n) for n in range(1, 100)),
    )
    await person.ask("hur länge ska man koka potatis?")
    await person.ask("Hur länge ska man koka potatis")
    card = await person.ask("vem kallar till SIP?")
    await person.tap(card, "👎")
    gaps = await admin.ask("/kb_gaps")
    assert gaps.text.startswith(t("ask.gaps_title", "sv", days=30))
    assert "2 × hur länge ska man koka potatis" in gaps.text
    assert f"{title(app, 'sip', 'sv')}: 1 👎, 0 👍" in gaps.text
    broken = tmp_path / "articles"
    shutil.copytree(kb.root, broken)
    (broken / "sv" / "sip.md").write_text("no front matter", encoding="utf-8")
    kb.root = broken
    refused = await admin.ask("/kb_reload")
    assert refused.text.startswith(t("ask.reload_failed", "sv", error="")[:60])
    assert "sip.md" in refused.text
    still = await person.ask("vem kallar till SIP?")
    assert still.text.startswith(f"📘 {title(app, 'sip', 'sv')}")


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
        ask_admin, "KnowledgeBase", lambda: KnowledgeBase(root=tmp_path / "missing")
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
    assert guidance.text.startswith(f"🚨 {title(app, 'akut-lage', 'sv')}")
    assert "112" in guidance.text and not guidance.buttons
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
    assert card.text.startswith(f"🚨 {short.title}\n\n{short.short_answer}\n\n")
    assert card.text.split("\n\n")[2].splitlines() == [
        "📞 Akut fara, och socialjouren utanför kontorstid: 112",
        "Nummer i Mellerud:",
        "📞 Socialtjänsten, barn och unga (kontorstid): 070-174 06 10",
        "📞 Socialjouren (kvällar, nätter, helger): +46 70 174 06 11",
        "📞 Barnkontakt/samordnare i Mellerud: 070-174 06 12",
    ]
    assert len(card.text) < 1200
    assert labels(card)[0] == "📖 Läs mer" and labels(card)[-1] == "🙋 Fråga en samordnare"
    assert [(q.article_id, q.emergency) for q in questions(app)] == [("akut-lage", True)]
    amal = await vilma.ask(INDIRECT_EMERGENCY)
    assert amal.text.split("\n\n")[2] == "📞 Akut fara, och socialjouren utanför kontorstid: 112"
    assert "070-174" not in amal.text
    stranger = standin.user(182, "Xena")
    await stranger.send(INDIRECT_EMERGENCY)
    guidance, note = await stranger.next(2)
    assert guidance.text.startswith(f"🚨 {short.title}")
    assert "112" in guidance.text and "070-174" not in guidance.text and not guidance.buttons
    assert note.text == t("core.not_registered", "sv")


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
    assert "Nummer i" not in (await person.ask(INDIRECT_EMERGENCY)).text
    path.write_text(CONTACTS.replace('phone: ""', 'phone: "070-174 06 13"'), encoding="utf-8")
    reloaded = await admin.ask("/kb_reload")
    assert reloaded.text.split("\n\n")[1] == t("ask.contacts_reloaded", "sv", count=4)
    card = await person.ask(INDIRECT_EMERGENCY)
    assert card.text.split("\n\n")[2].splitlines()[1:] == [
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
