"""The editors' desk (/desk) and the archive list (/archive), in-process with the real model:
sign-in, the session cookie, CSRF, writes through app/publish.py, escaping, paging."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from fastapi.testclient import TestClient

from app.archive.ingest import build_index
from app.archive.ingest_queue import build_in_database
from app.config import Settings
from app.live_database import database_store
from app.main import create_app
from app.web import desk_session
from tests.conftest import ROOT
from tests.servers import TOKEN, make_archive

DATED = ROOT / "tests" / "data" / "dated"
LIGHTS = "Harbour lights\n\nThe harbour lights were switched on by the mayor at dusk on Friday.\n"
FERRY = "How many passengers did the Gullhaven ferry carry on its first day?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """The seeds and the dated reservoir and budget articles (2022-2025), in one archive."""
    index_dir = make_archive(tmp_path_factory.mktemp("desk"), embedder)
    corpus = index_dir.parent / "corpus"
    for path in DATED.iterdir():
        shutil.copy(path, corpus / path.name)
    build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    return index_dir


def desk_settings(index_dir: Path, **changes: object) -> Settings:
    base = {"index_dir": index_dir, "api_token": TOKEN, "rate_limit_per_minute": 0}
    return Settings(**{**base, "archive_page_size": 3, **changes})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def desk(index_dir: Path, embedder) -> Iterator[TestClient]:
    app = create_app(desk_settings(index_dir, desk_sign_ins_per_minute=0), embedder=embedder)
    with TestClient(app) as client:
        yield client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient) -> str:
    """Signs in; returns the signed-in session's CSRF token."""
    client.cookies.clear()
    first = client.get("/desk")
    done = client.post(
        "/desk/sign-in",
        data={"csrf": csrf_of(first.text), "token": TOKEN},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return csrf_of(client.get("/desk").text)


def test_the_desk_is_off_without_a_token(client: TestClient) -> None:
    page = client.get("/desk")
    assert page.status_code == 403 and "no API_TOKEN is configured" in page.text
    assert client.post("/desk/add", data={"text": "x"}).status_code == 403


def test_signing_in_sets_an_httponly_strict_expiring_cookie(desk: TestClient) -> None:
    desk.cookies.clear()
    first = desk.get("/desk")
    assert 'name="token"' in first.text and 'type="password"' in first.text
    done = desk.post(
        "/desk/sign-in", data={"csrf": csrf_of(first.text), "token": TOKEN}, follow_redirects=False
    )
    cookie = done.headers["set-cookie"]
    assert cookie.startswith(f"{desk_session.COOKIE}=")
    for part in ("HttpOnly", "SameSite=strict", "Max-Age=28800", "Path=/desk"):
        assert part in cookie
    page = desk.get("/desk")
    assert "Add an article" in page.text and "Sign out" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_wrong_token_is_told_plainly(desk: TestClient) -> None:
    desk.cookies.clear()
    first = desk.get("/desk")
    wrong = desk.post("/desk/sign-in", data={"csrf": csrf_of(first.text), "token": "guess"})
    assert wrong.status_code == 401
    assert "That is not the desk&#39;s token" in wrong.text
    assert "Add an article" not in wrong.text


def test_sign_in_attempts_are_rate_limited(index_dir: Path, embedder) -> None:
    settings = desk_settings(index_dir, desk_sign_ins_per_minute=2)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        csrf = csrf_of(client.get("/desk").text)
        codes = [
            client.post("/desk/sign-in", data={"csrf": csrf, "token": "guess"}).status_code
            for _ in range(2)
        ]
        third = client.post("/desk/sign-in", data={"csrf": csrf, "token": TOKEN})
    assert codes == [401, 401]
    assert third.status_code == 429 and "Too many sign-in attempts" in third.text
    assert int(third.headers["retry-after"]) > 0


@pytest.mark.parametrize("csrf", [None, "", "not-the-token"])
def test_a_form_without_its_csrf_token_is_refused(desk: TestClient, csrf: str | None) -> None:
    sign_in(desk)
    data = {"title": "Refused", "text": "A paragraph of enough words to index here."}
    if csrf is not None:
        data["csrf"] = csrf
    refused = desk.post("/desk/add", data=data)
    assert refused.status_code == 403
    assert "security token (CSRF) is missing or does not match" in refused.text


def test_sign_in_itself_needs_the_csrf_token(desk: TestClient) -> None:
    desk.cookies.clear()
    desk.get("/desk")
    refused = desk.post("/desk/sign-in", data={"token": TOKEN}, follow_redirects=False)
    assert refused.status_code == 403 and "CSRF" in refused.text


def test_a_forged_session_cookie_is_refused(desk: TestClient) -> None:
    csrf = sign_in(desk)
    value = desk.cookies[desk_session.COOKIE]
    desk.cookies.clear()
    forged = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    desk.cookies.set(desk_session.COOKIE, forged, path="/desk")
    refused = desk.post("/desk/withdraw", data={"csrf": csrf, "file": "2022-03-reservoir.md"})
    assert refused.status_code == 403 and "not valid" in refused.text
    assert "sign in again" in desk.get("/desk").text


def test_an_expired_session_cookie_is_refused(desk: TestClient) -> None:
    session = desk_session.new(editor=True)
    long_ago = time.time() - 9 * 3600  # the sessions last 8 hours
    with mock.patch("itsdangerous.timed.time.time", return_value=long_ago):
        value = desk_session.cookie_value(session, TOKEN)
    desk.cookies.clear()
    desk.cookies.set(desk_session.COOKIE, value, path="/desk")
    refused = desk.post("/desk/withdraw", data={"csrf": session.csrf, "file": "x.md"})
    assert refused.status_code == 403 and "has expired" in refused.text
    assert desk_session.read(value, TOKEN, max_age_s=10 * 3600)[0] == session


def test_a_session_signed_under_another_token_is_refused() -> None:
    value = desk_session.cookie_value(desk_session.new(editor=True), "another-token")
    session, problem = desk_session.read(value, TOKEN, max_age_s=3600)
    assert session is None and problem == desk_session.FORGED


def test_add_correct_and_withdraw_from_the_desk(desk: TestClient) -> None:
    csrf = sign_in(desk)
    text = (
        "Gullhaven ferry returns\n\nThe Gullhaven ferry carried 4,200 passengers on its first "
        "day back, the operator said.\n"
    )
    added = desk.post(
        "/desk/add",
        data={"csrf": csrf, "title": "Gullhaven ferry back", "published": "2025-06-01",
              "author": "Ana Ruiz", "source": "Daily Ledger", "text": text},
    )  # fmt: skip
    assert added.status_code == 200, added.text
    assert "Added gullhaven-ferry-back.md:" in added.text and "indexed" in added.text
    assert "4,200" in desk.get("/", params={"q": FERRY}).text

    form = desk.get("/desk/correct", params={"file": "gullhaven-ferry-back.md"})
    assert "title: Gullhaven ferry back" in form.text  # the stored text, front matter too
    corrected = desk.post(
        "/desk/correct",
        data={"csrf": csrf, "file": "gullhaven-ferry-back.md", "note": "The count was 4,300.",
              "text": text.replace("4,200", "4,300")},
    )  # fmt: skip
    assert "Corrected gullhaven-ferry-back.md:" in corrected.text
    page = desk.get("/", params={"q": FERRY}).text
    assert "4,300" in page and "The count was 4,300." in page

    ask = desk.post("/desk/withdraw", data={"csrf": csrf, "file": "gullhaven-ferry-back.md"})
    assert "Withdraw this article?" in ask.text and 'name="confirm" value="yes"' in ask.text
    assert "4,300" in desk.get("/", params={"q": FERRY}).text  # not yet
    gone = desk.post(
        "/desk/withdraw",
        data={"csrf": csrf, "file": "gullhaven-ferry-back.md", "confirm": "yes"},
    )
    assert "Withdrew gullhaven-ferry-back.md:" in gone.text
    assert "gullhaven-ferry-back.md" not in desk.get("/", params={"q": FERRY}).text
    assert desk.get("/documents/gullhaven-ferry-back.md").status_code == 410


def test_a_desk_write_error_is_said_on_the_page(desk: TestClient) -> None:
    csrf = sign_in(desk)
    clash = desk.post(
        "/desk/add", data={"csrf": csrf, "name": "2022-03-reservoir.md", "text": LIGHTS}
    )
    assert clash.status_code == 409 and "already in the archive" in clash.text
    empty = desk.post("/desk/add", data={"csrf": csrf, "title": "Nothing"})
    assert empty.status_code == 422 and "Paste the article&#39;s text" in empty.text
    missing = desk.post("/desk/withdraw", data={"csrf": csrf, "file": "nope.md"})
    assert missing.status_code == 404 and "No article named" in missing.text


def test_an_uploaded_file_is_added(desk: TestClient) -> None:
    csrf = sign_in(desk)
    body = (
        b"Harbour lights\n\nThe harbour lights were switched on by the mayor at dusk on Friday.\n"
    )
    added = desk.post(
        "/desk/add",
        data={"csrf": csrf, "title": "Harbour lights on"},
        files={"upload": ("harbour-lights.md", body, "text/markdown")},
    )
    assert added.status_code == 200 and "Added harbour-lights.md:" in added.text


def test_hostile_headlines_are_escaped_everywhere(desk: TestClient) -> None:
    csrf = sign_in(desk)
    hostile = '<script>alert("x")</script> Lighthouse keeper retires'
    text = "Lighthouse\n\nThe Skerry lighthouse keeper retired after forty-one years of service.\n"
    added = desk.post(
        "/desk/add", data={"csrf": csrf, "name": "lighthouse.md", "title": hostile, "text": text}
    )
    assert added.status_code == 200
    pages = [
        desk.get("/archive", params={"words": "lighthouse"}).text,
        desk.get("/", params={"q": "How long did the Skerry lighthouse keeper serve?"}).text,
        desk.get("/documents/lighthouse.md").text,
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_sign_out_ends_the_session(desk: TestClient) -> None:
    csrf = sign_in(desk)
    out = desk.post("/desk/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    page = desk.get("/desk?out=1")
    assert "You are signed out." in page.text and 'name="token"' in page.text


# --- /archive -------------------------------------------------------------------------------


def listed(page: str) -> list[str]:
    return re.findall(r'<span class="file">([^ <]+) ·', page)


def test_the_archive_lists_newest_first_in_pages(desk: TestClient) -> None:
    first = desk.get("/archive")
    assert first.status_code == 200
    assert listed(first.text) == [
        "2025-06-budget.md",
        "2025-02-reservoir.md",
        "2024-05-reservoir.md",
    ]
    assert "page 1 of" in first.text and 'rel="next"' in first.text
    second = desk.get("/archive", params={"page": 2})
    assert listed(second.text)[0] == "2024-01-budget.md" and 'rel="prev"' in second.text


def test_the_archive_filters_by_dates_section_outlet_and_headline(desk: TestClient) -> None:
    between = desk.get("/archive", params={"after": "2023-01-01", "before": "2023-12-31"}).text
    assert listed(between) == ["2023-08-reservoir.md", "2023-02-budget.md"]
    section = desk.get("/archive", params={"section": "politics"}).text
    assert set(listed(section)) <= {"2023-02-budget.md", "2024-01-budget.md", "2025-06-budget.md"}
    words = desk.get("/archive", params={"words": "RESERVOIR 82"}).text
    assert listed(words) == ["2022-03-reservoir.md"]
    assert "1 article" in words


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"page": "0"}, "pages count from 1"),
        ({"page": "-3"}, "pages count from 1"),
        ({"page": "two"}, "is not a page number"),
        ({"after": "soon"}, "is not a date"),
        ({"after": "2025-01-01", "before": "2024-01-01"}, "is later than"),
    ],
)
def test_bad_archive_queries_are_told_plainly(desk: TestClient, query, says) -> None:
    page = desk.get("/archive", params=query)
    assert page.status_code == 422 and says in page.text


def test_a_page_past_the_end_shows_the_last(desk: TestClient) -> None:
    page = desk.get("/archive", params={"page": 10**9})
    assert page.status_code == 200 and "this is the last" in page.text
    assert listed(page.text)


def test_the_desk_and_the_archive_work_on_the_database_store(
    postgres, embedder, tmp_path: Path
) -> None:
    url = postgres.fresh()
    store = database_store(Settings(), embedder, url)
    store.db.migrate()
    build_in_database(DATED, store, load_embedder=lambda: embedder)
    store.db.close()
    settings = desk_settings(tmp_path / "index", database_url=url, desk_sign_ins_per_minute=0)
    with TestClient(create_app(settings, embedder=embedder)) as client:
        assert listed(client.get("/archive").text)[0] == "2025-06-budget.md"
        csrf = sign_in(client)
        form = client.get("/desk/correct", params={"file": "2022-03-reservoir.md"})
        assert "title: Millbrook Reservoir stands at 82 percent" in form.text
        added = client.post("/desk/add", data={"csrf": csrf, "title": "Harbour", "text": LIGHTS})
        assert "Added harbour.md:" in added.text
        assert "harbour.md" in listed(client.get("/archive", params={"words": "harbour"}).text)
