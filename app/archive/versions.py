"""The versions of an index folder: their names, their order, and how a new one takes over.

A version is named by when it was written, in UTC, e.g. ``v-20261123T091500Z-123456789``
(date, time, Z for UTC, nanoseconds): names sort by age whatever the server's time zone and
across daylight-saving changes. Versions written before names were UTC have no Z
(``v-20261123T101500-123456789``, the writer's local time); they still load, and age() reads
their time as this machine's local time so that old and new sort together.

A version is written into a hidden staging folder, renamed to its name when complete, and
then the `current` link is swapped to it; the two newest versions are kept, since a reader
may still be loading the one before.
"""

from __future__ import annotations

import calendar
import os
import re
import shutil
import time
from pathlib import Path

from app import files

_STAMP = "%Y%m%dT%H%M%S"
_NAME = re.compile(r"v-(\d{8}T\d{6})(Z?)-(\d{9})")


def new_name(now_ns: int) -> str:
    """The name of a version written at `now_ns` (nanoseconds since the epoch)."""
    seconds, fraction = divmod(now_ns, 10**9)
    return f"v-{time.strftime(_STAMP, time.gmtime(seconds))}Z-{fraction:09d}"


def age(name: str) -> tuple[int, int] | None:
    """When version `name` was written (seconds since the epoch, nanoseconds); None for a
    folder that is no version."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    stamp, utc, fraction = match.groups()
    fields = time.strptime(stamp, _STAMP)
    seconds = calendar.timegm(fields) if utc else int(time.mktime(fields))
    return seconds, int(fraction)


def by_age(names: list[str]) -> list[str]:
    """The versions among `names`, oldest first; other names are left out."""
    aged = [(when, name) for name in names if (when := age(name)) is not None]
    return [name for _, name in sorted(aged)]


def stage(index_dir: Path, name: str) -> Path:
    """An empty hidden folder to write version `name` into; swap_in makes it a version."""
    staging = index_dir / f".{name}.tmp"
    staging.mkdir()
    return staging


def swap_in(staging: Path, current: Path) -> Path:
    """Rename the complete `staging` folder to its version name and point the link `current`
    at it; then drop what no reader needs any more. Returns the version's folder."""
    index_dir = staging.parent
    name = staging.name.removeprefix(".").removesuffix(".tmp")
    final = index_dir / name
    files.fsync_dir(staging)
    os.replace(staging, final)
    _point(current, name)
    files.fsync_dir(index_dir)
    _remove_old_versions(index_dir, keep=name)
    return final


def _point(link: Path, name: str) -> None:
    """Make `link` point at `name` in one rename: a reader resolves the old version or the
    new one, never a missing link."""
    partial = link.with_name(f".{link.name}.tmp")
    if partial.is_symlink() or partial.exists():
        partial.unlink()  # left by a writer killed between these two lines
    partial.symlink_to(name)
    os.replace(partial, link)


def _remove_old_versions(index_dir: Path, *, keep: str) -> None:
    """Drop leftovers of interrupted writes and all but the two newest versions (a reader
    may still be loading the previous one). Folders that are no version are left alone."""
    for entry in index_dir.glob(".v-*.tmp"):
        shutil.rmtree(entry, ignore_errors=True)
    names = [e.name for e in index_dir.glob("v-*") if e.is_dir()]
    for name in by_age(names)[:-2]:
        if name != keep:
            shutil.rmtree(index_dir / name, ignore_errors=True)
