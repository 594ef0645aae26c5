"""Writing to the live archive: POST/PUT/DELETE /documents, in-process with the real model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app import publish
from app.archive import store
from app.archive.corpus import read_text
from app.archive.embed import Embedder
from app.config import Settings
from app.files import partial_path, write_text_atomically
from app.main import create_app
from tests.servers import AUTH, TOKEN, agrees, article, make_archive


class SpyEmbedder:
    """The real model, remembering what it was asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.texts: list[str] = []

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts, progress=progress)


@pytest.fixture(scope="module")
def spy(embedder: Embedder) -> SpyEmbedder:
    return SpyEmbedder(embedder)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    return make_archive(tmp_path_factory.mktemp("publish"), embedder)


@pytest.fixture(scope="module")
def writer(index_dir: Path, spy: SpyEmbedder) -> Iterator[TestClient]:
    settings = Settings(index_dir=index_dir, api_token=TOKEN, rate_limit_per_minute=0)
    with TestClient(create_app(settings, embedder=spy)) as client:
        yield client


def cited_files(client: TestClient, question: str) -> list[str]:
    response = client.get("/ask", params={"q": question})
    assert response.status_code == 200
    return [a["citation"]["file"] for a in response.json()["answers"]]


def test_writes_are_forbidden_when_no_token_is_configured(client: TestClient) -> None:
    response = client.post("/documents", json={"file": "a.txt", "text": "x"}, headers=AUTH)
    assert response.status_code == 403
    assert "API_TOKEN" in response.json()["error"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_write_without_the_right_token_is_unauthorized(
    writer: TestClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = writer.delete("/documents/000_383fbfdafa3fa088.txt", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_added_article_is_cited_and_only_it_is_embedded(
    writer: TestClient, spy: SpyEmbedder, index_dir: Path
) -> None:
    spy.texts.clear()
    text = article("Harbour bridge", "The engineer Ottoline Marsh designed the harbour bridge.")
    response = writer.post("/documents", json={"file": "bridge.txt", "text": text}, headers=AUTH)
    assert response.status_code == 201
    assert response.json() == {
        "action": "added", "file": "bridge.txt", "paragraphs": 2, "chunks": 1,
        "url": "/documents/bridge.txt",
    }  # fmt: skip
    assert spy.texts and all(t in text or "Harbour bridge" in t for t in spy.texts)
    assert cited_files(writer, "Who designed the harbour bridge?")[0] == "bridge.txt"
    assert agrees(index_dir)


def test_corrected_article_replaces_the_old_text(writer: TestClient, index_dir: Path) -> None:
    old = article("Mayor race", "Councillor Bramwell Oduya won the mayor race in Tallow.")
    new = article("Mayor race", "Councillor Ines Farrow won the mayor race in Tallow.")
    assert writer.post("/documents", json={"file": "mayor.md", "text": old}, headers=AUTH)
    files = {"file": ("ignored.txt", new.encode())}
    response = writer.put("/documents/mayor.md", files=files, headers=AUTH)
    assert response.status_code == 200 and response.json()["action"] == "replaced"
    answer = writer.get("/ask", params={"q": "Who won the mayor race in Tallow?"}).json()
    assert "Ines Farrow" in answer["answers"][0]["answer"]
    assert not any("Oduya" in a["passage"] for a in answer["answers"])
    assert read_text(store.load(index_dir).corpus_dir / "mayor.md") == new


def test_withdrawn_article_is_never_cited(writer: TestClient, index_dir: Path) -> None:
    text = article("Zoo escape", "A capybara named Pomelo escaped from the Drury zoo.")
    writer.post("/documents", json={"file": "zoo.txt", "text": text}, headers=AUTH)
    assert cited_files(writer, "Which animal escaped from the Drury zoo?")[0] == "zoo.txt"
    response = writer.delete("/documents/zoo.txt", headers=AUTH)
    assert response.json()["action"] == "withdrawn"
    assert "zoo.txt" not in cited_files(writer, "Which animal escaped from the Drury zoo?")
    assert writer.get("/documents/zoo.txt").status_code == 410  # a tombstone says when
    assert not (store.load(index_dir).corpus_dir / "zoo.txt").exists()
    assert agrees(index_dir)


def test_republishing_the_same_text_changes_nothing(writer: TestClient) -> None:
    text = article("Tide tables", "The spring tide at Wexmouth peaked at nine metres.")
    writer.post("/documents", json={"file": "tide.txt", "text": text}, headers=AUTH)
    response = writer.put("/documents/tide.txt", json={"text": text}, headers=AUTH)
    assert response.json()["action"] == "unchanged"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"file": "../etc/passwd.txt", "text": "Some words here now."}, 400, "not an article"),
        ({"file": "notes.pdf", "text": "Some words here now."}, 400, ".txt or .md"),
        ({"file": ".hidden.txt", "text": "Some words here now."}, 400, "not an article"),
        ({"file": "a b.txt", "text": "Some words here now."}, 400, "not an article"),
        ({"file": "big.txt", "text": "word " * 450_000}, 413, "limit"),
        ({"file": "blank.txt", "text": " \n\u200b\n"}, 422, "nothing to index"),
        ({"file": "bridge.txt", "text": "Another text about a bridge."}, 409, "PUT"),
    ],
)
def test_bad_uploads_get_clear_errors(
    writer: TestClient, body: dict[str, str], status: int, words: str
) -> None:
    response = writer.post("/documents", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert words in response.json()["error"]


def test_the_same_text_under_another_name_is_a_conflict_naming_it(writer: TestClient) -> None:
    seeds = writer.get("/documents").json()
    first = seeds[0]["file"]
    text = read_text(Path(writer.app.state.archive.reader.index.corpus_dir) / first)
    response = writer.post("/documents", json={"file": "copy.txt", "text": text}, headers=AUTH)
    assert response.status_code == 409
    assert first in response.json()["error"]


def test_upload_that_is_not_utf8_is_refused(writer: TestClient) -> None:
    files = {
        "file": ("latin1.txt", "Café au lait, crème brûlée, s'il vous plaît.".encode("latin-1"))
    }
    response = writer.post("/documents", files=files, headers=AUTH)
    assert response.status_code == 415


def test_text_that_cannot_be_utf8_is_refused(writer: TestClient) -> None:
    body = b'{"file": "lone.txt", "text": "A lone \\ud800 surrogate is no text at all."}'
    headers = {**AUTH, "Content-Type": "application/json"}
    response = writer.post("/documents", content=body, headers=headers)
    assert response.status_code == 415
    assert "UTF-8" in response.json()["error"]


def test_correcting_an_unknown_article_is_not_found(writer: TestClient) -> None:
    text = article("Nothing", "This article was never published in the first place.")
    response = writer.put("/documents/nope.txt", json={"text": text}, headers=AUTH)
    assert response.status_code == 404


ODD_TEXTS = {
    "crlf.txt": "Ferry strike\r\n\r\nThe ferry crews of Oranmore struck for nine days.\r\n",
    "nofinal.txt": "Ferry strike\n\nThe ferry crews of Oranmore struck for nine days.",
    "bom.txt": "\ufeffFerry strike\n\nThe ferry crews of Oranmore struck for nine days.\n",
    "tabs.md": "Ferry strike\n\n\tThe ferry crews\tof Oranmore struck for nine days.\n",
    "nbsp.txt": "Ferry strike\n\xa0\nThe ferry\xa0crews of Oranmore struck for nine\xa0days.\n",
    "zw.txt": "Ferry strike\n\u200b\nThe ferry crews of Oran\u200bmore struck for nine days.\u200b",
    "huge.txt": "Ferry strike\n\n"
    + " ".join(f"Clause {i} of the deal covers the crews." for i in range(150))
    + " The ferry crews of Oranmore struck for nine days.\n",
}


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_odd_text_is_indexed_and_offsets_slice_back(
    writer: TestClient, index_dir: Path, name: str
) -> None:
    text = ODD_TEXTS[name]
    response = writer.post("/documents", json={"file": name, "text": text}, headers=AUTH)
    assert response.status_code == 201, response.text
    answers = writer.get("/ask", params={"q": "How long did the Oranmore ferry crews strike?"})
    mine = [a for a in answers.json()["answers"] if a["citation"]["file"] == name]
    assert mine, "the new article is cited"
    stored = read_text(store.load(index_dir).corpus_dir / name)
    assert stored == text
    for answer in mine:
        citation = answer["citation"]
        assert stored[citation["start"] : citation["end"]] == answer["answer"]
    writer.delete(f"/documents/{name}", headers=AUTH)


def test_concurrent_writes_are_all_kept(writer: TestClient, index_dir: Path) -> None:
    names = [f"wire-{i}.txt" for i in range(4)]

    def post(i: int) -> None:
        text = article(f"Wire {i}", f"Agency bulletin {i} reports harvest number {i * 7 + 3}.")
        response = writer.post("/documents", json={"file": names[i], "text": text}, headers=AUTH)
        assert response.status_code == 201

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    listed = {d["file"] for d in writer.get("/documents").json()}
    assert set(names) <= listed
    assert agrees(index_dir)


def test_reconcile_repairs_a_corpus_changed_behind_the_index(
    writer: TestClient, index_dir: Path, embedder: Embedder
) -> None:
    corpus = store.load(index_dir).corpus_dir
    walk_in = article("Walk-in", "A clerk filed it by hand.")
    write_text_atomically(corpus / "walkin.txt", walk_in)
    # Half writes killed midway: as app/files.py names them, and as releases before it did.
    partials = [partial_path(corpus / "x.txt"), corpus / ".publish-x.txt.1.part"]
    for partial in partials:
        partial.write_text("half a write")
    assert not agrees(index_dir)
    report = publish.reconcile(index_dir, embedder)
    assert report is not None and report.embedded == ["walkin.txt"]
    assert agrees(index_dir) and not any(p.exists() for p in partials)
    assert publish.reconcile(index_dir, embedder) is None
