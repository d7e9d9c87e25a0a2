"""Plausible ranges, posterior intervals and the sensitivity tornado (twitchbn.uncertainty)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DATA, REPO, TINY

import twitchbn
from twitchbn import uncertainty
from twitchbn.engine import Variant
from twitchbn.errors import EvidenceError, ImpossibleEvidenceError, KnowledgeBaseError, TwitchbnError
from twitchbn.evaluation import load_cases
from twitchbn.knowledge import load_knowledge
from twitchbn.numbers import Number
from twitchbn.params import point_params
from twitchbn.ranges import draw, plausible_range, slots
from twitchbn.uncertainty import posterior_intervals, sensitivity

SEEDED = "003_d14b87ccbcc0eca4.txt: a paraphrase"
HELD_OUT = [case.evidence for case in load_cases(REPO / "tests" / "cases" / "heldout.yaml")[::6]]


# -- plausible ranges ---------------------------------------------------------------------------
def test_default_range_is_odds_times_or_over_three_for_convention():
    low, high = plausible_range(Number(0.5, "why", "clinical convention", "here"))
    assert (low, high) == pytest.approx((0.25, 0.75), abs=1e-15)


def test_default_range_is_odds_times_or_over_two_for_a_seed_backed_number():
    low, high = plausible_range(Number(0.5, "why", SEEDED, "here"))
    assert (low, high) == pytest.approx((1 / 3, 2 / 3), abs=1e-15)


def test_convention_ranges_are_wider_than_seeded_ones():
    for p in (0.01, 0.2, 0.7, 0.97):
        conv = plausible_range(Number(p, "why", "clinical convention", "here"))
        seed = plausible_range(Number(p, "why", SEEDED, "here"))
        assert conv[0] < seed[0] < p < seed[1] < conv[1] < 1.0


def test_an_explicit_range_wins_over_the_rule():
    assert plausible_range(Number(0.04, "why", SEEDED, "here", (0.02, 0.3))) == (0.02, 0.3)


def test_zero_and_one_are_structural_and_stay_fixed():
    assert plausible_range(Number(0.0, "why", "clinical convention", "here")) == (0.0, 0.0)
    assert plausible_range(Number(1.0, "why", "clinical convention", "here")) == (1.0, 1.0)


def test_a_binary_finding_number_gets_per_state_bounds_from_its_p_range():
    low, high = plausible_range(Number((0.9, 0.1), "why", SEEDED, "here", (0.05, 0.2)))
    assert low == pytest.approx((0.8, 0.05)) and high == pytest.approx((0.95, 0.2))


def test_a_distribution_gets_the_rule_state_by_state():
    low, high = plausible_range(Number((0.8, 0.15, 0.05), "why", "clinical convention", "here"))
    for lo, p, hi in zip(low, (0.8, 0.15, 0.05), high, strict=True):
        assert (lo, hi) == pytest.approx(plausible_range(Number(p, "why", "clinical convention", "here")))


def _tiny_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(TINY, target)
    return target


def test_validation_refuses_a_point_outside_its_range(tmp_path):
    kb = _tiny_copy(tmp_path)
    text = (kb / "findings.yaml").read_text().replace("leak: {p: 0.02, why: test", "leak: {p: 0.02, range: [0.05, 0.1], why: test")
    (kb / "findings.yaml").write_text(text)
    with pytest.raises(KnowledgeBaseError) as err:
        load_knowledge(kb)
    assert err.value.faults == ["findings.yaml: finding 'twitch_eyelid': leak.p must be within its range [0.05, 0.1]; got 0.02"]


def test_validation_refuses_a_range_on_a_dist(tmp_path):
    kb = _tiny_copy(tmp_path)
    text = (kb / "findings.yaml").read_text()
    text = text.replace("over_1_month: 0.1}, why: test", "over_1_month: 0.1}, range: [0.1, 0.2], why: test", 1)
    (kb / "findings.yaml").write_text(text)
    with pytest.raises(KnowledgeBaseError) as err:
        load_knowledge(kb)
    assert err.value.faults == [
        "findings.yaml: finding 'problem_duration': leak.range must be left out for a dist (a range bounds a single p); got [0.1, 0.2]"]


def test_every_shipped_number_lies_in_its_plausible_range(model):
    for slot in slots(model.kb):
        assert np.all(slot.low <= slot.point + 1e-15) and np.all(slot.point <= slot.high + 1e-15), slot.number(0).where
        assert np.all(slot.low >= 0.0) and np.all(slot.high <= 1.0)


# -- draws and parameter sets -------------------------------------------------------------------
def test_draws_stay_within_ranges_and_sum_to_one(model):
    slot_list = slots(model.kb)
    for slot, values in zip(slot_list, draw(slot_list, 500, np.random.default_rng(7)), strict=True):
        assert values.shape == (500, slot.point.size)
        assert np.all(values >= slot.low - 1e-12) and np.all(values <= slot.high + 1e-12), slot.number(0).where
        assert np.allclose(values.sum(axis=1), 1.0, atol=1e-12)


def test_draws_spread_around_the_point(model):
    slot_list = slots(model.kb)
    values = draw(slot_list, 400, np.random.default_rng(1))
    moved = [np.ptp(v[:, -1]) > 0 for s, v in zip(slot_list, values, strict=True) if s.high[-1] > s.low[-1]]
    assert all(moved)


def test_point_values_rebuild_the_engine_parameters_exactly(model):
    slot_list = slots(model.kb)
    built = uncertainty.build_params(model.engine, slot_list, [s.point[None, :].copy() for s in slot_list])
    point = point_params(model.kb)
    for got, want in zip((*built.exposure_prior, *built.condition_cpt, *built.leak, *built.link, built.activation),
                         (*point.exposure_prior, *point.condition_cpt, *point.leak, *point.link, point.activation), strict=True):
        np.testing.assert_array_equal(got, want)


# -- posterior intervals ------------------------------------------------------------------------
@pytest.mark.parametrize("evidence", [{}, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, *HELD_OUT])
def test_intervals_contain_the_point_estimate(model, evidence):
    frame = posterior_intervals(model, evidence, seed=3)
    for name in ("probability", "explains"):
        assert (frame[f"{name}_low"] <= frame[name]).all() and (frame[name] <= frame[f"{name}_high"]).all()
        assert (frame[f"{name}_low"] >= 0.0).all() and (frame[f"{name}_high"] <= 1.0).all()


def test_point_estimates_are_the_query_posteriors_in_the_same_order(model):
    evidence = {"twitch_calf": "yes", "muscle_weakness": "no"}
    frame = posterior_intervals(model, evidence)
    query = model.query(evidence).conditions
    assert list(frame.index) == list(query.index)
    np.testing.assert_array_equal(frame["explains"], query["explains"])
    np.testing.assert_array_equal(frame["probability"], query["probability"])


def test_same_seed_gives_identical_intervals_and_reports_seed_draws_level(model):
    evidence = {"twitch_eyelid": "yes"}
    first = posterior_intervals(model, evidence, seed=11)
    second = posterior_intervals(model, evidence, seed=11)
    assert first.equals(second)
    assert first.attrs == {"seed": 11, "draws": 200, "draws_asked": 200, "level": 0.9, "evidence": {"twitch_eyelid": "yes"}}


def test_heavy_evidence_gets_fewer_draws_within_the_work_budget_or_one_line(model, monkeypatch):
    evidence = {"twitch_eyelid": "yes", "twitch_calf": "yes", "muscle_weakness": "yes"}
    per_draw = 2 * model.cost(model.check_evidence(evidence), [Variant()])
    monkeypatch.setattr(uncertainty, "INTERVAL_ENTRIES", 50 * per_draw)
    frame = posterior_intervals(model, evidence, draws=200)
    assert (frame.attrs["draws"], frame.attrs["draws_asked"]) == (50, 200)
    monkeypatch.setattr(uncertainty, "INTERVAL_ENTRIES", 19 * per_draw)
    with pytest.raises(twitchbn.EvidenceTooComplexError, match="uncertainty intervals") as info:
        posterior_intervals(model, evidence)
    assert "\n" not in str(info.value)


def test_another_seed_gives_other_intervals(model):
    a = posterior_intervals(model, {"twitch_eyelid": "yes"}, seed=1)
    b = posterior_intervals(model, {"twitch_eyelid": "yes"}, seed=2)
    assert not np.array_equal(a["explains_low"], b["explains_low"])


def test_intervals_are_not_degenerate_for_the_leading_conditions(model):
    frame = posterior_intervals(model, {"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    widths = (frame["explains_high"] - frame["explains_low"]).head(3)
    assert (widths > 1e-3).all()
    assert frame["share_first"].sum() == pytest.approx(1.0)


def test_a_wider_level_gives_wider_intervals(model):
    narrow = posterior_intervals(model, {"twitch_calf": "yes"}, level=0.5)
    wide = posterior_intervals(model, {"twitch_calf": "yes"}, level=0.9)
    assert (wide["explains_low"] <= narrow["explains_low"]).all() and (wide["explains_high"] >= narrow["explains_high"]).all()


def test_all_draws_run_in_one_batched_sweep(model, monkeypatch):
    calls = []

    class Counting(uncertainty.Engine):
        def sweep(self, evidence, variants=None, marginals=True):
            calls.append(len(variants or ()))
            return super().sweep(evidence, variants, marginals)

    monkeypatch.setattr(uncertainty, "Engine", Counting)
    posterior_intervals(model, {"twitch_eyelid": "yes"}, draws=200)
    assert calls == [200]


def test_bad_arguments_give_one_line_errors(model):
    cases = [
        ({"draws": 1}, "draws must be a whole number of at least 2; got 1"),
        ({"seed": -3}, "seed must be a whole number >= 0; got -3"),
        ({"level": 1.5}, "level must be a fraction between 0 and 1 (e.g. 0.9); got 1.5"),
    ]
    for kwargs, message in cases:
        with pytest.raises(TwitchbnError) as err:
            posterior_intervals(model, {}, **kwargs)
        assert str(err.value) == message


def test_impossible_evidence_is_refused_like_a_query(tiny):
    with pytest.raises(ImpossibleEvidenceError):
        posterior_intervals(tiny, {"als": "absent", "cause_als": "yes"})


# -- sensitivity ---------------------------------------------------------------------------------
def _set_number(kb: Path, where: str, state: str, value: float) -> None:
    """Edit one number of a knowledge-base copy by hand (other states keep their proportions)."""
    file, entry, rest = where.split(" ", 2)
    raw = yaml.safe_load((kb / file).read_text())
    key = file.split(".")[0]
    item = next(e for e in raw[key] if e["id"] == entry)
    if rest.startswith("prior["):
        prior = item["prior"]
        old = prior[state]["p"]
        for s in prior:
            prior[s]["p"] = value if s == state else prior[s]["p"] * (1 - value) / (1 - old)
    else:
        if rest in ("baseline", "causes_twitching", "leak"):
            number = item[rest]
        elif rest.startswith("risk_factors["):
            number = item["risk_factors"][int(rest[len("risk_factors["):-1])]
        else:
            number = next(link for link in item["links"] if link["condition"] == rest.removeprefix("link from "))
        if "p" in number:
            number["p"] = value
        else:
            old = number["dist"][state]
            number["dist"] = {s: value if s == state else v * (1 - value) / (1 - old) for s, v in number["dist"].items()}
    (kb / file).write_text(yaml.safe_dump(raw, sort_keys=False))


def _by_hand(tmp_path: Path, row, value: float, condition: str, evidence: dict) -> float:
    kb = tmp_path / f"kb{abs(hash((row['where'], row['state'], value)))}"
    shutil.copytree(DATA, kb, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    _set_number(kb, row["where"], row["state"], value)
    return float(twitchbn.load_model(kb).query(evidence).conditions.at[condition, "explains"])


EXERCISE = {"twitch_calf": "yes", "recent_strenuous_exercise": "yes", "after_exercise": "yes", "problem_duration": "under_1_week"}


def test_tornado_ends_equal_editing_the_number_by_hand(model, tmp_path):
    tornado = sensitivity(model, EXERCISE, top=3)
    condition = tornado.attrs["condition"]
    for _, row in tornado.iterrows():
        assert _by_hand(tmp_path, row, row["low"], condition, EXERCISE) == pytest.approx(row["explains_low"], abs=1e-9)
        assert _by_hand(tmp_path, row, row["high"], condition, EXERCISE) == pytest.approx(row["explains_high"], abs=1e-9)


def test_the_top_entry_moves_the_leading_condition_most_when_changed_by_hand(model, tmp_path):
    tornado = sensitivity(model, EXERCISE, top=5)
    condition, base = tornado.attrs["condition"], tornado.attrs["explains"]
    swings = [max(abs(_by_hand(tmp_path, row, row[end], condition, EXERCISE) - base) for end in ("low", "high"))
              for _, row in tornado.iterrows()]
    assert swings[0] == max(swings) and swings[0] > swings[-1]


def test_tornado_targets_the_leader_and_is_sorted_by_swing(model):
    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    tornado = sensitivity(model, evidence, top=None)
    assert tornado.attrs["condition"] == model.query(evidence).top
    assert tornado.attrs["explains"] == pytest.approx(model.query(evidence).conditions["explains"].iloc[0], abs=1e-12)
    assert list(tornado["swing"]) == sorted(tornado["swing"], reverse=True)
    assert (tornado["low"] <= tornado["point"]).all() and (tornado["point"] <= tornado["high"]).all()
    assert tornado["why"].str.len().min() > 0 and tornado["source"].str.len().min() > 0
    assert tornado["where"].str.match(r"^(exposures|conditions|findings|tests)\.yaml ").all()


def test_tornado_for_another_condition(model):
    tornado = sensitivity(model, {"twitch_eyelid": "yes"}, condition="als", top=4)
    assert len(tornado) == 4 and tornado.attrs["condition"] == "als"
    assert tornado.attrs["explains"] == pytest.approx(model.query({"twitch_eyelid": "yes"}).conditions.at["als", "explains"], abs=1e-12)


def test_tornado_of_an_unknown_condition_names_the_closest_ids(model):
    with pytest.raises(EvidenceError) as err:
        sensitivity(model, {}, condition="alss")
    assert str(err.value).startswith("condition 'alss' is not a condition; closest valid ids: als")


@pytest.mark.parametrize("evidence", [
    EXERCISE,
    {"twitch_eyelid": "yes", "laterality": "one_side", "muscle_weakness": "no", "caffeine_intake": "high", "age_group": "older_adult"},
    {"twitch_face": "yes", "problem_duration": "over_1_month", "multiple_sclerosis": "absent", "numbness_tingling": "yes"},
])
def test_every_tornado_end_from_gradients_equals_a_pass_with_the_number_moved(model, evidence):
    """The ends come from a few passes (linearity of P(e) in each table); a pass per end agrees."""
    tornado = sensitivity(model, evidence, top=None)
    slot_list = slots(model.kb)
    by_where = {}
    for k, s in enumerate(slot_list):
        for i in range(s.point.size):
            by_where[(s.number(i).where, s.states[i])] = (k, i)
    values = [np.broadcast_to(s.point, (2 * len(tornado), s.point.size)).copy() for s in slot_list]
    for r, row in tornado.iterrows():
        k, i = by_where[(row["where"], row["state"])]
        for end, target in enumerate((row["low"], row["high"])):
            value = slot_list[k].point * (1.0 - target) / (1.0 - slot_list[k].point[i])
            value[i] = target
            values[k][2 * r + end] = value
    direct = uncertainty._explains(model, model.check_evidence(evidence), slot_list, values, list(range(2 * len(tornado))))
    c = [x.id for x in model.kb.conditions].index(tornado.attrs["condition"])
    np.testing.assert_allclose(tornado["explains_low"], direct[0::2, c], rtol=0, atol=1e-10)
    np.testing.assert_allclose(tornado["explains_high"], direct[1::2, c], rtol=0, atol=1e-10)


def test_a_tornado_past_its_work_budget_leaves_out_named_findings_and_unnamed_leaders(model, monkeypatch):
    evidence = {"twitch_calf": "yes", "muscle_weakness": "yes", "muscle_cramps": "yes"}
    full = sensitivity(model, evidence, top=None)
    assert full.attrs["not_assessed"] == [] and full["top_at_low"].notna().all()
    per_pass = 2 * model.cost(model.check_evidence(evidence), [Variant()])
    monkeypatch.setattr(uncertainty, "SENSITIVITY_ENTRIES", 3 * per_pass)  # the two base passes and a little
    part = sensitivity(model, evidence, top=5)
    assert set(part.attrs["not_assessed"]) == set(evidence)  # each positive finding needs more than what is left
    assert part["top_at_low"].isna().all()
    kept = full[~full["where"].str.contains("|".join(f"findings.yaml {f} " for f in evidence))]
    assert list(part["where"]) == list(kept["where"].head(5))
    np.testing.assert_allclose(part["explains_low"], kept["explains_low"].head(5), rtol=0, atol=1e-12)
    monkeypatch.setattr(uncertainty, "SENSITIVITY_ENTRIES", per_pass)
    with pytest.raises(twitchbn.EvidenceTooComplexError, match="sensitivity") as info:
        sensitivity(model, evidence)
    assert "\n" not in str(info.value)
