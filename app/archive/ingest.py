"""Build or update an index from a corpus folder: only new and changed articles are embedded."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.archive import extracted, store
from app.archive.corpus import CHUNKING_VERSION, Article, Paragraph, chunk_article, corpus_files
from app.archive.embed import Embedder
from app.archive.language import Analysis, analyse
from app.archive.store import FileIndex, Index, Manifest, Passage
from app.errors import BadDocument, IndexMismatch

logger = logging.getLogger(__name__)


@dataclass
class Report:
    files: int = 0
    paragraphs: int = 0
    chunks: int = 0
    embedded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Fields that could not be read (the article is indexed without them), by file and field.
    warnings: list[str] = field(default_factory=list)
    # Files with the very text of another, (copy, the one indexed): cited as the same article.
    copies: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    saved: bool = False


def read_corpus(
    corpus_dir: Path, kept: Path | None = None
) -> tuple[list[Article], list[tuple[str, str]]]:
    """Every readable article; the others by name with the reason, so the run goes on.
    `kept`: where HTML pages' extracted texts are kept (archive/extracted.py)."""
    articles, skipped = [], []
    for path in corpus_files(corpus_dir):
        try:
            articles.append(extracted.read_article(path, kept))
        except BadDocument as exc:
            skipped.append((path.name, str(exc).split(": ", 1)[-1]))
    return articles, skipped


def once_each(articles: list[Article]) -> tuple[list[Article], dict[str, tuple[str, ...]]]:
    """One article per text, the first by name (the copies share its front matter, so its
    dates too), and the names of each one's copies."""
    first: dict[str, Article] = {}
    copies: dict[str, list[str]] = {}
    for article in sorted(articles, key=lambda a: a.file):
        kept = first.setdefault(article.sha256, article)
        if kept is not article:
            copies.setdefault(kept.file, []).append(article.file)
    return list(first.values()), {name: tuple(names) for name, names in copies.items()}


def indexed_hashes(manifest: Manifest) -> dict[str, str]:
    """The text hash of every corpus file the index stands for, copies included."""
    hashes = {name: info["sha256"] for name, info in manifest.files.items()}
    for info in manifest.files.values():
        hashes |= {name: info["sha256"] for name in info.get("copies", ())}
    return hashes


def previous_parts(index_dir: Path, *, model: str, rebuild: bool) -> dict[str, FileIndex]:
    """The parts of the last index we may reuse; none if it was built another way."""
    if rebuild or not store.exists(index_dir):
        return {}
    manifest = store.read_manifest(index_dir)
    try:
        store.check_compatible(manifest, model=model, dim=manifest.dim, index_dir=index_dir)
    except IndexMismatch as exc:
        logger.warning("rebuilding from scratch: %s", exc)
        return {}
    return store.load(index_dir).files


def index_articles(
    articles: list[Article], embedder: Embedder, *, progress: bool = False, processes: int = 1
) -> list[FileIndex]:
    """Chunk, analyse and embed articles: the expensive step, done once per content hash.
    `processes`: how many processes share the language analysis of a large batch."""
    chunks = [chunk_article(a) for a in articles]
    passages = passages_of(articles, processes=processes, progress=progress)
    texts = [c.context for cs in chunks for c in cs]
    for article, ps in zip(articles, passages, strict=True):
        texts += [article.text[s:e] for p in ps for s, e in p.sentences]
    vectors = embedder.encode(texts, progress=progress)
    parts, row = [], 0
    n_chunk_rows = sum(len(cs) for cs in chunks)
    sentence_row = n_chunk_rows
    for article, cs, ps in zip(articles, chunks, passages, strict=True):
        n_sent = sum(len(p.sentences) for p in ps)
        parts.append(
            FileIndex(
                article.file,
                article.sha256,
                article.title,
                len(article.paragraphs),
                cs,
                vectors[row : row + len(cs)],
                ps,
                vectors[sentence_row : sentence_row + n_sent],
                article.meta,
            )
        )
        row += len(cs)
        sentence_row += n_sent
    return parts


def passages_of(
    articles: list[Article], *, processes: int = 1, progress: bool = False
) -> list[list[Passage]]:
    """Each article's body paragraphs with their sentences, entities and phrases; all the
    articles' paragraphs go through the analysis together, so a backfill keeps every core busy."""
    bodies = [a.body for a in articles]
    paragraphs = ((p.start, p.text) for body in bodies for p in body)
    flat = list(analyse(paragraphs, processes=processes, progress=progress))
    passages, at = [], 0
    for article, body in zip(articles, bodies, strict=True):
        found, at = flat[at : at + len(body)], at + len(body)
        passages.append(
            [_passage(article, p, a) for p, a in zip(body, found, strict=True) if a.sentences]
        )
    return passages


def _passage(article: Article, p: Paragraph, a: Analysis) -> Passage:
    return Passage(
        article.file,
        p.number,
        article.title,
        p.section,
        p.start,
        p.end,
        p.text,
        tuple(a.sentences),
        tuple(a.entities),
        tuple(a.phrases),
    )


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    *,
    model: str,
    load_embedder: Callable[[], Embedder],
    rebuild: bool = False,
    progress: bool = False,
    index_type: str = "auto",
    processes: int = 1,
) -> Report:
    """Bring index_dir up to date with corpus_dir; the model is loaded only if needed.
    `processes`: how many share the language analysis."""
    began = time.perf_counter()
    kept = extracted.folder(index_dir)
    articles, skipped = read_corpus(corpus_dir, kept)
    articles, copies = once_each(articles)
    old = previous_parts(index_dir, model=model, rebuild=rebuild)
    changed = [a for a in articles if a.file not in old or old[a.file].sha256 != a.sha256]
    names = {a.file for a in articles}
    removed = sorted(set(old) - names)
    report = Report(skipped=skipped, removed=removed, embedded=[a.file for a in changed])
    report.warnings = [w for a in articles for w in a.warnings]
    report.copies = sorted((c, first) for first, twins in copies.items() for c in twins)
    changed_names = set(report.embedded)
    parts = [old[a.file] for a in articles if a.file not in changed_names]
    for page in (a for a in articles if extracted.is_page(a.file)):
        extracted.keep(kept, page)  # before the index that cites it; once per page's bytes
    recopied = any(p.copies != copies.get(p.file, ()) for p in parts)
    if changed or removed or recopied or not _same_corpus(index_dir, corpus_dir):
        embedder = load_embedder()
        parts += index_articles(changed, embedder, progress=progress, processes=processes)
        for part in parts:
            part.copies = copies.get(part.file, ())
        manifest = _manifest(embedder, corpus_dir, parts)
        store.save(Index(manifest, parts, index_type=index_type), index_dir)
        report.saved = True
    report.files = len(parts)
    report.paragraphs = sum(p.paragraphs for p in parts)
    report.chunks = sum(len(p.chunks) for p in parts)
    report.seconds = time.perf_counter() - began
    return report


def _same_corpus(index_dir: Path, corpus_dir: Path) -> bool:
    if not store.exists(index_dir):
        return False
    return Path(store.read_manifest(index_dir).corpus_dir) == corpus_dir.resolve()


def _manifest(embedder: Embedder, corpus_dir: Path, parts: list[FileIndex]) -> Manifest:
    files = {
        p.file: {
            "sha256": p.sha256,
            "title": p.title,
            "paragraphs": p.paragraphs,
            "chunks": len(p.chunks),
            "meta": p.meta.to_dict(),
        }
        | ({"copies": list(p.copies)} if p.copies else {})
        for p in parts
    }
    return Manifest(
        model=embedder.name,
        dim=embedder.dim,
        chunking_version=CHUNKING_VERSION,
        corpus_dir=str(corpus_dir.resolve()),
        files=files,
        built_at=time.time(),
    )


def revise(
    index: Index,
    embedder: Embedder,
    *,
    put: Sequence[FileIndex] = (),
    drop: Collection[str] = (),
) -> Index:
    """The index with some articles put in (new or replaced) or dropped; the other articles'
    parts are reused as they are, so only what changed was ever embedded."""
    replaced = set(drop) | {p.file for p in put}
    parts = [p for name, p in index.files.items() if name not in replaced] + list(put)
    return Index(_manifest(embedder, index.corpus_dir, parts), parts)


def copy_of(index: Index, file: str) -> FileIndex | None:
    """The indexed article that `file` is an exact copy of, if it is one."""
    return next((p for p in index.files.values() if file in p.copies), None)


def without(index: Index, embedder: Embedder, file: str) -> Index:
    """The index with `file` withdrawn: a copy leaves its article's list; an article with
    copies is taken over by the first of them, its vectors reused under that name."""
    original = copy_of(index, file)
    if original is not None:
        rest = tuple(c for c in original.copies if c != file)
        return revise(index, embedder, put=[replace(original, copies=rest)])
    part = index.files[file]
    if not part.copies:
        return revise(index, embedder, drop={file})
    return revise(index, embedder, put=[_renamed(part, part.copies[0])], drop={file})


def _renamed(part: FileIndex, name: str) -> FileIndex:
    return replace(
        part,
        file=name,
        chunks=[replace(c, file=name) for c in part.chunks],
        passages=[replace(p, file=name) for p in part.passages],
        copies=part.copies[1:],
    )
