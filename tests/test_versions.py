"""Index versions: named in UTC, ordered by age across time zones, DST and older local names."""

from __future__ import annotations

import calendar
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.archive import store, versions
from app.archive.ingest import build_index
from tests.fakes import HashingEmbedder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
def berlin() -> Iterator[None]:
    """The process's local time zone is Europe/Berlin (CET, CEST in summer) for the test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Berlin"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _utc_ns(stamp: str, nanoseconds: int = 0) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%d %H:%M:%S")) * 10**9 + nanoseconds


def test_version_names_are_utc_whatever_the_local_time_zone(berlin: None) -> None:
    name = versions.new_name(_utc_ns("2026-11-23 09:15:00", 123456789))
    assert name == "v-20261123T091500Z-123456789"
    assert versions.age(name) == (_utc_ns("2026-11-23 09:15:00") // 10**9, 123456789)


def test_names_sort_by_age_across_a_daylight_saving_change(berlin: None) -> None:
    # Berlin's clocks go back at 01:00 UTC on 2026-10-25: 02:50 CEST is followed by 02:10 CET.
    before = _utc_ns("2026-10-25 00:50:00")
    after = _utc_ns("2026-10-25 01:10:00")
    local = [time.strftime("%H%M", time.localtime(t // 10**9)) for t in (before, after)]
    assert local == ["0250", "0210"], "local names would sort the newer one first"
    older, newer = versions.new_name(before), versions.new_name(after)
    assert sorted([newer, older]) == [older, newer]
    assert versions.by_age([newer, older]) == [older, newer]


def test_names_from_before_utc_still_sort_among_new_ones(berlin: None) -> None:
    # 10:15 in Berlin is 09:15 UTC: older than a version written at 09:20 UTC, though its
    # name sorts after that one's as a string.
    old = "v-20261123T101500-000000001"
    new = versions.new_name(_utc_ns("2026-11-23 09:20:00", 1))
    assert sorted([old, new]) == [new, old]
    assert versions.by_age([new, old]) == [old, new]
    assert versions.age(old) == (_utc_ns("2026-11-23 09:15:00") // 10**9, 1)


def test_folders_that_are_no_versions_are_left_out_of_the_order() -> None:
    assert versions.by_age(["v-crashed", "v-20261123T091500Z-000000001", "v-1"]) == [
        "v-20261123T091500Z-000000001"
    ]


def test_an_index_with_old_local_time_versions_loads_and_keeps_the_newest(
    tmp_path: Path, berlin: None
) -> None:
    corpus, index_dir = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SEEDS, corpus)
    embedder = HashingEmbedder()
    build_index(corpus, index_dir, model=embedder.name, load_embedder=lambda: embedder)
    # The same index as releases before UTC names left it: three local-time versions.
    built = (index_dir / store.CURRENT).resolve()
    old = ["v-20200101T120000-000000001", "v-20200630T120000-000000001"]
    latest = "v-20201231T235959-000000001"
    for name in [*old, latest]:
        shutil.copytree(built, index_dir / name)
    shutil.rmtree(built)
    (index_dir / store.CURRENT).unlink()
    (index_dir / store.CURRENT).symlink_to(latest)
    index = store.load(index_dir)
    assert len(index.chunks) > 0
    saved = store.save(index, index_dir)
    assert versions.age(saved.name) is not None and "Z-" in saved.name
    kept = sorted(p.name for p in index_dir.glob("v-*"))
    assert kept == sorted([latest, saved.name])
    assert store.current_version(index_dir) == saved.name
