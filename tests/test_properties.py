"""Property tests over random valid evidence on the shipped model (hypothesis, reproducible)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import twitchbn
from twitchbn import ImpossibleEvidenceError, Model, QueryResult
from twitchbn.knowledge import LEVELS

PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
CLOSE = 1e-12


def evidence_strategy(variables: dict[str, tuple[str, ...]], max_size: int = 12) -> st.SearchStrategy[dict[str, str]]:
    """Valid evidence: a random subset of the variables, each with one of its states."""
    names = sorted(variables)
    return st.lists(st.sampled_from(names), unique=True, max_size=max_size).flatmap(
        lambda chosen: st.fixed_dictionaries({v: st.sampled_from(variables[v]) for v in chosen})
    )


def query(model: Model, evidence: dict[str, str]) -> QueryResult:
    """The query, discarding the (rare) examples the model refuses as impossible."""
    try:
        return model.query(evidence)
    except ImpossibleEvidenceError:
        reject()


@PROPERTY
@given(data=st.data())
def test_posteriors_are_finite_probabilities_and_explains_never_exceeds_probability(model: Model, data):
    """On the engine's raw marginals, before any clipping: each condition's (absent, present but
    not causing, causing) is a distribution, so explains (causing) <= probability (present)."""
    evidence = model.check_evidence(data.draw(evidence_strategy(model.variables)))
    try:
        sweep = model.sweep(evidence)
    except ImpossibleEvidenceError:
        reject()
    status = sweep.status[0]
    assert np.isfinite(status).all()
    assert (status >= -CLOSE).all(), status.min()
    np.testing.assert_allclose(status.sum(axis=1), 1.0, rtol=0, atol=CLOSE)
    explains, probability = status[:, 2], 1.0 - status[:, 0]
    assert (explains <= probability + CLOSE).all()
    exposures = sweep.exposures[0]
    np.testing.assert_allclose(exposures.sum(axis=1), 1.0, rtol=0, atol=CLOSE)


@PROPERTY
@given(data=st.data())
def test_conditions_frame_has_every_condition_sorted_by_explains_then_id(model: Model, data):
    frame = query(model, data.draw(evidence_strategy(model.variables))).conditions
    assert sorted(frame.index) == sorted(c.id for c in model.kb.conditions) and len(frame) == len(model.kb.conditions)
    assert list(frame.index) == sorted(frame.index, key=lambda cid: (-frame.at[cid, "explains"], cid))
    assert {"label", "category", "prior", "probability", "explains"} <= set(frame.columns)


@PROPERTY
@given(data=st.data())
def test_to_dict_is_the_contract_document(model: Model, data):
    evidence = data.draw(evidence_strategy(model.variables))
    result = query(model, evidence)
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(doc) == {"evidence", "conditions", "dont_miss", "also_present", "triage", "model"}
    assert doc["dont_miss"] == result.dont_miss and set(doc["dont_miss"]) <= set(model.kb.triage.dont_miss.conditions)
    assert doc["evidence"] == evidence
    assert [row["id"] for row in doc["conditions"]] == list(result.conditions.index)
    for row in doc["conditions"]:
        assert set(row) == {"id", "label", "category", "prior", "probability", "explains"}
        assert isinstance(row["label"], str) and isinstance(row["category"], str)
        assert all(isinstance(row[k], float) for k in ("prior", "probability", "explains"))
        assert row["explains"] == result.conditions.at[row["id"], "explains"]
    assert doc["triage"]["level"] in LEVELS and doc["triage"]["level"] == result.triage.level
    assert doc["triage"]["reasons"] and all(isinstance(r, str) and r for r in doc["triage"]["reasons"])
    assert doc["model"] == {"name": "twitchbn", "version": twitchbn.__version__, "knowledge_base_sha256": model.kb.sha256}


@PROPERTY
@given(data=st.data())
def test_adding_a_red_flag_never_lowers_triage(model: Model, data):
    evidence = data.draw(evidence_strategy(model.variables, max_size=10))
    floor = data.draw(st.sampled_from(model.kb.triage.floors))
    if evidence.get(floor.finding, floor.state) != floor.state:
        reject()  # the flag would replace a stated finding, not add one
    before = query(model, evidence).triage.level
    after = query(model, {**evidence, floor.finding: floor.state}).triage.level
    assert LEVELS.index(after) >= LEVELS.index(before)
    assert LEVELS.index(after) >= LEVELS.index(floor.level)


@PROPERTY
@given(data=st.data())
def test_evidence_on_a_condition_gives_probability_zero_or_one(model: Model, data):
    evidence = data.draw(evidence_strategy(model.variables, max_size=8))
    cid = data.draw(st.sampled_from([c.id for c in model.kb.conditions]))
    state = data.draw(st.sampled_from(("absent", "present")))
    row = query(model, {**evidence, cid: state}).conditions.loc[cid]
    assert row["probability"] == (1.0 if state == "present" else 0.0)  # exactly, as the contract says
    if state == "absent":
        assert row["explains"] == 0.0


@pytest.fixture(scope="module")
def prior(model: Model) -> pd.DataFrame:
    return model.query({}).conditions


@PROPERTY
@given(data=st.data())
def test_prior_column_does_not_depend_on_the_evidence(model: Model, prior: pd.DataFrame, data):
    frame = query(model, data.draw(evidence_strategy(model.variables))).conditions
    for cid in frame.index:
        assert frame.at[cid, "prior"] == pytest.approx(prior.at[cid, "probability"], abs=CLOSE)


def test_a_condition_given_as_present_has_probability_exactly_one_regression(model: Model):
    """Found by hypothesis: summing the two 'present' statuses rounded to 1.0000000000000002."""
    evidence = {
        "decreased_reflexes": "no", "walking_difficulty": "no", "during_sleep": "no", "twitch_eyelid": "yes",
        "known_kidney_disease": "yes", "strenuous_exercise": "absent", "sleep_deprivation": "absent", "dehydration": "absent",
        "benign_fasciculation": "present", "inadequate_blood_supply": "absent", "blepharospasm": "absent", "head_face_injury": "yes",
    }
    frame = model.query(evidence).conditions
    assert frame.at["benign_fasciculation", "probability"] == 1.0
    assert frame["probability"].between(0.0, 1.0).all()
