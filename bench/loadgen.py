"""A small async load generator, for machines without wrk: run in its own process,
`connections` clients each send POST /ask back to back for `seconds`, rotating questions.

    python -m bench.loadgen URL QUESTIONS_JSON CONNECTIONS SECONDS

Prints one line, `RESULT {...}`, in the same shape bench/http_load.py reads from wrk.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path

import httpx
import numpy as np


async def _client(
    http: httpx.AsyncClient, bodies: itertools.cycle, until: float, out: list[float]
) -> int:
    errors = 0
    while time.perf_counter() < until:
        began = time.perf_counter()
        response = await http.post("/ask", json=next(bodies))
        out.append(time.perf_counter() - began)
        errors += response.status_code >= 400
    return errors


async def run(url: str, questions: list[str], connections: int, seconds: float) -> dict:
    bodies = itertools.cycle([{"question": q} for q in questions])
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as http:
        began = time.perf_counter()
        until = began + seconds
        clients = [_client(http, bodies, until, latencies) for _ in range(connections)]
        errors = sum(await asyncio.gather(*clients))
        duration = time.perf_counter() - began
    us = np.asarray(latencies or [0.0]) * 1e6
    return {
        "requests": len(latencies),
        "duration_us": int(duration * 1e6),
        "socket_errors": 0,
        "non_2xx": errors,
        **{f"p{p}_us": int(np.percentile(us, p)) for p in (50, 95, 99)},
        "max_us": int(us.max()),
    }


def main() -> None:
    url, questions_file, connections, seconds = sys.argv[1:5]
    questions = json.loads(Path(questions_file).read_text())
    result = asyncio.run(run(url, questions, int(connections), float(seconds)))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
