"""Clinical regression cases: the shared worked examples, the vignettes, and our own edge cases.

Each case asserts the first-ranked condition (one of ``top1_any``), the intended cause within the
top three, and the triage level. The cases are written from the seeds and clinical reasoning; they
are never edited to fit the numbers in data/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DATA, REPO, SHARED, load_cases, read_yaml

from twitchbn import Model

CONDITIONS = {c["id"] for c in read_yaml(DATA / "vocabulary.yaml")["conditions"]}
FILES = {
    "examples": SHARED / "cases" / "examples.yaml",
    "vignettes": REPO / "tests" / "cases" / "vignettes.yaml",
    "own": REPO / "tests" / "cases" / "own_cases.yaml",
}


def params(name: str, path: Path) -> list:
    """One pytest param per case of a file; a single skipped param when the file is absent."""
    if not path.is_file():
        return [pytest.param(None, id=f"{name}-missing", marks=pytest.mark.skip(reason=f"{path} not found"))]
    return [pytest.param(case, id=f"{name}-{case['id']}") for case in load_cases(path)]


ALL = [p for name, path in FILES.items() for p in params(name, path)]


def describe(result, n: int = 5) -> str:
    top = ", ".join(f"{cid} {row['explains']:.3f}" for cid, row in result.conditions.head(n).iterrows())
    return f"top {n} by explains: {top}; triage {result.triage.level}"


@pytest.mark.parametrize("case", ALL)
def test_case_ranks_and_triages_as_a_clinician_expects(model: Model, case: dict):
    result = model.query(case["evidence"])
    ranking = list(result.conditions.index)
    problems = []
    if result.top not in case["top1_any"]:
        problems.append(f"first is {result.top}, expected one of {case['top1_any']}")
    if case["target"] not in ranking[:3]:
        problems.append(f"target {case['target']} is rank {ranking.index(case['target']) + 1}, expected within top 3")
    if result.triage.level != case["triage"]:
        problems.append(f"triage is {result.triage.level}, expected {case['triage']}")
    assert not problems, f"{case['id']}: {'; '.join(problems)} ({describe(result)})"


@pytest.mark.parametrize("name", list(FILES))
def test_case_files_are_well_formed(model: Model, name: str):
    path = FILES[name]
    if not path.is_file():
        pytest.skip(f"{path} not found")
    cases = load_cases(path)
    assert len({c["id"] for c in cases}) == len(cases)
    for case in cases:
        model.check_evidence(case["evidence"])  # ids and states of the vocabulary
        assert case["target"] in CONDITIONS and set(case["top1_any"]) <= CONDITIONS, case["id"]
        assert case["target"] in case["top1_any"] or name != "own", case["id"]
        assert case["triage"] in {"self_care", "see_doctor", "urgent"}, case["id"]


def test_there_are_at_least_the_required_number_of_cases():
    counts = {name: len(load_cases(path)) for name, path in FILES.items() if path.is_file()}
    assert counts.get("own", 0) >= 10
    assert counts.get("vignettes", 0) >= 30
