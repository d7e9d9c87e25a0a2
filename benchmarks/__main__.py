"""Entry point: ``python -m benchmarks [--quick] [--sets N] [--seed S] [--kb DIR] [--agrum-budget GB] [--output FILE]``.

Runs every section in this process (the cold start in a child), prints the table and writes
``benchmarks/results.json``. Exit status: 0, or 1 when twitchbn and pyAgrum disagree by more
than 1e-9 (or the benchmark itself cannot run); a target MISS never changes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import heavy as heavy_evidence
from benchmarks import optional
from benchmarks.agrum import BUDGET_GB, TOLERANCE, Agreement, AgrumReference, OverBudgetError, answers
from benchmarks.report import machine, table, write
from benchmarks.sets import DEFAULT_SEED, MAX_FINDINGS, EvidenceSets, evidence_sets, positive_findings
from benchmarks.timing import cold_start, peak_mb, per_call, summary
from twitchbn import TwitchbnError, load_model

QUICK_SETS = 40
BATCH_CASES = 2000
INTERVAL_SETS = 10
BUCKET = 3  # positive findings per row of the breakdown


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description="twitchbn latency, throughput and memory, beside pyAgrum.")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_SETS} sets, one cold start, small batch")
    p.add_argument("--sets", type=int, default=200,
                   help="at least this many evidence sets: every case, then random sets (at least half of N); default 200")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the random evidence sets (default {DEFAULT_SEED})")
    p.add_argument("--kb", default=None, help="knowledge base directory (default: the shipped twitchbn/data/)")
    p.add_argument("--agrum-budget", type=int, default=BUDGET_GB, metavar="GB",
                   help=f"pyAgrum's setMaxMemory budget, in its own estimate (default {BUDGET_GB}; 0 = none, beware: one case needs ~4 GB)")
    p.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "results.json", help="where to write the JSON results")
    return p


def _ours(model, es: EvidenceSets, ids: list[str]) -> tuple[list[float], list[tuple[np.ndarray, np.ndarray]]]:
    """Time twitchbn's full query (posteriors, ranked frame, triage) per set; keep its answers."""
    model.query(es.sets[0].evidence)  # warm-up (pandas, numpy code paths)
    times, found = [], []
    for s in es.sets:
        t, result = per_call(lambda s=s: model.query(s.evidence))
        times.append(t)
        found.append(answers(result, ids))
    return times, found


def _theirs(reference: AgrumReference, es: EvidenceSets, ours: list) -> tuple[list[float | None], Agreement]:
    """Time pyAgrum's posteriors per set (None when over its memory budget) and compare answers."""
    reference.posteriors({})  # warm-up (no evidence: never over the budget)
    times: list[float | None] = []
    agreement = Agreement()
    for s, mine in zip(es.sets, ours, strict=True):
        try:
            t, post = per_call(lambda s=s: reference.posteriors(s.evidence))
        except OverBudgetError:
            agreement.over_budget += 1
            times.append(None)
            continue
        times.append(t)
        agreement.add(s.name, mine, post, reference.ids)
    return times, agreement


def _breakdown(model, es: EvidenceSets, ours: list[float], theirs: list[float | None]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Median times by number of positive findings, and the five slowest sets for twitchbn."""
    positives = [positive_findings(model, s.evidence) for s in es.sets]

    def ms(values: list) -> float | None:
        kept = [v for v in values if v is not None]
        return float(np.median(kept) * 1e3) if kept else None

    buckets: dict[str, Any] = {}
    for lo in range(0, max(positives) + 1, BUCKET):
        idx = [i for i, k in enumerate(positives) if lo <= k < lo + BUCKET]
        if idx:
            buckets[f"{lo}-{lo + BUCKET - 1}"] = {
                "sets": len(idx), "twitchbn_ms": ms([ours[i] for i in idx]), "pyagrum_ms": ms([theirs[i] for i in idx]),
                "pyagrum_over_budget": sum(theirs[i] is None for i in idx),
            }
    slowest = [
        {"name": es.sets[i].name, "findings": len(es.sets[i].evidence), "positive": positives[i],
         "twitchbn_ms": ours[i] * 1e3, "pyagrum_ms": ms([theirs[i]])}
        for i in np.argsort(ours)[::-1][:5]
    ]
    return buckets, slowest


def _comparison(ours: list[float], theirs: list[float | None]) -> dict[str, Any]:
    """Ratios twitchbn / pyAgrum over the sets both engines ran."""
    both = [i for i, t in enumerate(theirs) if t is not None]
    if not both:
        return {"sets": 0, "of_medians": None, "per_set_median": None, "per_set_p95": None, "twitchbn_median_ms": None}
    mine = np.asarray([ours[i] for i in both])
    other = np.asarray([theirs[i] for i in both])
    ratios = mine / other
    return {"sets": len(both), "of_medians": float(np.median(mine) / np.median(other)), "per_set_median": float(np.median(ratios)),
            "per_set_p95": float(np.percentile(ratios, 95)), "twitchbn_median_ms": float(np.median(mine) * 1e3)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every section; returns the results document (and the agreement under ``_agreement``).

    twitchbn's sections all run before pyAgrum is loaded, so the process's peak memory at that
    point is twitchbn's own; pyAgrum's junction trees can take far more.
    """
    n = QUICK_SETS if args.quick else args.sets
    info = machine()
    cold = cold_start(args.kb, reps=1 if args.quick else 3)  # first: RUSAGE_CHILDREN then only sees it
    first_answer = cold_start(args.kb, reps=1 if args.quick else 3, then="m.query({'twitch_eyelid': 'yes'})")
    model = load_model(args.kb)
    model.network  # noqa: B018 - build the pgmpy network once, as the cold start does
    # every case (half the quick run), and at least half the requested number as random sets
    es = evidence_sets(model, n, args.seed, max_cases=n // 2 if args.quick else None, min_random=n // 2)
    ids = [c.id for c in model.kb.conditions]
    ours, answers_ = _ours(model, es, ids)
    cases = list(es.sets[: es.n_cases]) or list(es.sets[:20])
    batch_sets = evidence_sets(model, BATCH_CASES // 10 if args.quick else BATCH_CASES, args.seed + 1, max_cases=0, prefix="batch")
    sections = {
        "next_question": optional.next_question(model, cases[: 10 if args.quick else None]),
        "workup": optional.workup(model, cases[: 10 if args.quick else None]),
        "intervals": optional.intervals(model, list(es.sets[: 3 if args.quick else INTERVAL_SETS])),
        "batch": optional.batch(model, list(batch_sets.sets), list({tuple(sorted(s.evidence.items())): s for s in cases}.values())),
    }
    heavy = heavy_evidence.heavy(model, per_count=2 if args.quick else heavy_evidence.SETS_PER_COUNT)
    twitchbn_peak = peak_mb()
    reference = AgrumReference(model, budget_gb=args.agrum_budget)
    theirs, agreement = _theirs(reference, es, answers_)
    heavy_evidence.add_agrum(model, heavy, reference)
    buckets, slowest = _breakdown(model, es, ours, theirs)
    timed = [t for t in theirs if t is not None]
    return {
        "machine": {**info, "pyagrum_threads": reference.engine.getNumberOfThreads()},
        "config": {"sets": n, "seed": args.seed, "quick": bool(args.quick), "kb": args.kb or "data/ (shipped)",
                   "pyagrum_budget_gb": args.agrum_budget},
        "sets": {"total": len(es.sets), "cases": es.n_cases, "random": len(es.sets) - es.n_cases, "seed": args.seed,
                 "min_size": min(es.sizes), "max_size": max(es.sizes), "max_findings_drawn": MAX_FINDINGS, "dropped": dict(es.dropped)},
        "cold_start": cold,
        "cold_start_first_answer": first_answer,
        "query": summary(ours),
        "pyagrum": {**(summary(timed) if timed else {}), "over_budget": agreement.over_budget},
        "ratio": _comparison(ours, theirs),
        "by_positive_findings": buckets,
        "slowest": slowest,
        "heavy": heavy,
        **sections,
        "memory": {"twitchbn_mb": twitchbn_peak, "with_pyagrum_mb": peak_mb(), "cold_start_mb": cold["child_peak_mb"]},
        "agreement": {"max_abs_diff": agreement.max_abs_diff, "where": agreement.where, "sets": agreement.checked,
                      "over_budget": agreement.over_budget, "tolerance": TOLERANCE, "ok": agreement.ok},
        "_agreement": agreement,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the suite, print the table, write the JSON; 1 if the engines disagree."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.sets < 2:
        parser.error(f"--sets must be at least 2; got {args.sets}")
    try:
        results = run(args)
    except TwitchbnError as exc:
        print(f"benchmarks: error: {exc}", file=sys.stderr)
        return 1
    agreement: Agreement = results.pop("_agreement")
    print(table(results))
    write(results, args.output)
    print(f"wrote {args.output}")
    try:
        agreement.check()
    except TwitchbnError as exc:
        print(f"\nFAIL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
