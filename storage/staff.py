"""Storage functions for staff members and invitations. Each takes the session first."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from storage.models import Invitation, Role, Staff
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
    )
    session.add(invitation)
    session.flush()
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
    checked = check_invitation(session, code=code, now=now)
    if checked.invitation is None:
        return checked.status, None
    invitation = checked.invitation
    updated = session.execute(
        Invitation.__table__.update()  # type: ignore[attr-defined]
        .where(Invitation.__table__.c.id == invitation.id)  # type: ignore[attr-defined]
        .where(Invitation.__table__.c.uses_left > 0)  # type: ignore[attr-defined]
        .values(uses_left=Invitation.__table__.c.uses_left - 1)  # type: ignore[attr-defined]
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        return InviteStatus.USED, None
    staff = get_staff(session, telegram_id=telegram_id, include_inactive=True)
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


def get_staff(
    session: Session, *, telegram_id: int, include_inactive: bool = False
) -> Staff | None:
    """The staff member with this Telegram id, or None."""
    query = select(Staff).where(Staff.telegram_id == telegram_id)
    if not include_inactive:
        query = query.where(col(Staff.active).is_(True))
    return session.exec(query).first()


def get_staff_by_id(session: Session, *, staff_id: int) -> Staff | None:
    """The active staff member with this database id, or None."""
    staff = session.get(Staff, staff_id)
    return staff if staff is not None and staff.active else None


def find_staff(session: Session, *, handle: str) -> Staff | None:
    """The active staff member for a Telegram user id or an ``@username``."""
    handle = handle.strip()
    if handle.startswith("@"):
        query = select(Staff).where(
            col(Staff.username).ilike(handle[1:]), col(Staff.active).is_(True)
        )
        return session.exec(query).first()
    if handle.isdigit():
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


def placeholder_admin_name(telegram_id: int) -> str:
    """The name a configured admin has until they first open the bot."""
    return f"Admin {telegram_id}"


def rename(session: Session, *, telegram_id: int, display_name: str) -> Staff | None:
    """Change a registered person's display name."""
    staff = get_staff(session, telegram_id=telegram_id)
    if staff is not None:
        staff.display_name = display_name
        session.add(staff)
    return staff


def ensure_admin(session: Session, *, telegram_id: int, display_name: str) -> Staff:
    """Make sure a configured admin exists and is an admin (``DALSBOT_ADMINS``)."""
    staff = get_staff(session, telegram_id=telegram_id, include_inactive=True)
    if staff is None:
        staff = Staff(
            telegram_id=telegram_id,
            display_name=display_name,
            role=Role.ADMIN.value,
            municipality="region",
            organisation="annan",
            language="sv",
        )
    staff.role, staff.active = Role.ADMIN.value, True
    session.add(staff)
    session.flush()
    return staff


def set_role(session: Session, *, staff_id: int, role: Role) -> Staff | None:
    """Change a person's role; None when they are not (or no longer) registered."""
    staff = get_staff_by_id(session, staff_id=staff_id)
    if staff is None:
        return None
    staff.role = role.value
    session.add(staff)
    return staff


def remove_staff(session: Session, *, staff_id: int) -> Staff | None:
    """Take a person's access away (soft delete); None when already gone."""
    staff = get_staff_by_id(session, staff_id=staff_id)
    if staff is None:
        return None
    staff.active = False
    session.add(staff)
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
