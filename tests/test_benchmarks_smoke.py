"""Smoke tests of the benchmark suite: its evidence sets and its engine-agreement check (no timings)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from benchmarks.agrum import TOLERANCE, AgrumReference, EnginesDisagreeError, agreement
from benchmarks.sets import MAX_FINDINGS, case_sets, evidence_sets, positive_findings, refusal
from twitchbn.model import cause_node

SEED = 6


@pytest.fixture(scope="module")
def sets(model):
    """Ten random sets of at most 8 findings: none heavy enough to hit pyAgrum's memory budget."""
    return evidence_sets(model, 10, SEED, max_cases=0, max_findings=8)


def test_evidence_sets_are_the_same_for_the_same_seed(model, sets):
    assert evidence_sets(model, 10, SEED, max_cases=0, max_findings=8).sets == sets.sets


def test_a_different_seed_draws_different_sets(model, sets):
    assert evidence_sets(model, 10, SEED + 1, max_cases=0, max_findings=8).sets != sets.sets


def test_random_sets_hold_1_to_25_distinct_findings_in_valid_states(model):
    drawn = evidence_sets(model, 60, SEED, max_cases=0)
    findings = {e.id for e in model.kb.exposures} | {f.id for f in model.kb.findings}
    assert len(drawn.sets) == 60
    assert all(1 <= len(s.evidence) <= MAX_FINDINGS for s in drawn.sets)
    assert all(set(s.evidence) <= findings for s in drawn.sets)
    assert all(state in model.states(v) for s in drawn.sets for v, state in s.evidence.items())
    assert max(drawn.sizes) > 1


def test_cases_come_first_and_every_case_file_is_read(model):
    cases = list(case_sets())
    assert cases, "no clinical case file found"
    drawn = evidence_sets(model, len(cases) + 5, SEED)
    assert drawn.n_cases + drawn.dropped["case invalid"] + drawn.dropped["case impossible"] == len(cases)
    kept = {c.name for c in cases}
    assert all(s.name in kept for s in drawn.sets[: drawn.n_cases])
    assert not any(s.name in kept for s in drawn.sets[drawn.n_cases :])
    assert len(drawn.sets) == len(cases) + 5


def test_refusal_names_impossible_and_invalid_evidence(model):
    cid = model.kb.conditions[0].id
    assert refusal(model, {cid: "absent", cause_node(cid): "yes"}) == (None, "impossible")
    assert refusal(model, {"no_such_finding": "yes"}) == (None, "invalid")


def test_twitchbn_and_pyagrum_agree_on_ten_sets(model, sets):
    found = agreement(model, sets.sets)
    assert (found.checked, found.over_budget) == (10, 0)
    assert found.max_abs_diff <= TOLERANCE
    found.check()


def test_sets_over_pyagrum_memory_budget_are_counted_not_compared(model):
    heavy = evidence_sets(model, 10, SEED, max_cases=0)
    found = agreement(model, heavy.sets, AgrumReference(model, budget_gb=1))
    assert found.over_budget > 0
    assert found.checked + found.over_budget == 10
    assert found.ok


def test_agreement_check_fails_loudly_when_the_reference_network_differs(model, sets):
    net = copy.deepcopy(model.network)
    exposure = next(e.id for e in model.kb.exposures if e.prior_vector != e.prior_vector[::-1])
    cpd = net.get_cpds(exposure)
    cpd.values = np.ascontiguousarray(cpd.values[::-1])
    found = agreement(model, sets.sets, AgrumReference(model, network=net))
    assert not found.ok
    message = r"^twitchbn and pyAgrum disagree by .* \(more than 1e-09\) on (probability|explains) of \w+ for evidence set random:"
    with pytest.raises(EnginesDisagreeError, match=message):
        found.check()


def test_heavy_sets_hold_exactly_k_positive_findings_and_are_seeded(model):
    from benchmarks.heavy import heavy_sets

    sets = heavy_sets(model, 8, 3, seed=4)
    assert sets == heavy_sets(model, 8, 3, seed=4)
    assert all(positive_findings(model, s) == 8 for s in sets)
    (everything,) = heavy_sets(model, None, 3, seed=4)
    assert positive_findings(model, everything) == sum(1 for f in model.kb.findings if f.links and f.kind != "test")


def test_heavy_section_counts_refusals_instead_of_hiding_them(model, monkeypatch):
    from benchmarks import heavy

    monkeypatch.setattr(heavy, "COUNTS", (4, 25))
    section = heavy.heavy(model, per_count=1)
    rows = section["by_positive"]
    assert list(rows) == ["4", "25", "all"]
    assert rows["4"]["query"]["answered"] == 1
    assert rows["all"]["query"]["refused"] + rows["all"]["query"]["answered"] == 1
    printed = "\n".join(heavy.lines(section))
    assert "all" in printed and "answered" in printed
