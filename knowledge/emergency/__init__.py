"""Recognise messages about acute danger to a child: a safety net, not a keyword list.

The signals are data, one reviewed file per language in ``signals/`` (Swedish, English,
Norwegian/Danish); this module only combines them. Every file is applied to every message,
because staff mix languages. Matching runs on a *folded* form of the text (lower case, NFKC,
å/ä/ö/æ/ø written as a/a/o/a/o, punctuation kept only as clause breaks), so a message typed
without Swedish letters matches the same signals; the patterns are folded the same way when
they are compiled, so reviewers read and write them with the real letters.

Two tiers (``Tier``):

* ``CLEAR``: the bot answers with the ``akut-lage`` card first (112, the socialjour, the
  asker's municipality's numbers).
* ``POSSIBLE``: the normal answer, with a one-line safety footer ("Är barnet i fara nu? Ring
  112.").

The combination rules, per category of acute danger:

* a *clear* signal ("vill inte leva", "skurit sig", "ingen har hämtat treåringen") is an
  emergency on its own, and so is a *together* group whose every pattern is in the message
  ("helt borta" and "bilen"; "hittar inte" and a child);
* a *weak* signal ("blåmärken", "full", "kniv") is an emergency together with a child or
  pupil **and** immediacy ("nu", "idag", "ska hämta"), or with concrete presence ("just
  nu", "ikväll", "sitter hos mig"), and a possible one otherwise;
* a *soft* signal ("mår jättedåligt", "orkar inte") is never more than a possible one;
* a signal preceded by a negation in the same clause ("hon har inte skadat sig") does not
  count;
* a *meta* message about routines, words, training, statistics, hypotheticals or a case that
  is already handled ("vad är rutinen om en elev pratar om självmord", "förra året anmälde
  vi ...") turns a clear signal into a possible one, unless the message also says that
  something is happening now or within the hour ("hon sitter hos mig nu", "om 20 min");
* a *calm* phrase ("ingen akut fara", "not urgent") does the same, whatever else it says;
* the word "akut"/"urgent"/"112" with a child and a signal is clear; alone, in a message of a
  few words ("AKUT!!", "hjälp akut"), it is clear too; elsewhere it adds a safety footer.

Recall matters more than precision, but a footer costs little and an alarm on every mention
of "akut" teaches people to ignore it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from knowledge.emergency.model import EmergencyModel, default_model
from knowledge.patterns import WORD, PatternError, compile_words, fold, read_mapping, strings

SIGNALS_DIR = Path(__file__).with_name("signals")
CATEGORIES: tuple[str, ...] = (
    "suicide-selfharm",
    "violence-now",
    "sexual-abuse",
    "weapons-threats",
    "intoxicated-caregiver",
    "child-alone",
    "missing-runaway",
    "threat-to-kill",
    # Beyond the eight: a fire, a child not breathing, unconscious, choking, drowning.
    "medical-fire",
)
# A negation counts when it stands this many words or fewer before a signal, in its clause.
NEGATION_WINDOW = 3
# "AKUT!!" or "hjälp, akut" alone: a message of at most this many words.
BARE_URGENT_WORDS = 4
# Distinct weak cues that together describe a dangerous situation.
SITUATION_CUES = 2
# The category reported when only the learned model saw the danger.
MODEL_CATEGORY = "model"
# Below this probability the model may lower even an explicit signal to the footer, when
# nothing in the message says the child is with the writer, the danger is under way or
# imminent, or urgent ("a self-harm awareness evening", "hon har skurit sig tidigare och går
# hos BUP"). No emergency in the evaluation sets that got the card scored below 0.1.
EXPLICIT_VETO = 0.05
# At or above this probability the model may raise a message the signals read as meta,
# routine, chronic or hypothetical ("he said he will kill the children if the mother takes
# them away, he comes now"), but never one the writer calls calm or that negates the danger.
GUARD_OVERRIDE = 0.95


class Tier(enum.IntEnum):
    """How sure the detector is that a child is in acute danger."""

    NONE = 0
    POSSIBLE = 1
    CLEAR = 2


@dataclass(frozen=True, slots=True)
class Assessment:
    """The tier and the categories of danger whose signals were seen."""

    tier: Tier
    categories: tuple[str, ...] = ()

    @property
    def emergency(self) -> bool:
        """True for the first tier only (the ``akut-lage`` card comes first)."""
        return self.tier is Tier.CLEAR

    @property
    def safety_note(self) -> bool:
        """True for the second tier (the normal answer carries a one-line safety footer)."""
        return self.tier is Tier.POSSIBLE


_LISTS: tuple[str, ...] = (
    "child", "now", "present", "negation", "meta", "hypothetical", "routine", "chronic", "calm",
    "urgent", "definitional",
)  # fmt: skip


_STRENGTHS: tuple[str, ...] = ("clear", "weak", "soft")


class SignalsError(PatternError):
    """A signals file is malformed (raised at load time, reported by ``dalsbot kb check``)."""


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    clear: re.Pattern[str] | None
    # Each weak cue on its own; a cue is counted by the words it matched, so one word
    # listed under two cues counts once.
    weak: tuple[re.Pattern[str], ...]
    soft: re.Pattern[str] | None
    # Combinations: every pattern of one group must match somewhere in the message.
    together: tuple[tuple[re.Pattern[str], ...], ...] = ()
    # Every pattern above in one: most messages match none of a category's patterns, and
    # one search says so (instead of one per pattern).
    union: re.Pattern[str] | None = None
    # The weak cues in one: whether any matches, before each is looked for on its own.
    weak_any: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class Signals:
    """All signal files compiled into one set of patterns."""

    categories: tuple[_Category, ...]
    child: re.Pattern[str] | None
    now: re.Pattern[str] | None
    present: re.Pattern[str] | None
    negation: re.Pattern[str] | None
    meta: re.Pattern[str] | None
    hypothetical: re.Pattern[str] | None
    routine: re.Pattern[str] | None
    chronic: re.Pattern[str] | None
    calm: re.Pattern[str] | None
    urgent: re.Pattern[str] | None
    definitional: re.Pattern[str] | None


def _compile(patterns: list[str], source: str) -> re.Pattern[str] | None:
    try:
        return compile_words(patterns, source)
    except PatternError as exc:
        raise SignalsError(str(exc)) from exc


def _strings(raw: object, where: str) -> list[str]:
    try:
        return strings(raw, where)
    except PatternError as exc:
        raise SignalsError(str(exc)) from exc


def load_signals(directory: Path = SIGNALS_DIR) -> Signals:
    """Read and compile every ``*.yaml`` signals file in ``directory``."""
    lists: dict[str, list[str]] = {}
    together: dict[str, list[tuple[re.Pattern[str], ...]]] = {c: [] for c in CATEGORIES}
    every: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    per_category: dict[str, dict[str, list[str]]] = {
        c: {strength: [] for strength in _STRENGTHS} for c in CATEGORIES
    }
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise SignalsError(f"{directory}: no signals files")
    for path in files:
        try:
            data = read_mapping(path)
        except PatternError as exc:
            raise SignalsError(str(exc)) from exc
        for key in _LISTS:
            lists.setdefault(key, []).extend(_strings(data.get(key), f"{path.name}: {key}"))
        categories = data.get("categories") or {}
        if not isinstance(categories, dict):
            raise SignalsError(f"{path.name}: categories must be a mapping")
        for name, body in categories.items():
            if name not in per_category:
                raise SignalsError(f"{path.name}: unknown category {name!r}")
            if not isinstance(body, dict):
                raise SignalsError(f"{path.name}: {name} must be a mapping")
            for strength in _STRENGTHS:
                where = f"{path.name}: {name}.{strength}"
                per_category[name][strength].extend(_strings(body.get(strength), where))
            groups = body.get("together") or []
            if not isinstance(groups, list):
                raise SignalsError(f"{path.name}: {name}.together must be a list of lists")
            for i, group in enumerate(groups):
                where = f"{path.name}: {name}.together[{i}]"
                part_strings = _strings(group, where)
                every[name].extend(part_strings)
                parts = [_compile([p], where) for p in part_strings]
                together[name].append(tuple(p for p in parts if p is not None))
    compiled = tuple(
        _Category(
            name,
            _compile(per_category[name]["clear"], f"{name}.clear"),
            tuple(
                p
                for p in (_compile([w], f"{name}.weak") for w in per_category[name]["weak"])
                if p is not None
            ),
            _compile(per_category[name]["soft"], f"{name}.soft"),
            tuple(together[name]),
            _compile(
                [p for strength in _STRENGTHS for p in per_category[name][strength]] + every[name],
                name,
            ),
            _compile(per_category[name]["weak"], f"{name}.weak"),
        )
        for name in CATEGORIES
    )
    return Signals(
        categories=compiled,
        **{key: _compile(lists.get(key, []), key) for key in _LISTS},
    )


@lru_cache(maxsize=1)
def default_signals() -> Signals:
    """The signals shipped with Dalsbot (loaded once)."""
    return load_signals()


def _negated(text: str, start: int, negation: re.Pattern[str] | None) -> bool:
    """True if a negation stands just before ``start`` in the same clause."""
    if negation is None:
        return False
    before = text[:start]
    clause = before.rsplit(" . ", 1)[-1]
    words = WORD.findall(clause)[-NEGATION_WINDOW:]
    return bool(words) and negation.search(" ".join(words)) is not None


def _hits(pattern: re.Pattern[str] | None, text: str, negation: re.Pattern[str] | None) -> bool:
    if pattern is None:
        return False
    return any(not _negated(text, m.start(), negation) for m in pattern.finditer(text))


def _found(pattern: re.Pattern[str] | None, text: str) -> bool:
    return pattern is not None and pattern.search(text) is not None


_HEDGE = re.compile(r"(?<![a-z])(kanske|kanskje|maske|maybe|perhaps|typ|nog)(?![a-z])")


def _calm(text: str, signals: Signals) -> bool:
    """True if the writer says it is not acute (and does not hedge it with "kanske")."""
    if signals.calm is None:
        return False
    for match in signals.calm.finditer(text):
        clause_start = text.rfind(" . ", 0, match.start())
        clause_end = text.find(" . ", match.end())
        clause = text[clause_start + 1 : clause_end if clause_end >= 0 else len(text)]
        if not _HEDGE.search(clause):
            return True
    return False


def _hypothetical(text: str, signals: Signals) -> bool:
    """True for a hypothetical, unless another clause says it is happening right now ("vad
    gör man om en elev har tagit tabletter? det har hänt nu, hon sitter här")."""
    if signals.hypothetical is None:
        return False
    for match in signals.hypothetical.finditer(text):
        clause_end = text.find(" . ", match.end())
        if clause_end < 0 or signals.present is None:
            return True
        if not signals.present.search(text, clause_end):
            return True
    return False


def assess(
    text: str, signals: Signals | None = None, model: EmergencyModel | bool | None = True
) -> Assessment:
    """Assess ``text`` for acute danger to a child (see the module docstring for the rules).

    ``model`` is the learned second opinion: True for the shipped one, False or None for
    the signals alone.
    """
    signals = signals or default_signals()
    if model is True:
        model = default_model()
    elif model is False:
        model = None
    folded = f" {fold(text)} "
    if not folded.strip(" ."):
        return Assessment(Tier.NONE)
    now = _found(signals.now, folded)
    present = _found(signals.present, folded)
    child = _found(signals.child, folded)
    # A calm writer is never a clear emergency, unless the calm is hedged ("inget akut
    # kanske"); a hypothetical is none unless another clause says it happens now; training
    # or a handled case is meta unless something happens right now.
    settled = _calm(folded, signals)
    calm = settled or _hypothetical(folded, signals)
    meta = calm or (_found(signals.meta, folded) and not present)
    # A question about the routine lowers only an alarm that rests on weak cues: "he is
    # done with life, what's the procedure?" is still an emergency.
    routine = _found(signals.routine, folded) and not (present or now)
    # Something that has gone on for weeks ("varje måndag", "keeps saying") is a concern to
    # report, not acute, unless the message also says it is happening right now (lowers only
    # an alarm that rests on weak cues).
    chronic = _found(signals.chronic, folded) and not present
    urgent = _found(signals.urgent, folded) and (
        present or not _found(signals.definitional, folded)
    )
    clear: list[str] = []
    explicit = False
    possible: list[str] = []
    cues: set[str] = set()
    cue_categories: list[str] = []
    # Only the categories with at least one pattern in the message (usually none).
    seen = [c for c in signals.categories if c.union is not None and c.union.search(folded)]
    for category in seen:
        combined = any(
            all(_hits(part, folded, signals.negation) for part in group)
            for group in category.together
        )
        if combined or _hits(category.clear, folded, signals.negation):
            clear.append(category.name)
            explicit = True
            continue
        weak = category.weak_any is not None and category.weak_any.search(folded) is not None
        found = {
            match.group().strip()
            for cue in (category.weak if weak else ())
            for match in cue.finditer(folded)
            if not _negated(folded, match.start(), signals.negation)
        }
        if found:
            cues |= found
            cue_categories.append(category.name)
        elif _hits(category.soft, folded, signals.negation):
            possible.append(category.name)
    # Several cues of danger together describe a situation ("full" and "bilnycklarna"; "taket"
    # and "vill inte komma ner"); one cue needs a child and concrete presence or urgency.
    situation = len(cues) >= SITUATION_CUES and (child or now or present)
    single = len(cues) == 1 and (present or (child and urgent))
    if situation or single:
        clear += cue_categories
    else:
        possible += cue_categories
    tier = Tier.NONE
    if clear:
        lowered = meta or (not explicit and (chronic or routine))
        tier = Tier.POSSIBLE if lowered else Tier.CLEAR
    elif urgent and len(WORD.findall(folded)) <= BARE_URGENT_WORDS and not (meta or routine):
        tier = Tier.CLEAR
    elif possible or urgent:
        tier = Tier.POSSIBLE
    # The model may not overrule a negation it cannot see ("hon har inte skurit sig").
    negated = any(
        _found(category.clear, folded) and not _hits(category.clear, folded, signals.negation)
        for category in seen
    )
    guarded = meta or routine or chronic or negated
    verdict = Verdict(
        tier,
        tuple(clear) + tuple(possible),
        explicit,
        guarded,
        present or now,
        settled or negated,
        urgent,
    )
    return _second_opinion(text, verdict, model)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The signals' verdict, before the learned model's second opinion."""

    tier: Tier
    categories: tuple[str, ...]
    # A clear pattern or a combination matched (the model may not lower it).
    explicit: bool
    # Meta, calm, chronic or negated (the model may not raise it).
    guarded: bool
    # The child is with the writer, or the danger is under way or imminent ("sitter hos mig",
    # "ikväll"): the model may not lower an explicit signal.
    present: bool = False
    # The writer says it is not acute, or negates the danger: the model may never raise it.
    settled: bool = False
    # The writer says it is urgent ("akut", "112"): the model lowers nothing.
    urgent: bool = False


def _second_opinion(text: str, verdict: Verdict, model: EmergencyModel | None) -> Assessment:
    """Let the learned model raise or lower the signals' verdict by one step.

    A phrasing no signal knows, but that the model finds very likely to be an emergency,
    becomes one (a meta, chronic or hypothetical one only when the model is nearly certain;
    a calm or negated one never). An alarm the model finds very unlikely becomes a footer
    (see ``_lowered``). A fairly likely message gets at least the footer.
    """
    tier, categories = verdict.tier, verdict.categories
    if model is None:
        return Assessment(tier, categories)
    probability = model.probability(text)
    if tier is Tier.CLEAR:
        lowered = _lowered(verdict, probability, model.veto_threshold)
        return Assessment(Tier.POSSIBLE if lowered else tier, categories)
    unguarded = not verdict.guarded or (not verdict.settled and probability >= GUARD_OVERRIDE)
    if unguarded and probability >= model.clear_threshold:
        return Assessment(Tier.CLEAR, categories or (MODEL_CATEGORY,))
    if tier is Tier.NONE and probability >= model.possible_threshold:
        return Assessment(Tier.POSSIBLE, (MODEL_CATEGORY,))
    return Assessment(tier, categories)


def _lowered(verdict: Verdict, probability: float, veto_threshold: float) -> bool:
    """True if the model turns a clear verdict into a footer.

    Never when the writer says it is urgent. An alarm raised only by weak cues is lowered
    below ``veto_threshold``; one raised by an explicit signal only below ``EXPLICIT_VETO``
    and when nothing says the danger is present or imminent.
    """
    if verdict.urgent:
        return False
    if not verdict.explicit:
        return probability < veto_threshold
    return not verdict.present and probability < EXPLICIT_VETO


def is_emergency(text: str) -> bool:
    """True when ``text`` is a clear emergency (the first tier)."""
    return assess(text).emergency
