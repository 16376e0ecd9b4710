"""The database: one engine per process, sessions per unit of work, never on the event loop.

The sync SQLAlchemy session runs in one of the database's own few worker threads
(:meth:`Database.run`), so handlers stay responsive while a query runs. Few, not many: under
the GIL more threads add no speed to Python work, only contention (with asyncio's default
pool, up to six threads, 200 people asking at once cost 9.5 ms of CPU per question; with the
database's own threads, 6.5 ms: benchmarks/throughput.py). SQLite (the embedded default) runs
in WAL mode with foreign keys on; PostgreSQL is used through psycopg 3 with the same models
and migrations.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

logger = logging.getLogger(__name__)

# Worker threads per database. SQLite: one (one writer at a time anyway; a second thread,
# for a read beside a write, cost 5.1 instead of 3.9 ms of CPU per question under a burst,
# benchmarks/throughput.py). The price: a slow read holds up the calls behind it, and the
# bot's slowest (a pulse's results, /planer with 500 plans) take tens of milliseconds.
# PostgreSQL waits on the network, so a few more threads pay off there.
SQLITE_THREADS = 1
POSTGRES_THREADS = 4

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseError(Exception):
    """The database cannot be used; the message is one line fit for a start-up error."""


def _sqlite_path(url: str) -> Path | None:
    path = sa.engine.make_url(url).database
    return Path(path) if path and path != ":memory:" else None


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten, not just unlinked: a closed pulse's who-has-answered
    # markers must not survive in the file's free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder when needed.

    ``hide_parameters``: a database error's message (logged by the error handler) never
    carries the statement's values, which may be a person's text, a name or a reference.
    """
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"Cannot create the data folder {path.parent}: {exc.strerror}"
                ) from None
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            hide_parameters=True,
        )
        sa.event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=8, max_overflow=8, hide_parameters=True
    )


class Database:
    """Owns the engine; runs storage functions in a worker thread with their own session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    def _threads(self) -> ThreadPoolExecutor:
        """The database's own worker threads, started at first use (again after dispose)."""
        executor = self._executor
        if executor is None:
            with self._executor_lock:
                executor = self._executor
                if executor is None:
                    size = SQLITE_THREADS if self.dialect == "sqlite" else POSTGRES_THREADS
                    executor = ThreadPoolExecutor(size, thread_name_prefix="db")
                    self._executor = executor
        return executor

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session; use it as a context manager."""
        return Session(self.engine, expire_on_commit=False)

    def call(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(session, ...)`` in one transaction, synchronously."""
        with self.session() as session:
            result = fn(session, *args, **kwargs)
            session.commit()
            return result

    async def run(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(session, ...)`` in one transaction in one of the database's threads."""
        loop = asyncio.get_running_loop()
        # As asyncio.to_thread does: the caller's context variables go along.
        bound = functools.partial(self.call, fn, *args, **kwargs)
        call = functools.partial(contextvars.copy_context().run, bound)
        try:
            future = loop.run_in_executor(self._threads(), call)
        except RuntimeError:  # disposed just then (shut down): start the threads again
            future = loop.run_in_executor(self._threads(), call)
        return await future

    def check(self) -> None:
        """Connect once, turning failures into a one-line :class:`DatabaseError`."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DatabaseError(f"Cannot open the database: {reason}") from None

    def truncate_log(self) -> None:
        """SQLite: move the write-ahead log into the database file and empty it.

        Called after a pulse closes: its deleted who-has-answered markers would otherwise stay
        in the ``-wal`` file, in order, next to the answers written right after them (the
        main file overwrites deleted rows: ``secure_delete``). A no-op on PostgreSQL.
        """
        if self.dialect != "sqlite":
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    async def truncate_log_async(self) -> None:
        """:meth:`truncate_log` in one of the database's threads."""
        await asyncio.get_running_loop().run_in_executor(self._threads(), self.truncate_log)

    def dispose(self) -> None:
        """Close every pooled connection and let the worker threads end (both come back on
        next use)."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
        self.engine.dispose()
