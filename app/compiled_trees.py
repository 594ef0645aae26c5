"""The reader's tree models as native code (lleaves compiles LightGBM's trees with LLVM),
cached on disk by content, so a server loads them in milliseconds.

LightGBM's own predict costs 0.1-0.3 ms a call before it walks a tree, and the reader calls it
four times a question (1.6 ms for the sentence model's ~300 rows alone); the compiled forests
give the same scores to within 1e-13 in a tenth of the time. Compiling takes ~20 s for all
four, so `make install` does it (`python -m app.compiled_trees`); a process that finds no
cached code compiles it once, and one that cannot (no lleaves, a compiler error) keeps
LightGBM's predict.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

logger = logging.getLogger(__name__)


class Predictor(Protocol):
    def predict(self, data: np.ndarray, n_jobs: int | None = None) -> np.ndarray: ...


def load(text: str, cache_dir: Path) -> Predictor | None:
    """The compiled forest of LightGBM model `text` (raw scores), from the cache or compiled
    into it now; None where it cannot be had."""
    try:
        import lleaves
        import llvmlite.binding as llvm
    except ImportError:
        logger.info("lleaves is not installed: the reader's trees run in LightGBM")
        return None
    # Native code is for one CPU and one compiler: both are part of the key.
    versions = f"{metadata.version('lleaves')} {metadata.version('llvmlite')}"
    key = "\0".join((text, versions, llvm.get_host_cpu_name(), platform.machine(), "raw"))
    target = cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.bin"
    try:
        return _compiled(lleaves, text, target)
    except Exception:  # a broken toolchain must not stop the service
        logger.warning("cannot compile the reader's trees; using LightGBM", exc_info=True)
        return None


def _compiled(lleaves: Any, text: str, target: Path) -> Predictor:
    target.parent.mkdir(parents=True, exist_ok=True)
    model_file, checksum = target.with_suffix(".txt"), target.with_suffix(".sha256")
    if not model_file.exists():
        _write_atomically(model_file, lambda path: path.write_text(text, encoding="utf-8"))
    model = lleaves.Model(model_file=str(model_file))
    # LLVM aborts the whole process on a damaged object file, so one is never handed to it:
    # the code is loaded only when it is byte for byte what was compiled.
    if target.exists() and checksum.exists() and checksum.read_text() == _digest(target):
        model.compile(cache=str(target))
        return model  # type: ignore[no-any-return]
    logger.info("compiling the reader's trees into %s", target)
    target.unlink(missing_ok=True)
    # Written aside and renamed: two workers starting together never load half a file.
    _write_atomically(target, lambda path: model.compile(cache=str(path), raw_score=True))
    _write_atomically(checksum, lambda path: path.write_text(_digest(target)))
    return model  # type: ignore[no-any-return]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomically(target: Path, write: Any) -> None:
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    os.unlink(partial)  # lleaves writes the file itself; only the unique name is wanted
    try:
        write(Path(partial))
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def main() -> None:
    """`python -m app.compiled_trees`: compile the committed models now (make install does),
    so no server start pays for it."""
    from app.config import get_settings
    from app.linear import TreeModel, load_models

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    models = load_models(compiled_dir=get_settings().model_cache_dir / "trees")
    trees = [m for m in vars(models).values() if isinstance(m, TreeModel)]
    ready = sum(m.compiled is not None for m in trees)
    print(f"compiled trees ready: {ready} of {len(trees)} models")


if __name__ == "__main__":
    main()
