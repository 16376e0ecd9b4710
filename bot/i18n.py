"""The text catalogue: every text a user sees, one catalogue per language.

Each language is a folder under ``bot/locales/`` holding one YAML file per feature
(``core.yaml``, ``ask.yaml``, ``plans.yaml``, ``pulse.yaml``...). The files of a folder are
merged into that language's single catalogue; keys are namespaced by feature
(``core.help_title``). Swedish is the default and the reference: English must have the same
keys (a test checks it).

Plurals, month and weekday names come from Babel (the Unicode CLDR data), not from
hand-written tables: a text that depends on a count is a mapping of CLDR plural categories
(``one:`` / ``other:``) and is read with :func:`tn`.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from babel import Locale

from bot import yamlfile

Lang = Literal["sv", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("sv", "en")
DEFAULT_LANG: Final[Lang] = "sv"
LOCALES_DIR: Final = Path(__file__).with_name("locales")


def as_lang(value: str | None) -> Lang:
    """Return ``value`` as a supported language, falling back to Swedish."""
    return "en" if value == "en" else "sv"


def _flatten(prefix: str, node: Any, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out)
    else:
        out[prefix] = str(node)


@cache
def catalogue(lang: Lang) -> dict[str, str]:
    """All texts of one language, keyed ``feature.key``."""
    texts: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.yaml")):
        data = yamlfile.safe_load(path.read_text(encoding="utf-8")) or {}
        _flatten(path.stem, data, texts)
    return texts


def t(key: str, lang: str | None = None, /, **params: object) -> str:
    """The text ``key`` in ``lang`` (Swedish when unknown), formatted with ``params``."""
    texts = catalogue(as_lang(lang))
    template = texts.get(key)
    if template is None:
        template = catalogue(DEFAULT_LANG).get(key)
    if template is None:
        raise KeyError(f"missing text {key!r}")
    return template.format(**params) if params else template


@cache
def _locale(lang: Lang) -> Locale:
    return Locale.parse(lang)


def tn(key: str, count: int, lang: str | None = None, /, **params: object) -> str:
    """The text ``key`` for ``count`` things, in the plural form the language's rules give
    (``key.one`` / ``key.other``: "1 plan" / "3 planer"); ``{n}`` is the count."""
    language = as_lang(lang)
    form = _locale(language).plural_form(abs(count))
    texts = catalogue(language)
    chosen = f"{key}.{form}" if f"{key}.{form}" in texts else f"{key}.other"
    return t(chosen, language, n=count, **params)


def format_date(value: dt.date, lang: str | None = None) -> str:
    """A date as people write it: ``25 november 2026`` / ``25 November 2026``."""
    # babel.dates is imported at the first date, not at start-up (about 10 ms; the warm-up
    # formats a date in the background).
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, "d MMMM y", locale=_locale(as_lang(lang)))


def format_date_short(value: dt.date, lang: str | None = None) -> str:
    """A date with its weekday, for lists: ``ons 25 nov.`` / ``Wed 25 Nov``."""
    from babel.dates import format_date as babel_format_date

    return babel_format_date(value, "EEE d MMM", locale=_locale(as_lang(lang)))


def month_name(month: int, lang: str | None = None) -> str:
    """The month's name as it stands alone (``december`` / ``December``)."""
    return str(_locale(as_lang(lang)).months["stand-alone"]["wide"][month])


def weekday_initials(lang: str | None = None) -> list[str]:
    """The weekdays' narrow names, Monday first (``M T O T F L S``)."""
    names = _locale(as_lang(lang)).days["stand-alone"]["narrow"]
    return [str(names[day]) for day in range(7)]


def format_time(value: dt.time) -> str:
    """A time of day, 24-hour clock (``08.00`` is also Swedish, but ``08:00`` reads on both)."""
    return value.strftime("%H:%M")


def format_datetime(value: dt.datetime, lang: str | None = None) -> str:
    """Local date and time: ``25 november 2026 kl. 08:00`` / ``25 November 2026 at 08:00``."""
    joiner = "kl." if as_lang(lang) == "sv" else "at"
    return f"{format_date(value.date(), lang)} {joiner} {format_time(value.time())}"
