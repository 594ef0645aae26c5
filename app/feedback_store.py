"""Where feedback lives: one SQLite table in the index folder, in WAL mode, or, when the
archive is served from PostgreSQL, a table beside the archive's there.

SQLite: beside the versions, not in one, so a rebuild or a rollback keeps it. WAL lets the
workers of one server (and a running export) read while another writes; each call opens its
own connection, so threads and processes never share one. The schema's version is SQLite's
`user_version`: a file written by a newer schema is refused rather than misread. PostgreSQL:
the table comes with the archive's versioned schema (app/archive/schema/002_feedback.sql).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from app.archive.database import Database
from app.errors import BadFeedback, FeedbackUnavailable
from app.feedback import Feedback

logger = logging.getLogger(__name__)

FILE_NAME = "feedback.sqlite3"
SCHEMA_VERSION = 1
_COLUMNS = (
    "at", "channel", "verdict", "comment", "question", "answer",
    "file", "paragraph", "start", "end", "score", "index_version",
)  # fmt: skip
_QUOTED = ", ".join(f'"{c}"' for c in _COLUMNS)
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    channel TEXT NOT NULL,
    verdict TEXT NOT NULL,
    comment TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    file TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    score REAL NOT NULL,
    index_version TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at)",
)


class FeedbackStore(Protocol):
    def add(self, feedback: Feedback) -> int: ...
    def comment(self, feedback_id: int, text: str) -> bool: ...
    def rows(self, since: str | None = None) -> Iterator[Feedback]: ...


# A comment may follow its verdict (Slack asks for it in a dialog after the click), once: a
# verdict that has one keeps it.
_COMMENT = "UPDATE feedback SET comment = {0} WHERE id = {0} AND comment = ''"


class InIndexFolder:
    """The SQLite file in the index folder."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def add(self, feedback: Feedback) -> int:
        return add(self.index_dir, feedback)

    def comment(self, feedback_id: int, text: str) -> bool:
        with closing(_connect(self.index_dir)) as connection:
            cursor = connection.execute(_COMMENT.format("?"), (text, feedback_id))
            return cursor.rowcount == 1

    def rows(self, since: str | None = None) -> Iterator[Feedback]:
        return rows(self.index_dir, since)


class InDatabase:
    """The archive's PostgreSQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, feedback: Feedback) -> int:
        values = [getattr(feedback, name) for name in _COLUMNS]
        marks = ", ".join("%s" for _ in _COLUMNS)
        with self.db.transaction() as conn:
            found = conn.execute(
                f"INSERT INTO feedback ({_QUOTED}) VALUES ({marks}) RETURNING id", values
            ).fetchone()
        return int(found[0]) if found else 0

    def comment(self, feedback_id: int, text: str) -> bool:
        with self.db.transaction() as conn:
            cursor = conn.execute(_COMMENT.format("%s"), (text, feedback_id))
            return cursor.rowcount == 1

    def rows(self, since: str | None = None) -> Iterator[Feedback]:
        query, args = f"SELECT id, {_QUOTED} FROM feedback", []
        if since is not None:
            query, args = query + " WHERE at >= %s", [since_stamp(since)]
        with self.db.transaction() as conn, conn.cursor(name="feedback_export") as cursor:
            # A named (server-side) cursor: the export streams, whatever its size.
            cursor.execute(query + " ORDER BY id", args)
            for found in cursor:
                yield Feedback(**dict(zip(("id", *_COLUMNS), found, strict=True)))


def path_of(index_dir: Path) -> Path:
    return index_dir / FILE_NAME


def _connect(index_dir: Path) -> sqlite3.Connection:
    """A connection with the table in place, or FeedbackUnavailable saying why not."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        # An export streams from a threadpool, one row at a time, from whichever thread is free.
        connection = sqlite3.connect(
            path_of(index_dir), timeout=10, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
        _migrate(connection)
    except (OSError, sqlite3.Error) as exc:
        logger.error("feedback store %s cannot be opened: %s", path_of(index_dir), exc)
        raise FeedbackUnavailable(
            f"Feedback cannot be stored right now ({exc}); please try again later."
        ) from exc
    return connection


def _migrate(connection: sqlite3.Connection) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"schema version {version} is newer than this service's {SCHEMA_VERSION}"
        )
    if version < SCHEMA_VERSION:
        # One transaction: the table and its version together, whichever worker comes first.
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def add(index_dir: Path, feedback: Feedback) -> int:
    """Store one verdict; returns its id. It is on disk when this returns."""
    values = [getattr(feedback, name) for name in _COLUMNS]
    marks = ", ".join("?" for _ in _COLUMNS)
    with closing(_connect(index_dir)) as connection:
        try:
            cursor = connection.execute(
                f"INSERT INTO feedback ({_QUOTED}) VALUES ({marks})", values
            )
        except sqlite3.Error as exc:
            raise FeedbackUnavailable(f"Feedback cannot be stored right now ({exc}).") from exc
        return int(cursor.lastrowid or 0)


def rows(index_dir: Path, since: str | None = None) -> Iterator[Feedback]:
    """Every verdict, oldest first, from `since` (an ISO date or time, UTC if unzoned) on;
    read row by row, so an export of any size streams."""
    query, args = f"SELECT id, {_QUOTED} FROM feedback", []
    if since is not None:
        query, args = query + " WHERE at >= ?", [since_stamp(since)]
    with closing(_connect(index_dir)) as connection:
        for found in connection.execute(query + " ORDER BY id", args):
            yield Feedback(**dict(zip(("id", *_COLUMNS), found, strict=True)))


def since_stamp(text: str) -> str:
    """`since` in the stored form (ISO 8601 in UTC, to the second), or BadFeedback."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadFeedback(
            f"since: {text!r} is not a date or time like 2026-12-01 or 2026-12-01T09:30:00Z."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")
