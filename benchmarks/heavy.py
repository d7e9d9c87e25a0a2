"""Heavy evidence: query and next-question time by the number of positive findings.

A thorough examination sets many findings beyond their first state; exact inference in a
noisy-MAX network grows with how many are positive at once (docs/engine.md). For each count in
``COUNTS`` (and every symptom and sign at once), seeded sets of that many findings, each in a random
state other than its first, are queried and ranked for the next question, and pyAgrum is asked
for the same posteriors within its memory budget. A refusal (``EvidenceTooComplexError``) is
counted, never hidden.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks.agrum import AgrumReference, OverBudgetError
from benchmarks.timing import peak_mb
from twitchbn import EvidenceTooComplexError, ImpossibleEvidenceError, Model
from twitchbn.reasoning import next_questions

COUNTS = (4, 8, 12, 16, 20, 25)
SETS_PER_COUNT = 6
AGRUM_UP_TO = 12  # pyAgrum's junction tree is tried up to this many positive findings (beyond, its budget refuses anyway)


def heavy_sets(model: Model, k: int, n: int, seed: int) -> list[dict[str, str]]:
    """``n`` seeded sets of ``k`` symptoms and signs (findings with parents, not test results), each
    beyond its first state (all of them if k is None)."""
    findings = [f for f in model.kb.findings if f.links and f.kind != "test"]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(1 if k is None else n):
        chosen = findings if k is None else [findings[i] for i in rng.choice(len(findings), size=k, replace=False)]
        out.append({f.id: f.states[int(rng.integers(1, len(f.states)))] for f in chosen})
    return out


def _time(fn) -> tuple[float | None, str]:
    start = time.perf_counter()
    try:
        fn()
    except EvidenceTooComplexError:
        return None, "refused"
    except ImpossibleEvidenceError:
        return None, "impossible"
    return time.perf_counter() - start, "ok"


def _stats(times: list[float | None], outcomes: list[str]) -> dict[str, Any]:
    done = [t for t in times if t is not None]
    return {
        "sets": len(outcomes), "answered": len(done), "refused": outcomes.count("refused"),
        "median_ms": float(np.median(done) * 1e3) if done else None,
        "p95_ms": float(np.percentile(done, 95) * 1e3) if done else None,
        "max_ms": float(max(done) * 1e3) if done else None,
    }


def heavy(model: Model, seed: int = 17, per_count: int = SETS_PER_COUNT) -> dict[str, Any]:
    """Per count of positive findings: twitchbn's query and next questions (run before pyAgrum
    is loaded, so that ``peak_mb`` is twitchbn's own)."""
    model.query(heavy_sets(model, 16, 1, seed)[0])  # warm-up: loads the compiled pass
    rows: dict[str, Any] = {}
    for k in (*COUNTS, None):
        sets = heavy_sets(model, k, per_count, seed + (k or 0))
        query = [_time(lambda e=e: model.query(e)) for e in sets]
        ask = [_time(lambda e=e: next_questions(model, e)) for e in sets]
        rows["all" if k is None else str(k)] = {"query": _stats(*zip(*query, strict=True)),
                                                 "next_questions": _stats(*zip(*ask, strict=True))}
    return {"seed": seed, "per_count": per_count, "by_positive": rows, "peak_mb": peak_mb()}


def add_agrum(model: Model, section: dict[str, Any], reference: AgrumReference) -> None:
    """pyAgrum's time for the same sets (up to ``AGRUM_UP_TO`` positive findings), within its budget."""
    for key, row in section["by_positive"].items():
        if key == "all" or int(key) > AGRUM_UP_TO:
            continue
        theirs = []
        for e in heavy_sets(model, int(key), section["per_count"], section["seed"] + int(key)):
            start = time.perf_counter()
            try:
                reference.posteriors(e)
                theirs.append((time.perf_counter() - start, "ok"))
            except OverBudgetError:
                theirs.append((None, "over budget"))
        row["pyagrum"] = _stats(*zip(*theirs, strict=True))


def lines(section: dict[str, Any]) -> list[str]:
    """The printed table: one row per count of positive findings."""
    def cell(s: dict[str, Any] | None) -> str:
        if s is None:
            return "-"
        if not s["answered"]:
            return f"0/{s['sets']} answered"
        return f"{s['answered']}/{s['sets']}  {s['median_ms']:.0f} / {s['p95_ms']:.0f} / {s['max_ms']:.0f} ms"

    out = ["heavy evidence by positive findings — answered/sets  median / p95 / max  (targets: 0 refused, p95 <= 1 s, max <= 3 s)",
           f"  {'positive':>8}  {'query':<30}  {'next questions':<30}  pyAgrum"]
    for k, row in section["by_positive"].items():
        out.append(f"  {k:>8}  {cell(row['query']):<30}  {cell(row['next_questions']):<30}  {cell(row.get('pyagrum'))}")
    out.append(f"  peak memory after the heavy sets: {section['peak_mb']:.0f} MB (target <= 500 MB)")
    return out
