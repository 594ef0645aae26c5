"""The index on disk: FAISS + row-aligned chunk and passage metadata + manifest.

Layout of an index directory (version names and the swap: app/archive/versions.py)::

    index/current -> v-<stamp>/      symlink swapped atomically after a complete write
    index/.write.lock                flock'd by whoever writes (store.writing)
    index/v-<stamp>/manifest.json    model, dim, chunking version, corpus dir, file hashes
                    chunks.jsonl     one chunk per FAISS row
                    chunks.npy       chunk vectors (kept so re-indexing reuses them)
                    chunks.faiss     the dense index; ids are row numbers
                    passages.jsonl   indexed paragraphs with sentences and entities
                    sentences.npy    sentence vectors, rows in passages.jsonl order
                    signatures.npy   MinHash signatures of the passages, same rows
                    duplicates.json  groups of near-copy passages, each leader first
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from app.archive import dense_index, near_copies, versions
from app.archive.corpus import CHUNKING_VERSION, Chunk
from app.archive.metadata import Meta
from app.errors import IndexMismatch, IndexNotReady
from app.files import write_atomically, write_text_atomically

logger = logging.getLogger(__name__)

CURRENT = "current"
WRITE_LOCK = ".write.lock"


@dataclass(frozen=True)
class Passage:
    """An indexed paragraph, with what answer extraction needs (all offsets into the file)."""

    file: str
    paragraph: int
    title: str
    section: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    entities: tuple[tuple[int, int, str], ...] = ()
    phrases: tuple[tuple[int, int], ...] = ()


@dataclass
class FileIndex:
    """Everything indexed from one article; the unit of incremental re-indexing."""

    file: str
    sha256: str
    title: str
    paragraphs: int
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    passages: list[Passage]
    sentence_vectors: np.ndarray
    meta: Meta = field(default_factory=Meta)
    signatures: np.ndarray | None = None  # per passage (archive/duplicates.py); None: to do
    copies: tuple[str, ...] = ()  # other files with this very text, indexed once as this one


@dataclass(frozen=True)
class Manifest:
    model: str
    dim: int
    chunking_version: str
    corpus_dir: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    built_at: float = 0.0
    # The kind of chunks.faiss ("flat" | "hnsw" | "ivfpq"); "" in indexes from before it was
    # recorded, which are rebuilt as flat at load.
    faiss_index: str = ""


class Index:
    """An index in memory: per-file parts plus the row-aligned arrays search needs."""

    def __init__(
        self,
        manifest: Manifest,
        files: list[FileIndex],
        *,
        index_type: str = "auto",
        faiss_index: faiss.Index | None = None,
        groups: list[list[int]] | None = None,
    ) -> None:
        self.manifest = manifest
        self.files = {f.file: f for f in sorted(files, key=lambda f: f.file)}
        parts = list(self.files.values())
        self.chunks = [c for f in parts for c in f.chunks]
        self.passages = [p for f in parts for p in f.passages]
        self.chunk_vectors = _stack([f.chunk_vectors for f in parts], manifest.dim)
        self.sentence_vectors = _stack([f.sentence_vectors for f in parts], manifest.dim)
        self.passage_rows = {(p.file, p.paragraph): i for i, p in enumerate(self.passages)}
        # sentence_starts[i] is the first row of passage i's sentences in sentence_vectors.
        counts = [len(p.sentences) for p in self.passages]
        self.sentence_starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        if faiss_index is None:
            kind = dense_index.choose_kind(index_type, len(self.chunks))
            faiss_index = dense_index.build(self.chunk_vectors, kind, manifest.dim)
        self.faiss = faiss_index
        self.faiss_kind = dense_index.kind_of(faiss_index)
        self.signatures = near_copies.stack(parts)
        if groups is None:
            groups = near_copies.find(self.passages, self.signatures, self.files)
        self.groups = groups
        # Passage row -> (its group, its place in the group: 0 leads).
        self.group_of = {r: (g, k) for g, rows in enumerate(groups) for k, r in enumerate(rows)}

    @property
    def corpus_dir(self) -> Path:
        return Path(self.manifest.corpus_dir)


def _stack(arrays: list[np.ndarray], dim: int) -> np.ndarray:
    if not arrays:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(arrays), dtype=np.float32)


def check_compatible(manifest: Manifest, *, model: str, dim: int, index_dir: Path) -> None:
    built = (manifest.model, manifest.dim, manifest.chunking_version)
    if built != (model, dim, CHUNKING_VERSION):
        raise IndexMismatch(
            f"The index in {index_dir} was built with model {manifest.model} (dim {manifest.dim}, "
            f"chunking v{manifest.chunking_version}); this service uses {model} (dim {dim}, "
            f"chunking v{CHUNKING_VERSION}). Rebuild it: "
            f"python -m app index {manifest.corpus_dir} --index-dir {index_dir} --rebuild"
        )


# --- reading --------------------------------------------------------------------------------


def exists(index_dir: Path) -> bool:
    return (index_dir / CURRENT / "manifest.json").is_file()


def current_version(index_dir: Path) -> str | None:
    """The name of the version `current` points at: a cheap way (one readlink) for a serving
    process to notice that another process has published a new one."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return None


def read_manifest(index_dir: Path, version: str = CURRENT) -> Manifest:
    path = index_dir / version / "manifest.json"
    if not path.is_file():
        raise IndexNotReady(
            f"No index in {index_dir}: build one with python -m app index CORPUS_DIR "
            f"--index-dir {index_dir}"
        )
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))


def load(index_dir: Path, version: str = CURRENT) -> Index:
    """The index `version` names (by default whatever `current` points at now)."""
    manifest = read_manifest(index_dir, version)
    folder = (index_dir / version).resolve()
    chunks = [Chunk(**row) for row in _read_jsonl(folder / "chunks.jsonl")]
    passages = [_passage(row) for row in _read_jsonl(folder / "passages.jsonl")]
    chunk_vectors = np.load(folder / "chunks.npy")
    sentence_vectors = np.load(folder / "sentences.npy")
    files = _split_by_file(manifest, chunks, chunk_vectors, passages, sentence_vectors)
    groups = near_copies.load(folder, files, passages)
    logger.info("loaded index %s: %d files, %d chunks", folder.name, len(files), len(chunks))
    faiss_index = _read_faiss(folder, manifest, len(chunks))
    return Index(manifest, files, faiss_index=faiss_index, groups=groups)


def _read_faiss(folder: Path, manifest: Manifest, chunks: int) -> faiss.Index | None:
    """The index as built, when it is there and whole: loading beats rebuilding (an HNSW
    over a million chunks takes minutes to build, seconds to read)."""
    path = folder / "chunks.faiss"
    if not manifest.faiss_index or not path.is_file():
        return None
    index = faiss.read_index(str(path))
    if index.ntotal != chunks or dense_index.kind_of(index) != manifest.faiss_index:
        logger.warning("ignoring %s: %d rows for %d chunks", path, index.ntotal, chunks)
        return None
    return dense_index.tune(index)


def _passage(row: dict[str, Any]) -> Passage:
    row["sentences"] = tuple(tuple(s) for s in row["sentences"])
    row["entities"] = tuple(tuple(e) for e in row["entities"])
    row["phrases"] = tuple(tuple(p) for p in row["phrases"])
    return Passage(**row)


def _split_by_file(
    manifest: Manifest,
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    passages: list[Passage],
    sentence_vectors: np.ndarray,
) -> list[FileIndex]:
    """Rows are stored grouped by file in name order; cut them back into per-file parts."""
    chunk_counts = Counter(ch.file for ch in chunks)
    passage_counts = Counter(ps.file for ps in passages)
    files = []
    c = p = s = 0
    for name in sorted(manifest.files):
        info = manifest.files[name]
        n_chunks, n_pass = chunk_counts[name], passage_counts[name]
        n_sent = sum(len(ps.sentences) for ps in passages[p : p + n_pass])
        files.append(
            FileIndex(
                name,
                info["sha256"],
                info["title"],
                info["paragraphs"],
                chunks[c : c + n_chunks],
                chunk_vectors[c : c + n_chunks],
                passages[p : p + n_pass],
                sentence_vectors[s : s + n_sent],
                Meta.from_dict(info.get("meta")),
                copies=tuple(info.get("copies", ())),
            )
        )
        c, p, s = c + n_chunks, p + n_pass, s + n_sent
    return files


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- writing --------------------------------------------------------------------------------


@contextmanager
def writing(index_dir: Path) -> Iterator[None]:
    """Hold the index's write lock: one writer at a time across threads and processes (server
    workers, `python -m app index`), so no write is based on a version another has replaced."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / WRITE_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def save(index: Index, index_dir: Path) -> Path:
    """Write a new version aside, then swap the `current` link: readers never see half."""
    index_dir.mkdir(parents=True, exist_ok=True)
    staging = versions.stage(index_dir, versions.new_name(time.time_ns()))
    # Each file is fsync'd as it is written, so the folder is whole once renamed, power cut or not.
    _write_jsonl(staging / "chunks.jsonl", (asdict(c) for c in index.chunks))
    _write_jsonl(staging / "passages.jsonl", (asdict(p) for p in index.passages))
    _write_array(staging / "chunks.npy", index.chunk_vectors)
    _write_array(staging / "sentences.npy", index.sentence_vectors)
    near_copies.save(staging, index.signatures, index.groups, index.passages)
    write_atomically(
        staging / "chunks.faiss", lambda path: faiss.write_index(index.faiss, str(path))
    )
    # The manifest goes last: a folder without one is never loaded.
    manifest = replace(index.manifest, faiss_index=index.faiss_kind)
    text = json.dumps(asdict(manifest), ensure_ascii=False, indent=1)
    write_text_atomically(staging / "manifest.json", text)
    return versions.swap_in(staging, index_dir / CURRENT)


def _write_jsonl(path: Path, rows: Any) -> None:
    def write(partial: Path) -> None:
        with open(partial, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    write_atomically(path, write)


def _write_array(path: Path, array: np.ndarray) -> None:
    # np.save would add ".npy" to a name without it; a handle keeps the name as given.
    def write(partial: Path) -> None:
        with open(partial, "wb") as handle:
            np.save(handle, array)

    write_atomically(path, write)
