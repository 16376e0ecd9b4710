"""The replica tests start real bot processes too: the end-to-end tests' fixture for them."""

from tests.e2e.conftest import processes

__all__ = ["processes"]
