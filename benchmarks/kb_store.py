"""The knowledge base in the database: import, export, the revision check and the index
rebuild, and how long an approval takes to reach another process.

Run from the repository root: ``python benchmarks/kb_store.py`` (SQLite in a temporary
folder; with ``DALSBOT_TEST_POSTGRES_URL`` set, PostgreSQL too, in a database of its own that
is dropped afterwards). Each figure is printed beside its target; exit code 1 if one is
missed. The 5,000-article run uses kb_latency's synthetic articles.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks.kb_latency import synthetic_articles  # noqa: E402
from bot.shell.cli.kb import article_markdown  # noqa: E402
from knowledge.articles import ARTICLES_DIR, Article, load_articles  # noqa: E402
from knowledge.glossary import load_glossary  # noqa: E402
from knowledge.service import KnowledgeBase  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.knowledge import articles as store  # noqa: E402
from storage.people.models import Role, Staff  # noqa: E402

POSTGRES_ENV = "DALSBOT_TEST_POSTGRES_URL"
BENCH_DB = "dalsbot_kbstore_bench"
QUESTION = "får en vikarie vara med på tisdagsträffen med logopeden"
TARGETS = {
    "import": 1.0,
    "reimport": 0.5,
    "export": 1.0,
    "revision_ms": 5.0,
    "rebuild": 1.0,
    "propagation": 5.0,
    "import_5000": 30.0,
    "read_5000": 2.0,
    # The index build itself is kb_latency's figure (target 2 s at 5,000 articles).
    "index_5000": 2.0,
}


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.sqlite3"


@contextmanager
def postgres_url(base: str) -> Iterator[str]:
    admin = sa.create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{BENCH_DB}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        admin.dispose()


def line(label: str, value: float, target: float, unit: str = "s") -> bool:
    ok = value <= target
    verdict = "ok" if ok else "MISSED"
    print(f"  {label:<44} {value:8.3f} {unit:<2}  target ≤ {target:g} {unit}  {verdict}")
    return ok


def run(url: str, seed: list[Article]) -> bool:
    db = Database(url)
    migrate.upgrade(db)
    now = dt.datetime.now(dt.UTC)
    ok = line(
        "kb import, empty database",
        timed(lambda: db.call(store.import_articles, seed, now)),
        TARGETS["import"],
    )
    ok &= line(
        "kb import again (all unchanged)",
        timed(lambda: db.call(store.import_articles, seed, now)),
        TARGETS["reimport"],
    )

    def export() -> None:
        with tempfile.TemporaryDirectory() as folder:
            for article in db.call(store.current_articles):
                path = Path(folder) / article.lang / f"{article.id}.md"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(article_markdown(article), encoding="utf-8")

    ok &= line("kb export", timed(export), TARGETS["export"])
    source = store.DatabaseSource(db)
    reads = [timed(source.revision) * 1000 for _ in range(300)]
    ok &= line(
        "revision check (median of 300 reads)",
        statistics.median(reads),
        TARGETS["revision_ms"],
        "ms",
    )
    glossary = load_glossary()
    # One article fewer than the database holds: use_source rebuilds (an index built from
    # exactly the database's articles would only adopt its revision).
    kb = KnowledgeBase.from_articles(seed[1:], glossary)
    ok &= line(
        "index rebuild from the database", timed(lambda: kb.use_source(source)), TARGETS["rebuild"]
    )

    # A second "process": its own engine and knowledge base, checking every 3 s.
    other_db = Database(url)
    other = KnowledgeBase.from_articles(seed, glossary)
    other.use_source(store.DatabaseSource(other_db), check_every=3.0)

    def approve(session: store.Session) -> None:
        staff = Staff(telegram_id=1, display_name="Bench", role=Role.ADMIN.value,
                      municipality="Mellerud", organisation="annan")  # fmt: skip
        session.add(staff)
        session.flush()
        store.add_example_question(session, article_id="barnteam", lang="sv", text=QUESTION,
                                   by_staff_id=staff.id, now=now)  # fmt: skip

    db.call(approve)
    start = time.perf_counter()
    while other.answer(QUESTION, "sv").article_id != "barnteam":
        if other.due():
            other.refresh()
        time.sleep(0.05)
    ok &= line(
        "approval → another process answers with it",
        time.perf_counter() - start,
        TARGETS["propagation"],
    )
    other_db.dispose()
    db.dispose()
    return ok


def run_large(url: str, seed: list[Article]) -> bool:
    db = Database(url)
    migrate.upgrade(db)
    large = synthetic_articles(seed, 5000)
    now = dt.datetime.now(dt.UTC)
    ok = line(
        "kb import, 5,000 articles",
        timed(lambda: db.call(store.import_articles, large, now)),
        TARGETS["import_5000"],
    )
    read = timed(lambda: db.call(store.current_articles))
    ok &= line("read the approved articles, 5,000", read, TARGETS["read_5000"])
    glossary = load_glossary()
    build = timed(lambda: KnowledgeBase.from_articles(large, glossary))
    ok &= line("index build, 5,000 (kb_latency's figure)", build, TARGETS["index_5000"])
    db.dispose()
    return ok


def main() -> int:
    seed = load_articles(ARTICLES_DIR)
    ok = True
    engines: list[tuple[str, Callable[[], object]]] = [("SQLite", sqlite_url)]
    base = os.environ.get(POSTGRES_ENV)
    if base:
        engines.append(("PostgreSQL", lambda: postgres_url(base)))
    for name, make in engines:
        print(f"{name} ({len(seed)} articles):")
        with make() as url:  # type: ignore[attr-defined]
            ok &= run(url, seed)
        with make() as url:  # type: ignore[attr-defined]
            ok &= run_large(url, seed)
    if not base:
        print(f"(PostgreSQL skipped: set {POSTGRES_ENV})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
