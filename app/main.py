"""The FastAPI application: create_app() loads the model and index once, in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from app import (
    api,
    assistants,
    catalog,
    feedback_api,
    integrations,
    publish,
    publish_api,
    revisions_api,
    security,
    telemetry,
    web,
)
from app.archive.batching import BatchingEmbedder
from app.archive.embed import Embedder, load_embedder
from app.config import Settings, get_settings
from app.errors import NewsroomError
from app.live import Archive
from app.live_database import DatabaseArchive, database_store
from app.reader import neural_spans
from app.reader.linear import ReaderModels, load_models
from app.reader.neural_spans import NeuralSpans
from app.web import archive_page, desk

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> FastAPI:
    """The app factory (`uvicorn --factory app.main:create_app`)."""
    settings = settings or get_settings()
    telemetry.setup_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Concurrent questions share one model call (app/archive/batching.py); bulk encodes
        # pass through.
        model = BatchingEmbedder(
            embedder or load_embedder(settings),
            max_wait_ms=settings.batch_wait_ms,
            max_batch=settings.batch_max,
            timeout_s=settings.batch_timeout_s,
        )
        span_reader = neural_spans.load(settings, batched=True)
        models = load_models(compiled_dir=settings.trees_dir)
        archive = _archive(settings, model, models, span_reader)
        archive.load()
        app.state.archive = archive
        async with assistants.serving(app):  # the MCP sessions, when /mcp is on
            yield
        if isinstance(archive, DatabaseArchive):
            archive.store.db.close()
        model.close()
        if span_reader is not None:
            span_reader.close()

    app = FastAPI(
        title="Newsroom QA",
        summary="Ask the archive; get verbatim answers with citations.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(catalog.router)
    app.include_router(revisions_api.router)
    app.include_router(web.router)
    app.include_router(archive_page.router)
    app.include_router(desk.router)
    app.state.sign_ins = security.sign_in_limiter(settings)
    app.include_router(integrations.router)
    app.include_router(publish_api.router)
    app.include_router(feedback_api.router)
    assistants.mount(app, settings)
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), "static")
    _add_error_handlers(app)
    security.install(app, settings)
    telemetry.install(app)
    return app


def _archive(
    settings: Settings, model: Embedder, models: ReaderModels, span_reader: NeuralSpans | None
) -> Archive:
    """The database's archive when a URL is set, else the index folder's."""
    if settings.database_url:
        store = database_store(settings, model)
        return DatabaseArchive(store, model, models, span_reader, settings.index_dir)
    # A write cut short by a crash is finished or undone before anyone asks.
    publish.reconcile(settings.index_dir, model)
    return Archive(settings.index_dir, model, models, span_reader)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NewsroomError)
    async def domain_error(request: Request, exc: NewsroomError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if exc.status_code != 404 else "Not found: no such page or article."
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(exc.errors())

    @app.exception_handler(ValidationError)
    async def invalid_value(request: Request, exc: ValidationError) -> JSONResponse:
        return _validation_response(exc.errors())


def _validation_response(errors: object) -> JSONResponse:
    """One readable sentence per problem, plus pydantic's detail for programs."""
    items = list(errors) if isinstance(errors, list | tuple) else []
    if any(e.get("type") == "json_invalid" for e in items):
        return JSONResponse(
            {"error": "The request body is not valid JSON.", "detail": _plain(items)},
            status_code=400,
        )
    messages = [_describe(e) for e in items] or ["Invalid request."]
    return JSONResponse({"error": " ".join(messages), "detail": _plain(items)}, status_code=422)


def _describe(error: dict) -> str:
    field = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
    return f"{field}: {message}." if field else f"{message}."


def _plain(errors: list[dict]) -> list[dict]:
    """pydantic's errors without the input echo and context objects (not JSON-safe)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors
    ]
