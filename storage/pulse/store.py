"""Pulse storage: opening and closing pulses, storing anonymous answers, aggregating them.

Every function takes the session first and does one unit of work. Answers are stored
without anything that identifies a person (see ``storage/pulse/models.py``); results are
computed by one ``GROUP BY question_key, score`` and :func:`storage.pulse.logic.aggregate_counts`,
which hides everything below the pulse's k.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from storage.people.models import Role, Staff
from storage.plans.models import Plan, PlanParticipant, PlanStatus
from storage.pulse.logic import (
    PulseResults,
    PulseSummary,
    TrendPoint,
    aggregate_counts,
    effective_k,
    histograms_from_rows,
)
from storage.pulse.models import (
    Pulse,
    PulseAnswer,
    PulseInvite,
    PulseRespondent,
    PulseScore,
    PulseSentToPlan,
)
from storage.pulse.templates import Template, template_from_dict

TOKEN_BYTES = 18  # 24 URL-safe characters: "pulse_" + token stays far below 64


class ClaimResult(StrEnum):
    """What happened when a person's marker was written."""

    CLAIMED = "claimed"
    ALREADY = "already"
    CLOSED = "closed"
    # An invited-only pulse, and the personal link was used already (or there was none).
    INVITE_USED = "invite_used"


# A personal link's random bytes (22 URL-safe characters: "pinv_" + 22 fits a deep link).
INVITE_TOKEN_BYTES = 16


def new_token() -> str:
    """An unguessable deep-link token (144 random bits, ``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_open(pulse: Pulse, now: dt.datetime) -> bool:
    """Whether ``pulse`` still takes answers at ``now``."""
    return pulse.closed_at is None and now < pulse.closes_at


@lru_cache(maxsize=256)
@lru_cache(maxsize=64)
def template_of_snapshot(snapshot: str) -> Template:
    """The template of a pulse's stored snapshot (which never changes once the pulse is open:
    validated once, not at every opening of the link; the template is immutable)."""
    return template_from_dict(json.loads(snapshot))


def pulse_template(pulse: Pulse) -> Template:
    """The template exactly as it was when the pulse was opened."""
    return template_of_snapshot(pulse.template_snapshot)


# -- opening and reading ------------------------------------------------------------------


def create_pulse(
    session: Session,
    *,
    template: Template,
    label: str,
    organiser: Staff,
    k: int,
    closes_at: dt.datetime,
    now: dt.datetime,
) -> Pulse:
    """Open a pulse with a snapshot of ``template``; ``k`` is clamped to at least 3."""
    assert organiser.id is not None
    pulse = Pulse(
        token=new_token(),
        template_key=template.key,
        template_version=template.version,
        template_snapshot=json.dumps(template.to_dict(), ensure_ascii=False, sort_keys=True),
        label=label,
        municipality=organiser.municipality,
        organiser_id=organiser.id,
        k=effective_k(k),
        created_at=now,
        closes_at=closes_at,
    )
    session.add(pulse)
    session.flush()
    return pulse


def get_pulse(session: Session, *, pulse_id: int) -> Pulse | None:
    """The pulse with ``pulse_id``."""
    return session.get(Pulse, pulse_id)


def get_pulse_by_token(session: Session, *, token: str) -> Pulse | None:
    """The pulse behind a deep-link token."""
    return session.exec(select(Pulse).where(Pulse.token == token)).first()


def _invite_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_invites(session: Session, *, pulse_id: int, count: int) -> list[str]:
    """``count`` new personal one-time link tokens for the pulse (only their hashes are
    stored; the caller sends each to one person and keeps nothing).

    The rows are written in a random order, not the order the links are sent in, so their
    place in the table (PostgreSQL's ctid) says nothing about whose link it was.
    """
    tokens = [secrets.token_urlsafe(INVITE_TOKEN_BYTES) for _ in range(count)]
    rows = [PulseInvite(token_hash=_invite_hash(t), pulse_id=pulse_id) for t in tokens]
    secrets.SystemRandom().shuffle(rows)
    for row in rows:
        session.add(row)
        session.flush()
    return tokens


def send_to_plan_once(
    session: Session, *, pulse_id: int, plan_id: int, invites: int
) -> list[str] | None:
    """Claim the one sending of the pulse to this plan's team; None if it was sent before.

    ``invites``: how many personal links to make with the claim, in the same transaction
    (0 for a pulse with a shared link). A second set of personal links would let the
    organiser answer twice, so the claim holds however later or from wherever it is tried.
    """
    try:
        with session.begin_nested():
            session.add(PulseSentToPlan(pulse_id=pulse_id, plan_id=plan_id))
    except IntegrityError:
        return None
    return make_invites(session, pulse_id=pulse_id, count=invites) if invites else []


def own_link_once(session: Session, *, pulse_id: int, organiser_id: int) -> str | None:
    """The organiser's own personal link, made once per invited-only pulse; None after."""
    if not _claim_own_link(session, pulse_id=pulse_id, organiser_id=organiser_id):
        return None
    return make_invites(session, pulse_id=pulse_id, count=1)[0]


def _claim_own_link(session: Session, *, pulse_id: int, organiser_id: int) -> bool:
    """True once per pulse: the organiser's own personal link may be made."""
    table = Pulse.__table__  # type: ignore[attr-defined]
    claimed = session.execute(
        table.update()
        .where(table.c.id == pulse_id, table.c.organiser_id == organiser_id)
        .where(table.c.own_link_sent.is_(False), table.c.invited_only.is_(True))
        .values(own_link_sent=True)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def get_pulse_by_invite(session: Session, *, token: str) -> Pulse | None:
    """The pulse a personal link belongs to, while the link is unused."""
    invite = session.get(PulseInvite, _invite_hash(token))
    return session.get(Pulse, invite.pulse_id) if invite is not None else None


def make_invited_only(
    session: Session, *, pulse_id: int, organiser_id: int, now: dt.datetime
) -> Pulse | None:
    """Turn an open pulse nobody has answered into an invited-only one (the open link stops
    working); None when it is not the organiser's, closed, or already has answers."""
    pulse = session.exec(select(Pulse).where(Pulse.id == pulse_id).with_for_update()).first()
    if pulse is None or pulse.organiser_id != organiser_id or not is_open(pulse, now):
        return None
    if pulse.invited_only:
        # Already: the same answer every time, so pressing again reveals nothing (not
        # whether anyone has answered since).
        return pulse
    if (
        answer_count(session, pulse_id=pulse_id)
        or session.exec(
            select(PulseRespondent.key_hash).where(PulseRespondent.pulse_id == pulse_id).limit(1)
        ).first()
    ):
        return None
    pulse.invited_only = True
    session.add(pulse)
    return pulse


def has_answered(session: Session, *, pulse_id: int, key_hash: str) -> bool:
    """Whether the person with this keyed hash has answered the pulse."""
    return session.get(PulseRespondent, (pulse_id, key_hash)) is not None


def may_see_results(pulse: Pulse, staff: Staff) -> bool:
    """Only the organiser and admins see a pulse's results."""
    return staff.id == pulse.organiser_id or staff.role == Role.ADMIN.value


def pulses_for(session: Session, *, staff: Staff, limit: int = 10) -> list[Pulse]:
    """The newest pulses ``staff`` may see results of: their own (admins: everyone's)."""
    query = select(Pulse).order_by(col(Pulse.created_at).desc(), col(Pulse.id).desc())
    if staff.role != Role.ADMIN.value:
        query = query.where(Pulse.organiser_id == staff.id)
    return list(session.exec(query.limit(limit)))


# -- answering ----------------------------------------------------------------------------


_PULSES = Pulse.__table__  # type: ignore[attr-defined]
_SCORES = PulseScore.__table__  # type: ignore[attr-defined]
# What answering needs of a pulse (not its template snapshot): built once, compiled once.
_ANSWERING = (
    sa.select(_PULSES.c.closed_at, _PULSES.c.closes_at, _PULSES.c.invited_only)
    .where(_PULSES.c.id == sa.bindparam("pulse_id"))
    .with_for_update(read=True)
)


def _open_pulse_for_answer(session: Session, pulse_id: int, now: dt.datetime) -> Any | None:
    """The pulse's ``closed_at``, ``closes_at`` and ``invited_only`` while it is open; None
    when it is closed or gone.

    A shared lock on PostgreSQL: closing (which takes the row exclusively) waits for answers
    being written, and an answer never lands after its pulse was closed."""
    found = session.connection().execute(_ANSWERING, {"pulse_id": pulse_id}).first()
    if found is None or found.closed_at is not None or now >= found.closes_at:
        return None
    return found


def claim_respondent(
    session: Session,
    *,
    pulse_id: int,
    key_hash: str,
    now: dt.datetime,
    invite: str | None = None,
) -> ClaimResult:
    """Write the person's marker; refuse when they already answered or the pulse closed.

    For an invited-only pulse the personal link ``invite`` is used up in the same
    transaction (deleted), so one link gives one answer whoever holds it.
    Its own transaction, separate from the answer's (see ``storage/pulse/models.py``).
    """
    pulse = _open_pulse_for_answer(session, pulse_id, now)
    if pulse is None:
        return ClaimResult.CLOSED
    if pulse.invited_only:
        used = session.execute(
            sa.delete(PulseInvite)
            .where(
                col(PulseInvite.token_hash) == _invite_hash(invite or ""),
                col(PulseInvite.pulse_id) == pulse_id,
            )
            .returning(col(PulseInvite.token_hash))
        ).first()
        if used is None:
            return ClaimResult.INVITE_USED
    try:
        with session.begin_nested():
            values = {"pulse_id": pulse_id, "key_hash": key_hash}
            shared = not pulse.invited_only
            if not _insert_if_open(session, PulseRespondent, values, pulse_id, now, shared):
                return ClaimResult.CLOSED
    except IntegrityError:
        return ClaimResult.ALREADY
    return ClaimResult.CLAIMED


def _insert_if_open(
    session: Session,
    model: type[SQLModel],
    values: Mapping[str, object],
    pulse_id: int,
    now: dt.datetime,
    shared: bool = False,
) -> bool:
    """Insert one row only if the pulse is open, in one statement.

    On SQLite, a SELECT runs before the write transaction begins, so a pulse closed between
    a check and a plain INSERT would still get the row; INSERT ... SELECT ... WHERE EXISTS
    checks and writes under the same write lock (PostgreSQL holds the row lock as well).
    """
    statement = _insert_if_open_statement(model, tuple(values), shared)
    inserted = session.connection().execute(statement, {**values, "_pulse": pulse_id, "_now": now})
    return inserted.first() is not None


@lru_cache(maxsize=16)
def _insert_if_open_statement(
    model: type[SQLModel], columns: tuple[str, ...], shared: bool
) -> sa.Insert:
    """:func:`_insert_if_open`'s statement, built once per table and columns (building and
    keying it cost more than running it)."""
    table = model.__table__  # type: ignore[attr-defined]
    pulses = Pulse.__table__  # type: ignore[attr-defined]
    now = sa.bindparam("_now", type_=pulses.c.closes_at.type)
    still_open = sa.exists().where(
        pulses.c.id == sa.bindparam("_pulse", type_=pulses.c.id.type),
        pulses.c.closed_at.is_(None),
        pulses.c.closes_at > now,
    )
    if shared:
        # Through the shared link: not if the pulse became invited-only meanwhile.
        still_open = still_open.where(pulses.c.invited_only.is_(False))
    row = sa.select(*(sa.bindparam(c, type_=table.c[c].type) for c in columns)).where(still_open)
    key = next(iter(table.primary_key.columns))
    return sa.insert(table).from_select(list(columns), row).returning(key)


def release_respondent(
    session: Session, *, pulse_id: int, key_hash: str, invite: str | None = None
) -> None:
    """Remove a marker whose answer could not be stored, so the person can try again (with
    their personal link, given back, on an invited-only pulse)."""
    session.execute(
        sa.delete(PulseRespondent).where(
            col(PulseRespondent.pulse_id) == pulse_id, col(PulseRespondent.key_hash) == key_hash
        )
    )
    if invite is not None:
        session.merge(PulseInvite(token_hash=_invite_hash(invite), pulse_id=pulse_id))


def store_answer(
    session: Session,
    *,
    pulse_id: int,
    scores: Mapping[str, int | None],
    comment: str,
    answered_on: dt.date,
    now: dt.datetime,
) -> bool:
    """Store one answer (skipped questions get no score row); False when the pulse closed.

    ``comment`` must already be cleaned and redacted (:func:`storage.pulse.logic.clean_comment`).
    """
    if _open_pulse_for_answer(session, pulse_id, now) is None:
        return False
    answer_id = uuid.uuid4().hex
    values = {
        "id": answer_id, "pulse_id": pulse_id, "answered_on": answered_on,
        "comment": comment or None,
    }  # fmt: skip
    if not _insert_if_open(session, PulseAnswer, values, pulse_id, now):
        return False
    rows = [
        {"answer_id": answer_id, "question_key": key, "pulse_id": pulse_id, "score": score}
        for key, score in scores.items()
        if score is not None
    ]
    if rows:
        session.connection().execute(sa.insert(_SCORES), rows)
    return True


# -- results ------------------------------------------------------------------------------


def answer_count(session: Session, *, pulse_id: int) -> int:
    """How many answers the pulse has."""
    query = sa.select(sa.func.count()).where(col(PulseAnswer.pulse_id) == pulse_id)
    return int(session.execute(query).scalar_one())


def score_rows(session: Session, *, pulse_id: int) -> list[tuple[str, int, int]]:
    """``(question_key, score, count)``: the pulse's histograms straight from the database."""
    query = (
        sa.select(col(PulseScore.question_key), col(PulseScore.score), sa.func.count())
        .where(col(PulseScore.pulse_id) == pulse_id)
        .group_by(col(PulseScore.question_key), col(PulseScore.score))
    )
    return [(str(key), int(score), int(number)) for key, score, number in session.execute(query)]


def pulse_results(session: Session, *, pulse: Pulse) -> PulseResults:
    """The pulse's results: nothing per question below its k."""
    assert pulse.id is not None
    template = pulse_template(pulse)
    histograms = histograms_from_rows(score_rows(session, pulse_id=pulse.id))
    count = answer_count(session, pulse_id=pulse.id)
    return aggregate_counts(template.question_keys, histograms, count, pulse.k)


def pulse_comments(session: Session, *, pulse_id: int) -> list[str]:
    """The pulse's (redacted) comments, in the order of their answers' random UUIDs: the
    same order every time (so they can be shown a page at a time), unrelated to when or by
    whom they were written."""
    query = (
        select(PulseAnswer.comment)
        .where(PulseAnswer.pulse_id == pulse_id, col(PulseAnswer.comment).is_not(None))
        .order_by(col(PulseAnswer.id))
    )
    return [comment for comment in session.exec(query) if comment]


# -- closing ------------------------------------------------------------------------------


def _close(session: Session, pulse: Pulse, now: dt.datetime) -> None:
    pulse.closed_at = now
    session.add(pulse)
    # Nobody can answer a closed pulse, so the markers have done their job; deleting them
    # leaves nothing in the database that relates a person to this pulse.
    session.execute(sa.delete(PulseRespondent).where(col(PulseRespondent.pulse_id) == pulse.id))
    session.execute(sa.delete(PulseInvite).where(col(PulseInvite.pulse_id) == pulse.id))


def close_due_pulses(session: Session, *, now: dt.datetime) -> list[int]:
    """Close every open pulse whose closing time has come; their ids."""
    query = (
        select(Pulse)
        .where(col(Pulse.closed_at).is_(None), col(Pulse.closes_at) <= now)
        .with_for_update(skip_locked=True)
    )
    closed = []
    for pulse in session.exec(query):
        _close(session, pulse, now)
        assert pulse.id is not None
        closed.append(pulse.id)
    return closed


def close_pulse(session: Session, *, pulse_id: int, now: dt.datetime) -> Pulse | None:
    """Close one pulse now (the organiser's "close now"); None when it was already closed."""
    query = select(Pulse).where(Pulse.id == pulse_id).with_for_update()
    pulse = session.exec(query).first()
    if pulse is None or pulse.closed_at is not None:
        return None
    _close(session, pulse, now)
    return pulse


def pulses_to_notify(session: Session) -> list[int]:
    """Closed pulses whose organiser has not been sent the results yet."""
    query = select(Pulse.id).where(
        col(Pulse.closed_at).is_not(None), col(Pulse.notified_at).is_(None)
    )
    return [pulse_id for pulse_id in session.exec(query) if pulse_id is not None]


def claim_notification(session: Session, *, pulse_id: int, now: dt.datetime) -> bool:
    """Mark the pulse's results as sent; True for the one caller that gets to send them."""
    result = session.execute(
        sa.update(Pulse)
        .where(col(Pulse.id) == pulse_id, col(Pulse.notified_at).is_(None))
        .values(notified_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_notification(session: Session, *, pulse_id: int) -> None:
    """Give back a claimed closing notice that could not be sent (Telegram unreachable), so
    the next run of the closing job sends it."""
    session.execute(sa.update(Pulse).where(col(Pulse.id) == pulse_id).values(notified_at=None))


# -- trends and export --------------------------------------------------------------------


@dataclass(frozen=True)
class TrendScope:
    """Whose closed pulses a trend covers: ``None`` means no restriction on that field."""

    municipality: str | None
    organiser_id: int | None


def trend_scope(staff: Staff) -> TrendScope:
    """Admins see all of Dalsland; coordinators their municipality (region: all); other
    staff only the pulses they organised themselves (their own results)."""
    if staff.role == Role.ADMIN.value:
        return TrendScope(municipality=None, organiser_id=None)
    if staff.role == Role.COORDINATOR.value:
        region = staff.municipality == "region"
        return TrendScope(municipality=None if region else staff.municipality, organiser_id=None)
    return TrendScope(municipality=None, organiser_id=staff.id)


def _closed_pulses(
    session: Session, *, template_key: str | None, scope: TrendScope, limit: int | None
) -> list[Pulse]:
    query = select(Pulse).where(col(Pulse.closed_at).is_not(None))
    if template_key is not None:
        query = query.where(Pulse.template_key == template_key)
    if scope.municipality is not None:
        query = query.where(Pulse.municipality == scope.municipality)
    if scope.organiser_id is not None:
        query = query.where(Pulse.organiser_id == scope.organiser_id)
    query = query.order_by(col(Pulse.closed_at).desc(), col(Pulse.id).desc())
    return list(session.exec(query.limit(limit) if limit else query))


def _results_of(session: Session, pulses: Sequence[Pulse]) -> dict[int, PulseResults]:
    ids = [pulse.id for pulse in pulses if pulse.id is not None]
    if not ids:
        return {}
    counted = session.execute(
        sa.select(col(PulseAnswer.pulse_id), sa.func.count())
        .where(col(PulseAnswer.pulse_id).in_(ids))
        .group_by(col(PulseAnswer.pulse_id))
    )
    counts = {int(pulse_id): int(number) for pulse_id, number in counted}
    rows: dict[int, list[tuple[str, int, int]]] = {pulse_id: [] for pulse_id in ids}
    grouped = session.execute(
        sa.select(
            col(PulseScore.pulse_id),
            col(PulseScore.question_key),
            col(PulseScore.score),
            sa.func.count(),
        )
        .where(col(PulseScore.pulse_id).in_(ids))
        .group_by(col(PulseScore.pulse_id), col(PulseScore.question_key), col(PulseScore.score))
    )
    for pulse_id, key, score, number in grouped:
        rows[int(pulse_id)].append((str(key), int(score), int(number)))
    results = {}
    for pulse in pulses:
        assert pulse.id is not None
        questions = pulse_template(pulse).question_keys
        histograms = histograms_from_rows(rows[pulse.id])
        results[pulse.id] = aggregate_counts(
            questions, histograms, int(counts.get(pulse.id, 0)), pulse.k
        )
    return results


def _local_date(moment: dt.datetime | None, tz: dt.tzinfo) -> dt.date | None:
    return moment.astimezone(tz).date() if moment is not None else None


def trend_points(
    session: Session, *, template_key: str, scope: TrendScope, tz: dt.tzinfo, last: int = 10
) -> list[TrendPoint]:
    """The last ``last`` closed pulses of a template with visible results, oldest first."""
    pulses = _closed_pulses(session, template_key=template_key, scope=scope, limit=None)
    results = _results_of(session, pulses)
    points = []
    for pulse in pulses:
        assert pulse.id is not None
        closed_on = _local_date(pulse.closed_at, tz)
        if closed_on is not None and results[pulse.id].visible:
            points.append(TrendPoint(closed_on=closed_on, results=results[pulse.id]))
        if len(points) >= last:
            break
    return sorted(points, key=lambda point: point.closed_on)


def export_summaries(session: Session, *, tz: dt.tzinfo) -> list[PulseSummary]:
    """Every closed pulse's aggregated results, oldest first (for the admins' CSV export)."""
    scope = TrendScope(municipality=None, organiser_id=None)
    pulses = list(reversed(_closed_pulses(session, template_key=None, scope=scope, limit=None)))
    results = _results_of(session, pulses)
    return [
        PulseSummary(
            pulse_id=pulse.id,
            template_key=pulse.template_key,
            template_version=pulse.template_version,
            municipality=pulse.municipality,
            closed_on=_local_date(pulse.closed_at, tz),
            results=results[pulse.id],
        )
        for pulse in pulses
        if pulse.id is not None
    ]


def template_versions_in_use(session: Session) -> list[tuple[str, str, int]]:
    """``(template_key, version, number of pulses)`` for every version a pulse was opened with."""
    query = (
        sa.select(col(Pulse.template_key), col(Pulse.template_version), sa.func.count())
        .group_by(col(Pulse.template_key), col(Pulse.template_version))
        .order_by(col(Pulse.template_key), col(Pulse.template_version))
    )
    return [(str(key), str(version), int(n)) for key, version, n in session.execute(query)]


# -- sending the link to a plan's team ----------------------------------------------------


def plans_of(session: Session, *, staff_id: int) -> list[Plan]:
    """Active plans where ``staff_id`` is responsible or a participant, by reference."""
    participant = select(PlanParticipant.plan_id).where(PlanParticipant.staff_id == staff_id)
    query = (
        select(Plan)
        .where(
            Plan.status == PlanStatus.ACTIVE.value,
            sa.or_(col(Plan.responsible_id) == staff_id, col(Plan.id).in_(participant)),
        )
        .order_by(col(Plan.reference_key))
    )
    return list(session.exec(query))


def plan_recipients(session: Session, *, plan_id: int, staff_id: int) -> list[Staff] | None:
    """The plan's responsible and participants except ``staff_id``, active staff only.

    None when the plan is not one of ``staff_id``'s active plans.
    """
    if plan_id not in {plan.id for plan in plans_of(session, staff_id=staff_id)}:
        return None
    plan = session.get(Plan, plan_id)
    assert plan is not None
    participants = select(PlanParticipant.staff_id).where(PlanParticipant.plan_id == plan_id)
    query = (
        select(Staff)
        .where(
            sa.or_(col(Staff.id) == plan.responsible_id, col(Staff.id).in_(participants)),
            col(Staff.id) != staff_id,
            col(Staff.active).is_(True),
        )
        .order_by(col(Staff.id))
    )
    return list(session.exec(query))
