"""Serving on one port from one process or several (`workers`).

Python runs one thread's Python code at a time, and most of a question's CPU is Python (the
reader), so one process answers about 100 questions a second however many cores it has. With
several workers, each is a whole server (its own model and copy of the index) listening on
the same port with SO_REUSEPORT, and the kernel spreads new connections across them. uvicorn's
own --workers shares one socket instead, and whichever worker wakes first accepts every
waiting connection: in the benchmark, all 16 keep-alive connections often went to one worker.

Writes stay consistent across workers through the index folder (store.writing, Archive.reader);
the per-client rate limit counts each client once, in a table in the run's runtime folder
(app/rate_limit.py).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

import uvicorn
from tqdm import tqdm

from app.config import Settings
from app.errors import PortInUse

logger = logging.getLogger(__name__)

STARTUP_FAILED = 3  # a worker's exit status when its app could not start: don't retry it
PR_SET_PDEATHSIG = 1  # prctl option, from <sys/prctl.h>
RESTART_PAUSE = 1.0  # seconds before a crashed worker is replaced, so a crash can't spin


AUTO_WORKERS_MAX = 4  # each worker holds a copy of the index: more only by asking


def cores() -> int:
    """The cores this process may run on (a container's cpuset, not the host's count)."""
    return len(os.sched_getaffinity(0))


def worker_count(settings: Settings) -> int:
    return settings.workers or min(cores(), AUTO_WORKERS_MAX)


def run(settings: Settings, host: str, port: int) -> int:
    workers = worker_count(settings)
    if workers == 1:
        from app.main import create_app

        # log_config=None: uvicorn keeps the JSON logging create_app set up (app.telemetry),
        # and RequestLog writes the access lines, with request ids.
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
        return 0
    return Supervisor(per_worker(settings, workers), host, port, workers).run()


def per_worker(settings: Settings, workers: int) -> Settings:
    """Each worker's settings: its share of the cores for the model. The rate limit is not
    shared out: the workers count every client in one table (app/rate_limit.py)."""
    return settings.model_copy(update={"threads": settings.threads or max(1, cores() // workers)})


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    return sock


def _worker(settings: Settings, host: str, port: int, supervisor: int) -> None:
    """One worker process: a whole server on its own SO_REUSEPORT socket."""
    from app.main import create_app

    _stop_with(supervisor)
    # bm25s wraps every question in a (disabled) tqdm bar, whose default lock is a
    # multiprocessing semaphore; a worker ends by its re-raised SIGTERM, without cleanup, and
    # the resource tracker would warn of a leak at every stop. A thread lock is all it needs.
    tqdm.set_lock(threading.RLock())
    sock = listening_socket(host, port, reuse_port=True)
    config = uvicorn.Config(create_app(settings), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILED)


def _stop_with(supervisor: int) -> None:
    """SIGTERM this worker when the supervisor dies, even by SIGKILL, so no orphan keeps
    serving the port (Linux's PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """Starts the workers, replaces one that crashes, and stops them all on SIGTERM/SIGINT."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self.settings, self.host, self.port, self.workers = settings, host, port, workers
        self.context = multiprocessing.get_context("spawn")  # no state shared by accident
        self.stopping = False

    def run(self) -> int:
        # Fails if anything listens there already; a worker's SO_REUSEPORT bind would not, and
        # a stale server would quietly share the port with this one.
        listening_socket(self.host, self.port, reuse_port=False).close()
        with tempfile.TemporaryDirectory(prefix="newsroom-run-") as runtime:
            self.settings = self.settings.model_copy(update={"runtime_dir": Path(runtime)})
            # Each worker counts into files here; /metrics, on any worker, sums them all.
            metrics = Path(runtime, "metrics")
            metrics.mkdir()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, self._stop)
            logger.info("starting %d workers on %s:%d", self.workers, self.host, self.port)
            return self._watch([self._start() for _ in range(self.workers)])

    def _start(self) -> BaseProcess:
        process = self.context.Process(
            target=_worker,
            args=(self.settings, self.host, self.port, os.getpid()),
            name="newsroom-worker",
        )
        process.start()
        return process

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _watch(self, processes: list[BaseProcess]) -> int:
        status = 0
        while not self.stopping:
            wait([p.sentinel for p in processes], timeout=0.5)
            for i, process in enumerate(processes):
                if process.exitcode is None or self.stopping:
                    continue
                if process.exitcode == STARTUP_FAILED:
                    logger.error("a worker could not start (see above); stopping")
                    self.stopping, status = True, 1
                    break
                logger.error("worker %d exited with %s; starting another", process.pid,
                             process.exitcode)  # fmt: skip
                time.sleep(RESTART_PAUSE)
                processes[i] = self._start()
        self._shut(processes)
        return status

    def _shut(self, processes: list[BaseProcess]) -> None:
        """SIGTERM (uvicorn finishes the requests in flight), then wait; SIGKILL stragglers."""
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(timeout=60)
            if process.exitcode is None:
                process.kill()
                process.join()
