"""The MCP server (app/assistants.py), driven by the SDK's own client: over streamable HTTP
against a real server on a free port, and over stdio against `python -m app mcp`."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from app.archive.embed import Embedder
from app.config import Settings
from app.main import create_app
from app.security import is_limited
from tests.servers import ROOT, Server, kill_leftovers, start_server

T = TypeVar("T")
MCP_TOKEN = "mcp-token-9d41"
NEWSROOM_ORIGIN = "https://newsroom.example"
QUESTION = "How much did Denmark pay Kosovo?"
TOOLS = {"ask_archive", "search_archive", "get_article", "get_paragraph"}
# A bare JSON-RPC call, for the refusals that come before any MCP is spoken.
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def server(seeds_index: Path) -> Iterator[Server]:
    served = start_server(
        seeds_index, MCP_TOKEN=MCP_TOKEN, NEWSROOM_CORS_ORIGINS=f'["{NEWSROOM_ORIGIN}"]'
    )
    try:
        yield served
    finally:
        served.stop()
        kill_leftovers()


def over_http(server: Server, use: Callable[[Client], Awaitable[T]]) -> T:
    async def session() -> T:
        headers = {"Authorization": f"Bearer {MCP_TOKEN}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
            transport = streamable_http_client(f"{server.url}/mcp", http_client=http)
            async with Client(transport) as c:
                return await use(c)

    return anyio.run(session)


def over_stdio(index_dir: Path, use: Callable[[Client], Awaitable[T]]) -> T:
    command = StdioServerParameters(
        command=sys.executable,
        args=["-m", "app", "mcp", "--index-dir", str(index_dir)],
        env={"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )

    async def session() -> T:
        async with Client(command, read_timeout_seconds=120) as c:
            return await use(c)

    return anyio.run(session)


async def every_tool(c: Client) -> dict[str, Any]:
    """The tools listed, and one good call of each."""
    listed = (await c.list_tools()).tools
    asked = await c.call_tool("ask_archive", {"question": QUESTION})
    top = asked.structured_content["answers"][0]["citation"] if asked.structured_content else {}
    return {
        "tools": {t.name: t for t in listed},
        "ask": asked,
        "search": await c.call_tool("search_archive", {"query": "Kosovo payment", "limit": 3}),
        "article": await c.call_tool("get_article", {"file": top.get("file", "")}),
        "paragraph": await c.call_tool(
            "get_paragraph", {"file": top.get("file", ""), "paragraph": top.get("paragraph", 0)}
        ),
    }


def check_every_tool(calls: dict[str, Any], corpus: Path) -> None:
    tools = calls["tools"]
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.annotations.read_only_hint is True
        assert tool.input_schema["type"] == "object" and tool.output_schema
    assert tools["ask_archive"].input_schema["required"] == ["question"]
    for name in ("ask", "search", "article", "paragraph"):
        result = calls[name]
        assert not result.is_error, result.content
        assert result.structured_content and result.content[0].type == "text"
    asked = calls["ask"].structured_content
    assert asked["question"] == QUESTION and asked["no_answer"] is False
    # The seeds: both articles' figures for Denmark's payment, each quoted verbatim.
    cited = {(a["answer"], a["citation"]["file"]) for a in asked["answers"]}
    assert any("$230 million" in t and f == "003_2876eb5f33050c79.txt" for t, f in cited)
    assert any("€200 million" in t and f == "000_383fbfdafa3fa088.txt" for t, f in cited)
    for a in asked["answers"]:
        c = a["citation"]
        text = (corpus / c["file"]).read_text(encoding="utf-8")
        assert text[c["start"] : c["end"]] == a["answer"] and 0 <= a["score"] <= 1
    passages = calls["search"].structured_content["passages"]
    assert 1 <= len(passages) <= 3 and all("Kosovo" in p["text"] for p in passages)
    article = calls["article"].structured_content
    assert article["article"]["title"] and article["paragraphs"][0]["paragraph"] == 1
    paragraph = calls["paragraph"].structured_content
    assert paragraph in article["paragraphs"]
    assert asked["answers"][0]["answer"] in paragraph["text"]


BAD_CALLS = [
    ("get_article", {"file": "no-such-article.txt"}, "No article named"),
    ("get_paragraph", {"file": "000_383fbfdafa3fa088.txt", "paragraph": 999}, "no paragraph 999"),
    ("ask_archive", {"question": "   "}, "the question is empty"),
    ("ask_archive", {"question": QUESTION, "top_k": 50}, "it may be at most 10"),
    ("ask_archive", {"question": QUESTION, "top_k": 0}, "top_k"),
    ("search_archive", {"query": "Kosovo", "limit": 500}, "limit is 500"),
    ("search_archive", {"query": " "}, "The query is empty"),
    (
        "ask_archive",
        {"question": QUESTION, "published_after": "2025-01-01", "published_before": "2024-01-01"},
        "must be earlier than",
    ),
]


async def bad_calls(c: Client) -> list[tuple[bool, str]]:
    results = [await c.call_tool(name, args) for name, args, _ in BAD_CALLS]
    return [(r.is_error, r.content[0].text) for r in results]


def check_bad_calls(outcomes: list[tuple[bool, str]]) -> None:
    for (is_error, text), (name, _, expected) in zip(outcomes, BAD_CALLS, strict=True):
        assert is_error, name
        assert expected in text and "Traceback" not in text, text


def test_every_tool_answers_over_http(server: Server, settings: Any) -> None:
    check_every_tool(over_http(server, every_tool), settings.corpus_dir)


def test_bad_arguments_are_tool_errors_over_http(server: Server) -> None:
    check_bad_calls(over_http(server, bad_calls))


def test_every_tool_answers_over_stdio(seeds_index: Path, settings: Any) -> None:
    async def both(c: Client) -> tuple[dict[str, Any], list[tuple[bool, str]]]:
        return await every_tool(c), await bad_calls(c)

    calls, outcomes = over_stdio(seeds_index, both)
    check_every_tool(calls, settings.corpus_dir)
    check_bad_calls(outcomes)


def test_mcp_over_http_needs_the_token(server: Server) -> None:
    url = f"{server.url}/mcp"
    missing = httpx.post(url, json=LIST_TOOLS, headers=ACCEPT)
    wrong = httpx.post(url, json=LIST_TOOLS, headers={**ACCEPT, "Authorization": "Bearer nope"})
    for response in (missing, wrong):
        assert response.status_code == 401 and "MCP_TOKEN" in response.json()["error"]
        assert response.headers["www-authenticate"] == "Bearer"
    good = httpx.post(
        url, json=LIST_TOOLS, headers={**ACCEPT, "Authorization": f"Bearer {MCP_TOKEN}"}
    )
    assert good.status_code == 200


def test_mcp_over_http_refuses_a_foreign_origin(server: Server) -> None:
    auth = {**ACCEPT, "Authorization": f"Bearer {MCP_TOKEN}"}
    url = f"{server.url}/mcp"
    foreign = httpx.post(url, json=LIST_TOOLS, headers={**auth, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "Origin" in foreign.json()["error"]
    ours = httpx.post(url, json=LIST_TOOLS, headers={**auth, "Origin": NEWSROOM_ORIGIN})
    assert ours.status_code == 200


def test_mcp_over_http_is_off_unless_configured(client: Any) -> None:
    response = client.post("/mcp", json=LIST_TOOLS, headers=ACCEPT)
    assert response.status_code == 404


def test_mcp_over_http_is_rate_limited_like_ask() -> None:
    assert is_limited({"type": "http", "path": "/mcp", "query_string": b""})


def test_mcp_over_http_is_open_when_turned_on_without_a_token(
    settings: Settings, embedder: Embedder
) -> None:
    turned_on = settings.model_copy(update={"mcp": True})
    with TestClient(create_app(turned_on, embedder=embedder)) as client:
        response = client.post("/mcp", json=LIST_TOOLS, headers=ACCEPT)
        metrics = client.get("/metrics").text
    assert response.status_code == 200
    assert {t["name"] for t in response.json()["result"]["tools"]} == TOOLS
    assert 'route="/mcp",status="200"' in metrics
