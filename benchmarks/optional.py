"""Sections timed only once their feature exists: next question, posterior intervals, batch.

Each imports its module lazily; a missing module gives ``{"status": "not available"}`` and a
call that fails gives ``{"status": "failed", "error": ...}`` — neither stops the suite.
"""

from __future__ import annotations

import csv
import importlib
import io
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.sets import EvidenceSet
from benchmarks.timing import per_call, summary
from twitchbn import Model


def _find(module: str, names: tuple[str, ...]) -> tuple[Callable | None, str]:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        return None, f"{module}: {exc}"
    for name in names:
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn, f"{module}.{name}"
    return None, f"{module} has none of {', '.join(names)}"


def _timed(fn: Callable, model: Model, sets: list[EvidenceSet], **kwargs: Any) -> dict[str, Any]:
    seconds = []
    for s in sets:
        try:
            t, _ = per_call(lambda s=s: fn(model, s.evidence, **kwargs))
        except Exception as exc:  # a helper's module still in progress must not stop the suite
            return {"status": "failed", "error": f"{type(exc).__name__} on {s.name}: {exc}"}
        seconds.append(t)
    return {"status": "ok", **summary(seconds)}


def next_question(model: Model, sets: list[EvidenceSet]) -> dict[str, Any]:
    """Ranking every unobserved finding by how much its answer would change the differential."""
    fn, where = _find("twitchbn.reasoning", ("next_questions",))
    if fn is None:
        return {"status": "not available", "detail": where}
    return {"entry": where, **_timed(fn, model, sets)}


def workup(model: Model, sets: list[EvidenceSet]) -> dict[str, Any]:
    """Ranking every unobserved test by expected gain minus alpha x cost, with each result's picture."""
    fn, where = _find("twitchbn.workup", ("next_tests",))
    if fn is None:
        return {"status": "not available", "detail": where}
    return {"entry": where, **_timed(fn, model, sets)}


def intervals(model: Model, sets: list[EvidenceSet], draws: int = 200) -> dict[str, Any]:
    """Posterior intervals from ``draws`` parameter draws."""
    fn, where = _find("twitchbn.uncertainty", ("posterior_intervals",))
    if fn is None:
        return {"status": "not available", "detail": where}
    return {"entry": where, "draws": draws, **_timed(fn, model, sets, draws=draws)}


def _cases_file(sets: list[EvidenceSet]) -> str:
    columns = sorted({v for s in sets for v in s.evidence})
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["id", *columns])
    for s in sets:
        writer.writerow([s.name, *(s.evidence.get(v, "") for v in columns)])
    return text.getvalue()


def _rate(model: Model, sets: list[EvidenceSet]) -> dict[str, Any]:
    """``run_batch`` over ``sets`` as one cases file (built and parsed outside the timed call)."""
    from twitchbn.batch import read_cases, run_batch

    cases = read_cases(io.StringIO(_cases_file(sets)), model.variables)
    start = time.perf_counter()
    result = run_batch(model, cases)
    elapsed = time.perf_counter() - start
    done = len(result.results)
    return {"cases": len(sets), "distinct": len({tuple(sorted(s.evidence.items())) for s in sets}), "computed": done,
            "bad_rows": len(result.bad), "seconds": elapsed, "cases_per_s": done / elapsed}


def batch(model: Model, sets: list[EvidenceSet], clinical: list[EvidenceSet], one_by_one: int = 200) -> dict[str, Any]:
    """Cases per second, side by side: ``run_batch`` on the random ``sets`` and on the distinct
    ``clinical`` cases, ``Model.query`` one case at a time, and the ``twitchbn batch`` command
    end to end (a new process: start-up, loading the compiled pass, reading and writing CSV).

    The first batch call of a process loads the compiled pass from numba's cache; it is timed
    on its own (``first_call_s``) and kept out of the throughput figures.
    """
    try:
        first = _rate(model, sets[:20])
        random_sets, cases = _rate(model, sets), _rate(model, clinical)
    except Exception as exc:  # see _timed
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    sample = sets[:one_by_one]
    start = time.perf_counter()
    for s in sample:
        model.query(s.evidence)
    query_rate = len(sample) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "cases.csv", Path(tmp) / "results.csv"
        source.write_text(_cases_file(sets), encoding="utf-8")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "twitchbn.cli", "batch", str(source), "-o", str(target)], capture_output=True)
        cli_seconds = time.perf_counter() - start
    return {
        "status": "ok", "entry": "twitchbn.batch.run_batch", **random_sets, "first_call_s": first["seconds"],
        "clinical": cases, "query_one_by_one_cases_per_s": query_rate, "query_sample": len(sample),
        "speedup_over_queries": random_sets["cases_per_s"] / query_rate,
        "cli": {"cases": len(sets), "seconds": cli_seconds, "cases_per_s": len(sets) / cli_seconds, "exit": done.returncode},
    }
