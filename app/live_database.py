"""The archive served from PostgreSQL: nothing loaded, nothing to reload.

Every question is answered from what the database holds when it is asked
(app/reader/views.py), so a write committed by any process, on any machine, is answered by
every server at its next request. When the database cannot be reached, requests get a 503
(DatabaseUnavailable) and the pool reconnects by itself when it is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from app.archive import corpus
from app.archive.corpus import Article
from app.archive.database import Database
from app.archive.embed import Embedder
from app.archive.postgres import PostgresStore
from app.archive.revisions import Correction, Revision
from app.config import Settings
from app.errors import BadDocument, DatabaseUnavailable, IndexNotReady
from app.live import Archive
from app.reader import words
from app.reader.answer import Reader
from app.reader.linear import ReaderModels
from app.reader.neural_spans import NeuralSpans
from app.reader.views import ViewReader

logger = logging.getLogger(__name__)


def database_store(settings: Settings, embedder: Embedder, url: str | None = None) -> PostgresStore:
    """The store the settings name (`url` overrides NEWSROOM_DATABASE_URL)."""
    address = url or settings.database_url
    assert address, "a database URL is needed"
    db = Database(
        address,
        size=settings.database_pool_size,
        connect_timeout_s=settings.database_connect_timeout_s,
        statement_timeout_s=settings.database_statement_timeout_s,
    )
    return PostgresStore(
        db,
        model=embedder.name,
        dim=embedder.dim,
        terms_of=words.terms,
        ef_search=settings.database_ef_search,
    )


class DatabaseArchive(Archive):
    """An Archive whose reader reads the database per question (see the module's doc)."""

    def __init__(
        self,
        store: PostgresStore,
        embedder: Embedder,
        models: ReaderModels | None = None,
        span_reader: NeuralSpans | None = None,
        index_dir: Path = Path("index"),
    ) -> None:
        super().__init__(index_dir, embedder, models, span_reader)
        self.store = store
        self.view = ViewReader(
            store,
            embedder,
            models=self.models,
            span_reader=span_reader,
            corrections=self._corrections,
        )
        self._checked = False
        self.problem = "The archive's database has not been reached yet."

    def load(self) -> None:
        """Apply the schema and check the archive's model; an unreachable database leaves the
        archive not ready (503), and the next request tries again."""
        try:
            self._check()
        except (DatabaseUnavailable, IndexNotReady) as exc:
            self.problem = str(exc)
            logger.warning("%s", exc)

    def _check(self) -> None:
        if not self._checked:
            self.store.db.migrate()
            self.store.check()
            self._checked = True

    @property
    def reader(self) -> Reader:
        self._check()
        # The routes use ask(), index, retriever and span_reader of it, which a ViewReader
        # has; it reads per question instead of holding an index.
        return cast(Reader, self.view)

    @property
    def ready(self) -> bool:
        try:
            self._check()
            self.store.generation()
        except (DatabaseUnavailable, IndexNotReady) as exc:
            self.problem = str(exc)
            return False
        return True

    @contextmanager
    def writing(self) -> Iterator[Reader]:
        """Writes need no lock here: each is one transaction, serialised by the database."""
        yield self.reader

    def text(self, file: str) -> str | None:
        return self.store.text(file)

    def history(self, file: str) -> list[Revision]:
        return [
            Revision(
                r["action"], r["time"], r["sha256"], r["note"],
                {int(n): Correction(m["time"], m["note"]) for n, m in r["marks"].items()},
            )
            for r in self.store.history(file)
        ]  # fmt: skip

    def cited(self, file: str, sha256: str) -> Article:
        text = self.store.text(file)
        if text is None:
            raise BadDocument(f"{file}: not in the archive")
        return corpus.parse_article(file, text)

    def _corrections(self, indexed: dict[str, str]) -> dict[str, dict[int, Correction]]:
        """As revisions.marks_for: the marks of the latest revision, if it holds this text."""
        found = {}
        for file, (sha256, marks) in self.store.latest_revisions(list(indexed)).items():
            if sha256 == indexed[file] and marks:
                found[file] = {int(n): Correction(m["time"], m["note"]) for n, m in marks.items()}
        return found


def database_reader(corpus_dir: Path, url: str, like: Reader) -> ViewReader:
    """For python -m app eval: the index `like` reads, put into the database as it is (the
    same vectors, so a comparison measures the stores, not the embeddings), read with the
    same models and embedder."""
    from app.config import get_settings

    store = database_store(get_settings(), like.embedder, url)
    store.db.migrate()
    store.ensure(str(corpus_dir))
    stored = store.files()
    for name, part in like.index.files.items():
        if stored.get(name, {}).get("sha256") != part.sha256:
            store.put(part, corpus.read_article(corpus_dir / name).text)
    return ViewReader(store, like.embedder, models=like.models, span_reader=like.span_reader)
