"""Wall-clock timing helpers: repeated calls, median/p95 summaries, cold start, peak memory."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.sets import BenchmarkError

BUDGET = 0.05  # seconds of repetitions per set: short calls are repeated, long ones run once
MAX_REPS = 7


def per_call(fn: Callable[[], Any], budget: float = BUDGET, max_reps: int = MAX_REPS) -> tuple[float, Any]:
    """Median seconds of one call of ``fn`` and its last result.

    Calls ``fn`` once, then again while the total stays under ``budget`` (at most ``max_reps``
    calls), so small evidence sets get several repetitions and large ones a single call.
    """
    times = []
    spent = 0.0
    result = None
    while not times or (spent < budget and len(times) < max_reps):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return float(np.median(times)), result


def summary(seconds: list[float]) -> dict[str, float]:
    """Median, p95 and max of per-set times, in milliseconds."""
    arr = np.asarray(seconds) * 1e3
    return {"median_ms": float(np.median(arr)), "p95_ms": float(np.percentile(arr, 95)), "max_ms": float(arr.max()), "n": int(arr.size)}


def cold_start(kb: str | Path | None, reps: int = 3, then: str = "m.network") -> dict[str, float]:
    """Seconds for a fresh interpreter to import twitchbn, load and validate the knowledge base
    and run ``then`` (default: build the pgmpy network), timed from outside; median of ``reps``
    runs and the children's peak memory (MB)."""
    target = repr(str(Path(kb).resolve())) if kb is not None else ""
    code = f"import twitchbn; m = twitchbn.load_model({target}); {then}"
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BenchmarkError(f"cold start failed with exit status {done.returncode}: {last}")
    return {"median_s": float(np.median(times)), "runs_s": times, "child_peak_mb": peak_mb(children=True)}


def peak_mb(children: bool = False) -> float:
    """Peak resident memory in MB of this process, or of its largest waited-for child."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0
