"""Atomic file writes: a reader sees the old file or the new one, never half of either.

    write_atomically(target, write)        write(path) writes the file itself (lleaves, ONNX)
    write_bytes_atomically(target, data)   the same, for bytes in hand
    write_text_atomically(target, text)    UTF-8, newlines as given
    write_folder_once(target, write)       write(path) fills a folder; the first writer wins
    fsync_dir(folder)                      make a rename or unlink in `folder` durable

The new content goes to a partial file beside the target (same folder, so the rename cannot
cross file systems), is fsync'd, and is renamed over the target; then the folder is fsync'd,
because after a crash the rename is only there if the folder's entry is on disk too. A partial
file is hidden and ends in `.partial` (see PARTIAL_GLOB), so a folder scan never takes one for
an article or a model; it is removed when anything fails. Imports nothing from the app: every
layer may use it.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

# What every partial file's name matches, for whoever cleans up after a crash (kill -9).
PARTIAL_GLOB = ".*.partial"


def write_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Put the file `write(path)` writes at `target`, all at once.

    `path` is a fresh name in the target's folder where no file exists yet (lleaves, for one,
    would load a file it finds there instead of compiling). Concurrent writers of one target
    each get their own name, so both succeed and the last rename wins.
    """
    partial = partial_path(target)
    try:
        write(partial)
        _fsync_file(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    fsync_dir(target.parent)


def write_bytes_atomically(target: Path, data: bytes) -> None:
    write_atomically(target, lambda path: _write_new(path, data))


def write_text_atomically(target: Path, text: str) -> None:
    """UTF-8, and no newline translation: the bytes on disk are the text's own."""
    write_bytes_atomically(target, text.encode("utf-8"))


def write_folder_once(target: Path, write: Callable[[Path], None]) -> bool:
    """Put the folder `write(path)` fills at `target`, all at once, unless one is there: for
    what any process may build and all build alike (a cache), so the first to finish wins and
    the others' work is dropped. True if this call's folder is the one in place."""
    partial = partial_path(target)
    try:
        partial.mkdir()
        write(partial)
        for path in sorted(partial.rglob("*")):
            if path.is_file():
                _fsync_file(path)
        fsync_dir(partial)
        os.rename(partial, target)  # refuses to replace a folder that is there
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
        return False
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    fsync_dir(target.parent)
    return True


def partial_path(target: Path) -> Path:
    # 64 random bits: unique across processes and threads without creating anything.
    return target.with_name(f".{target.name}.{secrets.token_hex(8)}.partial")


def fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable: the directory entry is data too."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform that cannot open folders (Windows) has no such fsync either
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems (CIFS, some FUSE) refuse it for folders
        if exc.errno != errno.EINVAL:
            raise
    finally:
        os.close(fd)


def _write_new(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:  # "x": the name is ours alone
        handle.write(data)


def _fsync_file(path: Path) -> None:
    """Flush the file's data to disk, whoever wrote it (a callback may have closed it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
