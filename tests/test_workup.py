"""The workup planner: tests as findings, exact expected gains, conditional costs, the
serious-first mode, what each result would do, Fagan's relation, and expectations from practice."""

from __future__ import annotations

import html
import math
import shutil
from pathlib import Path

import numpy as np
import pyagrum as gum
import pytest
import yaml
from conftest import DATA, REPO, read_yaml, run_cli

from twitchbn import KnowledgeBaseError, Model, TwitchbnError, load_knowledge
from twitchbn.numbers import is_cited
from twitchbn.reasoning import next_questions
from twitchbn.reasoning._common import binary_entropy, condition_weights
from twitchbn.wording import percent
from twitchbn.workup import (
    ALPHA,
    NO_TWITCHING,
    characteristic_result,
    fagan,
    fagan_numbers,
    next_tests,
    ordering_cost,
    published_lr,
)

VOCABULARY = read_yaml(DATA / "vocabulary.yaml")
TEST_IDS = [t["id"] for t in VOCABULARY["tests"]]
CASES = REPO / "tests" / "cases" / "workup"
EVIDENCE = [
    {},
    {"twitch_eyelid": "yes", "sleep_hours": "under_7"},
    {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes", "problem_duration": "over_1_month"},
    {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes", "serum_magnesium": "low"},
    {"twitch_calf": "yes", "numbness_tingling": "no", "emg": "normal", "age_group": "older_adult"},
]


# -- tests in the knowledge base ------------------------------------------------------------------
def test_every_vocabulary_test_loads_as_a_finding_of_kind_test_with_its_states(model: Model):
    assert [t.id for t in model.kb.tests] == TEST_IDS
    assert {t.id: t.states for t in model.kb.tests} == {t["id"]: tuple(t["states"]) for t in VOCABULARY["tests"]}
    assert all(t.kind == "test" and t.driven_by == "present" and t.workup is not None for t in model.kb.tests)
    assert {t: model.states(t) for t in TEST_IDS} == {t["id"]: tuple(t["states"]) for t in VOCABULARY["tests"]}


def test_every_number_of_a_test_cites_a_published_source_by_url_or_doi(model: Model):
    sources = [(f"{t.id} leak", t.leak.source) for t in model.kb.tests]
    sources += [(f"{t.id} link {link.condition}", link.number.source) for t in model.kb.tests for link in t.links]
    sources += [(f"{t.id} cost", t.workup.cost_source) for t in model.kb.tests if t.workup]
    sources += [(f"draw {d.id}", d.source) for d in model.kb.draws]
    assert [where for where, source in sources if not is_cited(source)] == []


def test_every_test_detects_at_least_one_condition_and_costs_something(model: Model):
    assert [t.id for t in model.kb.tests if not t.links or not t.workup or t.workup.cost <= 0] == []
    assert {t.workup.draw for t in model.kb.tests if t.workup} <= {None, *(d.id for d in model.kb.draws)}


def test_a_test_result_is_evidence_like_any_finding(model: Model):
    before = model.query({"perioral_tingling": "yes"}).conditions.at["hypocalcemia", "probability"]
    low = model.query({"perioral_tingling": "yes", "serum_calcium": "low"}).conditions.at["hypocalcemia", "probability"]
    normal = model.query({"perioral_tingling": "yes", "serum_calcium": "normal"}).conditions.at["hypocalcemia", "probability"]
    assert normal < before < low


def test_tests_are_not_offered_as_next_questions(model: Model):
    asked = set(next_questions(model, {"twitch_eyelid": "yes"}).index)
    assert asked and not asked & set(TEST_IDS)


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("__*"))
    return root


def _refused(root: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge(root)
    return caught.value.faults


def test_a_test_with_an_unknown_draw_is_refused_naming_it(tmp_path: Path):
    root = _copy(tmp_path)
    raw = yaml.safe_load((root / "tests.yaml").read_text())
    raw["tests"][0]["draw"] = "bloood"
    (root / "tests.yaml").write_text(yaml.safe_dump(raw))
    assert _refused(root) == ["tests.yaml: test 'serum_calcium': draw must be a draw of tests.yaml; got 'bloood' (closest: blood)"]


def test_a_negative_cost_and_an_unknown_invasiveness_are_refused_in_one_pass(tmp_path: Path):
    root = _copy(tmp_path)
    raw = yaml.safe_load((root / "tests.yaml").read_text())
    raw["tests"][0]["cost"]["value"] = -1
    raw["tests"][1]["invasiveness"] = "high"
    (root / "tests.yaml").write_text(yaml.safe_dump(raw))
    assert _refused(root) == [
        "tests.yaml: test 'serum_calcium': cost.value must be a cost of at least 0 (cost units); got -1",
        "tests.yaml: test 'serum_magnesium': invasiveness must be one of none, minimal, moderate; got 'high'",
    ]


def test_tests_yaml_is_required_when_the_vocabulary_lists_tests(tmp_path: Path):
    root = _copy(tmp_path)
    (root / "tests.yaml").unlink()
    assert _refused(root) == ["tests.yaml: file is missing"]


def test_a_vocabulary_test_left_out_of_tests_yaml_is_named(tmp_path: Path):
    root = _copy(tmp_path)
    raw = yaml.safe_load((root / "tests.yaml").read_text())
    raw["tests"] = [t for t in raw["tests"] if t["id"] != "emg"]
    (root / "tests.yaml").write_text(yaml.safe_dump(raw))
    assert _refused(root) == ["tests.yaml: test 'emg' of vocabulary.yaml is missing"]


# -- exactness -------------------------------------------------------------------------------------
def brute_force_gain(model: Model, evidence: dict[str, str], test: str, serious: bool) -> float:
    """U(e) - sum_s P(T = s | e) U(e, T = s), each term from Model.query and P(T = s | e) from
    the engine's normalising constants with the result set as ordinary evidence."""
    weights = condition_weights(model, serious)
    order = [c.id for c in model.kb.conditions]

    def uncertainty(ev: dict[str, str]) -> float:
        explains = model.query(ev).conditions["explains"].reindex(order).to_numpy()
        return float(weights @ binary_entropy(explains))

    log_z = model.sweep(model.check_evidence(evidence)).log_z[0]
    expected = 0.0
    for state in model.states(test):
        ev = {**evidence, test: state}
        p = math.exp(model.sweep(model.check_evidence(ev)).log_z[0] - log_z)
        expected += p * uncertainty(ev) if p > 0 else 0.0
    return uncertainty(evidence) - expected


@pytest.mark.parametrize("serious", [False, True])
@pytest.mark.parametrize("evidence", EVIDENCE, ids=range(len(EVIDENCE)))
def test_expected_gain_equals_brute_force_over_each_result(model: Model, evidence: dict[str, str], serious: bool):
    plan = next_tests(model, evidence, serious_first=serious)
    assert set(plan.table.index) == set(TEST_IDS) - set(evidence)
    for test in plan.table.index:
        assert plan.table.at[test, "expected_gain_bits"] == pytest.approx(brute_force_gain(model, evidence, test, serious), abs=1e-12)


def test_each_result_leaves_the_picture_a_query_with_that_result_gives(model: Model):
    evidence = EVIDENCE[3]
    plan = next_tests(model, evidence)
    for test, outcomes in plan.outcomes.items():
        assert sum(o.probability for o in outcomes) == pytest.approx(1.0, abs=1e-12)
        for outcome in outcomes:
            result = model.query({**evidence, test: outcome.state})
            assert outcome.picture.leading == tuple(result.conditions.index[:3])
            assert outcome.picture.explains == pytest.approx(tuple(result.conditions["explains"][:3]), abs=1e-12)
            assert outcome.picture.dont_miss == tuple(result.dont_miss)
            assert outcome.picture.triage == result.triage.level


def test_pyagrum_on_the_exported_network_gives_each_test_results_probability(model: Model, tmp_path: Path):
    path = tmp_path / "twitchbn.bifxml"
    done = run_cli("export", "--format", "xmlbif", "-o", path)
    assert done.returncode == 0, done.stderr
    ie = gum.LazyPropagation(gum.loadBN(str(path)))
    for test in TEST_IDS:
        ie.addTarget(test)
    evidence = EVIDENCE[2]
    ie.setEvidence(evidence)
    ie.makeInference()
    plan = next_tests(model, evidence)
    for test in TEST_IDS:
        abnormal = 1.0 - ie.posterior(test)[{test: model.states(test)[0]}]
        assert plan.table.at[test, "abnormal_probability"] == pytest.approx(abnormal, abs=1e-9)


# -- value, costs and modes --------------------------------------------------------------------------
def test_value_is_gain_minus_alpha_times_cost_and_the_table_is_sorted_by_it(model: Model):
    plan = next_tests(model, EVIDENCE[2], alpha=0.03)
    table = plan.table
    assert np.allclose(table["value_bits"], table["expected_gain_bits"] - 0.03 * table["cost"], atol=1e-15)
    assert list(table["value_bits"]) == sorted(table["value_bits"], reverse=True)
    assert list(table["recommended"]) == list(table["value_bits"] > 0)
    assert plan.recommended == [t for t in table.index if table.at[t, "value_bits"] > 0]


def test_alpha_zero_recommends_every_informative_test_and_a_high_alpha_none(model: Model):
    assert len(next_tests(model, EVIDENCE[2], alpha=0.0).recommended) == len(TEST_IDS)
    assert next_tests(model, EVIDENCE[2], alpha=10.0).recommended == []


def test_the_blood_draw_is_paid_by_the_first_blood_test_only(model: Model):
    draw = next(d.cost for d in model.kb.draws if d.id == "blood")
    calcium = model.kb.finding("serum_calcium")
    assert ordering_cost(model, calcium, {}) == (calcium.workup.cost, draw)
    assert ordering_cost(model, calcium, {"serum_magnesium": "normal"}) == (calcium.workup.cost, 0.0)
    assert ordering_cost(model, model.kb.finding("emg"), {}) == (model.kb.finding("emg").workup.cost, 0.0)
    after = next_tests(model, {"twitch_hand": "yes", "serum_potassium": "normal"}).table
    blood = [t.id for t in model.kb.tests if t.workup.draw == "blood" and t.id != "serum_potassium"]
    assert (after.loc[blood, "draw_cost"] == 0).all() and (after.loc[blood, "cost"] == after.loc[blood, "own_cost"]).all()


def test_serious_first_ranks_tests_of_cant_miss_conditions_first(model: Model):
    evidence = EVIDENCE[2]
    plan = next_tests(model, evidence, serious_first=True)
    keep = set(plan.now.dont_miss)
    assert keep
    mandatory = [t.id for t in model.kb.tests if any(link.condition in keep for link in t.links) and t.id not in evidence]
    assert set(plan.table.index[: len(mandatory)]) == set(mandatory)
    assert plan.table["mandatory"].sum() == len(mandatory)
    assert not next_tests(model, evidence).table["mandatory"].any()


def test_a_negative_alpha_is_refused_in_one_line(model: Model):
    with pytest.raises(TwitchbnError, match=r"^alpha must be a number of at least 0 \(bits per cost unit\); got -1$"):
        next_tests(model, {}, alpha=-1)


def test_observed_tests_are_not_ranked_again(model: Model):
    assert "serum_calcium" not in next_tests(model, {"serum_calcium": "low"}).table.index


# -- Fagan ------------------------------------------------------------------------------------------
def test_fagan_post_test_odds_are_pre_test_odds_times_the_likelihood_ratio():
    assert fagan(0.2, 9.0) == pytest.approx((0.25 * 9.0) / (1 + 0.25 * 9.0))
    assert fagan(0.5, 1.0) == pytest.approx(0.5)
    assert (fagan(0.0, 5.0), fagan(1.0, 0.1)) == (0.0, 1.0)


def test_fagan_numbers_reproduce_the_networks_posterior_and_the_published_ratio(model: Model):
    evidence = {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes"}
    plan = next_tests(model, evidence)
    numbers = fagan_numbers(model, plan, "serum_calcium", "hypocalcemia")
    assert numbers.state == "low"
    assert fagan(numbers.pretest, numbers.likelihood_ratio) == pytest.approx(numbers.posttest, abs=1e-12)
    assert numbers.posttest == pytest.approx(model.query({**evidence, "serum_calcium": "low"}).conditions.at["hypocalcemia", "probability"])
    calcium = model.kb.finding("serum_calcium")
    leak, sens = calcium.leak.value[1], calcium.links[0].number.value[1]
    assert numbers.published_lr == pytest.approx((1 - (1 - leak) * (1 - sens)) / leak)
    assert fagan_numbers(model, plan, "serum_calcium", "hypocalcemia", "normal").published_lr == pytest.approx(1 - sens)


def test_each_result_of_a_many_state_test_has_its_own_published_likelihood_ratio(model: Model, tmp_path: Path):
    """The published LR of every result of a many-state test (EMG patterns) is the exported
    network's P(result | the condition alone) / P(result | none of the test's conditions): the
    product of the test's tables in the XMLBIF export (pyAgrum), the condition nodes fixed."""
    path = tmp_path / "twitchbn.bifxml"
    assert run_cli("export", "--format", "xmlbif", "-o", path).returncode == 0
    bn = gum.loadBN(str(path))
    many = [t for t in model.kb.tests if len(t.states) > 2]
    assert many, "the vocabulary has a test with more than two results"
    for test in many:
        table = bn.cpt(test.id)
        for name in bn.names():
            if name.startswith(f"{test.id}__"):  # the export's noisy-MAX chain
                table = table * bn.cpt(name)
        linked = [link.condition for link in test.links]

        def given(present: str | None, table=table, linked=linked, test=test) -> np.ndarray:
            return table.extract({c: "present" if c == present else "absent" for c in linked}).sumIn([test.id]).toarray()

        none = given(None)
        for condition in linked:
            alone = given(condition)
            for s, state in enumerate(test.states):
                assert published_lr(model, test.id, condition, state) == pytest.approx(alone[s] / none[s], rel=1e-9), (condition, state)


def test_the_emg_pattern_separates_motor_neuron_muscle_and_nerve_hyperexcitability(model: Model):
    """Each EMG pattern points to its own family: Fagan's default result is the pattern
    characteristic of the condition, and every result reproduces the network's posterior."""
    evidence = EVIDENCE[2]
    plan = next_tests(model, evidence)
    expected = {"als": "widespread_denervation", "spinal_muscular_atrophy": "widespread_denervation", "myositis": "myopathic",
                "myopathy": "myopathic", "isaacs_syndrome": "neuromyotonic", "pinched_nerve": "neurogenic"}
    assert {c: characteristic_result(model, plan, "emg", c) for c in expected} == expected
    assert fagan_numbers(model, plan, "emg", "als").state == "widespread_denervation"
    for condition in expected:
        for state in model.states("emg"):
            numbers = fagan_numbers(model, plan, "emg", condition, state)
            assert fagan(numbers.pretest, numbers.likelihood_ratio) == pytest.approx(numbers.posttest, abs=1e-12)
            posterior = model.query({**evidence, "emg": state}).conditions.at[condition, "probability"]
            assert numbers.posttest == pytest.approx(posterior, abs=1e-12)
    picture = {o.state: o.picture for o in plan.outcomes["emg"]}
    assert picture["myopathic"].presence["myopathy"] > plan.now.presence["myopathy"] > picture["neurogenic"].presence["myopathy"]
    assert picture["widespread_denervation"].presence["als"] > plan.now.presence["als"] > picture["myopathic"].presence["als"]
    # denervation across regions tells motor neuron disease from a neuropathy; confined denervation the reverse
    for rival in ("peripheral_neuropathy", "pinched_nerve"):
        assert picture["neurogenic"].presence[rival] > plan.now.presence[rival] > picture["widespread_denervation"].presence[rival]
    assert picture["neurogenic"].presence["als"] < plan.now.presence["als"]


# -- expectations from practice ----------------------------------------------------------------------
def meets(model: Model, case: dict) -> bool:
    """The planner at the default alpha does what the case expects (first test, or no test)."""
    plan = next_tests(model, case["evidence"], alpha=ALPHA)
    expect = case["expect"]
    first = plan.recommended[0] if plan.recommended else None
    ok = first is None if expect.get("no_test") else first in expect["first_test_any_of"]
    if "serious_first_any_of" in expect:
        ok = ok and next_tests(model, case["evidence"], alpha=ALPHA, serious_first=True).table.index[0] in expect["serious_first_any_of"]
    return ok


DEV_MISSES = {
    "w06": "with diabetes, kidney disease leads the differential beside neuropathy, and the cheap kidney function test "
           "resolves more of it than nerve conduction studies at 12 units",
    "w09": "MRI (22 units) would confirm hemifacial spasm, already leading; at the default alpha its gain does not repay "
           "the cost, and the cheap electrolyte tests for the rival facial-twitch causes rank first",
}


def case_params(name: str, misses: dict[str, str]) -> list:
    cases = read_yaml(CASES / name)
    return [pytest.param(c, id=c["id"], marks=pytest.mark.xfail(strict=True, reason=misses[c["id"]])) if c["id"] in misses
            else pytest.param(c, id=c["id"]) for c in cases]


@pytest.mark.parametrize("case", case_params("dev.yaml", DEV_MISSES))
def test_dev_case_gets_the_first_test_a_clinician_would_order(model: Model, case: dict):
    assert meets(model, case)


#: Held-out agreement. blind.yaml (30 cases) was written by a helper who never saw the model's
#: numbers, and scored after the numbers and the planner were fixed, with nothing tuned to it.
#: With the two-state EMG: 16 of 30 agreed on the first test at the default alpha (6 of the 6
#: "no test" cases; 6 of the 12 serious-first expectations held). With the EMG pattern
#: (normal, myopathic, neurogenic, neuromyotonic): 17 of 30 (wu007 and wu010 now pass, EMG
#: first; wu028 is a new miss, EMG before CK); 7 of the 12 serious-first expectations hold (a
#: case passes only if both do). With denervation across regions reported apart from confined
#: denervation (the EMG arm of the Awaji criteria): 18 of 30 (wu009 passes, EMG first; no new
#: miss); 8 of the 12 serious-first expectations hold. After the knowledge-base review that
#: replaced guessed leaks with published figures (heat intolerance, rash, weight loss): 19 of 30
#: (wu016 passes, thyroid function first). Each miss is a strict xfail with the planner's
#: reason, so a change that fixes or breaks one shows here.
BLIND_MISSES = {
    "wu008": "the two leading causes, ALS and spinal muscular atrophy, both give widespread denervation on EMG, so "
             "the pattern barely moves them; only the cheap kidney function repays its cost (serious first: CK, then "
             "strength testing, then EMG)",
    "wu014": "widespread twitching with weakness keeps hyperthyroidism second in the differential, and the thyroid test "
             "separates it as cheaply; the serum potassium ranks second",
    "wu018": "the glucose test hangs off neuropathy only and ignores the known diabetes (an exposure), so it adds little; nerve "
             "conduction studies (12 units) do not repay their cost at the default alpha; a cheap calcium ranks first",
    "wu022": "hemifacial spasm already leads; the MRI (22 units) does not repay its cost at the default alpha, cheap blood "
             "tests for the rival facial-twitch causes rank first (the serious-first mode puts the MRI first, as expected)",
    "wu023": "the CT head is recommended, but second: the cheap serum calcium separates hypocalcaemia, the runner-up of a "
             "facial twitch (the serious-first mode puts CT first, as expected)",
    "wu024": "blepharospasm leads and has no test in the model; its rivals for eyelid closure (hyperthyroidism, hemifacial "
             "spasm) keep cheap tests informative enough to recommend",
    "wu025": "the MRI spine (22 units, and abnormal in a third of people without symptoms) does not repay its cost; cheap "
             "blood tests separate the electrolyte rivals (serious first: strength testing for multiple sclerosis)",
    "wu026": "as wu025: MRI spine does not repay its cost at the default alpha; cheap blood tests rank first (serious first: "
             "strength testing)",
    "wu027": "the model ranks multiple sclerosis and a pinched nerve first for this proximal weakness (myositis lower); the "
             "EMG pattern separates myositis (myopathic) from a pinched nerve (neurogenic) and MS (normal), so it comes first, "
             "the MRI brain second and CK fourth",
    "wu028": "a pinched nerve leads this rash-and-weakness story, myositis second; the EMG pattern (myopathic against "
             "neurogenic) separates them a little better than CK does (0.68 against 0.49 bits), enough to repay its 8 units",
    "wu029": "vitamin D deficiency is second; thyroid function and kidney function separate the other rivals of calf "
             "twitching with weakness for less than the vitamin D level (3 units)",
}


#: A second blind file (blind2.yaml, 20 cases), written on 2026-12-03 by a helper who never saw
#: the model, its data or other cases, and scored once after this session's changes: 12 of 20
#: agree on the first test (4 of the 5 "no test" cases; 5 of the 6 serious-first expectations).
#: The misses are the kinds already seen in blind.yaml.
BLIND2_MISSES = {
    "wx002": "caffeine leads a few days of calf twitching (44%), yet strength testing (0.5 units) repays its cost by a hair "
             "(value 0.006 bits): the cheapest examination sign still separates the rivals enough to recommend",
    "wx009": "benign fasciculation and vitamin D deficiency are level (27% and 23%); thyroid and kidney function separate the "
             "other rivals for less, the calcium is third and the vitamin D level (4 units) fifth",
    "wx014": "a pinched nerve already leads (75%); the MRI spine (22 units, abnormal in a third of people without symptoms) "
             "does not repay its cost in either mode, and a cheap kidney function test for the runner-up ranks first",
    "wx015": "MS leads (56%); at the default alpha the MRI brain (22 units) does not repay its cost and a cheap calcium ranks "
             "first (the serious-first mode puts the MRI first, as expected)",
    "wx017": "neuropathy leads (64%) and the glucose test hangs off neuropathy only, ignoring the known diabetes (an "
             "exposure): it adds little; a cheap calcium for a rival ranks first",
    "wx018": "a pinched nerve leads this aching proximal weakness (54%), myositis is rare; calcium and kidney function "
             "separate the rivals for less and CK is fourth",
    "wx019": "a facial nerve lesion leads (49%); the CT head is recommended but second, after the cheap serum calcium for "
             "hypocalcaemia, the runner-up of a facial twitch (the serious-first mode puts the CT first, as expected)",
    "wx020": "hemifacial spasm leads (53%); the MRI brain (22 units) is fourth at the default alpha, after cheap blood tests "
             "for the rival causes (the serious-first mode puts the MRI first, as expected)",
}


@pytest.mark.parametrize("case", case_params("blind.yaml", BLIND_MISSES) + case_params("blind2.yaml", BLIND2_MISSES))
def test_blind_case_gets_the_first_test_a_clinician_would_order(model: Model, case: dict):
    assert meets(model, case)


@pytest.mark.parametrize("name", ["dev.yaml", "blind.yaml", "blind2.yaml"])
def test_case_files_name_only_vocabulary_ids_and_tests(model: Model, name: str):
    for case in read_yaml(CASES / name):
        model.check_evidence(case["evidence"])
        named = case["expect"].get("first_test_any_of", []) + case["expect"].get("serious_first_any_of", [])
        assert set(named) <= set(TEST_IDS), case["id"]



# -- command line --------------------------------------------------------------------------------------
def test_cli_workup_names_the_best_test_and_what_each_result_would_do():
    done = run_cli("workup", "-e", "perioral_tingling=yes", "-e", "muscle_cramps=yes", "-e", "twitch_hand=yes", "--top", "2")
    assert done.returncode == 0, done.stderr
    ranked = [line for line in done.stdout.splitlines() if line[:4].strip().isdigit()]
    assert ranked[0].split()[:3] == ["1", "Serum", "calcium"] and len(ranked) == 2
    assert "if low (" in done.stdout and "if normal (" in done.stdout
    assert "Worth ordering now: Serum calcium" in done.stdout
    assert done.stdout.rstrip().endswith("not a diagnosis.")


def test_without_twitching_the_plan_says_its_gain_is_about_the_cause_of_the_twitching(model: Model):
    """Tingling and cramps alone: few tests repay their cost, and the CLI, JSON and panel say why."""
    import json

    from twitchbn.ui.workup_panel import WorkupPanel

    quiet = ["-e", "perioral_tingling=yes", "-e", "muscle_cramps=yes"]
    assert not next_tests(model, {"perioral_tingling": "yes", "muscle_cramps": "yes"}).twitching_entered
    assert next_tests(model, {"perioral_tingling": "yes", "twitch_hand": "yes"}).twitching_entered
    assert NO_TWITCHING in run_cli("workup", *quiet).stdout
    assert NO_TWITCHING not in run_cli("workup", *quiet, "-e", "twitch_hand=yes").stdout
    assert json.loads(run_cli("workup", *quiet, "--json").stdout)["twitching_entered"] is False
    panel = WorkupPanel(model, {"perioral_tingling": "yes", "muscle_cramps": "yes"})
    assert html.escape(NO_TWITCHING, quote=True) in panel.ranking.value
    panel.update({"perioral_tingling": "yes", "twitch_hand": "yes"})
    assert "workup-no-twitching" not in panel.ranking.value


def test_cli_workup_json_is_the_planners_answer(model: Model):
    import json

    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    done = run_cli("workup", *(a for k, v in evidence.items() for a in ("-e", f"{k}={v}")), "--alpha", "0.001", "--serious-first", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    plan = next_tests(model, evidence, alpha=0.001, serious_first=True)
    assert document["alpha"] == 0.001 and document["serious_first"] is True
    # values agree to rounding (another process may sum in another order): compare values, not tie order
    assert {t["id"]: t["value_bits"] for t in document["tests"]} == pytest.approx(plan.table["value_bits"].to_dict(), abs=1e-12)
    assert set(document["recommended"]) == set(plan.recommended)
    assert [r["state"] for r in document["tests"][0]["results"]] == list(model.states(document["tests"][0]["id"]))


@pytest.mark.parametrize("alpha", ["-1", "x", "inf"])
def test_cli_workup_refuses_a_bad_alpha_in_one_line(alpha: str):
    done = run_cli("workup", "--alpha", alpha)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"twitchbn: error: argument --alpha: must be a number of at least 0 (bits per cost unit); got '{alpha}' "
                           "(see 'twitchbn workup --help')\n")


# -- the panel, driven from Python ------------------------------------------------------------------------
CALCIUM_STORY = {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes"}


def test_panel_ranks_the_tests_and_shows_the_selected_tests_results(model: Model):
    from twitchbn.ui.workup_panel import WorkupPanel

    panel = WorkupPanel(model, CALCIUM_STORY)
    assert panel.message.value == ""
    assert panel.test.value == "serum_calcium" == panel.plan.table.index[0]
    assert [value for _, value in panel.test.options] == list(panel.plan.table.index)
    assert "Serum calcium" in panel.ranking.value and "Worth ordering now: Serum calcium" in panel.ranking.value
    assert [b.description for b in panel.buttons.children] == ["Enter: normal", "Enter: low"]
    assert panel.outcomes.value.count("<li>If ") == 2
    assert panel.condition.value == "hypocalcemia" and "<svg" in panel.nomogram.value and 'class="person"' in panel.nomogram.value
    assert panel.result.value == "low"


def test_panel_nomogram_shows_the_result_characteristic_of_the_condition_and_any_chosen_result(model: Model):
    from twitchbn.ui.workup_panel import WorkupPanel

    panel = WorkupPanel(model, EVIDENCE[2])
    panel.test.value = "emg"
    assert [value for _, value in panel.result.options] == list(model.states("emg"))
    panel.condition.value = "myositis"
    assert panel.result.value == "myopathic" and "'myopathic'" in panel.nomogram.value
    panel.condition.value = "als"
    assert panel.result.value == "widespread_denervation" and "'widespread denervation'" in panel.nomogram.value
    panel.result.value = "normal"
    numbers = fagan_numbers(model, panel.plan, "emg", "als", "normal")
    assert f"{percent(numbers.posttest)} after the result 'normal'" in panel.nomogram.value
    assert panel.message.value == ""


def test_panel_cost_weight_reranks_and_can_leave_no_test_worth_ordering(model: Model):
    from twitchbn.ui.workup_panel import WorkupPanel

    panel = WorkupPanel(model, {"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    panel.alpha.value = 0.0
    assert panel.plan.alpha == 0.0 and "Worth ordering now" in panel.ranking.value
    panel.alpha.value = panel.alpha.max
    assert panel.plan.recommended == [] and "No test is worth its cost" in panel.ranking.value
    panel.serious.value = True
    assert panel.plan.serious_first


def test_panel_click_enters_the_result_shows_the_new_picture_and_calls_back(model: Model):
    from twitchbn.ui.workup_panel import WorkupPanel

    panel = WorkupPanel(model, CALCIUM_STORY)
    entered: list[tuple[str, str]] = []
    panel.on_enter(lambda test, state: entered.append((test, state)))
    before = panel.now.value
    panel.buttons.children[1].click()
    assert entered == [("serum_calcium", "low")]
    assert panel.evidence == {**CALCIUM_STORY, "serum_calcium": "low"}
    assert "serum_calcium" not in panel.plan.table.index and panel.now.value != before
    assert panel.message.value == ""


def test_panel_shows_refused_evidence_as_one_line(model: Model):
    from twitchbn.ui.workup_panel import WorkupPanel

    panel = WorkupPanel(model)
    panel.update({"emg": "maybe"})
    valid = ", ".join(model.states("emg"))
    assert f"state 'maybe' of emg is not valid; valid states: {valid}" in html.unescape(panel.message.value)


def test_nomogram_line_through_pre_test_and_likelihood_ratio_meets_the_post_test(model: Model):
    import re

    from twitchbn.ui.workup_panel import nomogram_svg

    numbers = fagan_numbers(model, next_tests(model, CALCIUM_STORY), "serum_calcium", "hypocalcemia")
    svg = nomogram_svg(numbers, "Calcium deficiency", width=340, height=360)
    y1, y2 = (float(v) for v in re.search(r'class="person" x1="60" y1="([\d.]+)" x2="280" y2="([\d.]+)"', svg).groups())
    top, bottom = 24, 360 - 34
    scale = (bottom - top) / (2 * math.log(0.999 / 0.001))
    assert (y1 + y2) / 2 == pytest.approx((top + bottom) / 2 - scale / 2 * math.log(numbers.likelihood_ratio), abs=0.1)


# -- the panel in a browser (Voila + Debian's Chromium, as tests/test_browser.py) ----------------------------
@pytest.mark.browser
def test_panel_in_the_browser_ranks_enters_a_result_and_follows_the_cost_weight(model: Model):
    from playwright.sync_api import sync_playwright

    from benchmarks.browser import launch, new_page, voila

    with voila(REPO / "tests" / "fixtures" / "workup_panel.ipynb", "--VoilaExecutor.timeout=120") as url, sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = new_page(browser)
            page.goto(url, timeout=300_000)
            panel = page.locator(".twitchbn-workup")
            first_row = panel.locator(".workup-ranking tr").nth(1)
            first_row.wait_for(timeout=300_000)
            assert first_row.get_attribute("data-test") == "serum_calcium"
            assert panel.locator(".workup-nomogram svg line.person").count() == 1
            panel.screenshot(path=str(REPO / "test-artifacts" / "workup_panel.png"))
            before = panel.locator(".workup-now").inner_text()
            panel.locator(".workup-enter button", has_text="Enter: low").click()
            page.wait_for_function("b => document.querySelector('.twitchbn-workup .workup-now').innerText !== b", arg=before,
                                   timeout=30_000)
            assert panel.locator(".workup-ranking tr[data-test='serum_calcium']").count() == 0
            weight = panel.locator(".workup-alpha input")
            weight.fill("0.5")
            weight.press("Enter")
            panel.locator(".workup-ranking", has_text="No test is worth its cost").wait_for(timeout=30_000)
            assert panel.locator(".workup-message").inner_text().strip() == ""
        finally:
            browser.close()
