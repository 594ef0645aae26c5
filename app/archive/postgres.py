"""The archive in PostgreSQL + pgvector: one article written per transaction, searched in SQL.

Tables (app/archive/schema/): articles, revisions, passages, sentences (with vectors), chunks
(with vectors, a generated tsvector and its length), lexemes (document frequencies) and one
`archive` row (model, BM25's collection statistics, a generation bumped by every write).

A write deletes the article's old rows, inserts the new ones and adjusts the statistics in one
transaction, so a crash (kill -9 included) leaves the old article whole, and every server
sees the new one at its next query: nothing is held in memory to reload.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
import psycopg

from app.archive import postgres_rows as tables
from app.archive.backend import Frequencies, Hit
from app.archive.corpus import CHUNKING_VERSION
from app.archive.database import Database
from app.archive.facets import Filters
from app.archive.store import FileIndex
from app.errors import IndexMismatch, IndexNotReady

logger = logging.getLogger(__name__)

# BM25 as bm25s scores it by default (Lucene's variant).
K1, B = 1.5, 0.75


class PostgresStore:
    """What the reader and the write path ask of the archive, answered by one database."""

    def __init__(
        self,
        db: Database,
        *,
        model: str,
        dim: int,
        terms_of: Callable[[str], frozenset[str]],
        ef_search: int = 200,
    ) -> None:
        """`terms_of`: the reader's terms of a sentence (app/reader/words.py), counted per
        passage on each write so that its IDF is the whole archive's."""
        self.db = db
        self.model, self.dim = model, dim
        self.terms_of = terms_of
        self.ef_search = ef_search

    # --- the archive row ----------------------------------------------------------------

    def ensure(self, corpus_dir: str = "") -> None:
        """The archive row for this model, made by the first writer; another model's refused."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO archive (model, dim, chunking_version, corpus_dir) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (self.model, self.dim, CHUNKING_VERSION, corpus_dir),
            )
        self.check()

    def check(self) -> None:
        """Refuse an archive built by another model or chunking (as check_compatible does)."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT model, dim, chunking_version FROM archive").fetchone()
        if row is None:
            raise IndexNotReady(
                "The database holds no archive yet: python -m app index CORPUS_DIR "
                f"--database-url {_safe(self.db.url)}"
            )
        if tuple(row) != (self.model, self.dim, CHUNKING_VERSION):
            raise IndexMismatch(
                f"The archive in the database was built with model {row[0]} (dim {row[1]}, "
                f"chunking v{row[2]}); this service uses {self.model} (dim {self.dim}, "
                f"chunking v{CHUNKING_VERSION}). Rebuild it into an empty database."
            )

    def generation(self) -> int:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT generation FROM archive").fetchone()
        return int(row[0]) if row else -1

    # --- writes -------------------------------------------------------------------------

    def put(
        self,
        part: FileIndex,
        text: str,
        *,
        revision: dict[str, Any] | None = None,
        done_by: str | None = None,
    ) -> bool:
        """The article in, its old rows out, the statistics adjusted: one transaction.
        `done_by`: the indexer whose lease on the article this write completes; if the lease
        has passed to another, nothing is written (False)."""
        try:
            with self.db.transaction() as conn:
                if done_by is not None and not tables.complete(conn, part.file, done_by):
                    raise tables.LeaseLost
                tables.lock_archive(conn)
                tables.delete(conn, part.file)
                tables.insert(conn, part, text, self._terms(part))
                if revision is not None:
                    tables.record(conn, part.file, revision)
        except tables.LeaseLost:
            logger.warning("%s: its lease passed to another indexer; left to it", part.file)
            return False
        return True

    def withdraw(self, file: str, *, revision: dict[str, Any] | None = None) -> bool:
        """The article's rows out (its tombstone recorded); False if it was not there."""
        with self.db.transaction() as conn:
            tables.lock_archive(conn)
            found = tables.delete(conn, file)
            if found and revision is not None:
                tables.record(conn, file, revision)
        return found

    # --- reads --------------------------------------------------------------------------

    def dense(self, query: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k nearest chunks by cosine through HNSW; with a filter, the iterative scan goes
        on past the first candidates until k rows pass it (relaxed order, sorted here)."""
        where, args = _where(filters)
        with self.db.transaction() as conn:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(self.ef_search),))
            conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            rows = conn.execute(
                f"SELECT id, -(embedding <#> %s) FROM chunks WHERE {where} "
                "ORDER BY embedding <#> %s LIMIT %s",
                [query, *args, query, k],
            ).fetchall()
        return sorted((Hit(int(i), float(s)) for i, s in rows), key=lambda h: (-h.score, h.chunk))

    def lexical(self, question: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """The k best chunks by BM25 over the GIN-indexed tsvector: the question's lexemes
        (PostgreSQL's English stemmer and stopwords), each weighed by its exact document
        frequency, term frequencies read from the positions the tsvector keeps."""
        where, args = _where(filters, alias="c.")
        sql = f"""
            WITH q AS (
                SELECT l.lexeme, ln(1 + (a.chunks - l.chunks + 0.5) / (l.chunks + 0.5)) AS idf
                FROM unnest(tsvector_to_array(to_tsvector('english', %s))) AS t(lexeme)
                JOIN lexemes l USING (lexeme) CROSS JOIN archive a WHERE l.chunks > 0),
            query AS (SELECT string_agg(quote_literal(lexeme), ' | ')::tsquery AS tsq FROM q),
            stats AS (SELECT greatest(chunk_length::float8 / greatest(chunks, 1), 1) AS avgdl
                      FROM archive)
            SELECT c.id, sum(q.idf * u.tf / (u.tf + %s * (1 - %s + %s * c.length / s.avgdl)))
            FROM chunks c CROSS JOIN query CROSS JOIN stats s,
                 LATERAL (SELECT lexeme, array_length(positions, 1) AS tf
                          FROM unnest(c.lexemes)) u
                 JOIN q USING (lexeme)
            WHERE c.lexemes @@ query.tsq AND {where}
            GROUP BY c.id ORDER BY 2 DESC, c.id LIMIT %s"""
        with self.db.transaction() as conn:
            rows = conn.execute(sql, [question, K1, B, B, *args, k]).fetchall()
        return [Hit(int(i), float(s)) for i, s in rows]

    def parts(self, chunk_ids: Sequence[int]) -> tuple[list[FileIndex], dict[int, int]]:
        """The articles of these chunks, each with just those chunks and their passages (with
        sentences and sentence vectors); and each chunk id's row among the parts' chunks."""
        with self.db.transaction() as conn:
            return tables.parts(conn, list(chunk_ids))

    def frequencies(self, terms: Collection[str]) -> Frequencies:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT passages FROM archive").fetchone()
            found = conn.execute(
                "SELECT term, passages FROM terms WHERE term = ANY(%s) AND passages > 0",
                (list(terms),),
            ).fetchall()
        return Frequencies(int(row[0]) if row else 0, {t: int(n) for t, n in found})

    def _terms(self, part: FileIndex) -> dict[str, int]:
        """How many of the article's passages hold each term (as the Lexicon counts them)."""
        counts: Counter[str] = Counter()
        for p in part.passages:
            spans = (p.text[s - p.start : e - p.start] for s, e in p.sentences)
            counts.update(frozenset().union(*map(self.terms_of, spans)))
        return dict(counts)

    def files(self) -> dict[str, dict[str, Any]]:
        """Every article as a manifest lists it: sha256, title, paragraphs, chunks, meta."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT file, sha256, title, paragraphs, chunks, meta, copies FROM articles"
            ).fetchall()
        return {
            f: {"sha256": h, "title": t, "paragraphs": p, "chunks": c, "meta": m}
            | ({"copies": list(cs)} if cs else {})
            for f, h, t, p, c, m, cs in rows
        }

    def text(self, file: str) -> str | None:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT text FROM articles WHERE file = %s", (file,)).fetchone()
        return row[0] if row else None

    def latest_revisions(self, files: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Each article's latest revision: the text hash it left and its paragraph marks."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (file) file, sha256, marks FROM revisions "
                "WHERE file = ANY(%s) ORDER BY file, id DESC",
                (files,),
            ).fetchall()
        return {f: (h, m) for f, h, m in rows}

    def history(self, file: str) -> list[dict[str, Any]]:
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT action, time, sha256, note, marks FROM revisions WHERE file = %s "
                "ORDER BY id",
                (file,),
            ).fetchall()
        keys = ("action", "time", "sha256", "note", "marks")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return psycopg.conninfo.make_conninfo(url, password="***") if "@" in url else url


def _where(filters: Filters | None, alias: str = "") -> tuple[str, list[Any]]:
    """The filters as a WHERE clause over the chunks' copied facets (as Facets.mask reads
    them: dates inclusive after, exclusive before, as_of's own day allowed; case-folded
    section and source)."""
    clauses: list[str] = ["true"]
    args: list[Any] = []
    f = filters or Filters()
    if f.published_after is not None:
        clauses.append(f"{alias}published >= %s")
        args.append(f.published_after)
    if f.published_before is not None:
        clauses.append(f"{alias}published < %s")
        args.append(f.published_before)
    if f.as_of is not None:
        clauses.append(f"{alias}published <= %s")
        args.append(f.as_of)
    for column, value in (("section_key", f.section), ("source_key", f.source)):
        if value is not None:
            clauses.append(f"{alias}{column} = %s")
            args.append(tables.facet_key(value))
    return " AND ".join(clauses), args
