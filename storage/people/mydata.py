"""What Dalsbot stores about one staff member (``/mina_data``), as one JSON-ready mapping.

Everything that is linked to the person is listed: their staff row and settings, the plans
they are responsible for or take part in, the questions and coordinator questions they asked
(texts only while kept, 90 days), their votes, the coordinator questions they answered, the
pulses they organised, the drafts of flows they have not finished (kept 30 days) and the
audit events of what they did. Pulse *answers* are not linked
to anyone, in the database too, so they cannot be listed: the export says so.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlmodel import Session, col, or_, select

from storage import audit, chatstate
from storage.knowledge.models import KbCoordinatorQuestion, KbFeedback, KbQuestion
from storage.people.models import Staff
from storage.plans.models import Plan, PlanParticipant, StaffPreference
from storage.pulse.models import Pulse


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _json_or_text(text: str | None) -> object:
    """Stored JSON as data; anything else as the text it is (an export never fails on it)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _unfinished(session: Session, telegram_id: int) -> dict[str, Any]:
    """The person's kept state (language choice, drafts of unfinished flows) and steps."""
    state = chatstate.load_user(session, telegram_id)
    steps = session.exec(
        select(chatstate.ConversationStateRow).where(
            chatstate.ConversationStateRow.user_id == telegram_id
        )
    )
    return {
        "state": _json_or_text(state),
        "steps": [{"flow": row.name, "since": _when(row.updated_at)} for row in steps],
    }


def personal_data(session: Session, *, staff_id: int) -> dict[str, Any] | None:
    """Everything stored about the staff member, or None if there is no such person."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        return None
    preference = session.get(StaffPreference, staff_id)
    member_of = select(PlanParticipant.plan_id).where(PlanParticipant.staff_id == staff_id)
    plans = session.exec(
        select(Plan)
        .where(or_(Plan.responsible_id == staff_id, col(Plan.id).in_(member_of)))
        .order_by(col(Plan.id))
    )
    questions = session.exec(
        select(KbQuestion).where(KbQuestion.staff_id == staff_id).order_by(col(KbQuestion.id))
    )
    votes = session.exec(select(KbFeedback).where(KbFeedback.staff_id == staff_id))
    asked = session.exec(
        select(KbCoordinatorQuestion).where(KbCoordinatorQuestion.asker_id == staff_id)
    )
    answered = session.exec(
        select(KbCoordinatorQuestion).where(KbCoordinatorQuestion.answered_by == staff_id)
    )
    pulses = session.exec(select(Pulse).where(Pulse.organiser_id == staff_id))
    return {
        "person": {
            "name": staff.display_name,
            "username": staff.username,
            "telegram_id": staff.telegram_id,
            "role": staff.role,
            "municipality": staff.municipality,
            "organisation": staff.organisation,
            "language": staff.language,
            "registered_at": _when(staff.created_at),
            "active": staff.active,
            "daily_digest": bool(preference and preference.daily_digest),
        },
        "plans": [
            {
                "reference": plan.reference,
                "role": "responsible" if plan.responsible_id == staff_id else "participant",
                "status": plan.status,
                "next_follow_up": _when(plan.next_follow_up),
            }
            for plan in plans
        ],
        "questions": [
            {
                "asked_at": _when(q.created_at),
                "text": q.question,
                "article": q.article_id,
                "answered": q.answered,
            }
            for q in questions
        ],
        "votes": [{"question": v.question_id, "vote": v.vote} for v in votes],
        "coordinator_questions_asked": [
            {"asked_at": _when(q.created_at), "text": q.question, "answer": q.answer} for q in asked
        ],
        "coordinator_questions_answered": [
            {"asked_at": _when(q.created_at), "answer": q.answer} for q in answered
        ],
        "pulses_organised": [
            {"label": p.label, "opened_at": _when(p.created_at), "closed_at": _when(p.closed_at)}
            for p in pulses
        ],
        "unfinished_flows": _unfinished(session, staff.telegram_id),
        "pulse_answers": "not linked to anyone: they cannot be listed",
        "audit_events": [
            {"at": _when(e.at), "action": e.action, "plan_id": e.plan_id}
            for e in audit.events(session, actor_id=staff_id)
        ],
    }
