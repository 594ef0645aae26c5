"""results.json -> a Markdown report (each number beside its floor and target) and a plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import postgres_scale


def _get(results: dict, *path: str) -> Any:
    node: Any = results.get("sections", {})
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def served(sizes: list[dict]) -> list[dict]:
    """The rows measured with the service's own query-time settings (the others are the
    sweep around them)."""
    from app.archive import dense_index

    defaults = {
        "flat": {},
        "hnsw": {"efSearch": dense_index.HNSW_EF_SEARCH},
        "ivfpq": {"nprobe": dense_index.IVF_NPROBE, "k_factor": dense_index.REFINE_FACTOR},
    }
    return [s for s in sizes if s.get("params", {}) == defaults[s["kind"]]]


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "**not met**")


def targets(results: dict) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for each target of issue #5 that has a number."""
    rows = []
    floor = _get(results, "floors", "result", "floor_p50_ms")
    runs = _get(results, "http", "result", "runs") or []
    one = next((r for r in runs if r["concurrency"] == 1), None)
    if floor and one:
        ratio = one["p50_ms"] / floor
        rows.append(
            (
                "/ask p50 ≤ 1.5× floor",
                f"{one['p50_ms']:.1f} ms = {ratio:.2f}× {floor:.1f} ms{_failed(one)}",
                _verdict(ratio <= 1.5 and not one["errors"]),
            )
        )
    c16 = next((r for r in runs if r["concurrency"] == 16), None)
    if c16:
        ok = c16["rps"] >= 150 and c16["p99_ms"] <= 250 and not c16["errors"]
        rows.append(
            (
                "≥150 req/s at c=16, p99 ≤ 250 ms",
                f"{c16['rps']:.0f} req/s, p99 {c16['p99_ms']:.0f} ms{_failed(c16)}",
                _verdict(ok),
            )
        )
    rates = _get(results, "ingest", "result", "embed_texts_per_s")
    if rates:
        best = max((k for k in rates if k != "torch_default"), key=lambda k: rates[k])
        speedup = rates[best] / rates["torch_default"]
        rows.append(
            (
                "ingest ≥ 2× sentence-transformers' encode",
                f"{best}: {speedup:.2f}×",
                _verdict(speedup >= 2),
            )
        )
    r5 = _get(results, "quality", "result", "r_at_5")
    if r5:
        drop = {k: r5["torch"] - v for k, v in r5.items() if k != "torch"}
        worst = max(drop.values()) if drop else 0.0
        text = ", ".join(f"{k} {v:.3f}" for k, v in r5.items())
        rows.append(("R@5 drop ≤ 1 point", text, _verdict(worst <= 0.01)))
    for size in served(_get(results, "scale", "result", "sizes") or []):
        if size["n"] >= 1_000_000 and size["kind"] != "flat":
            ok = (
                size["search_p50_ms"] <= 5
                and size["recall_at_10"] >= 0.95
                and size["peak_rss_mb"] <= 4096
            )
            rows.append(
                (
                    f"1M chunks, {size['kind']}: p50 ≤ 5 ms, R@10 ≥ 0.95, ≤ 4 GB",
                    f"{size['search_p50_ms']:.2f} ms, {size['recall_at_10']:.3f}, "
                    f"{size['peak_rss_mb'] / 1024:.2f} GB",
                    _verdict(ok),
                )
            )
    rows += _reader_targets(results, floor, one, c16)
    startup = _get(results, "http", "result", "startup_s")
    if startup is not None:
        rows.append(("healthy ≤ 5 s after start", f"{startup:.2f} s", _verdict(startup <= 5)))
    return rows


def _reader_targets(
    results: dict, floor: float | None, one: dict | None, c16: dict | None
) -> list[tuple[str, str, str]]:
    """The span reader's cost against the floor and against the trees' spans, same run."""
    trees = _get(results, "http", "result", "trees_reader", "runs") or []
    rows = []
    if floor and one:
        ratio = one["p50_ms"] / floor
        text = f"{one['p50_ms']:.1f} ms = {ratio:.2f}× {floor:.1f} ms"
        rows.append(("reader: /ask p50 ≤ 2× floor", text, _verdict(ratio <= 2)))
    t16 = next((r for r in trees if r["concurrency"] == 16), None)
    if c16 and t16:
        rps, p99 = c16["rps"] / t16["rps"], c16["p99_ms"] / t16["p99_ms"]
        rows.append(
            (
                "reader at c=16: ≥ 0.6× the trees' req/s, p99 ≤ 1.5× theirs",
                f"{rps:.2f}× ({c16['rps']:.0f} vs {t16['rps']:.0f} req/s), p99 {p99:.2f}× "
                f"({c16['p99_ms']:.0f} vs {t16['p99_ms']:.0f} ms)",
                _verdict(rps >= 0.6 and p99 <= 1.5),
            )
        )
    return rows


def _failed(run: dict) -> str:
    """Beside a run's figures: the requests that got no answer, if any (a run with errors
    meets no target: its figures leave those requests out)."""
    if not run["errors"]:
        return ""
    kinds = [(run.get("timeouts", 0), "timeouts"), (run.get("socket_errors", 0), "socket errors")]
    kinds.append((run.get("non_2xx", 0), "error statuses"))
    return f"; **{run['errors']} errors** (" + ", ".join(f"{n} {k}" for n, k in kinds if n) + ")"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def markdown(results: dict) -> str:
    lines = ["# Benchmark results", ""]
    lines += _table(["target", "measured", "verdict"], [list(t) for t in targets(results)])
    floors = _get(results, "floors", "result")
    if floors:
        lines += ["", "## Floors (same index, same run)", ""]
        rows = [
            [k, v["p50_ms"], v["p95_ms"], v["p99_ms"]]
            for k, v in floors.items()
            if isinstance(v, dict)
        ]
        lines += _table(["step", "p50 ms", "p95 ms", "p99 ms"], rows)
        if "rate_limit_check_us" in floors:
            check = floors["rate_limit_check_us"]
            lines += ["", f"A rate-limit check (the table the workers share): {check} µs."]
    runs = _get(results, "http", "result", "runs")
    if runs:
        http = _get(results, "http", "result")
        lines += ["", "## /ask over HTTP (wrk)", ""]
        if "server_processes" in http:
            lines += [
                f"`python -m app serve`: {http['server_processes']} processes (the supervisor, "
                f"multiprocessing's resource tracker and the workers), "
                f"{http['server_rss_mb']} MB resident in all; CPU summed over them.",
                "",
            ]
        if "one_worker" in http:
            alone = http["one_worker"]
            runs = runs + [
                dict(r, concurrency=f"{r['concurrency']}, one worker") for r in alone["runs"]
            ]
            lines += [
                f"One worker alone (`NEWSROOM_WORKERS=1`, same run): healthy in "
                f"{alone['startup_s']} s, {alone['server_rss_mb']} MB resident.",
                "",
            ]
        if "trees_reader" in http:
            runs = runs + [
                dict(r, concurrency=f"{r['concurrency']}, trees reader")
                for r in http["trees_reader"]["runs"]
            ]
        rows = [
            [
                r["concurrency"],
                r["rps"],
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                _failed(r).removeprefix("; ") or 0,
                r.get("server_cpu_ms_per_request", ""),
            ]
            for r in runs
        ]
        header = [
            "concurrency",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "server CPU ms/request",
        ]
        lines += _table(header, rows)
        if any(r["errors"] for r in runs):
            note = "**Some runs had errors**: their req/s and latencies count only the requests"
            lines += ["", note + " answered, so they are not comparable with the others."]
    build = _get(results, "ingest", "result", "build")
    if build:
        lines += ["", "## Ingest", ""]
        rates = _get(results, "ingest", "result", "embed_texts_per_s")
        lines += _table(["backend", "texts/s"], [[k, v] for k, v in rates.items()])
        lines += [""] + _table(list(build), [list(build.values())])
    sizes = _get(results, "scale", "result", "sizes")
    if sizes:
        lines += ["", "## Scale (synthetic vectors around the real ones)", ""]
        keys = [
            "n",
            "kind",
            "params",
            "build_s",
            "index_mb",
            "peak_rss_mb",
            "search_p50_ms",
            "search_p99_ms",
            "recall_at_10",
        ]
        lines += _table(keys, [[s.get(k) for k in keys] for s in sizes])
        lines += [
            "",
            "The service's settings are efSearch 512 (HNSW) and nprobe 64, k_factor 128 "
            "(IVF-PQ); the other rows are the sweep around them.",
        ]
    served_stores = _get(results, "scale", "result", "served")
    if served_stores and "embedded" in served_stores:
        lines += ["", "## Both stores served (bench/postgres_scale.py)", ""]
        lines += _table(*postgres_scale.rows(served_stores))
    lines += ["", "## How each section ran", ""]
    for name, section in results.get("sections", {}).items():
        load = section["machine"]["load_average_at_start"]
        lines.append(
            f"- {name}: `{section['command']}` at {section['ran_at']}, "
            f"{section['seconds']} s, load average {load}, "
            f"backend {section.get('backend', 'onnx-int8 (not recorded)')}"
        )
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    """Search p50 against corpus size, one line per index kind, with /ask's p50 at SQuAD."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    sizes = served(_get(results, "scale", "result", "sizes") or [])
    floors = _get(results, "floors", "result") or {}
    for kind in ("flat", "hnsw", "ivfpq"):
        points = sorted((s["n"], s["search_p50_ms"]) for s in sizes if s["kind"] == kind)
        if floors.get("faiss_index") == kind:
            points = sorted([(floors["chunks"], floors["faiss_search"]["p50_ms"]), *points])
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=f"FAISS {kind} search p50")
    runs = _get(results, "http", "result", "runs") or []
    one = next((r for r in runs if r["concurrency"] == 1), None)
    if one and floors:
        ax.scatter(
            [floors["chunks"]],
            [one["p50_ms"]],
            color="black",
            zorder=3,
            label="/ask p50 over HTTP (SQuAD)",
        )
    ax.axhline(5, color="grey", linestyle=":", label="5 ms target at 1M")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="chunks in the index",
        ylabel="ms (log)",
        title="Latency against corpus size (2 CPU cores)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict, markdown_path: Path, plot_path: Path) -> None:
    markdown_path.write_text(markdown(results), encoding="utf-8")
    plot(results, plot_path)
