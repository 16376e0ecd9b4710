"""What a check of a file found: errors refuse it, warnings do not.

Shared by the knowledge-base check, the emergency card's contacts file and the plans CSV
import, so "is the file usable" means the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Findings:
    """Errors (the file is refused) and warnings (it is used, but something needs doing)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return not self.errors
