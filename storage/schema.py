"""Every table, so the metadata is complete before migrations run or are compared.

Each feature keeps its tables beside its store: ``storage/people/models.py`` (staff,
invitations), ``storage/plans/models.py`` (plans, team, follow-ups, reminders),
``storage/pulse/models.py`` and ``storage/pulse/drafts.py`` (anonymous pulses, unfinished
answers), ``storage/knowledge/models.py`` (question log, feedback, questions to
coordinators), ``storage/knowledge/articles.py`` (articles, versions, example
questions, editors) and ``storage/knowledge/verification.py`` (review reminders, handled
gaps); the shared ones are ``storage/audit.py``, ``storage/presses.py``,
``storage/chatstate.py`` and ``storage/updates.py``. Importing them registers them on
``SQLModel.metadata``.
"""

from sqlmodel import SQLModel

import storage.audit
import storage.chatstate
import storage.knowledge.articles
import storage.knowledge.models
import storage.knowledge.verification
import storage.people.menus
import storage.people.models
import storage.plans.models
import storage.presses
import storage.pulse.drafts
import storage.pulse.models
import storage.sendbudget
import storage.updates  # noqa: F401

metadata = SQLModel.metadata
