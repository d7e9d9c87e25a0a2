"""Triage rules added for first consultations: the leading explanation, medicine and eyelid floors,
and weeks of twitching that only an unreported habit could explain."""

from __future__ import annotations

import pytest

from twitchbn import Model
from twitchbn.triage import likely, named


def test_a_deficiency_that_leads_below_the_likely_bar_still_sends_to_a_doctor(model: Model):
    evidence = {"twitch_eyelid": "yes", "diet_quality": "poor", "sleep_hours": "7_or_more", "eye_discomfort": "no"}
    result = model.query(evidence)
    top = result.top
    ids = [c.id for c in model.kb.conditions]
    assert ids.index(top) in named(model.kb)
    assert result.conditions.at[top, "probability"] < model.kb.triage.likely["threshold"]
    assert result.triage.level == "see_doctor"
    assert f"{result.conditions.at[top, 'label']} is the likeliest explanation (" in " ".join(result.triage.reasons)


def test_an_everyday_leader_gives_no_leading_reason(model: Model):
    result = model.query({"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    assert result.top == "sleep_deprivation" and result.triage.level == "self_care"
    assert not any("likeliest explanation" in reason for reason in result.triage.reasons)


@pytest.mark.parametrize("state", ["stimulant", "corticosteroid", "estrogen", "other_new", "recently_stopped"])
def test_a_medicine_started_changed_or_stopped_is_discussed_with_the_prescriber(model: Model, state: str):
    triage = model.query({"twitch_hand": "yes", "medication": state}).triage
    assert triage.level == "see_doctor"
    assert any("prescriber" in reason and "(Medication change: " in reason for reason in triage.reasons)


def test_eyelids_closing_on_their_own_need_a_doctor(model: Model):
    triage = model.query({"eyes_forced_shut": "yes", "laterality": "both_sides"}).triage
    assert triage.level == "see_doctor"
    assert triage.reasons[0] == ("Eyelids that close involuntarily should be checked by a doctor (blepharospasm and hemifacial spasm "
                                 "are treatable) (Eyelids close involuntarily: yes).")


def test_weeks_of_twitching_explained_only_by_an_unreported_habit_need_a_doctor(model: Model):
    """Stress explains the twitching best, but nobody reported stress: it is no convincing cause."""
    evidence = {"twitch_calf": "yes", "twitch_foot": "yes", "problem_duration": "1_to_4_weeks", "painful": "no",
                "numbness_tingling": "no", "back_injury": "no", "diet_quality": "balanced", "sleep_hours": "7_or_more",
                "tobacco_use": "no"}  # the held-out textbook vignette h29
    result = model.query(evidence)
    stress = result.conditions.loc["stress_anxiety"]
    assert stress["explains"] >= model.kb.triage.persistent["threshold"] > 0
    assert stress["probability"] < model.kb.triage.persistent["present"]
    assert result.triage.level == "see_doctor"
    reported = model.query({**evidence, "stress_level": "high"})
    assert reported.triage.level == "self_care"


def test_likely_lists_covered_conditions_over_the_bar_in_ranked_order(model: Model):
    result = model.query({"known_kidney_disease": "yes", "known_diabetes": "yes", "numbness_tingling": "yes", "twitch_foot": "yes"})
    ids = [c.id for c in model.kb.conditions]
    order = [ids.index(cid) for cid in result.conditions.index]
    probability = [float(result.conditions.at[c, "probability"]) for c in ids]
    got = [ids[i] for i in likely(model.kb, probability, order)]
    assert got == [cid for cid in result.conditions.index
                   if ids.index(cid) in named(model.kb) and result.conditions.at[cid, "probability"] >= 0.5]
    assert "kidney_disease" in got
