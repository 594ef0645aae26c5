"""The feedback store: SQLite in the index folder, WAL, a schema version, writers at once."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app import feedback_store
from app.errors import FeedbackUnavailable
from app.feedback import Cited, Feedback, record


def one(index_version: str = "v-test") -> Feedback:
    cited = Cited("Who?", "a.txt", 1, 0, 3, 0.5)
    return record(channel="api", verdict="right", comment="", cited=cited, answer="Ann",
                  index_version=index_version)  # fmt: skip


def test_the_store_is_sqlite_in_wal_mode_with_a_schema_version(tmp_path: Path) -> None:
    feedback_store.add(tmp_path, one())
    with sqlite3.connect(feedback_store.path_of(tmp_path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r.answer for r in feedback_store.rows(tmp_path)] == ["Ann"]


def test_a_store_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    feedback_store.add(tmp_path, one())
    with sqlite3.connect(feedback_store.path_of(tmp_path)) as connection:
        connection.execute("PRAGMA user_version = 9")
    with pytest.raises(FeedbackUnavailable, match="newer"):
        list(feedback_store.rows(tmp_path))


def test_concurrent_writers_each_get_their_own_row(tmp_path: Path) -> None:
    """Threads (as a server's request threads and workers) writing at once: none is lost."""
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: feedback_store.add(tmp_path, one()), range(80)))
    assert sorted(ids) == list(range(1, 81))
    assert [r.id for r in feedback_store.rows(tmp_path)] == list(range(1, 81))


def test_a_comment_added_later_is_kept_once(tmp_path: Path) -> None:
    store = feedback_store.InIndexFolder(tmp_path)
    first = store.add(one())
    assert store.comment(first, "the date is wrong")
    assert not store.comment(first, "and again")
    assert not store.comment(first + 1, "no such verdict")
    assert [r.comment for r in store.rows()] == ["the date is wrong"]
