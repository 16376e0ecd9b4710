"""Prometheus metrics: one registry for the process, served at ``/metrics`` (bot/shell/ops.py).

Kept here are what the kernel and the handlers count as it happens: updates by kind, the time
each update took to handle, and pulse answers. What is cheaper to read when Prometheus asks
(the reminder dispatcher's counters, the queue of due reminders, database reachability) is
collected at scrape time by the shell (:mod:`bot.shell.ops`). No metric carries a label with
a person, a chat, a plan or a pulse: only kinds and totals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.process_collector import ProcessCollector
from telegram import MessageEntity, Update

REGISTRY: Final = CollectorRegistry()
"""Every Dalsbot metric, and the process's CPU, memory and open files."""

ProcessCollector(registry=REGISTRY)

UPDATE_KINDS: Final = ("message", "command", "callback_query", "edited", "other")

UPDATES: Final = Counter(
    "dalsbot_updates",
    "Updates received from Telegram, by kind",
    ["kind"],
    registry=REGISTRY,
)

# From a cached answer (a few ms) to a slow chart or a busy database (seconds).
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

UPDATE_SECONDS: Final = Histogram(
    "dalsbot_update_handling_seconds",
    "Time from taking an update to having answered it and stored the person's state, by kind",
    ["kind"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

PULSE_ANSWERS: Final = Counter(
    "dalsbot_pulse_answers",
    "Pulse answers stored (no label: which pulse is not shown)",
    registry=REGISTRY,
)

# Every kind from the start (a rate() over a kind not yet seen is 0, not absent), looked up
# once: ``labels()`` on every update would take a lock and build a key each time.
_BY_KIND: Final = {
    kind: (UPDATES.labels(kind), UPDATE_SECONDS.labels(kind)) for kind in UPDATE_KINDS
}


def update_kind(update: object) -> str:
    """``message``, ``command`` (a message starting with /command), ``callback_query``,
    ``edited`` (an edited message or post) or ``other``."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback_query"
    message = update.message
    if message is not None:
        entities = message.entities
        if entities and entities[0].type == MessageEntity.BOT_COMMAND and entities[0].offset == 0:
            return "command"
        return "message"
    if (
        update.edited_message is not None
        or update.edited_channel_post is not None
        or update.edited_business_message is not None
    ):
        return "edited"
    return "other"


@dataclass
class Liveness:
    """When this process last received an update and last woke the reminder dispatcher
    (``time.monotonic()``), for ``/healthz``; a service in ``bot_data.services``."""

    started: float = field(default_factory=time.monotonic)
    last_update: float | None = None
    last_dispatch: float | None = None

    def dispatcher_woken(self) -> None:
        """The JobQueue has just woken the reminder dispatcher."""
        self.last_dispatch = time.monotonic()

    def seconds_since_update(self) -> float | None:
        """Seconds since the last update arrived (None: none yet)."""
        return None if self.last_update is None else time.monotonic() - self.last_update

    def seconds_since_dispatch(self) -> float | None:
        """Seconds since the dispatcher was last woken (None: not yet)."""
        return None if self.last_dispatch is None else time.monotonic() - self.last_dispatch

    def uptime(self) -> float:
        """Seconds since the bot was built."""
        return time.monotonic() - self.started


class UpdateTimer:
    """Counts an update when it arrives and observes its handling time when done:
    ``timer = UpdateTimer.start(update, liveness)`` ... ``timer.done()``."""

    __slots__ = ("histogram", "started")

    def __init__(self, histogram: Histogram, started: float) -> None:
        self.histogram, self.started = histogram, started

    @classmethod
    def start(cls, update: object, liveness: Liveness) -> UpdateTimer:
        """Count ``update`` by kind and note that an update arrived."""
        counter, histogram = _BY_KIND[update_kind(update)]
        counter.inc()
        started = time.perf_counter()
        liveness.last_update = time.monotonic()
        return cls(histogram, started)

    def done(self) -> None:
        """Observe the time since :meth:`start`."""
        self.histogram.observe(time.perf_counter() - self.started)
