import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from app.archive import store
from app.archive.ingest import build_index
from app.errors import IndexMismatch, IndexNotReady
from tests.fakes import HashingEmbedder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def _build(corpus: Path, index_dir: Path, embedder: HashingEmbedder, **kwargs):
    return build_index(
        corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder, **kwargs
    )


def test_an_index_round_trips_through_disk(corpus, tmp_path):
    embedder = HashingEmbedder()
    _build(corpus, tmp_path / "index", embedder)
    index = store.load(tmp_path / "index")
    assert sorted(index.files) == sorted(p.name for p in SEEDS.iterdir())
    assert index.faiss.ntotal == len(index.chunks) == len(index.chunk_vectors)
    assert len(index.sentence_vectors) == int(index.sentence_starts[-1])
    manifest = json.loads((tmp_path / "index" / "current" / "manifest.json").read_text())
    assert manifest["model"] == "hashing-test"
    assert manifest["corpus_dir"] == str(corpus.resolve())
    assert set(manifest["files"]["000_383fbfdafa3fa088.txt"]) >= {"sha256", "title", "paragraphs"}


def test_faiss_rows_are_the_chunk_rows(corpus, tmp_path):
    embedder = HashingEmbedder()
    _build(corpus, tmp_path / "index", embedder)
    index = store.load(tmp_path / "index")
    row = 7
    _, ids = index.faiss.search(index.chunk_vectors[row : row + 1], 1)
    assert ids[0][0] == row


def test_reindexing_embeds_only_the_changed_file_and_drops_deleted_ones(corpus, tmp_path):
    index_dir = tmp_path / "index"
    _build(corpus, index_dir, HashingEmbedder())
    changed = corpus / "003_2876eb5f33050c79.txt"
    changed.write_text(
        changed.read_text() + "\n\nA new closing paragraph about Denmark and Kosovo.\n"
    )
    embedder = HashingEmbedder()
    report = _build(corpus, index_dir, embedder)
    assert report.embedded == ["003_2876eb5f33050c79.txt"]
    assert embedder.embedded and all("Pristina" not in t for t in embedder.embedded)
    index = store.load(index_dir)
    assert any("new closing paragraph" in c.text for c in index.chunks)

    (corpus / "000_383fbfdafa3fa088.txt").unlink()
    embedder = HashingEmbedder()
    report = _build(corpus, index_dir, embedder)
    assert report.removed == ["000_383fbfdafa3fa088.txt"]
    assert embedder.embedded == []
    index = store.load(index_dir)
    assert {c.file for c in index.chunks} == {"003_2876eb5f33050c79.txt"}
    assert index.faiss.ntotal == len(index.chunks)


def test_an_unchanged_corpus_is_not_rewritten(corpus, tmp_path):
    _build(corpus, tmp_path / "index", HashingEmbedder())
    before = (tmp_path / "index" / "current").resolve()
    report = _build(corpus, tmp_path / "index", HashingEmbedder())
    assert not report.saved and report.embedded == []
    assert (tmp_path / "index" / "current").resolve() == before


def test_bad_files_are_skipped_with_a_reason_and_the_run_goes_on(corpus, tmp_path):
    (corpus / "broken.txt").write_bytes(b"\xff\xfe\x00bad")
    (corpus / "blank.md").write_text("\n\n")
    report = _build(corpus, tmp_path / "index", HashingEmbedder())
    assert dict(report.skipped) == {"blank.md": "empty", "broken.txt": "not UTF-8 text (byte 0)"}
    assert report.files == 2


def test_an_interrupted_write_leaves_the_previous_index_whole(corpus, tmp_path):
    index_dir = tmp_path / "index"
    _build(corpus, index_dir, HashingEmbedder())
    # What a crash mid-save leaves behind: a staging folder without a manifest.
    (index_dir / ".v-crashed.tmp").mkdir()
    (index_dir / ".v-crashed.tmp" / "chunks.npy").write_bytes(b"partial")
    index = store.load(index_dir)
    assert len(index.chunks) > 0


def test_loading_an_index_from_another_model_says_how_to_rebuild(corpus, tmp_path):
    _build(corpus, tmp_path / "index", HashingEmbedder())
    manifest = store.read_manifest(tmp_path / "index")
    with pytest.raises(IndexMismatch, match="--rebuild"):
        store.check_compatible(manifest, model="all-MiniLM-L6-v2", dim=384, index_dir=tmp_path)


def test_a_missing_index_is_not_ready(tmp_path):
    with pytest.raises(IndexNotReady, match="python -m app index"):
        store.load(tmp_path / "nothing")


def test_vectors_are_unit_length(corpus, tmp_path):
    _build(corpus, tmp_path / "index", HashingEmbedder())
    index = store.load(tmp_path / "index")
    norms = np.linalg.norm(index.chunk_vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_every_file_of_a_version_is_on_disk_before_it_becomes_current(
    corpus, tmp_path, monkeypatch
):
    # A power cut after the swap must not leave `current` pointing at a file the disk never
    # got (the FAISS file was once written without fsync).
    synced: set[int] = set()
    fsync = os.fsync

    def spy(fd: int) -> None:
        synced.add(os.fstat(fd).st_ino)
        fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    _build(corpus, tmp_path / "index", HashingEmbedder())
    version = (tmp_path / "index" / store.CURRENT).resolve()
    written = {p.name: p.stat().st_ino for p in version.iterdir()}
    assert {"chunks.faiss", "manifest.json", "chunks.npy"} <= set(written)
    assert {name for name, inode in written.items() if inode not in synced} == set()
    assert version.stat().st_ino in synced and (tmp_path / "index").stat().st_ino in synced
