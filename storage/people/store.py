"""Storage functions for staff members and invitations. Each takes the session first."""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.guard import normalise_line, strip_identity_numbers
from storage import audit
from storage.people.models import Invitation, Role, Staff
from storage.plans.models import PlanParticipant
from storage.types import utcnow

INVITE_PREFIX = "inv_"
MAX_INVITE_USES = 500
MAX_INVITE_DAYS = 90


class InviteStatus(StrEnum):
    """Why an invitation code can or cannot be used."""

    OK = "ok"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    # The person was removed after this invitation was made: only a new one lets them back.
    REVOKED = "revoked"


@dataclass(frozen=True)
class InviteCheck:
    """The outcome of looking up a code; ``invitation`` is set when status is OK."""

    status: InviteStatus
    invitation: Invitation | None = None


def new_invite_code() -> str:
    """An unguessable code: 192 random bits, URL-safe, 36 characters."""
    return INVITE_PREFIX + secrets.token_urlsafe(24)


def create_invitation(
    session: Session,
    *,
    role: Role,
    municipality: str,
    uses: int = 1,
    expires_days: int = 7,
    created_by: int | None = None,
    now: dt.datetime | None = None,
) -> Invitation:
    """Store a new invitation and return it."""
    if not 1 <= uses <= MAX_INVITE_USES:
        raise ValueError(f"uses must be between 1 and {MAX_INVITE_USES}")
    if not 1 <= expires_days <= MAX_INVITE_DAYS:
        raise ValueError(f"expires-days must be between 1 and {MAX_INVITE_DAYS}")
    now = now or utcnow()
    invitation = Invitation(
        code=new_invite_code(),
        role=role.value,
        municipality=municipality,
        uses_left=uses,
        max_uses=uses,
        expires_at=now + dt.timedelta(days=expires_days),
        created_by=created_by,
        created_at=now,
    )
    session.add(invitation)
    session.flush()
    maker = get_staff(session, telegram_id=created_by) if created_by is not None else None
    audit.record(session, "invite.created", actor_id=maker.id if maker else None, now=now)
    return invitation


def check_invitation(session: Session, *, code: str, now: dt.datetime | None = None) -> InviteCheck:
    """Look a code up without using it."""
    invitation = session.exec(select(Invitation).where(Invitation.code == code)).first()
    if invitation is None:
        return InviteCheck(InviteStatus.UNKNOWN)
    if invitation.expires_at <= (now or utcnow()):
        return InviteCheck(InviteStatus.EXPIRED)
    if invitation.uses_left <= 0:
        return InviteCheck(InviteStatus.USED)
    return InviteCheck(InviteStatus.OK, invitation)


def redeem_invitation(
    session: Session,
    *,
    code: str,
    telegram_id: int,
    display_name: str,
    username: str | None,
    organisation: str,
    language: str,
    now: dt.datetime | None = None,
) -> tuple[InviteStatus, Staff | None]:
    """Use one use of ``code`` and register (or re-activate) the person, atomically."""
    # The conditional UPDATE makes two people racing for the last use safe on both engines.
    now = now or utcnow()
    display_name, username = safe_name(display_name), _safe_username(username)
    checked = check_invitation(session, code=code, now=now)
    if checked.invitation is None:
        return checked.status, None
    invitation = checked.invitation
    known = get_staff(session, telegram_id=telegram_id, include_inactive=True)
    removed_at = known.removed_at if known is not None else None
    if removed_at is not None and invitation.created_at <= removed_at:
        return InviteStatus.REVOKED, None
    updated = session.execute(
        Invitation.__table__.update()  # type: ignore[attr-defined]
        .where(Invitation.__table__.c.id == invitation.id)  # type: ignore[attr-defined]
        .where(Invitation.__table__.c.uses_left > 0)  # type: ignore[attr-defined]
        .values(uses_left=Invitation.__table__.c.uses_left - 1)  # type: ignore[attr-defined]
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        return InviteStatus.USED, None
    staff = _row_to_reuse(session, telegram_id)
    if staff is None:
        staff = Staff(
            telegram_id=telegram_id,
            display_name=display_name,
            role=invitation.role,
            municipality=invitation.municipality,
            organisation=organisation,
            language=language,
            username=username,
        )
    else:
        staff.display_name, staff.role = display_name, invitation.role
        staff.municipality, staff.organisation = invitation.municipality, organisation
        staff.language, staff.username, staff.active = language, username, True
    session.add(staff)
    session.flush()
    return InviteStatus.OK, staff


def _row_to_reuse(session: Session, telegram_id: int) -> Staff | None:
    """This person's row to register again, or None for a new one.

    Back after a removal, the old row keeps its history under an id no Telegram user has, and
    the person gets a new row, so nothing of the old one (a plan they were responsible for,
    their answers' authorship) comes back with them."""
    staff = get_staff(session, telegram_id=telegram_id, include_inactive=True)
    if staff is None or staff.removed_at is None:
        return staff
    assert staff.id is not None
    staff.telegram_id, staff.username = -staff.id, None
    session.add(staff)
    session.flush()
    return None


@functools.cache
def _by_telegram_id(include_inactive: bool) -> SelectOfScalar[Staff]:
    """:func:`get_staff`'s statement, built once (it runs for nearly every update)."""
    query = select(Staff).where(Staff.telegram_id == bindparam("telegram_id"))
    if not include_inactive:
        query = query.where(col(Staff.active).is_(True))
    return query


def get_staff(
    session: Session, *, telegram_id: int, include_inactive: bool = False
) -> Staff | None:
    """The staff member with this Telegram id, or None."""
    query = _by_telegram_id(include_inactive)
    return session.exec(query, params={"telegram_id": telegram_id}).first()


def get_staff_by_id(session: Session, *, staff_id: int) -> Staff | None:
    """The active staff member with this database id, or None."""
    staff = session.get(Staff, staff_id)
    return staff if staff is not None and staff.active else None


def find_staff(session: Session, *, handle: str) -> Staff | None:
    """The active staff member for a Telegram user id or an ``@username``."""
    handle = normalise_line(handle)
    if handle.startswith("@"):
        # Exact (case-insensitive, as Telegram's), never a pattern: "_" and "%" are literal.
        query = select(Staff).where(
            func.lower(col(Staff.username)) == handle[1:].lower(), col(Staff.active).is_(True)
        )
        return session.exec(query).first()
    if handle.isdigit() and len(handle) <= MAX_TELEGRAM_ID_DIGITS:
        return get_staff(session, telegram_id=int(handle))
    return None


def list_staff(session: Session, *, municipality: str | None = None) -> list[Staff]:
    """Active staff, by name; only one municipality's when given."""
    query = select(Staff).where(col(Staff.active).is_(True))
    if municipality is not None:
        query = query.where(Staff.municipality == municipality)
    return list(session.exec(query.order_by(col(Staff.display_name), col(Staff.id))))


def coordinators_of(session: Session, *, municipality: str) -> list[Staff]:
    """Active coordinators of a municipality (region coordinators too); admins if none."""
    query = select(Staff).where(
        col(Staff.active).is_(True),
        Staff.role == Role.COORDINATOR.value,
        col(Staff.municipality).in_([municipality, "region"]),
    )
    found = list(session.exec(query.order_by(col(Staff.id))))
    if found:
        return found
    admins = select(Staff).where(col(Staff.active).is_(True), Staff.role == Role.ADMIN.value)
    return list(session.exec(admins.order_by(col(Staff.id))))


# Telegram ids fit in 52 bits (at most 16 digits); a longer "id" is no id (and no overflow).
MAX_TELEGRAM_ID_DIGITS = 16


def safe_name(text: str) -> str:
    """A display name as it is stored: normalised, on one line (bidi and invisible
    characters gone), any identity number in it replaced."""
    return strip_identity_numbers(normalise_line(text))[:64]


def _safe_username(username: str | None) -> str | None:
    if not username:
        return None
    cleaned = normalise_line(username).lstrip("@")
    return cleaned if cleaned and strip_identity_numbers(cleaned) == cleaned else None


def placeholder_admin_name(telegram_id: int) -> str:
    """The name a configured admin has until they first open the bot."""
    return f"Admin {telegram_id}"


def rename(session: Session, *, telegram_id: int, display_name: str) -> Staff | None:
    """Change a registered person's display name."""
    staff = get_staff(session, telegram_id=telegram_id)
    if staff is not None:
        staff.display_name = safe_name(display_name)
        session.add(staff)
    return staff


def ensure_admin(session: Session, *, telegram_id: int, display_name: str) -> Staff:
    """Make sure a configured admin exists and is an admin (``DALSBOT_ADMINS``)."""
    staff = _row_to_reuse(session, telegram_id)
    if staff is None:
        staff = Staff(
            telegram_id=telegram_id,
            display_name=safe_name(display_name),
            role=Role.ADMIN.value,
            municipality="region",
            organisation="annan",
            language="sv",
        )
    staff.role, staff.active = Role.ADMIN.value, True
    session.add(staff)
    session.flush()
    return staff


class LastAdminError(Exception):
    """The change would leave Dalsbot without an admin: the last admin stays."""


def _lock_admins(session: Session) -> None:
    """PostgreSQL: lock the admins' rows, so two admins demoting each other at once take turns
    (SQLite has one writer at a time anyway)."""
    query = select(Staff.id).where(col(Staff.active).is_(True), Staff.role == Role.ADMIN.value)
    session.exec(query.with_for_update())


def _an_admin_stays(session: Session, staff: Staff, *, was_admin: bool) -> None:
    """After the change to an admin is written (so this transaction holds the write lock and
    sees every change committed before it): refuse it if no active admin is left."""
    session.flush()
    if was_admin and count_admins(session) == 0:
        raise LastAdminError(staff.id)


def set_role(session: Session, *, staff_id: int, role: Role, by: int | None = None) -> Staff | None:
    """Change a person's role; None when they are not (or no longer) registered.
    :class:`LastAdminError` when they are the last admin and would stop being one."""
    staff = get_staff_by_id(session, staff_id=staff_id)
    if staff is None:
        return None
    was_admin = staff.role == Role.ADMIN.value
    _lock_admins(session)
    staff.role = role.value
    session.add(staff)
    _an_admin_stays(session, staff, was_admin=was_admin)
    audit.record(session, "staff.role_changed", actor_id=by, target_id=staff_id)
    return staff


def remove_staff(
    session: Session, *, staff_id: int, now: dt.datetime | None = None, by: int | None = None
) -> Staff | None:
    """Take a person's access away; None when already gone.

    Removal means removal: the row stays (plans and answers keep their author) but the
    person is inactive, is taken out of every plan team, and the invitations they made are
    used up; they come back only through an invitation made after this moment. The last
    admin cannot be removed (:class:`LastAdminError`).
    """
    staff = get_staff_by_id(session, staff_id=staff_id)
    if staff is None:
        return None
    was_admin = staff.role == Role.ADMIN.value
    _lock_admins(session)
    staff.active, staff.removed_at = False, now or utcnow()
    session.add(staff)
    _an_admin_stays(session, staff, was_admin=was_admin)
    session.execute(
        PlanParticipant.__table__.delete().where(  # type: ignore[attr-defined]
            PlanParticipant.__table__.c.staff_id == staff.id  # type: ignore[attr-defined]
        )
    )
    session.execute(
        Invitation.__table__.update()  # type: ignore[attr-defined]
        .where(Invitation.__table__.c.created_by == staff.telegram_id)  # type: ignore[attr-defined]
        .values(uses_left=0)
    )
    audit.record(session, "staff.removed", actor_id=by, target_id=staff_id, now=staff.removed_at)
    return staff


def set_language(session: Session, *, telegram_id: int, language: str) -> Staff | None:
    """Store a registered person's language."""
    staff = get_staff(session, telegram_id=telegram_id)
    if staff is not None:
        staff.language = language
        session.add(staff)
    return staff


def count_admins(session: Session) -> int:
    """How many active admins there are (the last one may not be demoted or removed)."""
    query = select(Staff).where(col(Staff.active).is_(True), Staff.role == Role.ADMIN.value)
    return len(list(session.exec(query)))
