"""An article's rows in and out of PostgreSQL: FileIndex to rows (a write, with the statistics
it changes) and back (a read of some chunks' parts)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np
import psycopg

from app.archive.corpus import Chunk
from app.archive.metadata import Meta
from app.archive.store import FileIndex, Passage


class LeaseLost(Exception):
    """Rolls a write back: another indexer holds the article now."""


def complete(conn: psycopg.Connection, file: str, worker: str) -> bool:
    """Mark the article done in the ingest queue, if `worker` still holds its lease."""
    done = conn.execute(
        "UPDATE ingest_queue SET state = 'done', leased_until = NULL "
        "WHERE file = %s AND leased_by = %s AND state = 'todo'",
        (file, worker),
    )
    return done.rowcount > 0


def lock_archive(conn: psycopg.Connection) -> None:
    """Writers take turns on the statistics row (readers never wait for it)."""
    conn.execute("SELECT 1 FROM archive FOR UPDATE")


def delete(conn: psycopg.Connection, file: str) -> bool:
    """The article's rows out and their counts off the statistics; True if it was there."""
    conn.execute(
        "WITH gone AS (SELECT u.lexeme, count(*) AS n FROM chunks c, unnest(c.lexemes) u "
        "WHERE c.file = %s GROUP BY u.lexeme) "
        "UPDATE lexemes l SET chunks = l.chunks - gone.n FROM gone WHERE l.lexeme = gone.lexeme",
        (file,),
    )
    conn.execute(
        "UPDATE terms t SET passages = t.passages - j.value::int "
        "FROM articles a, jsonb_each_text(a.terms) j WHERE a.file = %s AND t.term = j.key",
        (file,),
    )
    _count(conn, file, -1)
    return conn.execute("DELETE FROM articles WHERE file = %s", (file,)).rowcount > 0


def _count(conn: psycopg.Connection, file: str, sign: int) -> None:
    """The article's passages, chunks and their length on (+1) or off (-1) the totals."""
    conn.execute(
        "UPDATE archive SET passages = passages + %s * p.n, chunks = chunks + %s * c.n, "
        "chunk_length = chunk_length + %s * c.len, generation = generation + 1 "
        "FROM (SELECT count(*) AS n FROM passages WHERE file = %s) p, "
        "(SELECT count(*) AS n, coalesce(sum(length), 0) AS len FROM chunks WHERE file = %s) c",
        (sign, sign, sign, file, file),
    )


def insert(conn: psycopg.Connection, part: FileIndex, text: str, terms: dict[str, int]) -> None:
    """The article's rows and statistics (the caller deleted any old ones first). `terms`:
    how many of its passages hold each of the reader's terms."""
    _insert_rows(conn, part, text, terms)
    conn.execute(
        "UPDATE chunks SET length = (SELECT coalesce(sum(array_length(positions, 1)), 0) "
        "FROM unnest(lexemes)) WHERE file = %s",
        (part.file,),
    )
    # Sorted, so two writers touching the same rows lock them in one order.
    conn.execute(
        "INSERT INTO lexemes (lexeme, chunks) SELECT u.lexeme, count(*) FROM chunks c, "
        "unnest(c.lexemes) u WHERE c.file = %s GROUP BY u.lexeme ORDER BY u.lexeme "
        "ON CONFLICT (lexeme) DO UPDATE SET chunks = lexemes.chunks + excluded.chunks",
        (part.file,),
    )
    conn.execute(
        "INSERT INTO terms (term, passages) SELECT key, value::int FROM jsonb_each_text(%s) "
        "ORDER BY key ON CONFLICT (term) DO UPDATE SET passages = terms.passages + "
        "excluded.passages",
        (json.dumps(terms),),
    )
    _count(conn, part.file, +1)


def record(conn: psycopg.Connection, file: str, revision: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO revisions (file, action, time, sha256, note, marks) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (
            file, revision["action"], revision["time"], revision["sha256"],
            revision.get("note", ""), json.dumps(revision.get("marks", {})),
        ),
    )  # fmt: skip


def _insert_rows(
    conn: psycopg.Connection, part: FileIndex, text: str, terms: dict[str, int]
) -> None:
    meta = part.meta
    conn.execute(
        "INSERT INTO articles (file, sha256, title, paragraphs, chunks, meta, copies, text, "
        "terms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            part.file, part.sha256, part.title, part.paragraphs, len(part.chunks),
            json.dumps(meta.to_dict()), list(part.copies), text, json.dumps(terms),
        ),
    )  # fmt: skip
    ids = _insert_passages(conn, part)
    _insert_sentences(conn, part, ids)
    published, section, source = meta.published_on, facet_key(meta.section), facet_key(meta.source)
    rows = [
        (
            c.file, ids[c.paragraph], c.paragraph, c.title, c.section, c.start, c.end, c.text,
            c.context, published, section, source, np.asarray(vector, dtype=np.float32),
        )
        for c, vector in zip(part.chunks, part.chunk_vectors, strict=True)
    ]  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO chunks (file, passage_id, paragraph, title, section, start_offset, "
            "end_offset, text, context, published, section_key, source_key, embedding) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def _insert_passages(conn: psycopg.Connection, part: FileIndex) -> dict[int, int]:
    """Each passage's id in the database, by paragraph number."""
    signatures = part.signatures
    ids = {}
    with conn.cursor() as cur:
        for i, p in enumerate(part.passages):
            signature = signatures[i].tobytes() if signatures is not None else None
            cur.execute(
                "INSERT INTO passages (file, paragraph, title, section, start_offset, "
                "end_offset, text, entities, phrases, signature) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    p.file, p.paragraph, p.title, p.section, p.start, p.end, p.text,
                    json.dumps(p.entities), json.dumps(p.phrases), signature,
                ),
            )  # fmt: skip
            row = cur.fetchone()
            assert row is not None
            ids[p.paragraph] = int(row[0])
    return ids


def _insert_sentences(conn: psycopg.Connection, part: FileIndex, ids: dict[int, int]) -> None:
    rows, vectors = [], iter(part.sentence_vectors)
    for p in part.passages:
        for n, (start, end) in enumerate(p.sentences):
            rows.append((ids[p.paragraph], n, start, end, np.asarray(next(vectors), np.float32)))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO sentences (passage_id, n, start_offset, end_offset, embedding) "
            "VALUES (%s, %s, %s, %s, %s)",
            rows,
        )


def facet_key(value: str | None) -> str | None:
    """How a section or outlet is matched: spaces collapsed, case folded (as facets.py)."""
    return " ".join(value.split()).casefold() if value else None


# --- reading the parts of some chunks -------------------------------------------------------


def parts(conn: psycopg.Connection, chunk_ids: list[int]) -> tuple[list[FileIndex], dict[int, int]]:
    """The articles of these chunks, each with just those chunks and their passages, in the
    order an Index keeps them (files by name, chunks and passages in file order); and each
    chunk id's row in that order."""
    # Binary: vectors come back as packed floats, not text to parse.
    cur = conn.cursor(binary=True)
    chunks = cur.execute(
        "SELECT id, file, paragraph, title, section, start_offset, end_offset, text, embedding, "
        "passage_id FROM chunks WHERE id = ANY(%s) ORDER BY file, id",
        (chunk_ids,),
    ).fetchall()
    passage_ids = sorted({row[9] for row in chunks})
    passages = conn.execute(
        "SELECT id, file, paragraph, title, section, start_offset, end_offset, text, entities, "
        "phrases, signature FROM passages WHERE id = ANY(%s) ORDER BY file, paragraph",
        (passage_ids,),
    ).fetchall()
    sentences: dict[int, list[tuple[int, int, np.ndarray]]] = defaultdict(list)
    for pid, start, end, vector in cur.execute(
        "SELECT passage_id, start_offset, end_offset, embedding FROM sentences "
        "WHERE passage_id = ANY(%s) ORDER BY passage_id, n",
        (passage_ids,),
    ):
        sentences[pid].append((start, end, vector.to_numpy()))
    files = sorted({row[1] for row in chunks})
    articles = {
        row[0]: row
        for row in conn.execute(
            "SELECT file, sha256, title, paragraphs, meta, copies FROM articles "
            "WHERE file = ANY(%s)",
            (files,),
        )
    }
    built = [_part(articles[f], chunks, passages, sentences) for f in files if f in articles]
    rows = {int(row[0]): i for i, row in enumerate(c for c in chunks if c[1] in articles)}
    return built, rows


def _part(
    article: tuple[Any, ...],
    chunks: list[tuple[Any, ...]],
    passages: list[tuple[Any, ...]],
    sentences: dict[int, list[tuple[int, int, np.ndarray]]],
) -> FileIndex:
    file, sha256, title, paragraphs, meta, copies = article
    mine = [c for c in chunks if c[1] == file]
    ps = [p for p in passages if p[1] == file]
    said = [s for p in ps for s in sentences[p[0]]]
    dim = mine[0][8].dimensions()
    return FileIndex(
        file,
        sha256,
        title,
        paragraphs,
        [Chunk(*c[1:8]) for c in mine],
        np.asarray([c[8].to_numpy() for c in mine], dtype=np.float32).reshape(-1, dim),
        [_passage(p, sentences[p[0]]) for p in ps],
        np.asarray([s[2] for s in said], dtype=np.float32).reshape(-1, dim),
        Meta.from_dict(meta),
        signatures=_signatures(ps),
        copies=tuple(copies),
    )


def _passage(row: tuple[Any, ...], sentences: list[tuple[int, int, np.ndarray]]) -> Passage:
    _, file, paragraph, title, section, start, end, text, entities, phrases, _ = row
    return Passage(
        file, paragraph, title, section, start, end, text,
        tuple((s, e) for s, e, _ in sentences),
        tuple(tuple(e) for e in entities),  # type: ignore[misc]
        tuple(tuple(p) for p in phrases),  # type: ignore[misc]
    )  # fmt: skip


def _signatures(passages: list[tuple[Any, ...]]) -> np.ndarray | None:
    if any(p[10] is None for p in passages):
        return None  # found again by the Index from the texts
    return np.vstack([np.frombuffer(p[10], dtype=np.uint64) for p in passages])
