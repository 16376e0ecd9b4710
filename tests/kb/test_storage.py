"""The knowledge base in the database: import, versions, proposals and decisions, example
questions, the revision counter and the personal-data guard (SQLite and PostgreSQL)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import threading

import pytest

from knowledge.articles import ARTICLES_DIR, load_articles
from storage.db import Database
from storage.knowledge import articles as store
from storage.people.models import Role
from tests.helpers import new_staff

NOW = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SEED = load_articles(ARTICLES_DIR)


def _seeded(db: Database) -> store.ImportReport:
    return db.call(store.import_articles, SEED, NOW)


def _people(db: Database) -> tuple[int, int, int, int]:
    """An admin, two editors and a staff member without the permission."""

    def make(session: store.Session) -> tuple[int, int, int, int]:
        admin = new_staff(session, 1, "Astrid", role=Role.ADMIN)
        first = new_staff(session, 2, "Elin", role=Role.COORDINATOR)
        second = new_staff(session, 3, "Olle", role=Role.COORDINATOR)
        plain = new_staff(session, 4, "Pia")
        for editor in (first, second):
            assert editor.id is not None
            store.set_editor(
                session, staff_id=editor.id, editor=True, by_staff_id=admin.id, now=NOW
            )
        assert admin.id and first.id and second.id and plain.id
        return admin.id, first.id, second.id, plain.id

    return db.call(make)


def test_import_is_idempotent_and_reports_per_article(db: Database) -> None:
    first = _seeded(db)
    assert first.count(store.ImportStatus.NEW) == len(SEED) > 0
    assert first.revision == 1
    again = db.call(store.import_articles, SEED, NOW + dt.timedelta(hours=1))
    assert again.count(store.ImportStatus.UNCHANGED) == len(SEED)
    assert again.revision == 1
    stored = {(a.id, a.lang): a for a in db.call(store.current_articles)}
    for seed in SEED:
        assert store.Content.of(stored[(seed.id, seed.lang)]) == store.Content.of(seed)
        assert stored[(seed.id, seed.lang)].reviewed == seed.reviewed


def test_a_changed_seed_becomes_a_new_approved_version(db: Database) -> None:
    _seeded(db)
    changed = [
        dataclasses.replace(a, title=a.title + " (ny)") if a.id == "barnteam" else a for a in SEED
    ]
    report = db.call(store.import_articles, changed, NOW + dt.timedelta(days=1))
    lines = {(line.article_id, line.lang): line for line in report.lines}
    assert lines[("barnteam", "sv")].status is store.ImportStatus.CHANGED
    assert lines[("barnteam", "sv")].fields == ("title",)
    assert report.revision == 2
    history = db.call(store.versions, "barnteam", "sv")
    assert [v.no for v in history] == [1, 2]
    assert all(v.created_by is None and v.state is store.VersionState.APPROVED for v in history)


def test_propose_then_another_editor_approves(db: Database) -> None:
    _seeded(db)
    _admin, first, second, _plain = _people(db)
    short = "Ett Barnteam är ett möte kring ett barn där flera verksamheter planerar stödet."
    version = db.call(
        lambda s: store.propose(
            s,
            article_id="barnteam",
            lang="sv",
            changes={"short_answer": short},
            by_staff_id=first,
            now=NOW,
        )
    )
    assert version.state is store.VersionState.PROPOSED
    assert version.changed == ("body",)
    # Nothing reaches users unapproved.
    before = db.call(store.current_article, "barnteam", "sv")
    assert before is not None and before.short_answer != short
    own = db.call(
        lambda s: store.decide(s, version_id=version.id, approve=True, by_staff_id=first, now=NOW)
    )
    assert own.status is store.DecideStatus.OWN
    decision = db.call(
        lambda s: store.decide(s, version_id=version.id, approve=True, by_staff_id=second, now=NOW)
    )
    assert decision.status is store.DecideStatus.APPROVED
    assert decision.revision == 2 == db.call(store.kb_revision)
    after = db.call(store.current_article, "barnteam", "sv")
    assert after is not None and after.short_answer == short
    # The rest of the body is kept.
    assert "## När kallar man till Barnteam?" in after.body
    late = db.call(
        lambda s: store.decide(s, version_id=version.id, approve=False, by_staff_id=second, now=NOW)
    )
    assert late.status is store.DecideStatus.ALREADY


def test_only_editors_propose_and_decide(db: Database) -> None:
    _seeded(db)
    admin, first, _second, plain = _people(db)
    with pytest.raises(store.ProposalError) as refused:
        db.call(
            lambda s: store.propose(
                s,
                article_id="barnteam",
                lang="sv",
                changes={"title": "Barnteamet"},
                by_staff_id=plain,
                now=NOW,
            )
        )
    assert refused.value.key == "kb.not_editor"
    version = db.call(
        lambda s: store.propose(
            s,
            article_id="barnteam",
            lang="sv",
            changes={"title": "Barnteamet"},
            by_staff_id=first,
            now=NOW,
        )
    )
    stranger = db.call(
        lambda s: store.decide(s, version_id=version.id, approve=True, by_staff_id=plain, now=NOW)
    )
    assert stranger.status is store.DecideStatus.NOT_EDITOR
    rejected = db.call(
        lambda s: store.decide(s, version_id=version.id, approve=False, by_staff_id=admin, now=NOW)
    )
    assert rejected.status is store.DecideStatus.REJECTED
    article = db.call(store.current_article, "barnteam", "sv")
    assert article is not None and article.title == "Barnteam"
    assert db.call(store.kb_revision) == 1


def test_a_stale_proposal_changes_only_its_own_fields(db: Database) -> None:
    _seeded(db)
    admin, first, second, _plain = _people(db)

    def propose(by: int, changes: dict[str, str]) -> store.Version:
        return db.call(
            lambda s: store.propose(
                s, article_id="sip", lang="sv", changes=changes, by_staff_id=by, now=NOW
            )
        )

    title = propose(first, {"title": "SIP: samordnad individuell plan"})
    question = propose(second, {"add_question": "vem kallar till sip-möte"})
    for version in (title, question):
        decision = db.call(
            lambda s, v=version: store.decide(
                s, version_id=v.id, approve=True, by_staff_id=admin, now=NOW
            )
        )
        assert decision.status is store.DecideStatus.APPROVED
    article = db.call(store.current_article, "sip", "sv")
    assert article is not None
    assert article.title == "SIP: samordnad individuell plan"
    assert "vem kallar till sip-möte" in article.questions


def _propose(db: Database, by: int, changes: dict[str, str]) -> store.Version:
    return db.call(
        lambda s: store.propose(
            s, article_id="barnteam", lang="sv", changes=changes, by_staff_id=by, now=NOW
        )
    )


def _decide(db: Database, version: store.Version, by: int, approve: bool = True) -> store.Decision:
    return db.call(
        lambda s: store.decide(s, version_id=version.id, approve=approve, by_staff_id=by, now=NOW)
    )


def test_approving_one_proposal_after_another_undoes_neither(db: Database) -> None:
    """One editor removes a question, another adds one; both approved in turn: the removed
    question stays removed (the second proposal carries only its own addition)."""
    _seeded(db)
    admin, first, second, _plain = _people(db)
    before = db.call(store.current_article, "barnteam", "sv")
    assert before is not None
    removed = before.questions[0]
    removal = _propose(db, first, {"remove_question": removed})
    addition = _propose(db, second, {"add_question": "hur ofta träffas barnteamet"})
    assert _decide(db, removal, admin).status is store.DecideStatus.APPROVED
    assert _decide(db, addition, admin).status is store.DecideStatus.APPROVED
    after = db.call(store.current_article, "barnteam", "sv")
    assert after is not None
    assert removed not in after.questions
    assert "hur ofta träffas barnteamet" in after.questions


def test_a_proposal_whose_text_changed_meanwhile_is_stale_not_applied(db: Database) -> None:
    _seeded(db)
    admin, first, second, _plain = _people(db)
    mine = "Barnteamet är ett möte där skola, socialtjänst och hälso- och sjukvård planerar."
    theirs = "Barnteamet samlar dem som arbetar runt barnet för att planera stödet tillsammans."
    one = _propose(db, first, {"short_answer": mine})
    other = _propose(db, second, {"short_answer": theirs})
    assert _decide(db, one, admin).status is store.DecideStatus.APPROVED
    stale = _decide(db, other, admin)
    assert stale.status is store.DecideStatus.STALE
    article = db.call(store.current_article, "barnteam", "sv")
    assert article is not None and article.short_answer == mine
    # Decided: a second press says so.
    assert _decide(db, other, first).status is store.DecideStatus.ALREADY


def test_two_decisions_at_the_same_moment_one_wins(db: Database) -> None:
    """Approve and Reject pressed at once (two admins, two replicas): exactly one decides."""
    _seeded(db)
    admin, first, second, _plain = _people(db)
    proposal = _propose(db, first, {"title": "Barnteam i Dalsland"})
    barrier = threading.Barrier(2)

    def press(by: int, approve: bool) -> store.DecideStatus:
        def work(session: store.Session) -> store.Decision:
            barrier.wait(timeout=10)
            return store.decide(
                session, version_id=proposal.id, approve=approve, by_staff_id=by, now=NOW
            )

        return db.call(work).status

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(press, (admin, second), (True, False)))
    assert results.count(store.DecideStatus.ALREADY) == 1
    assert {store.DecideStatus.APPROVED, store.DecideStatus.REJECTED} & set(results)
    version = db.call(store.get_version, proposal.id)
    assert version is not None
    article = db.call(store.current_article, "barnteam", "sv")
    assert article is not None
    live = article.title == "Barnteam i Dalsland"
    assert live is (version.state is store.VersionState.APPROVED)


def test_a_new_article_from_a_proposal(db: Database) -> None:
    _seeded(db)
    admin, first, _second, _plain = _people(db)
    version = db.call(
        lambda s: store.propose(
            s,
            article_id="ny-rutin",
            lang="sv",
            changes={
                "title": "Ny rutin",
                "short_answer": "Rutinen gäller från januari.",
                "add_question": "vad gäller från januari",
            },
            by_staff_id=first,
            now=NOW,
        )
    )
    db.call(
        lambda s: store.decide(s, version_id=version.id, approve=True, by_staff_id=admin, now=NOW)
    )
    article = db.call(store.current_article, "ny-rutin", "sv")
    assert article is not None and article.short_answer == "Rutinen gäller från januari."
    assert article.questions == ("vad gäller från januari",)


def test_example_questions_are_merged_guarded_and_bump_the_revision(db: Database) -> None:
    _seeded(db)
    _admin, first, _second, _plain = _people(db)
    added = db.call(
        lambda s: store.add_example_question(
            s,
            article_id="barnteam",
            lang="sv",
            text="vem ska vara med när vi träffas kring ett barn",
            by_staff_id=first,
            now=NOW,
        )
    )
    assert added.status is store.ExampleStatus.ADDED and added.revision == 2
    article = db.call(store.current_article, "barnteam", "sv")
    assert article is not None
    assert article.questions[-1] == "vem ska vara med när vi träffas kring ett barn"
    twice = db.call(
        lambda s: store.add_example_question(
            s,
            article_id="barnteam",
            lang="sv",
            text="Vem ska vara med när vi träffas kring ett barn",
            by_staff_id=first,
            now=NOW,
        )
    )
    assert twice.status is store.ExampleStatus.ALREADY
    for text, key in (
        ("hur gör jag med 19121212-1212", "kb.refused_personnummer"),
        ("hur gör jag när Lisa inte vill komma", "kb.refused_name"),
        ("ska Mohammeds mamma vara med", "kb.refused_name"),
    ):
        with pytest.raises(store.PersonalDataError) as refused:
            db.call(
                lambda s, text=text: store.add_example_question(
                    s, article_id="barnteam", lang="sv", text=text, by_staff_id=first, now=NOW
                )
            )
        assert refused.value.key == key
    assert db.call(store.kb_revision) == 2


def test_the_guard_knows_the_knowledge_bases_own_words() -> None:
    words = frozenset({"inga", "age", "mina", "saga"})
    assert store.personal_data_in("varför syns inga resultat", words) is None
    assert store.personal_data_in("up to what age does sip apply", words) is None
    assert store.personal_data_in("Inga svar kom", words) is None
    problem = store.personal_data_in("vi pratade med Inga igår", words)
    assert problem is not None and problem.word == "Inga"
    assert store.personal_data_in("lisa är ledsen", words) is not None


def test_a_chat_change_newer_than_the_seed_is_drift(db: Database) -> None:
    _seeded(db)
    _admin, first, _second, _plain = _people(db)
    db.call(
        lambda s: store.add_example_question(
            s,
            article_id="sip",
            lang="sv",
            text="måste sip-mötet hållas i skolan",
            by_staff_id=first,
            now=NOW + dt.timedelta(hours=1),
        )
    )
    drift = db.call(store.drift, SEED)
    assert [(d.article_id, d.lang, d.fields, d.chat_change) for d in drift] == [
        ("sip", "sv", ("questions",), True)
    ]
    later = NOW + dt.timedelta(hours=2)
    report = db.call(store.import_articles, SEED, later)
    assert [(line.article_id, line.status) for line in report.drift] == [
        ("sip", store.ImportStatus.DRIFT)
    ]
    article = db.call(store.current_article, "sip", "sv")
    assert article is not None and "måste sip-mötet hållas i skolan" in article.questions
    forced = db.call(lambda s: store.import_articles(s, SEED, later, force=True))
    assert forced.count(store.ImportStatus.FORCED) == 1
    assert db.call(store.drift, SEED) == []
    article = db.call(store.current_article, "sip", "sv")
    assert article is not None and "måste sip-mötet hållas i skolan" not in article.questions


def test_mark_reviewed_and_owner(db: Database) -> None:
    _seeded(db)
    _admin, first, _second, _plain = _people(db)
    today = dt.date(2026, 12, 1)
    assert db.call(
        lambda s: store.mark_reviewed(
            s, article_id="sip", lang="sv", by_staff_id=first, today=today
        )
    )
    assert db.call(lambda s: store.set_owner(s, article_id="sip", lang=None, owner_staff_id=first))
    meta = {(m.id, m.lang): m for m in db.call(store.article_meta)}
    assert meta[("sip", "sv")].reviewed == today
    assert meta[("sip", "sv")].owner_staff_id == first == meta[("sip", "en")].owner_staff_id
    assert db.call(store.kb_revision) == 2
    # The review date is no drift: the seed is older, the database's stays.
    assert db.call(store.drift, SEED) == []
    db.call(store.import_articles, SEED, NOW + dt.timedelta(days=10))
    article = db.call(store.current_article, "sip", "sv")
    assert article is not None and article.reviewed == today


def test_editors_are_admins_and_granted_people(db: Database) -> None:
    admin, first, second, plain = _people(db)
    assert db.call(store.editor_ids) == sorted([admin, first, second])
    assert db.call(store.is_editor, admin) and not db.call(store.is_editor, plain)
    assert db.call(
        lambda s: store.set_editor(s, staff_id=first, editor=False, by_staff_id=admin, now=NOW)
    )
    assert not db.call(store.is_editor, first)


def test_two_proposals_racing_for_one_number_both_get_one(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another editor's proposal took the number first: the unique constraint refuses the
    second insert and it takes the next number."""
    _seeded(db)
    _admin, first, _second, _plain = _people(db)
    real = store._next_no
    answers = iter([1])  # version 1 is the imported one: taken

    def racing(session: store.Session, article_id: str, lang: str) -> int:
        return next(answers, None) or real(session, article_id, lang)

    monkeypatch.setattr(store, "_next_no", racing)
    version = db.call(
        lambda s: store.propose(
            s,
            article_id="sip",
            lang="sv",
            changes={"title": "SIP i Dalsland"},
            by_staff_id=first,
            now=NOW,
        )
    )
    assert version.no == 2
    assert [v.no for v in db.call(store.versions, "sip", "sv")] == [1, 2]
