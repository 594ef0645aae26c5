"""A server's process tree from /proc (Linux): `python -m app serve` is a supervisor, its workers
and multiprocessing's resource tracker, and what the server costs is what they cost together."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    command: str
    rss_mb: float


def processes(pid: int) -> list[int]:
    """`pid` and every process below it: the children of each of its threads, and theirs."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended meanwhile
            children += [int(c) for c in task.read_text().split()]
    return [pid, *(p for child in children for p in processes(child))]


def memory(pid: int) -> list[ProcessMemory]:
    """The resident memory of each process of the tree (one that ended meanwhile is left out)."""
    found = []
    for p in processes(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
            args = Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        kb = next((int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:")), 0)
        command = " ".join([Path(args[0].decode()).name, *(a.decode() for a in args[1:] if a)])
        found.append(ProcessMemory(p, command[:100], round(kb / 1024, 1)))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of the process and all below it."""
    return round(sum(m.rss_mb for m in memory(pid)), 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process and all below it have used so far: a server's cost per
    request, unlike its latency, hardly depends on what else the shared machine is doing."""
    total = 0
    for p in processes(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")
