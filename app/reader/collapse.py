"""One answer per story: near copies of a passage (archive/duplicates.py) and exact copies of
its file are folded into the answer that cites the earliest of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.archive.store import Index


@dataclass(frozen=True)
class AlsoIn:
    """Where else the cited paragraph appears, near enough word for word."""

    file: str
    paragraph: int
    title: str
    published: str | None


@dataclass(frozen=True)
class Pick:
    """One answer: the candidate it cites and every retrieved candidate it stands for."""

    lead: int
    members: tuple[int, ...]


def distinct(
    index: Index,
    ranked: Sequence[int],
    rows: Sequence[int],
    top_k: int,
    holds: Callable[[int, int], bool] = lambda lead, best: True,
) -> list[Pick]:
    """The best `top_k` answers, counting a group of near copies once, so a copy never takes
    the place of another story. `ranked`: candidates best first; `rows[i]`: candidate i's
    passage row. Each answer keeps its best member's place and cites the group's leader among
    the retrieved members that `holds(member, best)` the best member's sentence (a near copy
    may lack the sentence that answers)."""
    if not index.groups:
        return [Pick(i, (i,)) for i in ranked[:top_k]]
    picks: list[list[int]] = []
    slot: dict[int, int] = {}  # group -> its answer
    for i in ranked:
        group = index.group_of.get(rows[i], (-1 - i, 0))[0]
        if group in slot:
            picks[slot[group]].append(i)
        elif len(picks) < top_k:
            slot[group] = len(picks)
            picks.append([i])
    return [Pick(_lead(index, m, rows, holds), tuple(m)) for m in picks]


def _lead(
    index: Index, members: list[int], rows: Sequence[int], holds: Callable[[int, int], bool]
) -> int:
    able = [i for i in members if i == members[0] or holds(i, members[0])]
    return min(able, key=lambda i: _place(index, rows[i]))


def _place(index: Index, row: int) -> int:
    return index.group_of.get(row, (0, 0))[1]


def also_in(index: Index, row: int) -> tuple[AlsoIn, ...]:
    """The other copies of passage `row`: its group's members, leader first, each followed by
    its file's exact copies (the same paragraph), and the cited file's own exact copies."""
    group = index.group_of.get(row)
    members = index.groups[group[0]] if group else [row]
    found: list[AlsoIn] = []
    for member in members:
        passage = index.passages[member]
        part = index.files[passage.file]
        names = part.copies if member == row else (passage.file, *part.copies)
        published = part.meta.published
        found += [AlsoIn(name, passage.paragraph, part.title, published) for name in names]
    return tuple(found)
