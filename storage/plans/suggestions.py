"""What the /ny_plan wizard offers as buttons: a generated reference and the person's last
place. Read-only; each function takes the session and does one query."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

from storage.plans.models import Plan
from storage.plans.references import MAX_COUNTER, MUNICIPALITY_CODES, generate_reference


def suggest_reference(session: Session, *, municipality: str, year: int) -> str | None:
    """The next free generated reference of ``municipality`` and ``year`` (``MEL-2026-004``
    after ``MEL-2026-003``), or None when the municipality has no code or the counter is
    used up. Two people offered the same one at once: the second is told it is taken when
    creating the plan (the reference key is unique)."""
    code = MUNICIPALITY_CODES.get(municipality)
    if code is None:
        return None
    prefix = f"{code}-{year}-".upper()
    keys = session.exec(
        select(Plan.reference_key).where(col(Plan.reference_key).startswith(prefix))
    ).all()
    tails = (key[len(prefix) :] for key in keys)
    used = [int(tail) for tail in tails if tail.isascii() and tail.isdigit() and len(tail) <= 6]
    counter = max(used, default=0) + 1
    return generate_reference(municipality, year, counter) if counter <= MAX_COUNTER else None


def last_place(session: Session, *, staff_id: int) -> str | None:
    """The place of the plan this person created or is responsible for that changed last
    (its follow-up's place), or None."""
    return session.exec(
        select(Plan.place)
        .where(
            or_(col(Plan.created_by) == staff_id, col(Plan.responsible_id) == staff_id),
            col(Plan.place).is_not(None),
        )
        .order_by(col(Plan.updated_at).desc(), col(Plan.id).desc())
        .limit(1)
    ).first()
