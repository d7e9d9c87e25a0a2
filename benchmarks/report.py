"""The printed table, the PASS/MISS verdicts against issue #6's targets, and results.json."""

from __future__ import annotations

import json
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.heavy import lines as heavy_lines

TARGETS = {
    "cold_start_s": 3.0,
    "query_median_ms": 20.0,
    "query_vs_pyagrum": 1.0,
    "next_question_median_ms": 200.0,
    "workup_p95_ms": 200.0,
    "peak_memory_mb": 500.0,
    "batch_s_per_case": 1e-3,  # at least 1,000 cases per second
}
NOTE = (
    "A MISS is reported, not failed: only a twitchbn/pyAgrum disagreement above 1e-9 makes the exit status non-zero.\n"
    "Sets over pyAgrum's memory budget (its heaviest) are neither timed nor compared; leaving them out favours pyAgrum."
)


def machine() -> dict[str, Any]:
    """Where the figures were measured (load average included: the machine may be shared)."""
    versions = {}
    for dist in ("numpy", "pgmpy", "pyagrum", "pandas", "twitchbn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        **versions,
    }


def verdict(value: float | None, target: float) -> str:
    """PASS if ``value`` is at most ``target``, MISS if above, ``-`` if not measured."""
    if value is None:
        return "-"
    return "PASS" if value <= target else "MISS"


def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f} ms" if x < 100 else f"{x:.0f} ms"


def _x(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}x"


def _optional(label: str, section: dict[str, Any], target: str = "", key: str = "") -> tuple[str, str, str, str, str]:
    if section["status"] != "ok":
        return (label, section["status"], "", target, "-" if target else "")
    return (label, _ms(section["median_ms"]), _ms(section["p95_ms"]), target, verdict(section["median_ms"], TARGETS[key]) if key else "")


def _workup_row(section: dict[str, Any] | None) -> tuple[str, str, str, str, str]:
    """The workup planner over the clinical cases; its target is on the p95 (issue 14)."""
    label = "workup planner (all tests, clinical cases)"
    if section is None or section["status"] != "ok":
        return (label, "not run" if section is None else section["status"], "", "p95 <= 200 ms", "-")
    return (label, _ms(section["median_ms"]), _ms(section["p95_ms"]), "p95 <= 200 ms", verdict(section["p95_ms"], TARGETS["workup_p95_ms"]))


def _batch_rows(b: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    if b["status"] != "ok":
        return [("batch throughput", b["status"], "", ">= 1,000 cases/s", "-")]

    def rate(label: str, section: dict[str, Any], target: bool = True) -> tuple[str, str, str, str, str]:
        per_s = section["cases_per_s"]
        return (label, f"{per_s:,.0f} cases/s", "", ">= 1,000 cases/s" if target else "",
                verdict(1.0 / per_s, TARGETS["batch_s_per_case"]) if target else "")

    c = b["clinical"]
    return [
        rate(f"batch, random sets ({b['cases']:,} cases)", b),
        rate(f"batch, clinical cases ({c['cases']} distinct)", c),
        rate(f"Model.query one case at a time ({b['query_sample']} sets)", {"cases_per_s": b["query_one_by_one_cases_per_s"]}, False),
        rate(f"twitchbn batch command end to end ({b['cli']['cases']:,} cases, new process)", b["cli"], False),
    ]


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(metric, median, p95, target, verdict) rows of the table."""
    q, a, ratio, cold, mem, agree = r["query"], r["pyagrum"], r["ratio"], r["cold_start"], r["memory"], r["agreement"]
    b = r["batch"]
    return [
        ("cold start (separate process)", f"{cold['median_s']:.2f} s", "", "<= 3 s", verdict(cold["median_s"], TARGETS["cold_start_s"])),
        ("cold start to a first query (pgmpy not needed)", f"{r['cold_start_first_answer']['median_s']:.2f} s", "", "", ""),
        (f"query: twitchbn full query ({q['n']} sets)", _ms(q["median_ms"]), _ms(q["p95_ms"]), "<= 20 ms",
         verdict(q["median_ms"], TARGETS["query_median_ms"])),
        (f"pyAgrum LazyPropagation ({a.get('n', 0)} sets; {a['over_budget']} over budget)", _ms(a.get("median_ms")), _ms(a.get("p95_ms")),
         "", ""),
        (f"ratio twitchbn / pyAgrum (medians, {ratio['sets']} sets)", _x(ratio["of_medians"]), "", "<= 1.0x",
         verdict(ratio["of_medians"], TARGETS["query_vs_pyagrum"])),
        ("ratio per set (median, p95)", _x(ratio["per_set_median"]), _x(ratio["per_set_p95"]), "", ""),
        _optional("next best question (all unobserved)", r["next_question"], "<= 200 ms", "next_question_median_ms"),
        _workup_row(r.get("workup")),
        _optional(f"posterior intervals ({r['intervals'].get('draws', 200)} draws)", r["intervals"]),
        *_batch_rows(b),
        ("peak memory, twitchbn (before pyAgrum)", f"{mem['twitchbn_mb']:.0f} MB", "", "<= 500 MB",
         verdict(mem["twitchbn_mb"], TARGETS["peak_memory_mb"])),
        ("peak memory, cold-start process", f"{mem['cold_start_mb']:.0f} MB", "", "<= 500 MB",
         verdict(mem["cold_start_mb"], TARGETS["peak_memory_mb"])),
        ("peak memory, whole run with pyAgrum", f"{mem['with_pyagrum_mb']:.0f} MB", "", "", ""),
        (f"max |twitchbn - pyAgrum| ({agree['sets']} sets)", f"{agree['max_abs_diff']:.1e}", "", "<= 1e-9",
         "PASS" if agree["ok"] else "FAIL"),
    ]


def table(r: dict[str, Any]) -> str:
    """The whole printed report: header, table, slowest sets and the note on exit status."""
    s = r["sets"]
    dropped = ", ".join(f"{k}: {v}" for k, v in sorted(s["dropped"].items())) or "none"
    lines = [
        f"twitchbn benchmarks — {s['total']} evidence sets ({s['cases']} cases + {s['random']} random, seed {s['seed']}; "
        f"{s['min_size']}-{s['max_size']} findings; dropped: {dropped})",
        f"machine: {r['machine']['cpu_count']} cpus, load {', '.join(f'{x:.1f}' for x in r['machine']['load_average_at_start'] or [])}; "
        f"python {r['machine']['python']}, numpy {r['machine']['numpy']}, pgmpy {r['machine']['pgmpy']}, pyagrum {r['machine']['pyagrum']}",
        "",
    ]
    body = rows(r)
    head = ("metric", "median", "p95", "target", "")
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(5)]
    for row in [head, tuple("-" * w for w in widths), *body]:
        cells = (cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        lines.append("  ".join(cells).rstrip())
    lines += ["", "query time by positive findings: twitchbn median / pyAgrum median (sets, of which over pyAgrum's budget)"]
    lines += [f"  {k:>5}: {_ms(v['twitchbn_ms'])} / {_ms(v['pyagrum_ms'])}  ({v['sets']}, {v['pyagrum_over_budget']})"
              for k, v in r["by_positive_findings"].items()]
    lines += ["", *heavy_lines(r["heavy"])]
    lines += ["", "slowest sets for twitchbn:"]
    lines += [f"  {x['name']}: {x['findings']} findings, {x['positive']} positive — twitchbn {_ms(x['twitchbn_ms'])}, "
              f"pyAgrum {_ms(x['pyagrum_ms']) if x['pyagrum_ms'] is not None else 'over budget'}" for x in r["slowest"]]
    lines += ["", NOTE]
    return "\n".join(lines)


def write(r: dict[str, Any], path: Path) -> None:
    """results.json, numbers unrounded, keys sorted (stable diffs between runs)."""
    path.write_text(json.dumps(r, indent=2, sort_keys=True) + "\n", encoding="utf-8")
