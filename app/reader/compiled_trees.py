"""The reader's tree models as native code (lleaves compiles LightGBM's trees with LLVM),
cached on disk by content, so a server loads them in milliseconds.

LightGBM's own predict costs 0.1-0.3 ms a call before it walks a tree, and the reader calls it
four times a question (1.6 ms for the sentence model's ~300 rows alone); the compiled forests
give the same scores to within 1e-12 in a fraction of the time. Compiling all four takes ~1.5
min on two cores, so `make install` does it (`python -m app.reader.compiled_trees`); a process that
finds no cached code compiles it once, and one that cannot (no lleaves, a compiler error)
keeps LightGBM's predict.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.files import write_atomically, write_text_atomically

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
        write_text_atomically(model_file, text)
    model = lleaves.Model(model_file=str(model_file))
    # LLVM aborts the whole process on a damaged object file, so one is never handed to it:
    # the code is loaded only when it is byte for byte what was compiled.
    if target.exists() and checksum.exists() and checksum.read_text() == _digest(target):
        model.compile(cache=str(target))
        return model  # type: ignore[no-any-return]
    logger.info("compiling the reader's trees into %s", target)
    target.unlink(missing_ok=True)
    # Written aside and renamed: two workers starting together never load half a file. The
    # path lleaves gets holds no file yet, or it would load that instead of compiling.
    write_atomically(target, lambda path: model.compile(cache=str(path), raw_score=True))
    write_text_atomically(checksum, _digest(target))
    return model  # type: ignore[no-any-return]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    """`python -m app.reader.compiled_trees`: compile the committed models now, one process per core
    (make install does), so no server start pays for it."""
    import json
    from concurrent.futures import ProcessPoolExecutor
    from itertools import repeat

    from app.config import get_settings
    from app.reader import WEIGHTS_FILE

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stored = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")).values()
    texts = [m["lightgbm"] for m in stored if isinstance(m, dict) and m.get("kind") == "trees"]
    cache_dir = get_settings().model_cache_dir / "trees"
    with ProcessPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as pool:
        # The largest first, so the last to finish is a small one.
        ready = list(pool.map(_compile, sorted(texts, key=len, reverse=True), repeat(cache_dir)))
    print(f"compiled trees ready: {sum(ready)} of {len(texts)} models in {cache_dir}")


def _compile(text: str, cache_dir: Path) -> bool:
    return load(text, cache_dir) is not None


if __name__ == "__main__":
    main()
