"""Indexing a corpus into the database, by as many processes (on as many machines) as wanted.

Every indexer lists the corpus into `ingest_queue` (idempotently: an article already stored
with the same text is marked done), then claims a few articles at a time with
FOR UPDATE SKIP LOCKED, so no two claim the same one. A claim is a lease that a heartbeat
renews while the indexer works; an indexer killed mid-batch stops renewing, its lease runs
out and another indexer claims those articles. An article's rows and its `done` mark are
committed in one transaction, and only by the indexer that holds its lease, so none is
stored twice and none is lost.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.archive.corpus import Article
from app.archive.embed import Embedder
from app.archive.ingest import Report, index_articles, once_each, read_corpus
from app.archive.postgres import PostgresStore

logger = logging.getLogger(__name__)

# Articles claimed (and embedded together) at a time.
BATCH = 16
# The queue is listed by one indexer at a time (others wait, then find it listed).
_LIST_LOCK = 7_202_612_04


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_in_database(
    corpus_dir: Path,
    store: PostgresStore,
    *,
    load_embedder: Callable[[], Embedder],
    lease_s: float = 60.0,
    rebuild: bool = False,
    progress: bool = False,
) -> Report:
    """Bring the database's archive up to date with `corpus_dir`, together with any other
    indexers running now; returns what this one did."""
    began = time.perf_counter()
    articles, skipped = read_corpus(corpus_dir)
    articles, copies = once_each(articles)
    store.ensure(str(corpus_dir.resolve()))
    report = Report(skipped=skipped, warnings=[w for a in articles for w in a.warnings])
    report.copies = sorted((c, first) for first, twins in copies.items() for c in twins)
    report.removed = _list(store, articles, copies, rebuild=rebuild)
    by_name = {a.file: a for a in articles}
    me = worker_name()
    embedder: Embedder | None = None
    with _Heartbeat(store, me, lease_s):
        while (claimed := _claim(store, me, lease_s)) is not None:
            if not claimed:
                time.sleep(min(1.0, lease_s / 4))  # others hold the rest; theirs may run out
                continue
            embedder = embedder or load_embedder()
            batch = [by_name[f] for f, _ in claimed if f in by_name]
            parts = index_articles(batch, embedder, progress=progress)
            for article, part in zip(batch, parts, strict=True):
                part.copies = dict(claimed)[article.file]
                if store.put(part, article.text, done_by=me):
                    report.embedded.append(article.file)
    report.files = len(articles)
    report.saved = bool(report.embedded or report.removed)
    report.seconds = time.perf_counter() - began
    return report


def _list(
    store: PostgresStore,
    articles: list[Article],
    copies: dict[str, tuple[str, ...]],
    *,
    rebuild: bool,
) -> list[str]:
    """Queue every article whose text or copies differ from what is stored; withdraw those no
    longer in the corpus. Returns the withdrawn."""
    rows = [(a.file, a.sha256, list(copies.get(a.file, ()))) for a in articles]
    with store.db.transaction() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LIST_LOCK,))
        conn.execute(
            "CREATE TEMP TABLE listed (file text, sha256 text, copies text[]) ON COMMIT DROP"
        )
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO listed VALUES (%s, %s, %s)", rows)
        stored = "false" if rebuild else "a.sha256 = l.sha256 AND a.copies = l.copies"
        conn.execute(
            "INSERT INTO ingest_queue (file, sha256, copies, state) "
            f"SELECT l.file, l.sha256, l.copies, CASE WHEN {stored} THEN 'done' ELSE 'todo' END "
            "FROM listed l LEFT JOIN articles a USING (file) "
            "ON CONFLICT (file) DO UPDATE SET sha256 = excluded.sha256, copies = excluded.copies, "
            "state = CASE WHEN ingest_queue.sha256 = excluded.sha256 AND ingest_queue.copies = "
            "excluded.copies AND ingest_queue.state = 'done' AND excluded.state = 'done' "
            "THEN 'done' ELSE excluded.state END, leased_by = CASE WHEN excluded.state = 'todo' "
            "AND ingest_queue.state = 'done' THEN NULL ELSE ingest_queue.leased_by END",
        )
        gone = [
            r[0]
            for r in conn.execute(
                "SELECT file FROM articles WHERE file NOT IN (SELECT file FROM listed) ORDER BY 1"
            )
        ]
        conn.execute("DELETE FROM ingest_queue WHERE file NOT IN (SELECT file FROM listed)")
    for name in gone:
        store.withdraw(name)
    return gone


Claimed = list[tuple[str, tuple[str, ...]]]


def _claim(store: PostgresStore, me: str, lease_s: float) -> Claimed | None:
    """Up to BATCH articles leased to `me`; [] if only others' live leases are left; None
    when the queue is done."""
    with store.db.transaction() as conn:
        rows = conn.execute(
            "UPDATE ingest_queue q SET leased_by = %s, attempts = attempts + 1, "
            "leased_until = now() + make_interval(secs => %s) "
            "WHERE file IN (SELECT file FROM ingest_queue WHERE state = 'todo' AND "
            "(leased_until IS NULL OR leased_until < now()) ORDER BY file LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING file, copies",
            (me, lease_s, BATCH),
        ).fetchall()
        if rows:
            return sorted((f, tuple(c)) for f, c in rows)
        left = conn.execute("SELECT count(*) FROM ingest_queue WHERE state = 'todo'").fetchone()
    return [] if left and left[0] else None


class _Heartbeat:
    """Renews this indexer's leases while it works (a third of the lease at a time)."""

    def __init__(self, store: PostgresStore, me: str, lease_s: float) -> None:
        self.store, self.me, self.lease_s = store, me, lease_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="ingest-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.lease_s / 3):
            try:
                with self.store.db.transaction() as conn:
                    conn.execute(
                        "UPDATE ingest_queue SET leased_until = now() + make_interval(secs => %s) "
                        "WHERE leased_by = %s AND state = 'todo'",
                        (self.lease_s, self.me),
                    )
            except Exception:  # the next beat tries again; a lost lease is only redone work
                logger.warning("could not renew the ingest leases", exc_info=True)
