"""Differential reasoning (twitchbn.reasoning): why, next question, MPE, what-if, compare, CLI.

Every number is checked against an independent computation on the tiny knowledge base: pgmpy's
VariableElimination on the exported-equivalent network (``model.network``), with the definitions
of docs/reasoning.md written out again here.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgmpy.factors.discrete import TabularCPD
from pgmpy.inference import VariableElimination

import twitchbn
from twitchbn import cli
from twitchbn.reasoning import (
    SERIOUSNESS,
    compare,
    most_probable_explanation,
    next_questions,
    what_if,
    why,
)

TOL = 1e-9
CLINICAL_EYELID = {"sleep_hours", "caffeine_intake", "stress_level", "eye_discomfort", "problem_duration"}


# -- independent reference: pgmpy variable elimination ----------------------------------------
class Reference:
    """Brute-force answers from pgmpy VariableElimination with the documented definitions."""

    def __init__(self, model: twitchbn.Model, network=None):
        self.model = model
        self.ve = VariableElimination(network if network is not None else model.network)
        self.conditions = [c.id for c in model.kb.conditions]

    def dist(self, variable: str, evidence: dict) -> np.ndarray:
        factor = self.ve.query([variable], evidence=evidence or None, show_progress=False)
        return np.asarray([factor.get_value(**{variable: s}) for s in self.model.states(variable)])

    def explains(self, evidence: dict) -> np.ndarray:
        return np.asarray([self.dist(f"cause_{c}", evidence)[1] for c in self.conditions])

    def presence(self, evidence: dict) -> np.ndarray:
        return np.asarray([self.dist(c, evidence)[1] if c not in evidence else float(evidence[c] == "present") for c in self.conditions])

    def logodds(self, evidence: dict) -> np.ndarray:
        q = self.explains(evidence)
        with np.errstate(divide="ignore"):
            return np.log2(q) - np.log2(1.0 - q)


def h2(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-300, 1.0 - 1e-16)
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p)) * ((p > 1e-300) & (p < 1.0 - 1e-16))


def weights(model: twitchbn.Model, serious: bool) -> np.ndarray:
    return np.asarray([SERIOUSNESS.get(c.category, 1.0) if serious else 1.0 for c in model.kb.conditions])


@pytest.fixture(scope="module")
def ref(tiny) -> Reference:
    return Reference(tiny)


def tiny_evidence():
    """Random evidence over the tiny model's findings, exposures and (sometimes) conditions."""
    variables = {
        "sleep_hours": ["7_or_more", "under_7"], "caffeine_intake": ["none", "moderate", "high"], "diet_quality": ["balanced", "poor"],
        "twitch_eyelid": ["no", "yes"], "twitch_calf": ["no", "yes"], "problem_duration": ["under_1_week", "1_to_4_weeks", "over_1_month"],
        "muscle_weakness": ["no", "yes"], "breathing_difficulty": ["no", "yes"], "als": ["absent", "present"],
    }
    return st.dictionaries(st.sampled_from(sorted(variables)), st.none(), max_size=5).flatmap(
        lambda keys: st.fixed_dictionaries({k: st.sampled_from(variables[k]) for k in keys})
    )


SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- why ---------------------------------------------------------------------------------------
@SETTINGS
@given(evidence=tiny_evidence())
def test_why_weight_is_the_log_odds_change_when_the_item_is_removed(tiny, ref, evidence):
    frame = why(tiny, evidence, top=4)
    assert len(frame) == 4 * len(evidence)
    full = ref.logodds(evidence)
    for row in frame.itertuples():
        c = ref.conditions.index(row.condition)
        without = ref.logodds({k: v for k, v in evidence.items() if k != row.variable})[c]
        expected = 0.0 if math.isinf(full[c]) and full[c] == without else full[c] - without
        if math.isinf(expected):
            assert row.weight_bits == expected
        else:
            assert row.weight_bits == pytest.approx(expected, abs=1e-7)
        assert row.direction == ("neutral" if abs(row.weight_bits) < 1e-9 else "for" if row.weight_bits > 0 else "against")


@pytest.mark.parametrize("item", [
    ("twitch_eyelid", "yes"), ("twitch_eyelid", "no"), ("sleep_hours", "under_7"), ("sleep_hours", "7_or_more"),
    ("caffeine_intake", "high"), ("muscle_weakness", "yes"), ("problem_duration", "over_1_month"), ("diet_quality", "poor"),
])
def test_why_sign_agrees_with_the_single_evidence_posterior_shift(tiny, ref, item):
    variable, state = item
    frame = why(tiny, {variable: state}, top=4)
    shift = ref.explains({variable: state}) - ref.explains({})
    for row in frame.itertuples():
        d = shift[ref.conditions.index(row.condition)]
        assert row.direction == ("neutral" if abs(d) < 1e-12 else "for" if d > 0 else "against"), row


def test_why_explains_the_leading_conditions_in_rank_order_or_one_chosen_condition(tiny):
    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    ranked = list(tiny.query(evidence).conditions.index)
    assert list(dict.fromkeys(why(tiny, evidence, top=2)["condition"])) == ranked[:2]
    chosen = why(tiny, evidence, condition="als")
    assert set(chosen["condition"]) == {"als"} and len(chosen) == 2


def test_why_unknown_condition_names_the_closest_ids(tiny):
    with pytest.raises(twitchbn.EvidenceError) as err:
        why(tiny, {"twitch_eyelid": "yes"}, condition="alz")
    assert str(err.value) == "unknown condition 'alz'; closest condition ids: als"


# -- next question -------------------------------------------------------------------------------
def brute_force_next(model, ref, evidence, serious):
    """Expected gain, best answer and its shift for every candidate, by enumeration of its states."""
    w = weights(model, serious)
    now = ref.explains(evidence)
    u_now = float(w @ h2(now))
    out = {}
    candidates = [e.id for e in model.kb.exposures] + [f.id for f in model.kb.findings]
    for v in candidates:
        if v in evidence:
            continue
        p = ref.dist(v, evidence)
        posts = [ref.explains({**evidence, v: s}) if p[k] > 0 else now for k, s in enumerate(model.states(v))]
        expected = sum(p[k] * float(w @ h2(posts[k])) for k in range(len(p)))
        shifts = [float(w @ np.abs(posts[k] - now)) if p[k] > 1e-9 else -1.0 for k in range(len(p))]
        best = next(k for k, x in enumerate(shifts) if x >= max(shifts) - 1e-12)  # ties: the first state
        out[v] = (u_now - expected, model.states(v)[best], max(shifts))
    return u_now, out


@SETTINGS
@given(evidence=tiny_evidence(), serious=st.booleans())
def test_next_gain_equals_the_brute_force_expectation_over_the_states(tiny, ref, evidence, serious):
    frame = next_questions(tiny, evidence, serious=serious)
    u_now, expected = brute_force_next(tiny, ref, evidence, serious)
    assert frame.attrs["uncertainty_bits"] == pytest.approx(u_now, abs=TOL)
    assert set(frame.index) == set(expected)
    for vid, (gain, best, shift) in expected.items():
        assert frame.at[vid, "expected_gain_bits"] == pytest.approx(gain, abs=TOL), vid
        assert frame.at[vid, "best_shift"] == pytest.approx(shift, abs=1e-7), vid
        assert frame.at[vid, "best_state"] == best, vid
    gains = list(frame["expected_gain_bits"])
    assert gains == sorted(gains, reverse=True) and min(gains) >= 0.0


def test_next_lists_every_unobserved_finding_and_exposure_and_no_observed_one(tiny):
    frame = next_questions(tiny, {"twitch_eyelid": "yes", "caffeine_intake": "high"})
    everything = {e.id for e in tiny.kb.exposures} | {f.id for f in tiny.kb.findings}
    assert set(frame.index) == everything - {"twitch_eyelid", "caffeine_intake"}
    assert frame.at["sleep_hours", "kind"] == "exposure" and frame.at["twitch_calf", "kind"] == "finding"


def test_next_serious_variant_raises_questions_about_serious_conditions(tiny):
    plain = next_questions(tiny, {"twitch_eyelid": "yes"})
    serious = next_questions(tiny, {"twitch_eyelid": "yes"}, serious=True)
    assert serious.attrs["serious"] and not plain.attrs["serious"]
    assert list(serious.index).index("twitch_calf") < list(plain.index).index("twitch_calf")


def test_next_question_for_an_isolated_eyelid_twitch_makes_clinical_sense():
    try:
        model = twitchbn.load_model()
    except twitchbn.TwitchbnError as exc:
        pytest.skip(f"shipped knowledge base does not load yet: {exc}")
    top5 = list(next_questions(model, {"twitch_eyelid": "yes"}).index[:5])
    assert top5[0] in CLINICAL_EYELID, top5
    assert len(CLINICAL_EYELID & set(top5)) >= 3, top5
    assert "skin_rash" not in top5


# -- most probable explanation -------------------------------------------------------------------
def enumerate_assignments(model, ref, evidence):
    """Every presence/absence assignment of the conditions with P(assignment | e), best first."""
    conditions = ref.conditions
    joint = ref.ve.query([c for c in conditions if c not in evidence], evidence=evidence or None, joint=True, show_progress=False)
    rows = []
    for values in itertools.product(("absent", "present"), repeat=len(conditions)):
        a = dict(zip(conditions, values, strict=True))
        if any(evidence.get(c, v) != v for c, v in a.items()):
            continue
        p = joint.get_value(**{c: v for c, v in a.items() if c not in evidence})
        rows.append((p, tuple(c for c in conditions if a[c] == "present")))
    return sorted(rows, reverse=True)


@SETTINGS
@given(evidence=tiny_evidence())
def test_mpe_and_its_runners_up_match_enumeration(tiny, ref, evidence):
    result = most_probable_explanation(tiny, evidence, alternatives=2)
    table = enumerate_assignments(tiny, ref, evidence)
    assert result.exact
    assert result.probability == pytest.approx(table[0][0], abs=TOL)
    if table[0][0] - table[1][0] > 1e-9:
        assert set(result.present) == set(table[0][1])
    got = [result.probability] + [p for _, p in result.alternatives]
    assert got == pytest.approx([p for p, _ in table[:3]], abs=TOL)


def test_mpe_can_differ_from_the_marginal_ranking(tiny):
    result = most_probable_explanation(tiny, {"twitch_eyelid": "yes", "twitch_calf": "yes"})
    assert result.present == ("caffeine_excess",)
    likely = set(result.marginal.index[result.marginal["probability"] > 0.45])
    assert likely == {"caffeine_excess", "sleep_deprivation", "vitamin_d_deficiency"}
    assert list(result.marginal["in_explanation"]) == [cid in result.present for cid in result.marginal.index]


def test_mpe_search_cap_reports_an_inexact_answer_with_a_valid_upper_bound(tiny, ref):
    evidence = {"twitch_eyelid": "yes"}
    capped = most_probable_explanation(tiny, evidence, max_expansions=1)
    best = enumerate_assignments(tiny, ref, evidence)
    assert not capped.exact and capped.expansions == 1
    assert capped.probability <= best[0][0] + TOL <= capped.upper_bound + 2 * TOL
    by_set = {a: p for p, a in best}
    assert capped.probability == pytest.approx(by_set[tuple(c for c in ref.conditions if c in capped.present)], abs=TOL)


def test_mpe_stops_at_its_work_budget_with_an_inexact_answer_and_a_valid_upper_bound(tiny, ref, monkeypatch):
    from twitchbn.reasoning import _mpe

    evidence = {"twitch_eyelid": "yes"}
    monkeypatch.setattr(_mpe, "WORK_ENTRIES", 1)  # the seeds alone spend it: no expansion
    capped = most_probable_explanation(tiny, evidence)
    best = enumerate_assignments(tiny, ref, evidence)
    assert not capped.exact and capped.expansions == 0
    assert capped.probability <= best[0][0] + TOL <= capped.upper_bound + 2 * TOL


# -- what-if and compare -------------------------------------------------------------------------
def test_whatif_on_an_exposure_equals_conditioning_on_the_new_state(tiny):
    evidence = {"twitch_eyelid": "yes", "caffeine_intake": "high"}
    change = what_if(tiny, evidence, {"caffeine_intake": "none"})
    direct = tiny.query({"twitch_eyelid": "yes", "caffeine_intake": "none"})
    assert change.interventions == ()
    assert change.after.conditions[["probability", "explains"]].equals(direct.conditions[["probability", "explains"]])
    assert change.delta.at["caffeine_excess", "delta_explains"] == pytest.approx(
        direct.conditions.at["caffeine_excess", "explains"] - change.before.conditions.at["caffeine_excess", "explains"], abs=TOL)


def surgery_reference(tiny, condition, state):
    """pgmpy network with the condition's table replaced by a point mass (graph surgery)."""
    net = tiny.network.do([condition])
    net.remove_cpds(net.get_cpds(condition))
    net.add_cpds(TabularCPD(condition, 2, [[float(state == "absent")], [float(state == "present")]],
                            state_names={condition: ["absent", "present"]}))
    return Reference(tiny, net)


def test_whatif_on_a_condition_is_graph_surgery_and_differs_from_conditioning(tiny, ref):
    evidence = {"twitch_eyelid": "yes"}
    done = what_if(tiny, evidence, {"sleep_deprivation": "absent"})
    seen = what_if(tiny, evidence, {"sleep_deprivation": "absent"}, intervene=False)
    assert done.interventions == ("sleep_deprivation",) and seen.interventions == ()
    surgical = surgery_reference(tiny, "sleep_deprivation", "absent")
    after = {**evidence, "sleep_deprivation": "absent"}
    for cid, row in done.after.conditions.iterrows():
        c = ref.conditions.index(cid)
        assert row["explains"] == pytest.approx(surgical.explains(after)[c], abs=TOL)
        assert row["probability"] == pytest.approx(surgical.presence(after)[c], abs=TOL)
        assert seen.after.conditions.at[cid, "explains"] == pytest.approx(ref.explains(after)[c], abs=TOL)
    # diet_quality is shared with vitamin D deficiency: seeing "no sleep deprivation" tells about the
    # diet, treating it does not.
    vit = "vitamin_d_deficiency"
    assert abs(done.after.conditions.at[vit, "probability"] - seen.after.conditions.at[vit, "probability"]) > 1e-3


def test_whatif_refuses_a_finding_with_a_hint(tiny):
    with pytest.raises(twitchbn.EvidenceError) as err:
        what_if(tiny, {"twitch_eyelid": "yes"}, {"twitch_calf": "yes"})
    assert str(err.value) == ("what-if changes must name an exposure or a condition; got twitch_calf, a finding "
                              "(use compare to see the effect of a different answer)")


def test_compare_gives_both_values_and_the_change_biggest_first(tiny):
    a, b = {"twitch_eyelid": "yes"}, {"twitch_eyelid": "yes", "muscle_weakness": "yes"}
    frame = compare(tiny, a, b)
    ra, rb = tiny.query(a).conditions, tiny.query(b).conditions
    for cid, row in frame.iterrows():
        assert row["explains_a"] == ra.at[cid, "explains"] and row["explains_b"] == rb.at[cid, "explains"]
        assert row["delta_explains"] == pytest.approx(rb.at[cid, "explains"] - ra.at[cid, "explains"], abs=1e-15)
    sizes = list(frame["delta_explains"].abs())
    assert sizes == sorted(sizes, reverse=True) and len(frame) == 4
    assert frame.attrs["triage"] == {"a": "self_care", "b": "see_doctor"}


# -- command line --------------------------------------------------------------------------------
def run(capsys, *argv):
    code = cli.main([*argv, "--kb", "tests/fixtures/tiny"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_next_json_lists_every_candidate_in_the_api_order(tiny, capsys):
    code, out, _ = run(capsys, "next", "-e", "twitch_eyelid=yes", "--json")
    doc = json.loads(out)
    assert code == 0
    assert [q["id"] for q in doc["questions"]] == list(next_questions(tiny, {"twitch_eyelid": "yes"}).index)
    assert doc["questions"][0]["expected_gain_bits"] == pytest.approx(next_questions(tiny, {"twitch_eyelid": "yes"}).iloc[0, 2])


@pytest.mark.parametrize("argv", [
    ("why", "-e", "twitch_eyelid=yes", "--condition", "als", "--json"),
    ("mpe", "-e", "twitch_eyelid=yes", "--json"),
    ("whatif", "-e", "twitch_eyelid=yes", "--set", "sleep_deprivation=absent", "--json"),
])
def test_cli_reasoning_commands_print_one_json_document(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == ""
    assert json.loads(out)


def test_cli_compare_reads_both_files(capsys, tmp_path):
    (tmp_path / "a.json").write_text('{"twitch_eyelid": "yes"}')
    (tmp_path / "b.json").write_text('{"twitch_eyelid": "yes", "muscle_weakness": "yes"}')
    code, out, _ = run(capsys, "compare", "--evidence-file", str(tmp_path / "a.json"), "--against", str(tmp_path / "b.json"), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["delta"][0]["id"] == "vitamin_d_deficiency"
    assert doc["b"]["evidence"] == {"twitch_eyelid": "yes", "muscle_weakness": "yes"}


@pytest.mark.parametrize(("argv", "message"), [
    (("why", "-e", "twitch_eyelid=yes", "--condition", "alss"), "twitchbn: error: unknown condition 'alss'; closest condition ids: als"),
    (("next", "-e", "twitch_eyelid=maybe"), "twitchbn: error: state 'maybe' of twitch_eyelid is not valid; valid states: no, yes"),
    (("mpe", "--alternatives", "-1"), "twitchbn: error: alternatives must be a whole number >= 0; got -1"),
    (("whatif", "--set", "caffeine_intake=lots"),
     "twitchbn: error: state 'lots' of caffeine_intake is not valid; valid states: none, moderate, high"),
    (("compare", "-e", "twitch_eyelid=yes"),
     "twitchbn: error: the following arguments are required: --against (see 'twitchbn compare --help')"),
])
def test_cli_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err == message + "\n"


def test_why_past_its_work_budget_leaves_out_named_findings_and_keeps_the_rest_exact(model, monkeypatch):
    from twitchbn.reasoning import _why

    evidence = {"twitch_calf": "yes", "muscle_weakness": "yes", "caffeine_intake": "high", "numbness_tingling": "no"}
    full = why(model, evidence, top=2)
    assert full.attrs["not_assessed"] == []
    monkeypatch.setattr(_why, "WORK_ENTRIES", 1)
    part = why(model, evidence, top=2)
    assert part.attrs["not_assessed"] == ["twitch_calf", "muscle_weakness"]
    kept = full[full["variable"].isin(["caffeine_intake", "numbness_tingling"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), kept)
