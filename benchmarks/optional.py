"""Sections timed only once their feature exists: next question, posterior intervals, batch.

Each imports its module lazily; a missing module gives ``{"status": "not available"}`` and a
call that fails gives ``{"status": "failed", "error": ...}`` — neither stops the suite.
"""

from __future__ import annotations

import csv
import importlib
import io
import time
from collections.abc import Callable
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


def intervals(model: Model, sets: list[EvidenceSet], draws: int = 200) -> dict[str, Any]:
    """Posterior intervals from ``draws`` parameter draws."""
    fn, where = _find("twitchbn.uncertainty", ("posterior_intervals",))
    if fn is None:
        return {"status": "not available", "detail": where}
    return {"entry": where, "draws": draws, **_timed(fn, model, sets, draws=draws)}


def batch(model: Model, sets: list[EvidenceSet]) -> dict[str, Any]:
    """Cases per second through ``twitchbn.batch.run_batch``, all ``sets`` as one cases file.

    The CSV is built and parsed (``read_cases``) outside the timed call.
    """
    try:
        from twitchbn.batch import read_cases, run_batch
    except ImportError as exc:
        return {"status": "not available", "detail": f"twitchbn.batch: {exc}"}
    columns = sorted({v for s in sets for v in s.evidence})
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["id", *columns])
    for s in sets:
        writer.writerow([s.name, *(s.evidence.get(v, "") for v in columns)])
    cases = read_cases(io.StringIO(text.getvalue()), model.variables)
    start = time.perf_counter()
    try:
        result = run_batch(model, cases)
    except Exception as exc:  # see _timed
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    elapsed = time.perf_counter() - start
    done = len(result.results)
    return {"status": "ok", "entry": "twitchbn.batch.run_batch", "cases": len(sets), "computed": done, "bad_rows": len(result.bad),
            "seconds": elapsed, "cases_per_s": done / elapsed}
