"""The lexical parts of an index version (BM25 and the reader's Lexicon), saved beside it.

They are built from an index's text in about 1.5 s on SQuAD, a third of a server's start. The
first process that builds them (or `python -m app index`) saves them into the version's folder,
and every later start and every other worker loads them in a fraction of that. Version folders
may come from rsync or object storage, so the parts are plain arrays (`.npy`, `.npz`, loaded
without pickle) and JSON: loading them can never run code. The folder's name carries a hash of
the code and library versions that build them (PyStemmer's too), so a change to any of them is
never served stale parts; a damaged folder is rebuilt, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from importlib.metadata import version as package_version
from pathlib import Path

import bm25s
import numpy as np

from app.archive import corpus, language, store
from app.archive.store import Index
from app.files import write_folder_once
from app.reader import lexicon as lexicon_module
from app.reader import retrieve, termsets, words
from app.reader.lexicon import Lexicon
from app.reader.retrieve import Retriever

logger = logging.getLogger(__name__)

_BUILDERS = (corpus, language, store, lexicon_module, retrieve, termsets, words)


def _code_key() -> str:
    digest = hashlib.sha256()
    for module in _BUILDERS:
        digest.update(Path(str(module.__file__)).read_bytes())
    versions = (bm25s.__version__, package_version("PyStemmer"), np.__version__, sys.version)
    for part in versions:
        digest.update(part.encode())
    return digest.hexdigest()[:16]


CODE_KEY = _code_key()


def parts_path(index_dir: Path, version: str) -> Path:
    return index_dir / version / f"lexical-{CODE_KEY}"


def lexical_parts(index_dir: Path, version: str, index: Index) -> tuple[Lexicon, Retriever]:
    """The version's Lexicon and Retriever: from the saved parts beside it, else built and
    saved."""
    path = parts_path(index_dir, version)
    if path.is_dir():
        try:
            return _load(path, index)
        except Exception:  # damaged or foreign: rebuilt, never fatal
            logger.warning("rebuilding the unreadable %s", path, exc_info=True)
    lexicon, retriever = Lexicon(index), Retriever(index)
    if index.chunks:
        _save(path, lexicon, retriever)
    return lexicon, retriever


def _load(path: Path, index: Index) -> tuple[Lexicon, Retriever]:
    with np.load(path / "lexicon.npz", allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    meta = json.loads((path / "lexicon.json").read_text(encoding="utf-8"))
    bm25 = bm25s.BM25.load(str(path / "bm25"), allow_pickle=False)
    return Lexicon.restored(index, arrays, meta), Retriever(index, bm25=bm25)


def _save(path: Path, lexicon: Lexicon, retriever: Retriever) -> None:
    """Written aside and renamed into place whole (app/files.py): a reader sees all or none."""

    def write(folder: Path) -> None:
        arrays, meta = lexicon.saved()
        with open(folder / "lexicon.npz", "wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)
        (folder / "lexicon.json").write_text(json.dumps(meta), encoding="utf-8")
        retriever.bm25.save(str(folder / "bm25"), show_progress=False)

    try:
        write_folder_once(path, write)
    except OSError as exc:  # a read-only snapshot: build at every start, as before
        logger.info("cannot save the lexical parts in %s: %s", path.parent, exc)


def prepare(index_dir: Path) -> None:
    """Build the current version's saved parts now (after indexing), not at a server's start."""
    version = store.current_version(index_dir)
    if version is not None and not parts_path(index_dir, version).is_dir():
        lexical_parts(index_dir, version, store.load(index_dir, version))
