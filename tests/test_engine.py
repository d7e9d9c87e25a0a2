"""The exact engine against an independent brute-force enumerator, pgmpy, and the chain export.

The enumerator below is written from the knowledge-format semantics alone (noisy-OR conditions,
``cause_`` nodes, noisy-MAX findings) and reads the ``Knowledge`` objects directly: it shares no
code with ``twitchbn.engine`` or ``twitchbn.model``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from pgmpy.inference import VariableElimination

import twitchbn
import twitchbn.engine as engine_module
from twitchbn import Knowledge, Model
from twitchbn.engine import Engine, Variant

EXACT = 1e-12
STATUS = ("absent", "quiet", "causing")  # condition present-not-causing = "quiet"


# -- the independent oracle ----------------------------------------------------------------------
def as_dist(value: float | tuple[float, ...]) -> np.ndarray:
    """A Number's value as a distribution over the variable's states (a float p means [1-p, p])."""
    return np.asarray(value, dtype=float) if isinstance(value, tuple) else np.asarray([1.0 - value, value])


def noisy_max_pmf(leak: np.ndarray, active_links: list[np.ndarray]) -> np.ndarray:
    """P(finding = s) when the leak and each active link independently draw a state and the max shows."""
    cdf = np.cumsum(leak)
    for link in active_links:
        cdf = cdf * np.cumsum(link)
    return np.diff(np.concatenate([[0.0], cdf]))


def brute_force(kb: Knowledge, evidence: dict[str, set[int]]) -> dict:
    """Enumerate the full joint over exposures and condition statuses; sum the findings analytically.

    ``evidence`` maps a variable (exposure, condition, ``cause_<c>``, finding) to the set of state
    indices allowed. Returns Z = P(evidence) and the posterior status / exposure marginals.
    """
    xs = list(kb.exposures)
    cs = list(kb.conditions)
    x_axis = {x.id: i for i, x in enumerate(xs)}
    c_axis = {c.id: len(xs) + i for i, c in enumerate(cs)}
    shape = [len(x.states) for x in xs] + [3] * len(cs)
    joint = np.ones(shape)

    def multiply(values: np.ndarray, axes: list[int]) -> None:
        nonlocal joint
        order = np.argsort(axes)
        values = np.transpose(values, order)
        full = [1] * len(shape)
        for axis in sorted(axes):
            full[axis] = shape[axis]
        joint = joint * values.reshape(full)

    def allowed(var: str, card: int) -> np.ndarray:
        mask = np.zeros(card)
        mask[list(evidence.get(var, range(card)))] = 1.0
        return mask

    for x in xs:
        multiply(np.asarray(x.prior_vector) * allowed(x.id, len(x.states)), [x_axis[x.id]])
    for c in cs:
        parents = list(c.parents)
        cards = [len(kb.exposure(p).states) for p in parents]
        table = np.zeros([*cards, 3])
        active = float(c.causes_twitching.value)
        for config in itertools.product(*(range(k) for k in cards)):
            state = {p: kb.exposure(p).states[i] for p, i in zip(parents, config, strict=True)}
            q = 1.0 - (1.0 - float(c.baseline.value)) * math.prod(
                1.0 - float(rf.number.value) for rf in c.risk_factors if state[rf.exposure] == rf.state
            )
            table[config] = [1.0 - q, q * (1.0 - active), q * active]
        presence = allowed(c.id, 2)  # absent / present
        cause = allowed(f"cause_{c.id}", 2)  # no / yes
        table = table * np.asarray([presence[0] * cause[0], presence[1] * cause[0], presence[1] * cause[1]])
        multiply(table, [x_axis[p] for p in parents] + [c_axis[c.id]])
    for f in kb.findings:
        if f.id not in evidence:
            continue  # an unobserved finding sums to one
        mask = allowed(f.id, len(f.states))
        links = [as_dist(link.number.value) for link in f.links]
        table = np.zeros([3] * len(links))
        for config in itertools.product(range(3), repeat=len(links)):
            on = [link for link, st in zip(links, config, strict=True) if st == 2 or (st == 1 and f.driven_by == "present")]
            table[config] = noisy_max_pmf(as_dist(f.leak.value), on) @ mask
        if links:
            multiply(table, [c_axis[link.condition] for link in f.links])
        else:
            joint = joint * float(table)
    z = joint.sum()
    all_axes = set(range(len(shape)))
    status = np.stack([joint.sum(axis=tuple(all_axes - {c_axis[c.id]})) for c in cs]) / z if z > 0 else None
    exposures = {x.id: joint.sum(axis=tuple(all_axes - {x_axis[x.id]})) / z for x in xs} if z > 0 else None
    return {"z": z, "status": status, "exposures": exposures}


def random_evidence(kb: Knowledge, rng: np.random.Generator, max_size: int, causes: bool = True) -> dict[str, str]:
    """A random evidence dict over every settable variable (conditions and cause nodes included)."""
    variables = dict(kb.variables)
    if causes:
        variables.update({f"cause_{c.id}": ("no", "yes") for c in kb.conditions})
    names = sorted(variables)
    size = int(rng.integers(1, max_size + 1))
    chosen = rng.choice(len(names), size=min(size, len(names)), replace=False)
    return {names[i]: variables[names[i]][int(rng.integers(len(variables[names[i]])))] for i in chosen}


def as_sets(kb: Knowledge, evidence: dict[str, str]) -> dict[str, set[int]]:
    states = {**kb.variables, **{f"cause_{c.id}": ("no", "yes") for c in kb.conditions}}
    return {v: {states[v].index(s)} for v, s in evidence.items()}


def sub_knowledge(kb: Knowledge, condition_ids: list[str]) -> Knowledge:
    """The real knowledge base cut down to a few conditions (links to others dropped), for enumeration."""
    keep = set(condition_ids)
    conditions = tuple(c for c in kb.conditions if c.id in keep)
    parents = {x for c in conditions for x in c.parents}
    spare = next((x for x in kb.exposures if x.id not in parents), None)  # one exposure nothing depends on
    exposures = tuple(x for x in kb.exposures if x.id in parents or x is spare)
    findings = tuple(dataclasses.replace(f, links=tuple(link for link in f.links if link.condition in keep)) for f in kb.findings)
    return dataclasses.replace(kb, exposures=exposures, conditions=conditions, findings=findings)


# -- the oracle itself -------------------------------------------------------------------------------
def test_noisy_max_pmf_matches_explicit_max_of_independent_draws():
    rng = np.random.default_rng(7)
    for n_states, n_active in [(2, 0), (2, 3), (3, 1), (3, 3), (6, 2)]:
        leak = rng.dirichlet(np.ones(n_states))
        links = [rng.dirichlet(np.ones(n_states)) for _ in range(n_active)]
        explicit = np.zeros(n_states)
        for draws in itertools.product(range(n_states), repeat=n_active + 1):
            explicit[max(draws)] += math.prod(d[s] for d, s in zip([leak, *links], draws, strict=True))
        np.testing.assert_allclose(noisy_max_pmf(leak, links), explicit, rtol=0, atol=EXACT)


# -- tiny knowledge base: the public query against enumeration ---------------------------------------
def test_tiny_prior_matches_enumeration(tiny: Model):
    truth = brute_force(tiny.kb, {})
    result = tiny.query({})
    for i, c in enumerate(tiny.kb.conditions):
        assert result.conditions.at[c.id, "prior"] == pytest.approx(truth["status"][i, 1:].sum(), abs=EXACT)
        assert result.conditions.at[c.id, "probability"] == pytest.approx(truth["status"][i, 1:].sum(), abs=EXACT)
        assert result.conditions.at[c.id, "explains"] == pytest.approx(truth["status"][i, 2], abs=EXACT)


def test_tiny_query_matches_enumeration_on_300_random_evidence_sets(tiny: Model):
    rng = np.random.default_rng(2024)
    checked = impossible = 0
    for _ in range(300):
        evidence = random_evidence(tiny.kb, rng, max_size=8)
        truth = brute_force(tiny.kb, as_sets(tiny.kb, evidence))
        if truth["z"] == 0:
            impossible += 1
            continue
        result = tiny.query(evidence)
        for i, c in enumerate(tiny.kb.conditions):
            row = result.conditions.loc[c.id]
            assert abs(row["probability"] - truth["status"][i, 1:].sum()) <= EXACT, (evidence, c.id)
            assert abs(row["explains"] - truth["status"][i, 2]) <= EXACT, (evidence, c.id)
        for x in tiny.kb.exposures:
            got = np.asarray([result.exposures[x.id][s] for s in x.states])
            np.testing.assert_allclose(got, truth["exposures"][x.id], rtol=0, atol=EXACT, err_msg=str(evidence))
        sweep = tiny.engine.sweep({v: tiny.states(v).index(s) for v, s in evidence.items()}, marginals=False)
        assert sweep.log_z[0] == pytest.approx(math.log(truth["z"]), rel=0, abs=1e-10)
        checked += 1
    assert checked >= 250 and impossible < 50


def test_tiny_multi_state_finding_evidence_matches_enumeration(tiny: Model):
    for state in tiny.states("problem_duration"):
        for eyelid in ("no", "yes"):
            evidence = {"problem_duration": state, "twitch_eyelid": eyelid, "twitch_calf": "yes"}
            truth = brute_force(tiny.kb, as_sets(tiny.kb, evidence))
            result = tiny.query(evidence)
            for i, c in enumerate(tiny.kb.conditions):
                assert result.conditions.at[c.id, "explains"] == pytest.approx(truth["status"][i, 2], abs=EXACT)


def test_sweep_variants_match_enumeration_of_the_added_evidence(tiny: Model):
    """Clamps of exposures, conditions and cause nodes, and 'finding <= s' constraints."""
    kb, engine = tiny.kb, tiny.engine
    base = {"twitch_calf": "yes", "diet_quality": "poor"}
    variants = {
        "none": (Variant(), {}),
        "sleep clamp": (engine.variant({"sleep_hours": 1}), {"sleep_hours": {1}}),
        "als absent": (engine.variant({"als": 0}), {"als": {0}}),
        "cause_als yes": (engine.variant({"cause_als": 1}), {"cause_als": {1}}),
        "duration <= 0": (engine.variant(at_most={"problem_duration": 0}), {"problem_duration": {0}}),
        "duration <= 1": (engine.variant(at_most={"problem_duration": 1}), {"problem_duration": {0, 1}}),
        "mixed": (engine.variant({"caffeine_excess": 1}, at_most={"problem_duration": 1}),
                  {"caffeine_excess": {1}, "problem_duration": {0, 1}}),
    }
    sweep = engine.sweep({v: tiny.states(v).index(s) for v, s in base.items()}, [v for v, _ in variants.values()])
    for b, (name, (_, extra)) in enumerate(variants.items()):
        truth = brute_force(kb, {**as_sets(kb, base), **extra})
        assert sweep.log_z[b] == pytest.approx(math.log(truth["z"]), abs=1e-10), name
        np.testing.assert_allclose(sweep.status[b], truth["status"], rtol=0, atol=EXACT, err_msg=name)


# -- the real knowledge base, cut into small sub-networks ------------------------------------------
def test_engine_matches_enumeration_on_sub_networks_of_the_real_knowledge_base(model: Model):
    rng = np.random.default_rng(11)
    ids = [c.id for c in model.kb.conditions]
    checked = 0
    for _ in range(8):
        sub = sub_knowledge(model.kb, sorted(rng.choice(ids, size=5, replace=False)))
        engine = Engine(sub)
        for _ in range(25):
            evidence = random_evidence(sub, rng, max_size=10)
            truth = brute_force(sub, as_sets(sub, evidence))
            states = {**sub.variables, **{f"cause_{c.id}": ("no", "yes") for c in sub.conditions}}
            sweep = engine.sweep({v: states[v].index(s) for v, s in evidence.items()})
            if truth["z"] == 0:
                assert not np.isfinite(sweep.log_z[0]), evidence
                continue
            np.testing.assert_allclose(sweep.status[0], truth["status"], rtol=0, atol=EXACT, err_msg=str(evidence))
            for i, x in enumerate(sub.exposures):
                np.testing.assert_allclose(sweep.exposures[0, i, : len(x.states)], truth["exposures"][x.id], rtol=0, atol=EXACT)
            assert sweep.log_z[0] == pytest.approx(math.log(truth["z"]), abs=1e-10)
            checked += 1
    assert checked >= 180


# -- many variants in one pass, and the compiled per-case pass ------------------------------------
def test_variants_with_different_positive_findings_share_a_sweep_and_match_enumeration(tiny: Model):
    """Each variant keeps its own positive findings in accumulator slots; none leaks into another."""
    rng = np.random.default_rng(31)
    evidences = [random_evidence(tiny.kb, rng, max_size=7) for _ in range(60)]
    truths = [brute_force(tiny.kb, as_sets(tiny.kb, e)) for e in evidences]
    sweep = tiny.engine.sweep({}, [tiny.variant(e) for e in evidences])
    for b, (evidence, truth) in enumerate(zip(evidences, truths, strict=True)):
        if truth["z"] == 0:
            assert not np.isfinite(sweep.log_z[b]), evidence
            continue
        assert sweep.log_z[b] == pytest.approx(math.log(truth["z"]), abs=1e-10), evidence
        np.testing.assert_allclose(sweep.status[b], truth["status"], rtol=0, atol=EXACT, err_msg=str(evidence))
    assert sum(t["z"] > 0 for t in truths) >= 45


def test_compiled_pass_matches_enumeration_on_sub_networks_of_the_real_knowledge_base(model: Model):
    rng = np.random.default_rng(12)
    ids = [c.id for c in model.kb.conditions]
    checked = 0
    for _ in range(6):
        sub = Model(sub_knowledge(model.kb, sorted(rng.choice(ids, size=5, replace=False))))
        evidences = [random_evidence(sub.kb, rng, max_size=10) for _ in range(30)]
        each = sub.engine.each([sub.variant(e) for e in evidences])
        for b, evidence in enumerate(evidences):
            truth = brute_force(sub.kb, as_sets(sub.kb, evidence))
            if truth["z"] == 0:
                assert not np.isfinite(each.log_z[b]), evidence
                continue
            assert each.log_z[b] == pytest.approx(math.log(truth["z"]), abs=1e-10), evidence
            np.testing.assert_allclose(each.status[b], truth["status"], rtol=0, atol=EXACT, err_msg=str(evidence))
            checked += 1
    assert checked >= 120


def test_the_fixed_order_of_batch_scoring_and_a_query_s_own_order_give_the_same_answers(model: Model):
    rng = np.random.default_rng(13)
    evidences = [random_evidence(model.kb, rng, max_size=12) for _ in range(300)]
    variants = [model.variant(e) for e in evidences]
    marginals = [b % 3 != 0 for b in range(len(variants))]  # some cases want log P only
    each = model.engine.each(variants, marginals=marginals)
    compared = 0
    for b, variant in enumerate(variants):
        sweep = model.engine.sweep({}, [variant])
        if not np.isfinite(sweep.log_z[0]):
            assert not np.isfinite(each.log_z[b])
            continue
        assert abs(each.log_z[b] - sweep.log_z[0]) <= 1e-10
        if marginals[b]:
            np.testing.assert_allclose(each.status[b], sweep.status[0], rtol=0, atol=EXACT, err_msg=str(evidences[b]))
            np.testing.assert_allclose(each.exposures[b], sweep.exposures[0], rtol=0, atol=EXACT, err_msg=str(evidences[b]))
            compared += 1
        else:
            assert not each.status[b].any()
    assert compared >= 150


WIDE = {"twitch_eyelid": "yes", "twitch_arm": "yes", "twitch_calf": "yes", "twitch_hand": "yes", "twitch_thigh": "yes",
        "problem_duration": "over_1_month", "twitch_frequency": "frequent", "muscle_weakness": "yes", "laterality": "one_side",
        "painful": "yes", "twitch_face": "yes", "sleep_hours": "under_7"}


def test_recomputing_the_step_tables_instead_of_keeping_them_gives_the_same_answers(model: Model, monkeypatch):
    evidence = model._indices(model.check_evidence(WIDE))
    variants = [Variant(), model.no_everyday_variant(), model.engine.variant({model.engine.condition_ids[0]: 1})]
    kept = model.engine.sweep(evidence, variants)
    monkeypatch.setattr(engine_module, "KEEP_ENTRIES", 0)
    recomputed = model.engine.sweep(evidence, variants)
    np.testing.assert_array_equal(recomputed.log_z, kept.log_z)
    np.testing.assert_allclose(recomputed.status, kept.status, rtol=0, atol=1e-15)
    np.testing.assert_allclose(recomputed.exposures, kept.exposures, rtol=0, atol=1e-15)


def test_compiled_pass_refuses_what_it_cannot_hold(model: Model):
    heavy = model.variant(every_finding_positive(model))
    with pytest.raises(twitchbn.EvidenceTooComplexError, match=r"\(case 2\) would need (tables|a table)"):
        model.engine.each([Variant(), heavy])
    f = model.engine.finding_ids.index("problem_duration")
    with pytest.raises(ValueError, match="two states"):
        model.engine.each([Variant(positive=((f, 1), (f, 2)))])


# -- pgmpy's variable elimination on the exported network ------------------------------------------
def ve_posteriors(model: Model, evidence: dict[str, str], conditions: list[str]) -> dict[str, tuple[float, float]]:
    """P(present) and P(cause_=yes) of each condition by pgmpy VariableElimination on model.network."""
    ve = VariableElimination(model.network)
    out = {}
    for cid in conditions:
        if cid in evidence:  # pgmpy refuses to query an observed variable
            present = float(evidence[cid] == "present")
        else:
            present = ve.query([cid], evidence=evidence, show_progress=False).get_value(**{cid: "present"})
        cause = ve.query([f"cause_{cid}"], evidence=evidence, show_progress=False).get_value(**{f"cause_{cid}": "yes"})
        out[cid] = (float(present), float(cause))
    return out


def test_pgmpy_variable_elimination_matches_the_engine_on_tiny(tiny: Model):
    rng = np.random.default_rng(5)
    ids = [c.id for c in tiny.kb.conditions]
    for _ in range(25):
        evidence = random_evidence(tiny.kb, rng, max_size=6, causes=False)
        if brute_force(tiny.kb, as_sets(tiny.kb, evidence))["z"] == 0:
            continue
        frame = tiny.query(evidence).conditions
        for cid, (present, cause) in ve_posteriors(tiny, evidence, ids).items():
            assert frame.at[cid, "probability"] == pytest.approx(present, abs=1e-10), (evidence, cid)
            assert frame.at[cid, "explains"] == pytest.approx(cause, abs=1e-10), (evidence, cid)


REAL_VE_CASES = [
    ({}, ["als", "sleep_deprivation"]),
    ({"muscle_wasting": "yes", "age_group": "older_adult"}, ["als", "myopathy"]),
    ({"skin_rash": "yes", "sun_exposure": "low"}, ["lupus", "vitamin_d_deficiency"]),
    ({"caffeine_intake": "high", "known_kidney_disease": "no", "lupus": "absent"}, ["caffeine_excess", "kidney_disease"]),
    ({"twitch_eyelid": "yes", "sleep_hours": "under_7"}, ["sleep_deprivation", "eye_irritation", "blepharospasm"]),
    ({"twitch_calf": "yes", "problem_duration": "over_1_month", "muscle_wasting": "yes"}, ["als", "benign_fasciculation", "pinched_nerve"]),
    ({"twitch_frequency": "continuous", "during_sleep": "yes"}, ["isaacs_syndrome", "epilepsy"]),
]


@pytest.mark.parametrize(("evidence", "conditions"), REAL_VE_CASES, ids=lambda v: ",".join(v) if isinstance(v, dict) else None)
def test_pgmpy_variable_elimination_matches_the_engine_on_the_real_network(model: Model, evidence, conditions):
    frame = model.query(evidence).conditions
    for cid, (present, cause) in ve_posteriors(model, evidence, conditions).items():
        assert frame.at[cid, "probability"] == pytest.approx(present, abs=1e-10), cid
        assert frame.at[cid, "explains"] == pytest.approx(cause, abs=1e-10), cid


def test_pgmpy_variable_elimination_matches_the_engine_on_small_random_real_evidence(model: Model):
    rng = np.random.default_rng(17)
    ids = [c.id for c in model.kb.conditions]
    for _ in range(12):
        evidence = random_evidence(model.kb, rng, max_size=3, causes=False)
        frame = model.query(evidence).conditions
        for cid, (present, cause) in ve_posteriors(model, evidence, list(rng.choice(ids, size=3, replace=False))).items():
            assert frame.at[cid, "probability"] == pytest.approx(present, abs=1e-10), (evidence, cid)
            assert frame.at[cid, "explains"] == pytest.approx(cause, abs=1e-10), (evidence, cid)


# -- the exported chain decomposition ------------------------------------------------------------------
def chain_table(model: Model, finding: str) -> tuple[list[str], np.ndarray]:
    """Multiply out a finding's chain CPDs: (parent node names, P(finding | parents) as array)."""
    net = model.network
    chain = [n for n in net.nodes() if n == finding or n.startswith(f"{finding}__")]
    factor = None
    for node in chain:
        cpd = net.get_cpds(node).to_factor()
        factor = cpd if factor is None else factor.product(cpd, inplace=False)
    intermediate = [n for n in chain if n != finding]
    if intermediate:
        factor.marginalize(intermediate, inplace=True)
    parents = [v for v in factor.scope() if v != finding]
    values = np.moveaxis(factor.values, factor.scope().index(finding), -1)
    return parents, values


def expected_noisy_max(model: Model, finding: str, parents: list[str]) -> np.ndarray:
    f = model.kb.finding(finding)
    links = {link.condition: as_dist(link.number.value) for link in f.links}
    table = np.zeros([2] * len(parents) + [len(f.states)])
    for config in itertools.product((0, 1), repeat=len(parents)):
        on = [links[p.removeprefix("cause_")] for p, s in zip(parents, config, strict=True) if s == 1]
        table[config] = noisy_max_pmf(as_dist(f.leak.value), on)
    return table


def test_every_tiny_chain_multiplies_out_to_its_noisy_max_table(tiny: Model):
    for f in tiny.kb.findings:
        parents, values = chain_table(tiny, f.id)
        expected_parents = {(f"cause_{link.condition}" if f.driven_by == "causing" else link.condition) for link in f.links}
        assert set(parents) == expected_parents, f.id
        np.testing.assert_allclose(values, expected_noisy_max(tiny, f.id, parents), rtol=0, atol=EXACT, err_msg=f.id)


def test_real_chains_with_up_to_eight_parents_multiply_out_to_their_noisy_max_tables(model: Model):
    small = [f for f in model.kb.findings if 1 <= len(f.links) <= 8]
    multi = [f for f in small if len(f.states) > 2]
    picked = small[:: max(1, len(small) // 6)] + multi[:2]
    assert len(picked) >= 4
    for f in picked:
        parents, values = chain_table(model, f.id)
        assert len(parents) == len(f.links), f.id
        np.testing.assert_allclose(values, expected_noisy_max(model, f.id, parents), rtol=0, atol=EXACT, err_msg=f.id)


def test_chain_has_one_node_per_link(model: Model):
    for f in model.kb.findings:
        chain = [n for n in model.network.nodes() if n == f.id or n.startswith(f"{f.id}__")]
        assert len(chain) == max(1, len(f.links)), f.id


# -- memory bounds ------------------------------------------------------------------------------

HEAVY = ["twitch_eyelid", "twitch_face", "twitch_arm", "twitch_hand", "twitch_thigh", "twitch_calf", "twitch_foot",
         "twitch_torso", "twitch_widespread", "twitch_tongue", "muscle_weakness", "muscle_cramps", "numbness_tingling",
         "muscle_stiffness", "painful", "during_sleep", "after_exercise", "joint_pain", "skin_rash", "tremor"]


def every_finding_positive(model: Model) -> dict[str, str]:
    return {f.id: f.states[-1] for f in model.kb.findings if f.links}


def test_heavy_evidence_is_answered_alike_in_two_orders(model):
    """Fourteen positive findings: the query's own greedy order and the fixed batch order are
    different computations of the same exact answer."""
    variant = model.variant(dict.fromkeys(HEAVY[:14], "yes"))
    own, fixed = model.engine.sweep({}, [variant]), model.engine.each([variant])
    assert not np.array_equal(model.engine._plan({}, [variant]).order, model.engine._broad.order)
    assert abs(own.log_z[0] - fixed.log_z[0]) <= 1e-10
    np.testing.assert_allclose(own.status, fixed.status, rtol=0, atol=EXACT)
    np.testing.assert_allclose(own.exposures, fixed.exposures, rtol=0, atol=EXACT)


def test_evidence_too_heavy_for_exact_inference_is_refused_in_one_line(model):
    with pytest.raises(twitchbn.EvidenceTooComplexError) as info:
        model.query(every_finding_positive(model))
    assert "\n" not in str(info.value) and "leave some of them unknown" in str(info.value)


def test_the_closed_form_prior_column_equals_a_pass_without_evidence(model: Model):
    status = model.engine.sweep({}).status[0]
    frame = model.query({}).conditions.reindex(model.engine.condition_ids)
    np.testing.assert_allclose(frame["prior"], 1.0 - status[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(frame["prior_explains"], status[:, 2], rtol=0, atol=1e-12)


def test_importing_and_loading_the_model_does_not_import_numba():
    code = "import sys, twitchbn; twitchbn.load_model(); print('numba' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_gradient_over_the_condition_tables_gives_p_e_exactly_under_a_change_of_one_table(model: Model):
    """P(e) is linear in each table: 1 + gradient . change is the new P(e) over the old, for any change of one table."""
    evidence = model._indices(model.check_evidence({"twitch_eyelid": "yes", "twitch_calf": "yes", "muscle_weakness": "yes",
                                                    "caffeine_intake": "high", "numbness_tingling": "no"}))
    base = model.engine.sweep(evidence, gradient=True)
    assert model.engine.sweep(evidence).tables_gradient is None  # only when asked
    rng = np.random.default_rng(3)
    params = model.engine.params
    for c in range(len(model.engine.condition_ids)):
        cpts = list(params.condition_cpt)
        cpts[c] = cpts[c] * rng.uniform(0.5, 1.0, size=cpts[c].shape)
        activation = params.activation.copy()
        activation[0, c] *= 0.7
        moved = twitchbn.engine.Engine(model.kb, dataclasses.replace(params, condition_cpt=tuple(cpts), activation=activation))
        change = moved.tables.p3[0] - model.engine.tables.p3[0]
        predicted = math.log1p(float((base.tables_gradient[0] * change).sum()))
        assert predicted == pytest.approx(moved.sweep(evidence).log_z[0] - base.log_z[0], abs=1e-12)
