"""A bounded soak: N seconds of mixed reads at a fixed concurrency against a running server.

    python -m bench.soak --url http://127.0.0.1:8000 --pid PID --seconds 60 --concurrency 32

or `make soak` (starts its own `python -m app serve`, with the default backend and worker count
unless --backend/--workers say otherwise, on a copy of the seeds). Prints requests, errors,
latency percentiles and the server's resident memory after warm-up and at the end: the sum over
PID and every process below it (serve's workers), and each process's own.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import get_args

import httpx

from app.config import Settings
from app.serve import worker_count
from bench.processes import ProcessMemory, memory, rss_mb

QUESTIONS = (
    "Who pays Kosovo?",
    "What did the administration say about deportations?",
    "Which countries have agreed to take deportees?",
    "Who is Tricia McLaughlin?",
    "What are return hubs?",
    "What do watchdog groups warn about?",
)
PATHS = ("/healthz", "/documents", "/")


@dataclass(frozen=True)
class Figures:
    seconds: float
    concurrency: int
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    rss_start_mb: float
    rss_end_mb: float
    rss_max_mb: float
    error_kinds: tuple[str, ...]
    rss_start_by_process: tuple[ProcessMemory, ...] = ()
    rss_end_by_process: tuple[ProcessMemory, ...] = ()

    @property
    def rss_growth(self) -> float:
        return (self.rss_end_mb - self.rss_start_mb) / self.rss_start_mb


def requests_mix() -> itertools.cycle[tuple[str, dict[str, str]]]:
    """Mostly questions (the real load), with the cheap pages between them."""
    asks = [("/ask", {"q": q}) for q in QUESTIONS]
    pages = [(p, {}) for p in PATHS]
    return itertools.cycle(asks[:3] + pages[:1] + asks[3:] + pages[1:])


async def _worker(
    client: httpx.AsyncClient, until: float, mix: itertools.cycle, latencies: list[float],
    errors: list[str],
) -> None:  # fmt: skip
    while time.monotonic() < until:
        path, params = next(mix)
        began = time.perf_counter()
        try:
            response = await client.get(path, params=params)
            if response.status_code != 200:
                errors.append(f"{path} {response.status_code}")
        except httpx.HTTPError as exc:
            errors.append(f"{path} {type(exc).__name__}")
        latencies.append(time.perf_counter() - began)


async def _sample(pid: int, until: float, samples: list[float]) -> None:
    while time.monotonic() < until:
        samples.append(rss_mb(pid))
        await asyncio.sleep(1)


async def _run(
    url: str, seconds: float, concurrency: int, pid: int, samples: list[float]
) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        until = time.monotonic() + seconds
        mix = requests_mix()
        await asyncio.gather(
            _sample(pid, until, samples),
            *(_worker(client, until, mix, latencies, errors) for _ in range(concurrency)),
        )
    return latencies, errors


def soak(url: str, pid: int, *, seconds: float, concurrency: int, warmup: float = 3) -> Figures:
    """Warm up (the first requests load lazy state), then measure."""
    asyncio.run(_run(url, warmup, concurrency, pid, []))
    at_start = tuple(memory(pid))
    start = sum(m.rss_mb for m in at_start)
    samples = [start]
    began = time.monotonic()
    latencies, errors = asyncio.run(_run(url, seconds, concurrency, pid, samples))
    at_end = tuple(memory(pid))
    samples.append(sum(m.rss_mb for m in at_end))
    ordered = sorted(latencies) or [0.0]
    return Figures(
        seconds=round(time.monotonic() - began, 1),
        concurrency=concurrency,
        requests=len(latencies),
        errors=len(errors),
        p50_ms=round(statistics.median(ordered) * 1000, 1),
        p95_ms=round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 1),
        rss_start_mb=round(start, 1),
        rss_end_mb=round(samples[-1], 1),
        rss_max_mb=round(max(samples), 1),
        error_kinds=tuple(sorted(set(errors))[:10]),
        rss_start_by_process=at_start,
        rss_end_by_process=at_end,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, help="server pid (default: start one on the seeds)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    backends = get_args(Settings.model_fields["backend"].annotation)
    default = f"of the server it starts (default {Settings().backend}, the settings')"
    parser.add_argument("--backend", choices=backends, help=default)
    parser.add_argument("--workers", type=int, help="of the server it starts (default: serve's)")
    args = parser.parse_args()
    if args.pid:
        figures = soak(args.url, args.pid, seconds=args.seconds, concurrency=args.concurrency)
        server = {}
    else:
        settings = own_server_settings(args.backend, args.workers)
        figures = _soak_own_server(settings, seconds=args.seconds, concurrency=args.concurrency)
        server = {"backend": settings.backend, "workers": settings.workers}
    growth = {"rss_growth": round(figures.rss_growth, 4)}
    print(json.dumps(asdict(figures) | server | growth, indent=1))


def own_server_settings(backend: str | None, workers: int | None) -> Settings:
    """What `python -m app serve` runs with no options (the settings' backend, serve's worker
    count), but for what was asked for."""
    settings = Settings()
    update = {"backend": backend} if backend else {}
    return settings.model_copy(update=update | {"workers": workers or worker_count(settings)})


def _soak_own_server(settings: Settings, *, seconds: float, concurrency: int) -> Figures:
    import tempfile

    from app.archive.embed import load_embedder
    from tests.servers import make_archive, start_server

    with tempfile.TemporaryDirectory() as tmp:
        # Embedded by the backend that will answer (an int8 index needs int8 queries).
        index_dir = make_archive(Path(tmp), load_embedder(settings))
        env = {"NEWSROOM_BACKEND": settings.backend}
        server = start_server(index_dir, workers=settings.workers, **env)
        try:
            return soak(server.url, server.process.pid, seconds=seconds, concurrency=concurrency)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
