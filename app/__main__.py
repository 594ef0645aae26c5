"""Command line: python -m app index | import | ask | serve | mcp | eval."""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from datetime import date
from pathlib import Path

from app.config import Settings, get_settings
from app.errors import NewsroomError


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from app.archive import store
    from app.archive.embed import embedder_name, load_embedder
    from app.archive.ingest import build_index
    from app.reader import lexical_cache

    corpus = Path(args.corpus_dir or settings.corpus_dir)
    if not corpus.is_dir():
        print(f"error: {corpus} is not a folder", file=sys.stderr)
        return 2
    if _database(args, settings):
        return _index_database(corpus, args, settings)
    with store.writing(Path(args.index_dir)):  # a running server may be publishing
        report = build_index(
            corpus,
            Path(args.index_dir),
            model=embedder_name(settings),
            load_embedder=lambda: load_embedder(settings),
            rebuild=args.rebuild,
            progress=True,
            index_type=settings.index_type,
            processes=settings.analysis_processes(),
        )
    lexical_cache.prepare(Path(args.index_dir))  # so a server starts without building them
    state = "updated" if report.saved else "already up to date"
    print(
        f"Index {args.index_dir} {state}: {report.files} files, {report.paragraphs} paragraphs, "
        f"{report.chunks} chunks in {report.seconds:.1f}s."
    )
    print(f"  embedded: {len(report.embedded)} files; removed: {len(report.removed)} files")
    for name, reason in report.skipped:
        print(f"  skipped {name}: {reason}")
    for warning in report.warnings:
        print(f"  warning {warning}")
    for copy, kept in report.copies:
        print(f"  copy {copy} = {kept}")
    return 0


def _database(args: argparse.Namespace, settings: Settings) -> str | None:
    """The database URL the command was given, or the settings' (None: the index folder)."""
    return getattr(args, "database_url", None) or settings.database_url


def _index_database(corpus: Path, args: argparse.Namespace, settings: Settings) -> int:
    from app.archive.embed import load_embedder
    from app.archive.ingest_queue import build_in_database
    from app.live_database import database_store

    embedder = load_embedder(settings)
    store = database_store(settings, embedder, _database(args, settings))
    store.db.migrate()
    report = build_in_database(
        corpus,
        store,
        load_embedder=lambda: embedder,
        lease_s=args.lease_s,
        rebuild=args.rebuild,
        progress=True,
    )
    store.db.close()
    print(
        f"Database archive updated from {corpus}: {report.files} articles listed; this indexer "
        f"embedded {len(report.embedded)} and withdrew {len(report.removed)} in "
        f"{report.seconds:.1f}s."
    )
    for name, reason in report.skipped:
        print(f"  skipped {name}: {reason}")
    for copy, kept in report.copies:
        print(f"  copy {copy} = {kept}")
    return 0


def _import(args: argparse.Namespace, settings: Settings) -> int:
    from app.feed_import import import_feed

    corpus = Path(args.corpus or settings.corpus_dir)
    if not corpus.is_dir():
        print(f"error: {corpus} is not a folder", file=sys.stderr)
        return 2
    done = import_feed(args.source, corpus, settings)
    print(
        f"Imported {args.source} into {corpus}: {len(done.added)} added, "
        f"{len(done.updated)} updated, {len(done.unchanged)} unchanged, "
        f"{len(done.skipped)} skipped."
    )
    for where, reason in done.skipped:
        print(f"  skipped {where}: {reason}")
    for warning in done.warnings:
        print(f"  warning {warning}")
    if done.added or done.updated:
        print(f"  index them: python -m app index {corpus}")
    return 0


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    from app import citations
    from app.answers import ask_response
    from app.api import AskRequest, within_limits
    from app.api import answer as answer_of
    from app.archive.embed import load_embedder
    from app.live import Archive
    from app.reader import neural_spans
    from app.reader.linear import load_models

    body = AskRequest(
        question=args.question, top_k=args.top_k, published_after=args.after,
        published_before=args.before, section=args.section, source=args.source,
        as_of=args.as_of, dates=args.dates,
    )  # fmt: skip
    asked = within_limits(body, settings)
    models = load_models(compiled_dir=settings.trees_dir)
    span_reader = neural_spans.load(settings)
    embedder = load_embedder(settings)
    url = _database(args, settings)
    if url:
        from app.live_database import DatabaseArchive, database_store

        store = database_store(settings, embedder, url)
        archive: Archive = DatabaseArchive(store, embedder, models, span_reader)
    else:
        archive = Archive(Path(args.index_dir), embedder, models, span_reader)
    archive.load()
    result = answer_of(archive, asked)
    if args.json:
        print(ask_response(result).model_dump_json(indent=2))
        return 0
    if result.no_answer:
        print("Nothing in the archive answers that. Closest passages:")
    for rank, answer in enumerate(result.answers, start=1):
        c = answer.citation
        print(f"{rank}. {answer.answer}")
        print(textwrap.indent(textwrap.fill(f"“{answer.sentence}”", 88), "   "))
        print(f"   — {citations.label(c)} [{c.start}:{c.end}]  score {answer.score:.2f}")
        for extra in (citations.corrected_line(answer), citations.also_in_line(answer)):
            if extra:
                print(textwrap.indent(textwrap.fill(extra, 88), "   "))
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from app import serve

    update: dict[str, object] = {"index_dir": Path(args.index_dir)}
    if args.database_url:
        update["database_url"] = args.database_url
    if args.workers is not None:
        update["workers"] = args.workers
    return serve.run(settings.model_copy(update=update), args.host, args.port)


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from app import assistants

    return assistants.run_stdio(settings, Path(args.index_dir))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-01-31") from None


def _database_argument(command: argparse.ArgumentParser) -> None:
    where = "the archive in PostgreSQL (default NEWSROOM_DATABASE_URL; unset: --index-dir)"
    command.add_argument("--database-url", metavar="postgresql://...", help=where)


def _filter_arguments(ask: argparse.ArgumentParser) -> None:
    """The /ask filters, by their short names and by the API's."""
    day = "YYYY-MM-DD"
    ask.add_argument("--after", "--published-after", type=_day, metavar=day, help="on or after")
    ask.add_argument("--before", "--published-before", type=_day, metavar=day, help="before")
    ask.add_argument("--section", help="only this section")
    ask.add_argument("--source", help="only this outlet")
    ask.add_argument("--as-of", type=_day, metavar=day, help="the archive as it stood then")
    dates = "'any': the question's date words do not narrow the search"
    ask.add_argument("--dates", choices=("read", "any"), default="read", help=dates)


def parser() -> argparse.ArgumentParser:
    settings = get_settings()
    settings_index = str(settings.index_dir)
    root = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    index = commands.add_parser("index", help="build or update the index of a corpus folder")
    index.add_argument("corpus_dir", nargs="?", help="folder of articles (default seeds/)")
    index.add_argument("--index-dir", default=settings_index)
    index.add_argument("--rebuild", action="store_true", help="re-embed everything")
    _database_argument(index)
    lease = "with --database-url: seconds an indexer holds its articles unrenewed (default 60)"
    index.add_argument("--lease-s", type=float, default=60.0, help=lease)
    index.set_defaults(run=_index)

    feed = commands.add_parser(
        "import", help="write a feed's articles into the corpus (JSON Lines, RSS or Atom)"
    )
    feed.add_argument("source", metavar="FILE_OR_URL", help="a feed file, or an http(s) URL")
    feed.add_argument("--corpus", help="corpus folder to write into (default seeds/)")
    feed.set_defaults(run=_import)

    ask = commands.add_parser("ask", help="ask the archive a question")
    ask.add_argument("question")
    ask.add_argument("--index-dir", default=settings_index)
    top_k = f"how many answers (default {settings.default_top_k}, at most {settings.max_top_k})"
    ask.add_argument("--top-k", type=int, metavar="N", help=top_k)
    ask.add_argument("--json", action="store_true", help="print the /ask response body")
    _filter_arguments(ask)
    _database_argument(ask)
    ask.set_defaults(run=_ask)

    serve = commands.add_parser("serve", help="serve the HTTP API and web form")
    serve.add_argument("--index-dir", default=settings_index)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, metavar="N", help="server processes (default: one per core)"
    )
    _database_argument(serve)
    serve.set_defaults(run=_serve)

    mcp = commands.add_parser("mcp", help="serve the archive to AI assistants over stdio (MCP)")
    mcp.add_argument("--index-dir", default=settings_index)
    mcp.set_defaults(run=_mcp)

    evaluation = commands.add_parser("eval", help="measure answer quality on a question set")
    _eval_arguments(evaluation)
    evaluation.set_defaults(run=_eval)
    return root


def _eval_arguments(parser: argparse.ArgumentParser) -> None:
    from app.metrics import CUTOFF

    parser.add_argument("dataset_dir", type=Path, help="folder with corpus/ and questions.jsonl")
    questions = "questions file (default: questions.jsonl), or a GET /feedback export"
    parser.add_argument("--questions", type=Path, help=questions)
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: DATASET_DIR/corpus)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--baselines", action="store_true", help="also run BM25 and dense alone")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--plot", type=Path, help="write a PNG of R@k, k=1..10")
    parser.add_argument(
        "--reliability-plot", type=Path, help="write a PNG of share right against score"
    )
    parser.add_argument("--save-json", type=Path, help="also write the numbers as JSON here")
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/eval"))
    parser.add_argument(
        "--url", help="ask a running service's POST /ask at this base URL instead of in process"
    )
    parser.add_argument(
        "--top-k", type=int, default=CUTOFF, help=f"answers asked per question (default {CUTOFF})"
    )
    parser.add_argument("--no-progress", action="store_true")
    _database_argument(parser)


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here, like every command's work: `serve` starts its workers without first
    # importing the whole reader (and scikit-learn, through LightGBM) in the supervisor.
    from app.evaluate import evaluate

    return evaluate(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        return int(args.run(args, get_settings()))
    except NewsroomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
