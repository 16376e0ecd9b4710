"""The knowledge base as the bot uses it: load, reload, look up, and answer a question.

``KnowledgeBase.answer`` runs the whole decision: emergency check, language choice,
retrieval, abstention. It returns a plain ``Answer`` value; the Telegram handlers render it
from their own message catalogue, the CLI uses ``Answer.to_json_dict()``.

The articles come from the Markdown files (the CLI, tests, benchmarks) or, in the running
bot, from an :class:`ArticleSource`: the database's approved articles
(``storage.knowledge.articles.DatabaseSource``). Then :meth:`KnowledgeBase.refresh` compares
the source's revision at most every ``check_every`` seconds and rebuilds the search index
when it changed, so an approval made by any process reaches every process without a restart.
After such a rebuild the topic model is refitted with the new articles' example questions in
a worker thread and swapped in (``knowledge.topic_live``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from knowledge import topic_model
from knowledge.articles import (
    ARTICLES_DIR,
    Article,
    KnowledgeBaseError,
    article_paths,
    load_articles,
)
from knowledge.emergency import assess
from knowledge.glossary import GLOSSARY_PATH, Glossary, load_glossary
from knowledge.intent import THANKS, Intent, Kind, classify
from knowledge.language import LanguageDecision, detect_language
from knowledge.search import KnowledgeIndex, SearchResult
from knowledge.text import SUPPORTED_LANGS
from knowledge.topic_live import TopicLearner
from knowledge.topic_model import TopicModel

logger = logging.getLogger(__name__)

EMERGENCY_ARTICLE_ID = "akut-lage"
NORDIC_NEIGHBOURS = frozenset({"no", "nb", "nn", "da"})
SUGGESTION_MIN_CONFIDENCE = 0.08
EMERGENCY_RELATED_MIN_CONFIDENCE = 0.75
SUGGESTION_MIN_RATIO = 0.5
# How often (seconds) a process compares the article source's revision before answering.
REVISION_CHECK_SECONDS = 3.0
# How long a use of a knowledge base still loading waits for it (it takes well under a
# second; longer means the load was never started).
LOAD_WAIT_SECONDS = 120.0
# How often :meth:`KnowledgeBase.until_loaded` looks whether the load is done.
LOAD_POLL_SECONDS = 0.02

# Texts for the CLI's "text" field (the bot renders from its own catalogue).
CLI_TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "dont_know": (
            "Det vet jag tyvärr inte säkert. Försök gärna formulera frågan på ett annat sätt, "
            "eller fråga din Barnkontakt eller projektgruppen för Backa barnet Dalsland."
        ),
        "suggestions": "Kanske menar du: {titles}",
        "source": "Källa: {source}",
        "unsupported": "Jag kan bara svara på svenska och engelska, så jag svarar på svenska.",
        "emergency_fallback": (
            "Ring 112 om ett barn är i akut fara. Utanför kontorstid når du socialjouren. "
            "Dalsbot är inte till för akuta lägen."
        ),
        "smalltalk": "Hej! Fråga mig gärna om rutinerna i Backa barnet Dalsland.",
        "smalltalk_thanks": "Varsågod! Hör av dig om du undrar något mer.",
        "case": (
            "Jag kan inte se information om enskilda barn eller ärenden. Fråga den ansvariga "
            "socialsekreteraren eller den som ansvarar för barnets plan."
        ),
        "offtopic": (
            "Det ligger utanför det jag kan svara på. Jag kan hjälpa till med rutinerna i "
            "Backa barnet Dalsland: roller, SIP, samtycke, sekretess, orosanmälan och "
            "uppföljning."
        ),
        "safety_note": "Är barnet i fara nu? Ring 112.",
    },
    "en": {
        "dont_know": (
            "I'm sorry, I don't know that for sure. Try asking in a different way, or ask "
            "your Barnkontakt or the Backa barnet Dalsland project team."
        ),
        "suggestions": "Perhaps you mean: {titles}",
        "source": "Source: {source}",
        "unsupported": "I can only answer in Swedish and English, so I am answering in English.",
        "emergency_fallback": (
            "Call 112 if a child is in acute danger. Outside office hours, contact socialjouren "
            "(social services' on-call service). Dalsbot is not for emergencies."
        ),
        "smalltalk": "Hi! Ask me anything about the routines of Backa barnet Dalsland.",
        "smalltalk_thanks": "You're welcome! Get in touch if there is anything else.",
        "case": (
            "I can't see information about individual children or cases. Ask the responsible "
            "social worker or whoever is responsible for the child's plan."
        ),
        "offtopic": (
            "That is outside what I can answer. I can help with the routines of Backa barnet "
            "Dalsland: roles, SIP, consent, secrecy, reporting concern and follow-up."
        ),
        "safety_note": "Is the child in danger now? Call 112.",
    },
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What Dalsbot answers to one question (plain values only)."""

    answered: bool
    lang: str
    article_id: str | None
    title: str | None
    confidence: float
    related: list[str]
    emergency: bool
    unsupported_language: bool
    suggestions: list[str] = field(default_factory=list)
    # A possible emergency: the normal answer carries a one-line safety footer.
    safety_note: bool = False
    # What the message was: "question" (searched), "smalltalk", "case" (about a particular
    # child or family: never stored) or "offtopic" (``topic`` says which kind).
    intent: str = Kind.QUESTION.value
    topic: str | None = None
    detected_language: str | None = None
    short_answer: str | None = None
    sources: list[str] = field(default_factory=list)
    text: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        """The fields the CLI prints as JSON."""
        return {
            "answered": self.answered,
            "lang": self.lang,
            "article_id": self.article_id,
            "title": self.title,
            "confidence": round(self.confidence, 3),
            "related": list(self.related),
            "emergency": self.emergency,
            "safety_note": self.safety_note,
            "intent": self.intent,
            "topic": self.topic,
            "text": self.text,
        }


class ArticleSource(Protocol):
    """Where the approved articles live when they are not read from disk (the database)."""

    def revision(self) -> int:
        """A number that changes whenever the articles do (a cheap read)."""
        ...

    def articles(self) -> tuple[int, list[Article]]:
        """The revision and the approved articles, read together."""
        ...


@dataclass(frozen=True, slots=True)
class _State:
    articles: dict[tuple[str, str], Article]
    index: KnowledgeIndex
    # Every article's own questions (example questions included), as /kb_gaps groups them →
    # the article: asked word for word, a question gets its article.
    taught: dict[str, str] = field(default_factory=dict)


class KnowledgeBase:
    """Articles plus their search index; ``reload()`` swaps both atomically."""

    def __init__(
        self, root: Path = ARTICLES_DIR, glossary_path: Path = GLOSSARY_PATH, *, defer: bool = False
    ) -> None:
        """Load the articles, the glossary and the topic model now; with ``defer`` only check
        that ``root`` has articles, and leave the loading to :meth:`load` (the running bot
        calls it in a worker thread once it fetches updates: whatever needs the knowledge
        base meanwhile waits for it)."""
        self.root = root
        self.glossary_path = glossary_path
        self._lock = threading.Lock()
        self._init_loading()
        self._init_source()
        if not defer:
            self.load()
        elif not article_paths(root):
            raise KnowledgeBaseError(f"{root}: no articles")

    def _init_loading(self) -> None:
        self._loaded: _State | None = None
        self._model: TopicModel | None = None
        # Set once loaded (or once loading failed: then ``_failure`` says why).
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loading = threading.Lock()
        # The thread running :meth:`load`: it uses the knowledge base before it is ready.
        self._loader: int | None = None

    def _init_source(self) -> None:
        self.source: ArticleSource | None = None
        # The source's revision the index was built from (None: read from disk).
        self.revision: int | None = None
        self.check_every = REVISION_CHECK_SECONDS
        self._checked = -float("inf")
        self._refresh_lock = threading.Lock()
        self._monotonic: Callable[[], float] = time.monotonic
        # Teaches the topic model the source's articles (example questions) after a rebuild.
        self.learner: TopicLearner | None = None

    @classmethod
    def from_articles(cls, articles: list[Article], glossary: Glossary) -> KnowledgeBase:
        """Build a knowledge base from articles in memory (tests, benchmarks)."""
        kb = cls.__new__(cls)
        kb.root = ARTICLES_DIR
        kb.glossary_path = GLOSSARY_PATH
        kb._lock = threading.Lock()
        kb._init_loading()
        kb._loaded = _build_state(articles, glossary)
        # A knowledge base of other articles (tests, benchmarks) has no topic model.
        kb._ready.set()
        kb._init_source()
        return kb

    def load(self, then: Callable[[KnowledgeBase], object] | None = None) -> None:
        """Read the articles and the glossary, build the index and load the topic model
        (unless done already), then run ``then`` (the bot's switch to the database's
        articles); until this returns, every other thread that uses the knowledge base
        waits. An error is raised here, and to every use from then on."""
        with self._loading:
            self._loader = threading.get_ident()
            try:
                if self._loaded is None:
                    self._loaded = self._load()
                    self._model = topic_model.default_model()
                if then is not None:
                    then(self)
            except BaseException as exc:
                self._failure = exc
                raise
            finally:
                self._loader = None
                self._ready.set()

    @property
    def ready(self) -> bool:
        """Whether :meth:`load` is done (no wait)."""
        return self._ready.is_set()

    async def until_loaded(self) -> None:
        """Wait until :meth:`load` is done without blocking the event loop or taking a worker
        thread (waiting threads could fill the pool the load itself needs)."""
        while not self._ready.is_set():  # noqa: ASYNC110 - a threading.Event, set by the load
            await asyncio.sleep(LOAD_POLL_SECONDS)

    def _wait(self) -> None:
        """Return once the knowledge base can be used from this thread."""
        if self._loader == threading.get_ident():
            return
        if not self._ready.wait(LOAD_WAIT_SECONDS):
            raise KnowledgeBaseError("the knowledge base was not loaded in time")
        if self._failure is not None:
            raise KnowledgeBaseError(
                f"the knowledge base could not be loaded: {self._failure}"
            ) from self._failure

    @property
    def _state(self) -> _State:
        state = self._loaded
        if state is None or not self._ready.is_set():
            self._wait()
            state = self._loaded
            assert state is not None
        return state

    @_state.setter
    def _state(self, state: _State) -> None:
        self._loaded = state

    @property
    def topic_model(self) -> TopicModel | None:
        """The topic model answers consult (None: answers from the search alone)."""
        if not self._ready.is_set():
            self._wait()
        return self._model

    @topic_model.setter
    def topic_model(self, model: TopicModel | None) -> None:
        self._model = model

    def use_source(
        self,
        source: ArticleSource,
        *,
        check_every: float | None = None,
        loaded_revision: int | None = None,
    ) -> bool:
        """Answer from ``source``'s articles from now on (loaded at once); False when the
        source has no articles yet (the ones loaded so far stay). ``loaded_revision``: the
        articles loaded now are that revision of the source (it was just imported from
        them), so nothing is read or rebuilt."""
        self.source = source
        if self.topic_model is not None and self.learner is None:
            self.learner = TopicLearner.shipped(self._install_model)
        if check_every is not None:
            self.check_every = check_every
        if loaded_revision is not None:
            self.revision = loaded_revision
            self._checked = self._monotonic()
            return True
        return self.refresh(force=True)

    def due(self) -> bool:
        """Whether :meth:`refresh` would look at the source now (no I/O: call it on the loop).
        Not while loading: the load's switch to the source reads it itself."""
        return (
            self._ready.is_set()
            and self.source is not None
            and self._monotonic() - self._checked >= self.check_every
        )

    def refresh(self, *, force: bool = False, glossary: Glossary | None = None) -> bool:
        """Rebuild the index when the source's revision changed; True when it was rebuilt.

        Blocking (a database read, and the index build when needed): run it in a worker
        thread. Compares at most every ``check_every`` seconds unless ``force``.
        """
        source = self.source
        if source is None:
            return False
        # Another thread waits for the load first: holding the lock while waiting for it
        # would stall the load's own refresh (its switch to the source) until the wait's end.
        if not self._ready.is_set():
            self._wait()
        with self._refresh_lock:
            if not force and self._monotonic() - self._checked < self.check_every:
                return False
            self._checked = self._monotonic()
            if not force and source.revision() == self.revision:
                return False
            revision, articles = source.articles()
            if not articles:
                logger.warning("The article source has no articles; keeping the loaded ones")
                return False
            if glossary is None and _same_articles(self._state, articles):
                # The index was built from exactly these articles (the files a restarted bot
                # loaded before it switched to the database): adopt the revision, no rebuild.
                with self._lock:
                    self.revision = revision
                logger.info("Knowledge base at revision %d: articles unchanged", revision)
                if self.learner is not None:
                    self.learner.articles_changed(articles)
                return True
            state = _build_state(articles, glossary or self.glossary)
            with self._lock:
                self._state = state
                self.revision = revision
        logger.info("Knowledge base rebuilt: %d articles, revision %d", len(articles), revision)
        if self.learner is not None:
            self.learner.articles_changed(articles)
        return True

    def _install_model(self, model: TopicModel) -> None:
        """Answer with ``model`` from now on (called from the learner's thread)."""
        self.topic_model = model

    def reload(self) -> None:
        """Re-read the glossary (and the articles: from the source, else from disk); the old
        state stays if loading fails."""
        if self.source is not None:
            self.refresh(force=True, glossary=load_glossary(self.glossary_path))
            return
        state = self._load()
        with self._lock:
            self._state = state

    @property
    def index(self) -> KnowledgeIndex:
        """The current search index."""
        return self._state.index

    @property
    def glossary(self) -> Glossary:
        """The current glossary."""
        return self._state.index.glossary

    def get(self, article_id: str, lang: str) -> Article | None:
        """Return the article ``article_id`` in ``lang``, or None."""
        return self._state.articles.get((article_id, lang))

    def ids(self) -> list[str]:
        """All article ids (in either language), sorted."""
        return sorted({article_id for article_id, _ in self._state.articles})

    def titles(self, lang: str) -> dict[str, str]:
        """Article id → title in ``lang`` (falling back to the other language)."""
        result: dict[str, str] = {}
        for article_id in self.ids():
            article = self._localised(article_id, lang)
            if article is not None:
                result[article_id] = article.title
        return result

    def answer(self, question: str, preferred_lang: str) -> Answer:
        """Answer ``question``; ``preferred_lang`` is the person's language setting."""
        decision = detect_language(question, preferred_lang)
        lang = decision.lang
        # Norwegian and Danish are answered in Swedish; their own words are no sign that the
        # question is off topic.
        nordic = decision.detected in NORDIC_NEIGHBOURS
        result = self._search(question, lang, decision.unsupported or nordic)
        danger = assess(question)
        if danger.emergency:
            logger.info("Emergency answer given (lang=%s)", lang)
            return self._emergency_answer(result, lang, decision.detected, decision.unsupported)
        intent = classify(question)
        # A possible emergency with a sign of danger is never refused as off-topic: its answer
        # carries the footer. The word "socialjour" or "akut" alone is no such sign.
        refused = intent.kind is Kind.CASE or not (danger.safety_note and danger.categories)
        if intent.kind is not Kind.QUESTION and refused:
            return self._reply(intent, result, lang, decision, danger.safety_note)
        result = self._second_opinion(question, result)
        if result.article_id is None:
            return self._abstain(
                result, lang, decision.detected, decision.unsupported, danger.safety_note
            )
        article = self._localised(result.article_id, lang)
        return Answer(
            safety_note=danger.safety_note,
            answered=True,
            lang=lang,
            article_id=result.article_id,
            title=article.title if article else None,
            confidence=result.confidence,
            related=list(result.related),
            emergency=False,
            unsupported_language=decision.unsupported,
            detected_language=decision.detected,
            short_answer=article.short_answer if article else None,
            sources=list(article.sources) if article else [],
            text=self._article_text(article, lang, decision.unsupported, danger.safety_note),
        )

    def _search(self, question: str, lang: str, foreign: bool) -> SearchResult:
        """Search the question; in a message of two questions, answer the first.

        The second question's best article is offered first among the related ones. In a
        long message that tells a situation before asking, the asking sentence decides
        when it finds an answer on its own.
        """
        parts = split_questions(question)
        if len(parts) == 2:
            first = self.index.search(parts[0], lang, foreign=foreign)
            second = self.index.search(parts[1], lang, foreign=foreign)
            if first.article_id is not None:
                extra = second.article_id
                related = list(first.related)
                if extra and extra != first.article_id:
                    related = [extra, *[r for r in related if r != extra]][: len(related) or 3]
                return replace(first, related=related)
        full = self.index.search(question, lang, foreign=foreign)
        asking = asking_part(question)
        if asking is not None:
            focused = self.index.search(asking, lang, foreign=foreign)
            if focused.article_id is not None and focused.confidence >= full.confidence:
                return focused
        return full

    def _second_opinion(self, question: str, result: SearchResult) -> SearchResult:
        """Let the topic model take, switch or drop the search's article (see topic_model).

        A question that is word for word one of an article's questions (an editor accepted it
        from the /kb_gaps work list, say) gets that article: the people who own the content
        decided, and neither the ranking nor the topic model, trained before, can know it."""
        taught = self._state.taught.get(_question_key(question))
        if taught is not None:
            return result if result.article_id == taught else self._as_result(taught, 1.0, result)
        model = self.topic_model
        if model is None:
            return result
        probabilities = model.probabilities(question)
        none = probabilities.pop(topic_model.NONE, 0.0)
        if not probabilities:
            return result
        best = max(probabilities, key=lambda doc_id: probabilities[doc_id])
        sure = probabilities[best]
        current = result.article_id
        if current is None:
            if sure >= topic_model.TAKE and none < topic_model.NONE_CEILING:
                return self._as_result(best, sure, result)
            return result
        if none >= topic_model.NONE_FLOOR and sure < topic_model.ARTICLE_FLOOR:
            return replace(result, article_id=None)
        switch = sure >= topic_model.SWITCH
        if (
            best != current
            and switch
            and sure > probabilities.get(current, 0.0) + topic_model.SWITCH_MARGIN
        ):
            return self._as_result(best, sure, result)
        return result

    def _as_result(self, article_id: str, confidence: float, result: SearchResult) -> SearchResult:
        """``result`` with ``article_id`` first (its own related articles, then the search's)."""
        article = self._localised(article_id, "sv")
        related = [r for r in (article.related if article else ()) if r != article_id][:3]
        ranked = [(article_id, 1.0), *[(d, s) for d, s in result.ranked if d != article_id]]
        return SearchResult(article_id, confidence, related, ranked)

    def _emergency_answer(
        self, result: SearchResult, lang: str, detected: str | None, unsupported: bool
    ) -> Answer:
        article = self._localised(EMERGENCY_ARTICLE_ID, lang)
        related: list[str] = []
        # Next to an emergency only a confident match is offered: a weak one is noise at best
        # ("ta livet av sig" weakly matches "Det goda livet i Dalsland").
        if (
            result.article_id
            and result.article_id != EMERGENCY_ARTICLE_ID
            and result.confidence >= EMERGENCY_RELATED_MIN_CONFIDENCE
        ):
            related.append(result.article_id)
        for candidate in article.related if article else ():
            if candidate not in related and len(related) < 3:
                related.append(candidate)
        text = self._article_text(article, lang, unsupported)
        return Answer(
            answered=True,
            lang=lang,
            article_id=EMERGENCY_ARTICLE_ID,
            title=article.title if article else None,
            confidence=1.0,
            related=related,
            emergency=True,
            unsupported_language=unsupported,
            detected_language=detected,
            short_answer=article.short_answer if article else None,
            sources=list(article.sources) if article else [],
            text=text if article else CLI_TEXTS[lang]["emergency_fallback"],
        )

    def _reply(
        self,
        intent: Intent,
        result: SearchResult,
        lang: str,
        decision: LanguageDecision,
        safety_note: bool,
    ) -> Answer:
        """Small talk, a case question or an off-topic question: a short reply, no article."""
        texts = CLI_TEXTS[lang]
        key = intent.kind.value if intent.topic != THANKS else "smalltalk_thanks"
        parts = [texts[key]]
        if safety_note:
            parts.append(texts["safety_note"])
        return _unanswered(
            result,
            lang,
            decision.detected,
            decision.unsupported,
            parts,
            safety_note=safety_note,
            intent=intent.kind.value,
            topic=intent.topic,
        )

    def _abstain(
        self,
        result: SearchResult,
        lang: str,
        detected: str | None,
        unsupported: bool,
        safety_note: bool = False,
    ) -> Answer:
        suggestions = _suggestions(result)
        texts = CLI_TEXTS[lang]
        parts = [texts["unsupported"]] if unsupported else []
        parts.append(texts["dont_know"])
        titles = self.titles(lang)
        if suggestions:
            listed = "; ".join(titles.get(doc_id, doc_id) for doc_id in suggestions)
            parts.append(texts["suggestions"].format(titles=listed))
        if safety_note:
            parts.append(texts["safety_note"])
        return _unanswered(
            result,
            lang,
            detected,
            unsupported,
            parts,
            suggestions=suggestions,
            safety_note=safety_note,
        )

    def _article_text(
        self, article: Article | None, lang: str, unsupported: bool, safety_note: bool = False
    ) -> str:
        if article is None:
            return ""
        texts = CLI_TEXTS[lang]
        parts = [texts["unsupported"]] if unsupported else []
        parts.append(article.short_answer)
        if article.sources:
            parts.append(texts["source"].format(source=article.sources[0]))
        if safety_note:
            parts.append(texts["safety_note"])
        return "\n\n".join(parts)

    def _localised(self, article_id: str, lang: str) -> Article | None:
        """The article in ``lang``, else in the other supported language."""
        for candidate in (lang, *SUPPORTED_LANGS):
            article = self._state.articles.get((article_id, candidate))
            if article is not None:
                return article
        return None

    def _load(self) -> _State:
        return _build_state(load_articles(self.root), load_glossary(self.glossary_path))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_QUESTION_WORD = re.compile(
    r"^(vad|vem|vilka|vilken|vilket|hur|när|var|varför|får|kan|ska|måste|behöver|bör|är|"
    r"what|who|which|how|when|where|why|can|may|should|must|do|does|is|are|"
    r"hva|hvem|hvordan|hvornår|når|hvor|hvorfor|kan|skal|må|er)\b",
    re.IGNORECASE,
)
_SECOND_QUESTION = re.compile(
    r"\?\s+(?:och\s+|and\s+|og\s+)?(?=\w)|,?\s+(?:och|and|og|samt)\s+(?=(?:vad|vem|vilka|vilken|hur|"
    r"när|var|får|kan|ska|måste|what|who|which|how|when|where|can|should|must|hva|hvem|"
    r"hvordan|hvad)\b)",
    re.IGNORECASE,
)
# A message this long (in words) that tells a situation first is searched by its asking part.
LONG_MESSAGE_WORDS = 30


def _question_key(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip("?!.… ").strip()


def split_questions(text: str) -> list[str]:
    """Two questions in one message as two parts (each of three words or more), else one."""
    parts = [p.strip(" ,.") for p in _SECOND_QUESTION.split(text.strip(), maxsplit=1)]
    if len(parts) == 2 and all(len(p.split()) >= 3 for p in parts):
        return parts
    return [text]


def asking_part(text: str) -> str | None:
    """In a long message, the sentences that ask (a question mark or a question word)."""
    if len(text.split()) < LONG_MESSAGE_WORDS:
        return None
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    asking = [s for s in sentences if s.endswith("?") or _QUESTION_WORD.match(s)]
    if not asking or len(asking) == len(sentences):
        return None
    return " ".join(asking)


def _unanswered(
    result: SearchResult,
    lang: str,
    detected: str | None,
    unsupported: bool,
    parts: list[str],
    **fields: Any,
) -> Answer:
    """An answer without an article (abstention, small talk, a case or off-topic question)."""
    return Answer(
        answered=False,
        lang=lang,
        article_id=None,
        title=None,
        confidence=result.confidence,
        related=[],
        emergency=False,
        unsupported_language=unsupported,
        detected_language=detected,
        text="\n\n".join(parts),
        **fields,
    )


def _suggestions(result: SearchResult) -> list[str]:
    """Up to three near misses, only when the question was at least somewhat on topic."""
    if result.confidence < SUGGESTION_MIN_CONFIDENCE or not result.ranked:
        return []
    top = result.ranked[0][1]
    return [doc_id for doc_id, score in result.ranked[:3] if score >= SUGGESTION_MIN_RATIO * top]


def _same_articles(state: _State, articles: list[Article]) -> bool:
    """Whether ``state`` was built from ``articles`` (same articles, same order)."""
    by_key = {(a.id, a.lang): a for a in articles}
    return len(by_key) == len(state.articles) and list(by_key.items()) == list(
        state.articles.items()
    )


def _build_state(articles: list[Article], glossary: Glossary) -> _State:
    by_key = {(a.id, a.lang): a for a in articles}
    taught: dict[str, str] = {}
    for article in by_key.values():
        for question in article.questions:
            taught.setdefault(_question_key(question), article.id)
    index = KnowledgeIndex(list(by_key.values()), glossary)
    return _State(articles=by_key, index=index, taught=taught)
