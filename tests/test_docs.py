"""The docs tell the truth: links resolve, CLI commands exist, the /ask example matches the API."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target "title") and ![alt](target); [label]: target reference definitions.
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CLI = re.compile(r"python3? -m app[ \t]+([a-z][a-z0-9_-]*)")


def links(markdown: str) -> list[str]:
    """The link targets of a Markdown text, leaving out code blocks and inline code."""
    prose = _INLINE_CODE.sub("", _FENCE.sub("", markdown))
    return _INLINE_LINK.findall(prose) + _REFERENCE.findall(prose)


def broken_links(doc: Path) -> list[str]:
    """Relative links in `doc` whose file does not exist (anchors and queries stripped)."""
    broken = []
    for target in links(doc.read_text(encoding="utf-8")):
        if _SCHEME.match(target) or target.startswith("#"):
            continue  # http(s), mailto, ...; or an anchor on the same page
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (doc.parent / path).exists():
            broken.append(target)
    return broken


def code_blocks(markdown: str) -> list[str]:
    return [m.group(0) for m in _FENCE.finditer(markdown)]


def readme_commands() -> list[str]:
    """The distinct `python -m app <cmd>` subcommands shown in the README's code blocks."""
    found = (_CLI.findall(block) for block in code_blocks(README.read_text(encoding="utf-8")))
    return sorted({cmd for block in found for cmd in block})


def ask_example(markdown: str) -> dict[str, Any]:
    """The JSON printed after the README's `curl -X POST .../ask` line, up to the block's end."""
    lines = markdown.splitlines()
    start = next(
        i for i, line in enumerate(lines) if "curl" in line and "POST" in line and "/ask" in line
    )
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("```", "~~~")))
    body = lines[start + 1 : end]
    first = next(i for i, line in enumerate(body) if line.startswith("{"))
    return json.loads("\n".join(body[first:]))


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Follow $ref (and a single-schema allOf/anyOf) to the schema itself."""
    while True:
        if "$ref" in schema:
            node: Any = spec
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        elif len(schema.get("allOf", ())) == 1:
            schema = schema["allOf"][0]
        elif len(schema.get("anyOf", ())) == 1:
            schema = schema["anyOf"][0]
        else:
            return schema


def key_mismatches(
    value: Any, schema: dict[str, Any], spec: dict[str, Any], where: str = "$"
) -> list[str]:
    """Where `value`'s keys differ from the schema's properties, recursively."""
    schema = resolve(schema, spec)
    if isinstance(value, dict) and "properties" in schema:
        expected, shown = set(schema["properties"]), set(value)
        problems = [f"{where}: missing {sorted(expected - shown)}"] if expected - shown else []
        problems += [f"{where}: unknown {sorted(shown - expected)}"] if shown - expected else []
        for key in sorted(expected & shown):
            problems += key_mismatches(
                value[key], schema["properties"][key], spec, f"{where}.{key}"
            )
        return problems
    if isinstance(value, list) and "items" in schema:
        return [
            problem
            for i, item in enumerate(value)
            for problem in key_mismatches(item, schema["items"], spec, f"{where}[{i}]")
        ]
    return []


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    """The live schema, from the app factory alone: no lifespan, so no model or index."""
    return create_app(Settings(log_json=False)).openapi()


def ask_schema(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"]["/ask"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = broken_links(doc)
    assert not broken, f"{doc.relative_to(ROOT)} links to missing files: {broken}"


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x")
    doc = tmp_path / "page.md"
    doc.write_text(
        "[ok](there.md#part) [web](https://example.com/x) [mail](mailto:a@b.c) [top](#top)\n"
        "[gone](missing.md#part) ![plot](gone.png)\n\n```\n[in code](nowhere.md)\n```\n"
        "`[inline](nowhere.md)`\n\n[ref]: also-missing.md\n"
    )
    assert sorted(broken_links(doc)) == ["also-missing.md", "gone.png", "missing.md#part"]


def test_the_readme_shows_the_cli() -> None:
    assert {"index", "ask", "serve", "eval"} <= set(readme_commands())


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_exists(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert done.returncode == 0, done.stderr


def test_a_missing_command_fails_its_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "no-such-command", "--help"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env=os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert done.returncode != 0


def test_the_ask_example_has_the_response_schemas_keys(openapi: dict[str, Any]) -> None:
    example = ask_example(README.read_text(encoding="utf-8"))
    assert example["answers"], "the example should show at least one answer"
    assert key_mismatches(example, ask_schema(openapi), openapi) == []


def test_a_renamed_key_in_the_example_is_caught(openapi: dict[str, Any]) -> None:
    example = ask_example(README.read_text(encoding="utf-8"))
    example["answers"][0]["source"] = example["answers"][0].pop("citation")
    example["answers"][1]["citation"]["line"] = example["answers"][1]["citation"].pop("paragraph")
    assert key_mismatches(example, ask_schema(openapi), openapi) == [
        "$.answers[0]: missing ['citation']",
        "$.answers[0]: unknown ['source']",
        "$.answers[1].citation: missing ['paragraph']",
        "$.answers[1].citation: unknown ['line']",
    ]
