"""A small async load generator, for machines without wrk: run in its own process,
`connections` clients each send POST /ask back to back for `seconds`, rotating questions.

    python -m bench.loadgen URL QUESTIONS_JSON CONNECTIONS SECONDS [TIMEOUT_S]

Prints one line, `RESULT {...}`, in the same shape bench/http_load.py reads from wrk. A request
that times out or fails is counted, as wrk counts it, and the run goes on: one stall must not
cost the whole run its figures.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

TIMEOUT_S = 10.0  # as wrk's --timeout in bench/http_load.py


@dataclass
class Tally:
    """What a run's requests came to: latencies of those answered, and how the others failed."""

    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0
    timeouts: int = 0
    socket_errors: int = 0


async def _client(
    http: httpx.AsyncClient, bodies: itertools.cycle, until: float, tally: Tally
) -> None:
    while time.perf_counter() < until:
        began = time.perf_counter()
        try:
            response = await http.post("/ask", json=next(bodies))
        except httpx.TimeoutException:
            tally.timeouts += 1
            continue
        except httpx.TransportError:  # refused, reset, closed mid-answer
            tally.socket_errors += 1
            continue
        tally.latencies.append(time.perf_counter() - began)
        tally.non_2xx += response.status_code >= 400


async def run(
    url: str, questions: list[str], connections: int, seconds: float, timeout: float = TIMEOUT_S
) -> dict:
    bodies = itertools.cycle([{"question": q} for q in questions])
    tally = Tally()
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as http:
        began = time.perf_counter()
        until = began + seconds
        await asyncio.gather(*(_client(http, bodies, until, tally) for _ in range(connections)))
        duration = time.perf_counter() - began
    us = np.asarray(tally.latencies or [0.0]) * 1e6
    return {
        "requests": len(tally.latencies),
        "duration_us": int(duration * 1e6),
        "socket_errors": tally.socket_errors,
        "timeouts": tally.timeouts,
        "non_2xx": tally.non_2xx,
        **{f"p{p}_us": int(np.percentile(us, p)) for p in (50, 95, 99)},
        "max_us": int(us.max()),
    }


def main() -> None:
    url, questions_file, connections, seconds = sys.argv[1:5]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else TIMEOUT_S
    questions = json.loads(Path(questions_file).read_text())
    result = asyncio.run(run(url, questions, int(connections), float(seconds), timeout))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
