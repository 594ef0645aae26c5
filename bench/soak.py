"""A bounded soak: N seconds of mixed reads at a fixed concurrency against a running server.

    python -m bench.soak --url http://127.0.0.1:8000 --pid PID --seconds 60 --concurrency 32

or `make soak` (starts its own server on a copy of the seeds). Prints requests, errors,
latency percentiles and the server's resident memory after warm-up and at the end.
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

import httpx

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

    @property
    def rss_growth(self) -> float:
        return (self.rss_end_mb - self.rss_start_mb) / self.rss_start_mb


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


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
    start = rss_mb(pid)
    samples = [start]
    began = time.monotonic()
    latencies, errors = asyncio.run(_run(url, seconds, concurrency, pid, samples))
    samples.append(rss_mb(pid))
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
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, help="server pid (default: start one on the seeds)")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    if args.pid:
        figures = soak(args.url, args.pid, seconds=args.seconds, concurrency=args.concurrency)
    else:
        figures = _soak_own_server(args.seconds, args.concurrency)
    print(json.dumps(asdict(figures) | {"rss_growth": round(figures.rss_growth, 4)}, indent=1))


def _soak_own_server(seconds: float, concurrency: int) -> Figures:
    import tempfile

    from app.archive.embed import SentenceTransformerEmbedder
    from app.config import Settings
    from tests.servers import make_archive, start_server

    with tempfile.TemporaryDirectory() as tmp:
        embedder = SentenceTransformerEmbedder(Settings().model_path)
        server = start_server(make_archive(Path(tmp), embedder))
        try:
            return soak(server.url, server.process.pid, seconds=seconds, concurrency=concurrency)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
