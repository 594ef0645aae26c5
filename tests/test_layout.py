"""The code's folders keep the layout docs/architecture.md describes: no import cycles, and the
archive and the reader below the HTTP edge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
LIMIT_LINES = 300


def _module(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """Our modules `path` imports anywhere in it (inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` needs the module; the package's own __init__ runs
            # first either way, so it is no edge of its own.
            inner = {f"{node.module}.{alias.name}" for alias in node.names} & modules
            found |= inner or {node.module}
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = {_module(p): p for p in APP.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules) - {name} for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*trail, node, target]
            if target not in state and (found := visit(target, [*trail, node])):
                return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node, [])):
            return found
    return None


def test_there_are_no_import_cycles() -> None:
    assert _cycle(import_graph()) is None


def test_a_cycle_is_found_when_there_is_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


# What each layer may import of ours, besides itself and the shared leaves.
SHARED = {"app", "app.config", "app.errors", "app.files", "app.metrics"}
ALLOWED = {
    "app.archive": {"app.archive"},
    "app.reader": {"app.archive", "app.reader"},
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_what_is_below_them(layer: str) -> None:
    allowed = ALLOWED[layer] | SHARED
    wrong = {
        (name, target)
        for name, targets in import_graph().items()
        if name.startswith(layer + ".")
        for target in targets
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    }
    assert not wrong


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_the_core_does_not_import_the_web_framework(layer: str) -> None:
    for path in (APP / layer.removeprefix("app.")).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "fastapi" not in text and "starlette" not in text, path


def test_modules_stay_short() -> None:
    long = {
        str(p.relative_to(APP)): n
        for p in APP.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT_LINES
    }
    assert not long
