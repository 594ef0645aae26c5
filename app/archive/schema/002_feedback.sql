-- Readers' verdicts on answers (app/feedback_store.py). Apart from the archive's own tables:
-- rebuilding or re-ingesting the archive keeps them.

CREATE TABLE feedback (
    id bigserial PRIMARY KEY,
    at text NOT NULL,              -- ISO 8601 in UTC, to the second: sorts as it reads
    channel text NOT NULL,
    verdict text NOT NULL,
    comment text NOT NULL,
    question text NOT NULL,
    answer text NOT NULL,
    file text NOT NULL,
    paragraph integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    score double precision NOT NULL,
    index_version text NOT NULL
);

CREATE INDEX feedback_at ON feedback (at);
