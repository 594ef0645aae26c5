"""The web desk in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright,
against one real uvicorn server over a copy of the seeds and the dated articles.

Without Playwright or a Chromium, every test here is reported SKIPPED with the reason.
Screenshots go to .cache/browser-artifacts/ (NEWSROOM_BROWSER_ARTIFACTS moves them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from app.archive.ingest import build_index
from tests.conftest import ROOT
from tests.servers import TOKEN, Server, make_archive, start_server

DATED = ROOT / "tests" / "data" / "dated"
ARTIFACTS = Path(
    os.environ.get("NEWSROOM_BROWSER_ARTIFACTS", ROOT / ".cache" / "browser-artifacts")
)
DENMARK = "How much did Denmark pay Kosovo?"
LEVEL = "What level did Millbrook Reservoir reach?"
FERRY = "How many passengers did the Gullhaven ferry carry on its first day?"
FERRY_TEXT = (
    "Gullhaven ferry returns\n\n"
    "The Gullhaven ferry carried 4,200 passengers on its first day back, the operator said.\n\n"
    "Tickets for the crossing cost the same as before the repairs, the harbour office said.\n"
)
SERIOUS = ("serious", "critical")


def chromium() -> str | None:
    """Debian's chromium (or NEWSROOM_CHROMIUM); Playwright's own downloads are not used."""
    named = os.environ.get("NEWSROOM_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed: pip install -e '.[dev]'")
    path = chromium()
    if path is None:
        pytest.skip("no Chromium found: apt-get install -y chromium (or set NEWSROOM_CHROMIUM)")
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator[Server]:
    """The seeds plus the dated reservoir and budget articles, served by uvicorn."""
    index_dir = make_archive(tmp_path_factory.mktemp("browser"), embedder)
    corpus = index_dir.parent / "corpus"
    for path in DATED.iterdir():
        shutil.copy(path, corpus / path.name)
    build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    started = start_server(index_dir)
    yield started
    started.stop()


@dataclass
class Tab:
    """A page and what its console said; `problems` must stay empty."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def ask(self, question: str, **filters: str) -> None:
        self.open("/")
        self.page.fill("#q", question)
        for name, value in filters.items():
            self.page.fill(f"input[name={name}]", value)
        self.page.click("button:text('Ask')")
        self.page.wait_for_load_state()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def open_tab(browser: Any, server: Server, width: int, height: int) -> Tab:
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = Tab(context.new_page(), server.url)
    tab.page.on("console", lambda m: m.type == "error" and tab.problems.append(m.text))
    tab.page.on("pageerror", lambda e: tab.problems.append(str(e)))
    return tab


@pytest.fixture
def tab(browser: Any, server: Server) -> Iterator[Tab]:
    opened = open_tab(browser, server, 1280, 900)
    yield opened
    opened.page.context.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def test_asking_shows_the_marked_answers_and_their_sources(tab: Tab) -> None:
    tab.ask(DENMARK)
    page = tab.page
    assert page.locator("h2#answers-h").inner_text() == "Sources differ"
    marks = page.locator(".card.answer mark").all_inner_texts()
    assert any("230 million" in m for m in marks) and any("200 million" in m for m in marks)
    first = page.locator(".card.answer").first
    assert "Balkan Deals EXPOSED" in first.locator(".source a").inner_text()
    assert "¶15" in first.locator(".source .file").inner_text()
    assert first.locator("input.copy").input_value().startswith('"Kosovo')
    assert serious_violations(page) == []
    tab.shot("answers-1280")
    assert tab.problems == []


def test_the_source_link_opens_the_highlighted_paragraph(tab: Tab) -> None:
    tab.ask(DENMARK)
    tab.page.locator(".card.answer .source a").first.click()
    tab.page.wait_for_load_state()
    assert tab.page.url.endswith("/documents/003_2876eb5f33050c79.txt?hl=15#p15")
    marked = tab.page.locator("section.para.hl")
    assert marked.count() == 1 and marked.get_attribute("id") == "p15"
    assert "over $230 million" in marked.inner_text()
    assert marked.is_visible() and tab.page.evaluate(
        "() => { const r = document.getElementById('p15').getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }"
    )  # scrolled to it
    assert serious_violations(tab.page) == []
    assert tab.problems == []


def test_a_feedback_button_under_an_answer_is_thanked(tab: Tab) -> None:
    tab.ask(DENMARK)
    card = tab.page.locator(".card.answer").nth(1)
    card.locator("input[name=comment]").fill("The other article says over $230 million.")
    card.locator("button:text('Wrong answer')").click()
    tab.page.wait_for_load_state()
    assert tab.page.locator("h1").inner_text() == "Thank you"
    assert "Wrong answer" in tab.page.locator("main").inner_text()
    tab.page.locator("a:text('Back to the answers')").click()
    assert tab.page.locator("h2#answers-h").inner_text() == "Sources differ"
    assert tab.problems == []


def test_filtering_by_date_keeps_only_those_articles(tab: Tab) -> None:
    tab.ask(LEVEL)
    every = tab.page.locator(".card .source .file").all_inner_texts()
    assert any(not f.startswith("2025-") for f in every)
    tab.ask(LEVEL, after="2025-01-01")
    kept = tab.page.locator(".card .source .file").all_inner_texts()
    assert kept and all(f.startswith("2025-") for f in kept)
    assert tab.page.input_value("input[name=after]") == "2025-01-01"
    tab.open("/archive?" + urlencode({"after": "2024-01-01", "before": "2024-12-31"}))
    listed = tab.page.locator(".shelf-list .file").all_inner_texts()
    assert [f.split(" ")[0] for f in listed] == ["2024-05-reservoir.md", "2024-01-budget.md"]
    assert serious_violations(tab.page) == []
    assert tab.problems == []


def test_an_editor_adds_corrects_and_withdraws_from_the_desk(tab: Tab) -> None:
    page = tab.page
    tab.open("/desk")
    page.fill("#token", TOKEN)
    page.click("button:text('Sign in')")
    assert page.locator("h2#add-h").is_visible()
    assert serious_violations(page) == []

    page.fill("#add-title", "Gullhaven ferry back in service")
    page.fill("#add-published", "2025-06-01")
    page.fill("#add-author", "Ana Ruiz")
    page.fill("#add-source", "Daily Ledger")
    page.fill("#add-text", FERRY_TEXT)
    page.click("button:text('Add to the archive')")
    assert "Added gullhaven-ferry-back-in-service.md:" in page.locator(".outcome").inner_text()
    tab.ask(FERRY)
    assert "4,200" in page.locator(".card.answer mark").first.inner_text()
    assert "Daily Ledger" in page.locator(".card.answer .source").first.inner_text()

    tab.open("/desk")
    page.fill("#correct-file", "gullhaven-ferry-back-in-service.md")
    page.click("button:text('Open for correcting')")
    assert serious_violations(page) == []
    text = page.input_value("#correct-text")
    assert text.startswith("---\ntitle: Gullhaven ferry back in service")
    page.fill("#correct-text", text.replace("4,200", "4,300"))
    page.fill("#correct-note", "The operator's count was 4,300, not 4,200.")
    page.click("button:text('Publish the correction')")
    assert "Corrected gullhaven-ferry-back-in-service.md:" in page.locator(".outcome").inner_text()
    tab.ask(FERRY)
    card = page.locator(".card.answer").first
    assert "4,300" in card.locator("mark").inner_text()
    assert "count was 4,300" in card.locator(".correction").inner_text()

    tab.open("/desk")
    page.fill("#withdraw-file", "gullhaven-ferry-back-in-service.md")
    page.fill("#withdraw-note", "Duplicate of the wire story.")
    page.click("button:text('Withdraw…')")
    assert page.locator("h1").inner_text() == "Withdraw this article?"
    assert serious_violations(page) == []
    page.click("button:text('Yes, withdraw it')")
    assert "Withdrew gullhaven-ferry-back-in-service.md:" in page.locator(".outcome").inner_text()
    tab.ask(FERRY)
    assert "gullhaven" not in page.locator("main").inner_text().casefold()

    tab.open("/desk")
    page.click("button:text('Sign out')")
    assert page.locator("#token").is_visible()
    assert "You are signed out." in page.locator("main").inner_text()
    assert tab.problems == []


def test_the_keyboard_goes_through_the_page_in_reading_order(tab: Tab) -> None:
    tab.open("/?" + urlencode({"q": DENMARK}))  # with a question, nothing takes the focus
    order: list[str] = []
    while len(order) < 11:
        tab.page.keyboard.press("Tab")
        now = tab.page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || e.name || e.textContent.trim(); }"
        )
        if not order or order[-1] != now:  # a date field's day, month and year are one stop
            order.append(now)
    assert order == [
        "Skip to content", "Ask the archive", "Archive", "Desk", "q", "Ask",
        "after", "before", "section", "source", "Balkan Deals EXPOSED — What’s Really Behind Them?",
    ]  # fmt: skip
    assert tab.problems == []


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 900)])
def test_pages_fit_phone_and_desktop_widths(browser: Any, server: Server, width, height) -> None:
    tab = open_tab(browser, server, width, height)
    try:
        pages = {
            "answers": "/?" + urlencode({"q": DENMARK}),
            "article": "/documents/003_2876eb5f33050c79.txt?hl=15#p15",
            "archive": "/archive",
            "desk": "/desk",
        }
        for name, path in pages.items():
            tab.open(path)
            overflow = tab.page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name} is {overflow} px wider than {width} px"
            assert serious_violations(tab.page) == [], name
            assert tab.shot(f"{name}-{width}").stat().st_size > 0
        assert tab.problems == []
    finally:
        tab.page.context.close()


def test_a_missing_browser_is_found_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """So the fixture above skips, with the reason, instead of passing without a browser."""
    monkeypatch.setenv("NEWSROOM_CHROMIUM", "/nonexistent/chromium")
    assert chromium() is None
