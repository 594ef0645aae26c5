"""An index's near-copy passages: signatures kept per article, so a write hashes only the
article it adds, and groups saved beside passages.jsonl, so a server does not find them again."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from app.archive import duplicates
from app.archive.metadata import Meta
from app.files import write_atomically, write_text_atomically

logger = logging.getLogger(__name__)

SIGNATURES = "signatures.npy"
GROUPS = "duplicates.json"


class _Passage(Protocol):
    @property
    def file(self) -> str: ...
    @property
    def paragraph(self) -> int: ...
    @property
    def text(self) -> str: ...


class _Part(Protocol):
    signatures: np.ndarray | None

    @property
    def passages(self) -> Sequence[_Passage]: ...
    @property
    def meta(self) -> Meta: ...


def stack(parts: Sequence[_Part]) -> np.ndarray:
    """Every passage's signature in row order, hashing only the parts that have none yet."""
    for part in parts:
        if part.signatures is None:
            part.signatures = duplicates.signatures([p.text for p in part.passages])
    empty = np.zeros((0, duplicates.DEFAULT.num_perm), dtype=np.uint64)
    return np.vstack([empty, *(p.signatures for p in parts if p.signatures is not None)])


def find(
    passages: Sequence[_Passage], sigs: np.ndarray, files: Mapping[str, _Part]
) -> list[list[int]]:
    """Groups of near-copy passage rows, each led by the earliest published copy."""
    places = [(p.file, p.paragraph) for p in passages]
    published = {name: part.meta.published_on for name, part in files.items()}
    found = duplicates.index_groups([p.text for p in passages], sigs, places, published)
    logger.info("near copies: %d groups over %d passages", len(found), sum(map(len, found)))
    return found


def load(
    folder: Path, parts: Sequence[_Part], passages: Sequence[_Passage]
) -> list[list[int]] | None:
    """Give each part its rows of the saved signatures and return the saved groups; what is
    missing (an index from before them) is left None, to be found again."""
    path = folder / SIGNATURES
    sigs = np.load(path) if path.is_file() else None
    if sigs is None or len(sigs) != len(passages):
        return None
    row = 0
    for part in parts:
        part.signatures, row = sigs[row : row + len(part.passages)], row + len(part.passages)
    path = folder / GROUPS
    if not path.is_file():
        return None
    rows = {(p.file, p.paragraph): i for i, p in enumerate(passages)}
    return duplicates.from_json(json.loads(path.read_text(encoding="utf-8")), rows)


def save(
    folder: Path, sigs: np.ndarray, groups: Sequence[Sequence[int]], passages: Sequence[_Passage]
) -> None:
    def write(partial: Path) -> None:
        with open(partial, "wb") as handle:  # np.save would add ".npy" to a name without it
            np.save(handle, sigs)

    write_atomically(folder / SIGNATURES, write)
    places = [(p.file, p.paragraph) for p in passages]
    text = json.dumps(duplicates.to_json(groups, places), ensure_ascii=False)
    write_text_atomically(folder / GROUPS, text)
