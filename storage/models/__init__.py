"""All table models, imported here so the metadata is complete before migrations run.

One module per feature: ``core`` (staff, invitations), ``knowledge`` (question log,
feedback, questions to coordinators), ``plans`` (plans, participants, follow-ups,
reminders), ``pulse`` (anonymous pulse feedback).
"""

from sqlmodel import SQLModel

from storage.models.core import Invitation, Municipality, Organisation, Role, Staff

metadata = SQLModel.metadata

__all__ = ["Invitation", "Municipality", "Organisation", "Role", "Staff", "metadata"]
