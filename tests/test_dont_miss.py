"""The can't-miss list, the plain-word triage and the "probably present" note."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from conftest import REPO, run_cli

from twitchbn import Model
from twitchbn.dont_miss import dont_miss
from twitchbn.errors import CaseFileError
from twitchbn.evaluation import Case, grade, load_cases, score
from twitchbn.ui import render

WEAK_WASTED_ARM = {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes"}
EVERYDAY = [
    {"twitch_eyelid": "yes", "sleep_hours": "under_7"},
    {"twitch_calf": "yes", "recent_strenuous_exercise": "yes", "after_exercise": "yes"},
    {"twitch_eyelid": "yes", "problem_duration": "under_1_week"},
    {"twitch_hand": "yes", "caffeine_intake": "high"},
]


def test_the_list_is_empty_on_everyday_presentations(model: Model):
    for evidence in EVERYDAY:
        assert model.query(evidence).dont_miss == [], evidence


def test_weakness_and_wasting_with_twitching_keep_als_in_view(model: Model):
    result = model.query(WEAK_WASTED_ARM)
    assert "als" in result.dont_miss
    assert result.triage.level != "self_care"
    assert any(r.startswith("Amyotrophic lateral sclerosis (ALS) (") for r in result.triage.reasons)


def test_the_list_follows_the_rule_on_raw_posteriors(model: Model):
    """Each listed condition clears the threshold and lift over the risk-factor prior, the rare tier
    or the probable bar, on the engine's raw probabilities; no unlisted serious condition does unless
    the list is full; the order is by lift, largest first."""
    rule = model.kb.triage.dont_miss
    evidence = {**WEAK_WASTED_ARM, "age_group": "older_adult"}
    result = model.query(evidence)
    checked = model.check_evidence(evidence)
    sweep = model.sweep(checked)
    raw = 1.0 - sweep.status[0][:, 0]  # P(present), engine order, unclipped
    risk = model.risk_prior(checked)
    ids = [c.id for c in model.kb.conditions]

    def qualifies(i: int) -> bool:
        raised = raw[i] >= rule.threshold and raw[i] >= rule.lift * risk[i]
        rare = raw[i] >= rule.rare_threshold and raw[i] >= rule.rare_lift * risk[i]
        return raw[i] < 1.0 and (raised or rare or raw[i] >= rule.probable)

    kept = [ids.index(cid) for cid in result.dont_miss]
    assert 1 <= len(kept) <= rule.max and all(ids[i] in rule.conditions and qualifies(i) for i in kept)
    assert [raw[i] / risk[i] for i in kept] == sorted((raw[i] / risk[i] for i in kept), reverse=True)
    if len(kept) < rule.max:
        assert not [ids[i] for i in range(len(ids)) if ids[i] in rule.conditions and i not in kept and qualifies(i)]


def test_the_lift_is_measured_against_the_risk_factors_not_the_population(model: Model):
    """Age alone raises peripheral artery disease; a prior that ignored it would overstate the lift."""
    ids = [c.id for c in model.kb.conditions]
    pad = ids.index("inadequate_blood_supply")
    assert model.risk_prior({"age_group": "older_adult"})[pad] > model.risk_prior({})[pad]


@pytest.mark.parametrize("exposures", [{}, {"age_group": "older_adult"},
                                       {"age_group": "adult", "known_diabetes": "yes", "alcohol_use": "yes", "diet_quality": "poor"}])
def test_the_risk_factor_prior_is_the_exact_posterior_given_the_exposures_alone(model: Model, exposures: dict):
    frame = model.query(exposures).conditions
    exact = np.array([frame.at[c.id, "probability"] for c in model.kb.conditions])
    assert np.abs(model.risk_prior(exposures) - exact).max() < 1e-12


def test_a_known_diagnosis_is_not_a_risk_to_rule_out(model: Model):
    probability = np.zeros(len(model.kb.conditions))
    prior = np.full(len(model.kb.conditions), 1e-4)
    index = [c.id for c in model.kb.conditions].index("als")
    probability[index] = 1.0
    assert dont_miss(model.kb, probability, prior) == ()
    probability[index] = 0.5
    assert dont_miss(model.kb, probability, prior) == (index,)


def test_the_list_is_in_the_json_document(model: Model):
    doc = model.query(WEAK_WASTED_ARM).to_dict()
    assert doc["dont_miss"] == model.query(WEAK_WASTED_ARM).dont_miss and "als" in doc["dont_miss"]


def test_triage_reasons_use_labels_and_percentages_not_ids_or_fractions(model: Model):
    result = model.query({**WEAK_WASTED_ARM, "breathing_difficulty": "yes"})
    text = " ".join(result.triage.reasons)
    assert "(Difficulty breathing: yes)" in text and "breathing_difficulty" not in text
    assert not re.search(r"\b0\.\d\d\b", text)
    assert re.search(r"\d+%", text)


def test_an_empty_page_gives_no_verdict(model: Model):
    for evidence in ({}, {"caffeine_intake": "moderate"}):
        triage = model.query(evidence).triage
        assert triage.decided is False and triage.level == "self_care"
        assert "Nothing the person notices is entered yet" in triage.reasons[0]
    assert model.query({"twitch_eyelid": "yes"}).triage.decided is True


def test_the_banner_shows_no_verdict_and_no_green_level_for_an_empty_page(model: Model):
    markup = render.triage_html(model.query({}).triage)
    assert 'data-level="none"' in markup and "NO VERDICT YET" in markup and "SELF CARE" not in markup


def test_the_panel_lists_the_can_t_miss_conditions_with_their_ids(model: Model):
    result = model.query(WEAK_WASTED_ARM)
    markup = render.dont_miss_html(result.conditions, result.dont_miss)
    assert f'data-dont-miss="{" ".join(result.dont_miss)}"' in markup
    assert "Amyotrophic lateral sclerosis (ALS)" in markup
    assert "No serious condition" in render.dont_miss_html(result.conditions, [])


def test_a_likely_condition_ranked_below_the_head_is_named_apart(model: Model):
    """Known kidney disease with calf cramps: kidney disease is present but may explain little."""
    result = model.query({"known_kidney_disease": "yes", "muscle_cramps": "yes", "twitch_calf": "yes",
                          "recent_strenuous_exercise": "yes", "sleep_hours": "under_7"})
    frame = result.conditions
    head = list(frame.index[:3])
    threshold = model.kb.triage.likely["threshold"]
    expected = [cid for cid in frame.index[3:] if frame.at[cid, "probability"] >= threshold
                and frame.at[cid, "category"] in model.kb.triage.likely["categories"]]
    assert sorted(result.also_present) == sorted(expected)
    assert not set(result.also_present) & set(head)


def test_cli_table_shows_the_can_t_miss_list(model: Model):
    out = run_cli("query", *(f"-e{k}={v}" for k, v in WEAK_WASTED_ARM.items()))
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if line.startswith("Must not miss: "))
    assert "Amyotrophic lateral sclerosis (ALS) (" in line


def test_cli_table_says_no_verdict_yet_for_no_evidence():
    out = run_cli("query")
    assert "Triage: NO VERDICT YET" in out.stdout


# -- case files and grading --------------------------------------------------------------------
def test_grading_marks_each_metric(model: Model):
    case = Case(id="x", evidence=WEAK_WASTED_ARM, top1_any=["als"], must_consider=["als"], triage="see_doctor")
    result = model.query(WEAK_WASTED_ARM)
    marks = grade(model, case).marks
    assert marks["top1"] == (result.top == "als")
    assert marks["required"] == ("als" in list(result.conditions.index[:3]) or "als" in result.dont_miss)
    assert marks["triage"] == (result.triage.level == "see_doctor")
    assert marks["false_alarm"] is None  # only everyday presentations can raise a false alarm


def test_score_counts_under_calls_and_rates_only_where_a_metric_applies(model: Model):
    everyday = Case(id="e", evidence=EVERYDAY[0], top1_any=["sleep_deprivation"], triage="urgent", everyday=True)
    figures = score([grade(model, everyday)])
    assert figures["under_call"] == 1 and figures["false_alarm"] == 0.0 and figures["false_alarm_n"] == 1
    assert figures["required_n"] == 0


@pytest.mark.parametrize(("text", "message"), [
    ("- id: a\n  evidence: {twitch_eyelid: 'yes'}\n  top1_any: [sleep_deprivation]\n  triage: soon\n",
     "bad.yaml: case 'a': triage: Input should be 'self_care', 'see_doctor' or 'urgent'"),
    ("- id: a\n  evidence: {twitch_eyelid: 'yes'}\n  top1_any: [sleep_deprivation]\n  triage: self_care\n  must_consdier: []\n",
     "bad.yaml: case 'a': must_consdier: Extra inputs are not permitted"),
    ("{a: 1}\n", "bad.yaml: cases must be a YAML list; got dict"),
])
def test_a_malformed_case_file_names_file_case_and_key(tmp_path, text: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    assert str(info.value) == message


def test_cli_evaluate_reports_figures_for_a_case_file():
    out = run_cli("evaluate", REPO / "tests" / "cases" / "own_cases.yaml")
    assert out.returncode == 0, out.stderr
    assert re.match(r"own_cases\.yaml: \d+ cases; first \d+% of \d+, top 3 \d+% of \d+, required in view", out.stdout)


def test_a_case_file_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "cases.yaml"
    os.mkfifo(fifo)
    out = run_cli("evaluate", fifo)
    assert (out.returncode, out.stderr) == (2, "twitchbn: error: case file 'cases.yaml' must be a regular file; got a FIFO (named pipe)\n")
