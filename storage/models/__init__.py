"""All table models, imported here so the metadata is complete before migrations run.

One module per feature: ``audit`` (the audit log), ``core`` (staff, invitations, one-shot
button presses), ``knowledge`` (question log,
feedback, questions to coordinators), ``plans`` (plans, participants, follow-ups,
reminders), ``pulse`` (anonymous pulse feedback).
"""

from sqlmodel import SQLModel

from storage.models.audit import AuditEvent
from storage.models.core import (
    ButtonPress,
    Invitation,
    Municipality,
    Organisation,
    Role,
    Staff,
)
from storage.models.knowledge import (
    KbCoordinatorQuestion,
    KbCoordinatorRecipient,
    KbFeedback,
    KbQuestion,
    QuestionKind,
)
from storage.models.plans import (
    FollowUp,
    Plan,
    PlanParticipant,
    PlanStatus,
    PlanType,
    Reminder,
    ReminderKind,
    ReminderState,
    StaffPreference,
)
from storage.models.pulse import (
    Pulse,
    PulseAnswer,
    PulseInvite,
    PulseRespondent,
    PulseScore,
    PulseSentToPlan,
)

metadata = SQLModel.metadata

__all__ = [
    "AuditEvent",
    "ButtonPress",
    "FollowUp",
    "Invitation",
    "KbCoordinatorQuestion",
    "KbCoordinatorRecipient",
    "KbFeedback",
    "KbQuestion",
    "Municipality",
    "Organisation",
    "Plan",
    "PlanParticipant",
    "PlanStatus",
    "PlanType",
    "Pulse",
    "PulseAnswer",
    "PulseInvite",
    "PulseRespondent",
    "PulseScore",
    "PulseSentToPlan",
    "QuestionKind",
    "Reminder",
    "ReminderKind",
    "ReminderState",
    "Role",
    "Staff",
    "StaffPreference",
    "metadata",
]
