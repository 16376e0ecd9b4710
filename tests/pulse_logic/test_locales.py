"""The pulse texts: both languages complete and every key the code uses present."""

from __future__ import annotations

import re
import string
from pathlib import Path

import yaml

from bot.i18n import LOCALES_DIR, t
from handlers.pulse import render as pulse_render
from handlers.pulse.render import error_params
from storage.pulse import logic as pulse_logic


def _texts(lang: str) -> dict[str, str]:
    """Every text by key; a plural's forms as ``key.one`` / ``key.other``, and its key."""
    data = yaml.safe_load((LOCALES_DIR / lang / "pulse.yaml").read_text(encoding="utf-8"))
    texts = {}
    for key, value in data.items():
        if isinstance(value, dict):
            texts.update({f"{key}.{form}": str(text) for form, text in value.items()})
            texts[str(key)] = str(value.get("other", ""))
        else:
            texts[str(key)] = str(value)
    return texts


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_swedish_and_english_have_the_same_keys_and_placeholders() -> None:
    """Every text exists in both languages with the same {placeholders}."""
    sv, en = _texts("sv"), _texts("en")
    assert sv.keys() == en.keys()
    for key in sv:
        assert _placeholders(sv[key]) == _placeholders(en[key]), key


def test_every_key_the_logic_uses_exists() -> None:
    """No renderer or pulse handler can fail with a missing text."""
    handlers = Path(pulse_render.__file__ or "").parent
    source = "".join(
        path.read_text(encoding="utf-8")
        for path in [Path(pulse_logic.__file__ or ""), *sorted(handlers.glob("*.py"))]
    )
    used = set(re.findall(r'"pulse\.([a-z_.]+)"', source))
    assert used
    assert used <= _texts("sv").keys()


def test_comment_too_long_text_takes_the_error_params() -> None:
    """The handler shows CommentError's key with its params, numbers grouped as each
    language writes them (Swedish "1 000" with a no-break space, English "1,000")."""
    try:
        pulse_logic.clean_comment("x" * 1200)
    except pulse_logic.CommentError as error:
        assert t(error.key, "sv", **error_params(error, "sv")) == (
            "Kommentaren är för lång (1\u00a0200 tecken). Korta den till högst 1\u00a0000 "
            "tecken och skicka den igen."
        )
        assert "(1,200 characters)" in t(error.key, "en", **error_params(error, "en"))
    else:  # pragma: no cover
        raise AssertionError("no CommentError")
