"""Pulse templates: the shipped files, validation messages and content versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from storage.pulse.templates import (
    TEMPLATES_DIR,
    Template,
    TemplateError,
    load_templates,
    template_from_dict,
    validate_template_file,
)


def _write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _valid(key: str = "test") -> dict[str, object]:
    return {
        "key": key,
        "audience": "staff",
        "title": {"sv": "Testmöte", "en": "Test meeting"},
        "scale": {
            "low": {"sv": "Inte alls", "en": "Not at all"},
            "high": {"sv": "Helt och hållet", "en": "Completely"},
        },
        "questions": [
            {"key": f"q{i}", "text": {"sv": f"Fråga {i}?", "en": f"Question {i}?"}}
            for i in range(1, 4)
        ],
        "comment_prompt": {"sv": "Något mer?", "en": "Anything else?"},
    }


def test_shipped_templates_load(templates: dict[str, Template]) -> None:
    """The four templates of the issue ship: three for staff and the family version."""
    assert set(templates) == {"barnteam", "sip", "natverk", "familj"}
    assert {key: tpl.audience for key, tpl in templates.items()} == {
        "barnteam": "staff",
        "sip": "staff",
        "natverk": "staff",
        "familj": "family",
    }
    for template in templates.values():
        assert 3 <= len(template.questions) <= 5
        assert len(set(template.question_keys)) == len(template.questions)
        assert len(template.version) == 12
        int(template.version, 16)


def test_family_template_asks_in_simple_words(templates: dict[str, Template]) -> None:
    """The family version asks "Blev du lyssnad på?" and "Förstod du vad som bestämdes?"."""
    family = templates["familj"]
    texts = [question.text.sv for question in family.questions]
    assert "Blev du lyssnad på?" in texts
    assert "Förstod du vad som bestämdes?" in texts
    assert family.question("lyssnad").text.en == "Did you feel listened to?"
    assert family.question("lyssnad").low.sv == "Nej, inte alls"


def test_every_shipped_file_validates_on_its_own() -> None:
    """validate_template_file returns the same template load_templates does."""
    loaded = load_templates()
    for path in sorted(TEMPLATES_DIR.glob("*.yaml")):
        assert validate_template_file(path) == loaded[path.stem]


def test_scale_defaults_fill_questions_and_short_defaults_to_text(tmp_path: Path) -> None:
    """A question without its own scale labels or short label gets the defaults."""
    template = validate_template_file(_write(tmp_path, "test.yaml", _valid()))
    question = template.question("q1")
    assert question.low.sv == "Inte alls"
    assert question.high.en == "Completely"
    assert question.short.sv == "Fråga 1?"


def test_version_changes_when_content_changes(tmp_path: Path) -> None:
    """Editing a question text gives a new version; a comment or reformatting does not."""
    path = _write(tmp_path, "test.yaml", _valid())
    first = validate_template_file(path).version
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert validate_template_file(path).version == first
    changed = _valid()
    changed["questions"][0]["text"]["sv"] = "Fråga ett?"  # type: ignore[index]
    assert validate_template_file(_write(tmp_path, "test.yaml", changed)).version != first


def test_snapshot_round_trips_to_the_same_version(templates: dict[str, Template]) -> None:
    """A stored snapshot (to_dict) rebuilds the identical template and version."""
    for template in templates.values():
        assert template_from_dict(template.to_dict()) == template


def test_moving_a_label_into_the_scale_keeps_the_version(tmp_path: Path) -> None:
    """The version hashes the normalised content, so equivalent spellings share it."""
    explicit = _valid()
    scale = explicit.pop("scale")
    for question in explicit["questions"]:  # type: ignore[attr-defined]
        question.update(scale)
    assert template_from_dict(explicit).version == template_from_dict(_valid()).version


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["questions"].pop(), "has 2 questions, needs 3–5"),
        (lambda d: d["questions"].extend(d["questions"][:3]), "has 6 questions, needs 3–5"),
        (lambda d: d["title"].pop("en"), "title.en: missing or empty text"),
        (lambda d: d["questions"][1].update(key="q1"), "duplicate question key 'q1'"),
        (lambda d: d.update(audience="parents"), "audience: must be one of staff, family"),
        (lambda d: d.update(colour="red"), "unknown field(s) colour"),
        (lambda d: d["questions"][0]["text"].update(de="Frage"), "unknown language(s) de"),
        (lambda d: d["questions"][0].update(key="Fråga 1"), "questions[1].key: must be"),
        (lambda d: d.pop("scale"), "questions[1].low: missing scale label"),
        (lambda d: d.update(key="other"), "is 'other' but the file is named test.yaml"),
    ],
)
def test_broken_template_gives_a_clear_error(tmp_path: Path, change: object, message: str) -> None:
    """Each mistake is named with the file and the place in it."""
    data = _valid()
    change(data)  # type: ignore[operator]
    path = _write(tmp_path, "test.yaml", data)
    with pytest.raises(TemplateError) as caught:
        validate_template_file(path)
    assert str(caught.value).startswith("test.yaml: ")
    assert message in str(caught.value)


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    """An admin sees every problem in one message, not one per attempt."""
    data = _valid()
    data["title"] = {"sv": "Testmöte"}
    data["comment_prompt"] = None
    with pytest.raises(TemplateError) as caught:
        validate_template_file(_write(tmp_path, "test.yaml", data))
    assert "title.en: missing or empty text" in str(caught.value)
    assert "comment_prompt: missing (needs sv and en)" in str(caught.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error says the file and the line."""
    path = tmp_path / "trasig.yaml"
    path.write_text("key: trasig\ntitle: {sv: [oops\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"^trasig\.yaml: not valid YAML at line \d+"):
        validate_template_file(path)


def test_load_templates_refuses_a_folder_with_a_broken_file(tmp_path: Path) -> None:
    """One broken file stops loading with its name, rather than silently dropping it."""
    for path in TEMPLATES_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    broken = _valid("trasig")
    broken["questions"] = []
    _write(tmp_path, "trasig.yaml", broken)
    with pytest.raises(TemplateError, match=r"^trasig\.yaml: questions: has 0 questions"):
        load_templates(tmp_path)


def test_load_templates_refuses_an_empty_folder(tmp_path: Path) -> None:
    """No templates at all is an error, not an empty pulse menu."""
    with pytest.raises(TemplateError, match="no pulse templates"):
        load_templates(tmp_path)


def test_added_template_file_is_loaded(tmp_path: Path) -> None:
    """An admin adds a template by dropping a valid file into the folder."""
    _write(tmp_path, "test.yaml", _valid())
    assert list(load_templates(tmp_path)) == ["test"]
