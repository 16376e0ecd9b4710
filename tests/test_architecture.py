"""The import layers of README's architecture map, checked from the code itself.

- ``bot/`` without ``bot/shell/`` is the kernel: it knows no feature (no ``handlers``, no
  ``knowledge``, no feature package of ``storage``) and not the shell.
- ``storage/`` and ``knowledge/`` import nothing from the shell or from ``handlers/``.
- Only the shell imports ``handlers/`` (besides ``handlers/`` itself).
- No two modules import each other, directly or round a longer loop.
- One way to add a CLI command: no module loads another with importlib.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "knowledge", "storage")
FEATURE_STORES = ("storage.people", "storage.plans", "storage.pulse", "storage.knowledge")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    """The project modules ``path`` imports (anywhere in the file, also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if name in MODULES]
            names = found if len(found) == len(submodules) else [node.module, *found]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in PACKAGES)


def _within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _loaded(module: str, targets: Iterator[str]) -> Iterator[str]:
    """``targets`` and the packages Python runs first to import them: importing
    ``handlers.kb.buttons`` runs ``handlers/kb/__init__.py``, which may import the module
    back (a loop no single import line shows). A module's own packages are left out: they
    are already being imported when it is."""
    for target in targets:
        yield target
        parts = target.split(".")
        for depth in range(1, len(parts)):
            package = ".".join(parts[:depth])
            if package in MODULES and not _within(module, package):
                yield package


GRAPH = {name: sorted(set(_loaded(name, _imports(path)))) for name, path in MODULES.items()}


# ``python -m bot`` starts the shell: bot/__main__.py belongs to it.
SHELL = ("bot.shell", "bot.__main__")


def _kernel(name: str) -> bool:
    return _within(name, "bot") and not _within(name, *SHELL)


def _violations(source: object, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if callable(source) and source(module)
        for target in targets
        if _within(target, *forbidden)
    ]


def test_the_kernel_knows_no_feature_and_not_the_shell() -> None:
    forbidden = ("bot.shell", "handlers", "knowledge", *FEATURE_STORES)
    assert _violations(_kernel, forbidden) == []


def test_storage_and_knowledge_import_neither_the_shell_nor_handlers() -> None:
    def lower(module: str) -> bool:
        return _within(module, "storage", "knowledge")

    assert _violations(lower, ("bot.shell", "handlers")) == []


def test_only_the_shell_imports_handlers() -> None:
    def outside(module: str) -> bool:
        return not _within(module, *SHELL, "handlers")

    assert _violations(outside, ("handlers",)) == []


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH.get(node, []):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other() -> None:
    assert _cycles() == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_loaded_by_name(module: str) -> None:
    text = MODULES[module].read_text(encoding="utf-8")
    assert "importlib" not in text and "__import__" not in text


def test_the_checks_see_the_code() -> None:
    """The graph is real: the shell imports every feature, a handler imports the kernel."""
    assert "handlers.pulse" in GRAPH["bot.shell.app"]
    assert "bot.context" in GRAPH["handlers.pulse.answer"]
    assert len(MODULES) > 80
