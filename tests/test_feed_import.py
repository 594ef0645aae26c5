"""python -m app import: feed items into the corpus as front-matter .md files, fetched from a
real loopback HTTP server where the feed is a URL; twice the same feed changes nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.archive.extracted import read_article
from app.config import Settings
from app.errors import BadFeed
from app.feed_import import fetch, file_name, import_feed
from app.publish import check_name
from tests.conftest import ROOT

FEEDS = Path(__file__).parent / "data" / "feeds"
SETTINGS = Settings(feed_timeout_s=2.0, feed_max_bytes=64 * 1024)


def _files(corpus: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(corpus.iterdir())}


@pytest.mark.parametrize("feed", ["wire.jsonl", "courier.rss", "wire.atom"])
def test_importing_the_same_feed_twice_changes_nothing(tmp_path: Path, feed: str):
    first = import_feed(str(FEEDS / feed), tmp_path, SETTINGS)
    assert first.added and not first.updated and not first.unchanged
    before = _files(tmp_path)
    time.sleep(0.01)  # a rewrite would show in the mtimes
    again = import_feed(str(FEEDS / feed), tmp_path, SETTINGS)
    assert (again.added, again.updated, sorted(again.unchanged)) == ([], [], sorted(first.added))
    assert _files(tmp_path) == before


def test_an_imported_item_is_an_article_with_its_metadata(tmp_path: Path):
    done = import_feed(str(FEEDS / "wire.atom"), tmp_path, SETTINGS)
    name = file_name("tag:wire.example,2022-12-20:kosovo-denmark")
    assert name in done.added and name.startswith("tag-wire-example-2022-12-20-kosovo-denmark-")
    article = read_article(tmp_path / name)
    assert article.warnings == ()
    assert article.title == "Kosovo agrees to take prisoners from Denmark"
    assert article.meta.source == "Northern Wire Service: Europe"
    assert article.meta.published == "2022-12-20T14:05:00+00:00"
    assert article.meta.id == "tag:wire.example,2022-12-20:kosovo-denmark"
    assert [p.text for p in article.paragraphs][1].startswith("Denmark will pay Kosovo €200")


def test_a_changed_item_updates_its_file_only(tmp_path: Path):
    feed = tmp_path / "feed.jsonl"
    line = '{"id": "a-1", "title": "Ferry", "text": "The ferry costs £14.2 million to build."}'
    other = '{"id": "b-2", "title": "Quay", "text": "The quay repairs finished in March."}'
    feed.write_text(f"{line}\n{other}\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    import_feed(str(feed), corpus, SETTINGS)
    feed.write_text(f"{line.replace('14.2', '14.5')}\n{other}\n")
    done = import_feed(str(feed), corpus, SETTINGS)
    assert (done.updated, done.unchanged) == ([file_name("a-1")], [file_name("b-2")])
    assert "£14.5 million" in (corpus / file_name("a-1")).read_text()


def test_the_same_id_twice_in_one_feed_is_reported(tmp_path: Path):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "x", "text": "First version of it."}\n{"id": "x", "text": "Second."}\n')
    done = import_feed(str(feed), tmp_path, SETTINGS)
    assert done.skipped == [("line 2", "the same id or URL as line 1")]


@pytest.mark.parametrize(
    "key",
    ["https://www.wire.example/2025/05/20/ferry-delay?utm=rss", "tag:x,2022:é/ü", "…", "a" * 500],
)
def test_file_names_are_stable_and_names_the_write_api_takes(key: str):
    assert file_name(key) == file_name(key) == check_name(file_name(key))
    assert file_name(key) != file_name(key + "2")


class _Feeds(BaseHTTPRequestHandler):
    routes: dict[str, tuple[str, bytes]] = {
        "/wire.atom": ("application/atom+xml; charset=utf-8", (FEEDS / "wire.atom").read_bytes()),
        "/page": ("text/html; charset=utf-8", b"<html><body>Not a feed</body></html>"),
        "/huge.jsonl": ("application/x-ndjson", b'{"id": "x", "text": "y"}\n' * 5000),
    }

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/slow":
            time.sleep(3)
        kind, body = self.routes.get(self.path, ("text/plain", b"missing"))
        self.send_response(404 if self.path == "/gone" else 200)
        self.send_header("Content-Type", kind)
        if self.path != "/huge.jsonl":  # no length: the limit must hold while reading
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def feed_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_feed_url_is_fetched_and_imported(feed_server: str, tmp_path: Path):
    done = import_feed(f"{feed_server}/wire.atom", tmp_path, SETTINGS)
    assert len(done.added) == 2 and done.skipped == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "served as text/html, not as a feed"),
        ("/huge.jsonl", "larger than 65536 bytes, the limit for a feed"),
        ("/slow", "no answer within 2 s"),
        ("/gone", "the server answered 404 Not Found"),
    ],
)
def test_a_feed_url_that_is_not_a_feed_gives_a_clear_error(
    feed_server: str, path: str, message: str
):
    with pytest.raises(BadFeed, match=message):
        fetch(f"{feed_server}{path}", timeout=2.0, max_bytes=64 * 1024)


def test_a_feed_url_nobody_answers_is_refused():
    with pytest.raises(BadFeed, match="cannot fetch it"):
        fetch("http://127.0.0.1:9/feed.rss", timeout=2.0, max_bytes=1024)


def _import(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "import", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )


def test_the_import_command_reports_what_it_did(tmp_path: Path):
    feed = str(FEEDS / "wire.jsonl")
    done = _import(feed, "--corpus", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"into {tmp_path}: 3 added, 0 updated, 0 unchanged, 2 skipped." in done.stdout
    assert "skipped line 3: not JSON" in done.stdout
    assert "warning line 6: field 'published'" in done.stdout
    assert f"index them: python -m app index {tmp_path}" in done.stdout
    again = _import(feed, "--corpus", str(tmp_path))
    assert "0 added, 0 updated, 3 unchanged, 2 skipped." in again.stdout


def test_the_import_command_fails_clearly(tmp_path: Path):
    missing = _import(str(tmp_path / "nope.rss"), "--corpus", str(tmp_path))
    assert missing.returncode == 1 and "nope.rss: cannot read it" in missing.stderr
    no_corpus = _import(str(FEEDS / "wire.atom"), "--corpus", str(tmp_path / "absent"))
    assert no_corpus.returncode == 2 and "is not a folder" in no_corpus.stderr
    assert "Traceback" not in missing.stderr + no_corpus.stderr


def test_an_imported_feed_is_indexed_and_cited_with_its_outlet(tmp_path: Path, embedder):
    from app.archive.ingest import build_index
    from app.live import Archive

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    import_feed(str(FEEDS / "wire.atom"), corpus, SETTINGS)
    import_feed(str(FEEDS / "courier.rss"), corpus, SETTINGS)
    index_dir = tmp_path / "index"
    build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    archive = Archive(index_dir, embedder)
    archive.load()
    best = archive.reader.ask("How much will Denmark pay Kosovo?", top_k=1).answers[0]
    assert best.answer == "€200 million"
    assert best.citation.meta.source == "Northern Wire Service: Europe"
    text = (corpus / best.citation.file).read_text(encoding="utf-8")
    assert text[best.citation.start : best.citation.end] == best.answer
