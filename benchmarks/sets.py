"""The fixed, seeded evidence sets every benchmark runs over.

The clinical cases come first (``../shared/cases/examples.yaml`` and ``tests/cases/*.yaml``
relative to the repository root), then random sets of 1 to 25 vocabulary findings and exposures
in random states drawn with ``numpy.random.Generator(seed)``. Sets the model refuses (impossible
evidence, or a case naming a variable this knowledge base does not have) are dropped and counted,
and random sets are drawn until the requested number is reached, so the list is the same on every
run with the same seed and knowledge base.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from twitchbn import EvidenceError, ImpossibleEvidenceError, Model, TwitchbnError

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = (ROOT.parent / "shared" / "cases" / "examples.yaml", *sorted((ROOT / "tests" / "cases").glob("*.yaml")))
MAX_FINDINGS = 25
DEFAULT_SEED = 6


class BenchmarkError(TwitchbnError):
    """The benchmark cannot run or found wrong answers."""


@dataclass(frozen=True)
class EvidenceSet:
    """One named set of checked evidence ({variable: state})."""

    name: str
    evidence: dict[str, str]


@dataclass(frozen=True)
class EvidenceSets:
    """The sets to run, how many of them are cases, and what was dropped and why."""

    sets: tuple[EvidenceSet, ...]
    n_cases: int
    dropped: Counter = field(default_factory=Counter)

    @property
    def sizes(self) -> list[int]:
        return [len(s.evidence) for s in self.sets]


def case_sets(files: tuple[Path, ...] = CASE_FILES) -> Iterator[EvidenceSet]:
    """The evidence of every clinical case in ``files``.

    A case file is a YAML list of cases with ``id`` and ``evidence``; missing files and files of
    another shape (such as the ``known_misses.yaml`` notes) are skipped.
    """
    for path in files:
        if not path.is_file():
            continue
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(cases, list):
            continue
        for case in cases:
            if isinstance(case, dict) and isinstance(case.get("evidence"), dict):
                yield EvidenceSet(f"{path.stem}:{case.get('id')}", dict(case["evidence"]))


def random_evidence(model: Model, rng: np.random.Generator, max_findings: int = MAX_FINDINGS) -> dict[str, str]:
    """1 to ``max_findings`` distinct vocabulary findings and exposures, each in a random state."""
    pool = [e.id for e in model.kb.exposures] + [f.id for f in model.kb.findings]
    k = int(rng.integers(1, min(max_findings, len(pool)) + 1))
    chosen = rng.choice(len(pool), size=k, replace=False)
    evidence = {}
    for i in chosen:
        states = model.states(pool[int(i)])
        evidence[pool[int(i)]] = states[int(rng.integers(len(states)))]
    return evidence


def refusal(model: Model, evidence: dict) -> tuple[dict[str, str] | None, str | None]:
    """The checked evidence, or None and why the model refuses it ("invalid" or "impossible")."""
    try:
        checked = model.check_evidence(evidence)
        model.sweep(checked, marginals=False)
    except ImpossibleEvidenceError:
        return None, "impossible"
    except EvidenceError:
        return None, "invalid"
    return checked, None


def evidence_sets(model: Model, n: int, seed: int = DEFAULT_SEED, max_cases: int | None = None, prefix: str = "random",
                  max_findings: int = MAX_FINDINGS, min_random: int = 0) -> EvidenceSets:
    """The first ``max_cases`` accepted cases (all if None) plus seeded random sets of 1 to
    ``max_findings`` findings: ``n`` sets in all, or more when ``min_random`` random sets
    would not otherwise fit beside the cases.

    Cases beyond ``n`` are cut. Gives up (with an error) after ``50 * n`` random draws in a row
    that the model refuses, which only a broken knowledge base can cause.
    """
    dropped: Counter = Counter()
    kept: list[EvidenceSet] = []
    limit = n if max_cases is None else min(n, max_cases)
    for case in case_sets() if limit else ():
        checked, why = refusal(model, case.evidence)
        if why:
            dropped[f"case {why}"] += 1
        elif len(kept) < limit:
            kept.append(EvidenceSet(case.name, checked))
    n_cases = len(kept)
    total = max(n, n_cases + min_random)
    rng = np.random.default_rng(seed)
    draws = 0
    while len(kept) < total:
        draws += 1
        checked, why = refusal(model, random_evidence(model, rng, max_findings))
        if why:
            dropped[f"random {why}"] += 1
            if dropped[f"random {why}"] > 50 * n:
                count = dropped[f"random {why}"]
                raise BenchmarkError(f"the model refused {count} random evidence sets as {why}; is the knowledge base broken?")
            continue
        kept.append(EvidenceSet(f"{prefix}:{draws}", checked))
    return EvidenceSets(tuple(kept), n_cases, dropped)


def positive_findings(model: Model, evidence: dict[str, str]) -> int:
    """How many observed findings (not exposures) are beyond their first state: what widens the frontier."""
    findings = {f.id for f in model.kb.findings}
    return sum(1 for v, s in evidence.items() if v in findings and model.states(v).index(s) > 0)
