-- The archive in PostgreSQL with pgvector (app/archive/postgres.py reads and writes it).
-- Applied once at start by app/archive/database.py, which records the version it reaches.

CREATE EXTENSION IF NOT EXISTS vector;

-- What every row was built with; a service with another model refuses to use it.
CREATE TABLE archive (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    model text NOT NULL,
    dim integer NOT NULL,
    chunking_version text NOT NULL,
    corpus_dir text NOT NULL DEFAULT '',
    -- Bumped by every write, in its transaction: a server refreshes its article list when
    -- this moves, and never reloads anything else.
    generation bigint NOT NULL DEFAULT 0,
    -- BM25's collection statistics, exact within each write's transaction.
    passages bigint NOT NULL DEFAULT 0,
    chunks bigint NOT NULL DEFAULT 0,
    chunk_length bigint NOT NULL DEFAULT 0
);

CREATE TABLE articles (
    file text PRIMARY KEY,
    sha256 text NOT NULL,
    title text NOT NULL,
    paragraphs integer NOT NULL,
    chunks integer NOT NULL,
    meta jsonb NOT NULL DEFAULT '{}',
    copies text[] NOT NULL DEFAULT '{}',
    text text NOT NULL,
    -- The reader's terms (app/reader/words.py) and how many of its passages hold each, so a
    -- write can take its own counts back off `terms`.
    terms jsonb NOT NULL DEFAULT '{}',
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX articles_sha256 ON articles (sha256);

-- Added, corrected and withdrawn, oldest first; a withdrawn article's rows are gone, its
-- tombstone stays here.
CREATE TABLE revisions (
    id bigserial PRIMARY KEY,
    file text NOT NULL,
    action text NOT NULL CHECK (action IN ('added', 'corrected', 'withdrawn')),
    time text NOT NULL,
    sha256 text NOT NULL,
    note text NOT NULL DEFAULT '',
    marks jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX revisions_file ON revisions (file, id);

CREATE TABLE passages (
    id bigserial PRIMARY KEY,
    file text NOT NULL REFERENCES articles ON DELETE CASCADE,
    paragraph integer NOT NULL,
    title text NOT NULL,
    section text NOT NULL,
    start_offset integer NOT NULL,
    end_offset integer NOT NULL,
    text text NOT NULL,
    entities jsonb NOT NULL DEFAULT '[]',
    phrases jsonb NOT NULL DEFAULT '[]',
    signature bytea,
    UNIQUE (file, paragraph)
);

CREATE TABLE sentences (
    passage_id bigint NOT NULL REFERENCES passages ON DELETE CASCADE,
    n integer NOT NULL,
    start_offset integer NOT NULL,
    end_offset integer NOT NULL,
    embedding vector(384) NOT NULL,
    PRIMARY KEY (passage_id, n)
);

CREATE TABLE chunks (
    id bigserial PRIMARY KEY,
    file text NOT NULL REFERENCES articles ON DELETE CASCADE,
    passage_id bigint NOT NULL REFERENCES passages ON DELETE CASCADE,
    paragraph integer NOT NULL,
    title text NOT NULL,
    section text NOT NULL,
    start_offset integer NOT NULL,
    end_offset integer NOT NULL,
    text text NOT NULL,
    context text NOT NULL,
    -- The article's facets, copied onto its chunks so a filter is a plain WHERE.
    published date,
    section_key text,
    source_key text,
    embedding vector(384) NOT NULL,
    lexemes tsvector GENERATED ALWAYS AS (to_tsvector('english', context)) STORED,
    length integer NOT NULL DEFAULT 0
);
CREATE INDEX chunks_file ON chunks (file);
CREATE INDEX chunks_passage ON chunks (passage_id);
-- The vectors are unit length, so inner product is cosine, as in the FAISS index.
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops);
CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);
CREATE INDEX chunks_published ON chunks (published);

-- How many chunks hold each lexeme (BM25's document frequency), exact per transaction.
CREATE TABLE lexemes (
    lexeme text PRIMARY KEY,
    chunks integer NOT NULL CHECK (chunks >= 0)
);

-- How many passages hold each of the reader's terms: its IDF, exact per transaction.
CREATE TABLE terms (
    term text PRIMARY KEY,
    passages integer NOT NULL CHECK (passages >= 0)
);

-- Parallel ingest: each indexer claims articles with FOR UPDATE SKIP LOCKED under a lease;
-- a lease that runs out (its indexer was killed) lets another claim the article.
CREATE TABLE ingest_queue (
    file text PRIMARY KEY,
    sha256 text NOT NULL,
    copies text[] NOT NULL DEFAULT '{}',
    state text NOT NULL DEFAULT 'todo' CHECK (state IN ('todo', 'done', 'failed')),
    leased_by text,
    leased_until timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX ingest_queue_todo ON ingest_queue (state) WHERE state = 'todo';
