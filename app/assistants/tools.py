"""The MCP server: read-only tools that ask, search and read the archive, and its stdio run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from app.answers import AskResponse, ask_response, paragraph_url
from app.api import Asked, AskRequest, article_as_cited, within_limits
from app.api import answer as answer_of
from app.catalog import DocumentOut, document_out
from app.config import Settings
from app.errors import NewsroomError
from app.live import Archive
from app.reader.question import parse
from app.reader.views import ViewReader

ArchiveSource = Callable[[], Archive]
T = TypeVar("T")
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
INSTRUCTIONS = (
    "A newsroom's archive of articles. ask_archive answers a question with verbatim quotes and "
    "citations; search_archive finds passages; get_article and get_paragraph read the source. "
    "Quote answers as given and cite file and paragraph."
)

TOP_K = "How many answers: 3 unless given, at most 10 (the service's settings say)."
Day = Annotated[date | None, Field(description="YYYY-MM-DD.")]
Text = Annotated[str | None, Field(description="Without regard to case.")]


class PassageOut(BaseModel):
    file: str
    paragraph: int
    title: str
    text: str = Field(description="The whole paragraph, verbatim.")
    score: float = Field(description="Retrieval score, higher is closer.")
    start: int = Field(description="Character offset of the paragraph in the article's text.")
    end: int
    url: str
    source: str | None = None
    published: str | None = None
    section: str | None = None


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut]


class ParagraphOut(BaseModel):
    file: str
    paragraph: int = Field(description="From 1, as citations count them.")
    kind: str = Field(description="body, heading or boilerplate.")
    start: int
    end: int
    text: str
    url: str


class ArticleOut(BaseModel):
    article: DocumentOut
    paragraphs: list[ParagraphOut]


@contextmanager
def _plainly() -> Iterator[None]:
    """The one place domain and validation errors become tool errors a person can read."""
    try:
        yield
    except NewsroomError as exc:
        raise ToolError(str(exc)) from exc
    except ValidationError as exc:
        raise ToolError(" ".join(_problem(e) for e in exc.errors())) from exc


def _problem(error: Any) -> str:
    field = ".".join(str(p) for p in error.get("loc", ()))
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    return f"{field}: {message}." if field else f"{message}."


async def _in_thread(work: Callable[[], T]) -> T:
    """The reader is CPU-bound and synchronous: off the event loop, as FastAPI runs /ask."""

    def guarded() -> T:
        with _plainly():
            return work()

    return await anyio.to_thread.run_sync(guarded)


def build_server(archive: ArchiveSource, settings: Settings) -> MCPServer[Any]:
    """The MCP server with its four read-only tools, over whatever archive `archive` gives."""
    server: MCPServer[Any] = MCPServer("newsroom-archive", instructions=INSTRUCTIONS)
    base = settings.public_base_url

    @server.tool(annotations=READ_ONLY)
    async def ask_archive(
        question: Annotated[str, Field(description="The question, in plain words.")],
        top_k: Annotated[int | None, Field(description=TOP_K)] = None,
        published_after: Day = None,
        published_before: Day = None,
        section: Text = None,
        source: Text = None,
    ) -> AskResponse:
        """Answer a question from the archive: verbatim answers with citations and scores,
        the same as POST /ask; no_answer is true when nothing in the archive answers it."""

        def work() -> AskResponse:
            body = AskRequest(
                question=question, top_k=top_k, published_after=published_after,
                published_before=published_before, section=section, source=source,
            )  # fmt: skip
            return ask_response(answer_of(archive(), within_limits(body, settings)), base)

        return await _in_thread(work)

    @server.tool(annotations=READ_ONLY)
    async def search_archive(
        query: Annotated[str, Field(description="Words to search for.")],
        published_after: Day = None,
        published_before: Day = None,
        section: Text = None,
        source: Text = None,
        limit: Annotated[int, Field(description="How many passages (1 to 20).")] = 5,
    ) -> SearchOut:
        """Find the archive's passages closest to the query, best first, with citations."""

        def work() -> SearchOut:
            if not query.strip():
                raise ToolError("The query is empty; search for some words, e.g. 'Kosovo'.")
            body = AskRequest(
                question=query, top_k=None, published_after=published_after,
                published_before=published_before, section=section, source=source,
            )  # fmt: skip
            return search(archive(), within_limits(body, settings), limit, base)

        return await _in_thread(work)

    @server.tool(annotations=READ_ONLY)
    async def get_article(
        file: Annotated[str, Field(description="The article's file name, as cited.")],
    ) -> ArticleOut:
        """An article's metadata (headline, outlet, dates, byline) and numbered paragraphs."""
        return await _in_thread(lambda: read_article(archive(), file, base))

    @server.tool(annotations=READ_ONLY)
    async def get_paragraph(
        file: Annotated[str, Field(description="The article's file name, as cited.")],
        paragraph: Annotated[int, Field(description="The paragraph's number, from 1.")],
    ) -> ParagraphOut:
        """One paragraph of an article, verbatim, as a citation names it."""
        return await _in_thread(lambda: read_paragraph(archive(), file, paragraph, base))

    return server


MAX_PASSAGES = 20


def search(archive: Archive, asked: Asked, limit: int, base: str) -> SearchOut:
    """The passages retrieval ranks first (the reader's first stage, without its answers)."""
    if not 1 <= limit <= MAX_PASSAGES:
        raise ToolError(f"limit is {limit}; it must be from 1 to {MAX_PASSAGES}.")
    reader, filters = archive.reader, asked.filters
    if isinstance(reader, ViewReader):  # a database store: the question's hits are the index
        reader = reader.over_hits(asked.question, filters)
    allowed = reader.retriever.facets.mask(filters) if filters else None
    query = reader.embedder.encode([asked.question])[0]
    found = reader.retriever.search(parse(asked.question), query, k=limit, allowed=allowed)
    passages = []
    for candidate in found:
        p = reader.index.passages[candidate.row]
        meta = reader.index.files[p.file].meta
        passages.append(
            PassageOut(
                file=p.file,
                paragraph=p.paragraph,
                title=p.title,
                text=p.text,
                score=round(candidate.score, 4),
                start=p.start,
                end=p.end,
                url=paragraph_url(p.file, p.paragraph, base),
                source=meta.source,
                published=meta.published,
                section=meta.section,
            )
        )
    return SearchOut(query=asked.question, passages=passages)


def read_article(archive: Archive, file: str, base: str) -> ArticleOut:
    article = article_as_cited(archive, file)
    info = archive.reader.index.manifest.files[article.file]
    paragraphs = [
        ParagraphOut(
            file=article.file,
            paragraph=p.number,
            kind=p.kind,
            start=p.start,
            end=p.end,
            text=p.text,
            url=paragraph_url(article.file, p.number, base),
        )
        for p in article.paragraphs
    ]
    return ArticleOut(article=document_out(article.file, info), paragraphs=paragraphs)


def read_paragraph(archive: Archive, file: str, paragraph: int, base: str) -> ParagraphOut:
    paragraphs = read_article(archive, file, base).paragraphs
    numbers = [p.paragraph for p in paragraphs]
    for p in paragraphs:
        if p.paragraph == paragraph:
            return p
    span = f"{min(numbers)} to {max(numbers)}" if numbers else "none"
    raise ToolError(f"{file} has no paragraph {paragraph}; its paragraphs are {span}.")


def run_stdio(settings: Settings, index_dir: Path) -> int:
    """Serve the archive in `index_dir` to one assistant over stdin/stdout."""
    from app.archive.embed import load_embedder
    from app.reader import neural_spans
    from app.reader.linear import load_models

    models = load_models(compiled_dir=settings.trees_dir)
    span_reader = neural_spans.load(settings)
    archive = Archive(index_dir, load_embedder(settings), models, span_reader)
    archive.load()
    build_server(lambda: archive, settings).run("stdio")
    return 0
