"""Workup planner: which test next, what each result would do, at what cost (docs/workup.md).

Tests and examination signs are findings of kind "test" (``tests.yaml``); a result is evidence
like any finding. ``next_tests`` ranks every unobserved test by

    value = expected information gain - alpha x cost                         [bits]

as GeNIe's diagnosis mode does. The gain is exact and is the sum over conditions c of the
mutual information between the test's result T and "c is present":

    gain(T) = U(e) - sum_t P(T = t | e) U(e, T = t),    U(e) = sum_c w_c H2(P(cause_c = yes | e))

where cause_c is "c is present and causing the twitching" (the ``explains`` column that ranks
the differential) and w_c = 1, or the ``SERIOUSNESS`` weight of c's category in the
serious-first mode: the same target as the next question (``docs/reasoning.md``). It is the
sum of per-condition gains, not the information about the conditions' joint state. Why not
presence: uncertainty about whether common background conditions are present (low vitamin D,
reduced kidney function) would rank their tests first whatever the twitching (docs/workup.md).

Costs are GeNIe's conditional costs: a test of a shared draw (the blood draw) also pays the
draw's cost unless a test of that draw already has a result. In the serious-first mode a test
that can detect a condition on the current can't-miss list is mandatory: mandatory tests go
first, as GeNIe ranks observations marked mandatory first.

Everything comes from ONE engine sweep: per test, "T <= s" for every state but the last (and
the same with "no everyday cause", for triage); the posteriors given "T = s" follow from
differences of joint masses, as in ``twitchbn.reasoning.next_questions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.engine import ABSENT, CAUSING, Variant
from twitchbn.errors import EvidenceTooComplexError, TwitchbnError, shorten
from twitchbn.inference import SHOWN_FIRST, Model
from twitchbn.knowledge import Finding
from twitchbn.reasoning._common import NEGLIGIBLE, binary_entropy, condition_weights
from twitchbn.reasoning._next import INTERACTIVE_ENTRIES
from twitchbn.triage import twitching_reported
from twitchbn.wording import percent, state_label

#: Default exchange rate between cost and information: bits per cost unit (1 unit is about
#: US$10 of the Medicare payment, tests.yaml). At 0.02 a test must be expected to yield a tenth
#: of a bit per 5 units (US$50) it costs: a blood test needs a real question to answer, an MRI
#: (22 units) nearly half a bit. A teaching default, moved on the panel's slider.
ALPHA = 0.02
ALPHA_MAX = 0.5  # the panel's slider range
#: Shown when no twitching is entered: the gain is about what causes the twitching (docs/workup.md, Limits).
NO_TWITCHING = ("No twitching is entered: tests are valued by what they tell about the cause of the twitching, so few repay "
                "their cost; enter where it twitches, or rank in the serious-first mode.")

COLUMNS = [
    "label", "value_bits", "expected_gain_bits", "cost", "own_cost", "draw_cost", "mandatory", "recommended",
    "abnormal_probability", "invasiveness", "time_to_result",
]


@dataclass(frozen=True)
class Picture:
    """The differential, can't-miss list and triage under some evidence (now, or after a result)."""

    leading: tuple[str, ...]  # the first SHOWN_FIRST conditions by explains
    explains: tuple[float, ...]  # their explains
    dont_miss: tuple[str, ...]
    triage: str
    presence: Mapping[str, float]  # P(present) of every condition


@dataclass(frozen=True)
class Outcome:
    """One result of a test: how likely it is now, and the picture it would leave."""

    state: str
    probability: float
    picture: Picture


@dataclass(frozen=True)
class Workup:
    """``next_tests``' answer. ``table``: the ranked tests (index: test id); ``outcomes``: each
    test's results in state order; ``now``: the current picture."""

    table: pd.DataFrame
    outcomes: Mapping[str, tuple[Outcome, ...]]
    now: Picture
    alpha: float
    serious_first: bool
    uncertainty_bits: float
    twitching_entered: bool  # False: the note NO_TWITCHING applies

    @property
    def recommended(self) -> list[str]:
        """Tests worth ordering now (value above zero, or mandatory), best first."""
        return [str(t) for t in self.table.index[self.table["recommended"]]]


def check_alpha(alpha: object) -> float:
    """``alpha`` as a finite number >= 0, or a one-line ``TwitchbnError``."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not np.isfinite(alpha) or alpha < 0:
        raise TwitchbnError(f"alpha must be a number of at least 0 (bits per cost unit); got {shorten(alpha)}")
    return float(alpha)


def ordering_cost(model: Model, test: Finding, observed: Mapping[str, str]) -> tuple[float, float]:
    """(own cost, shared draw cost still to pay) of ``test`` given the tests already observed:
    the draw is paid by the first test that needs it (GeNIe's conditional cost)."""
    info = test.workup
    if info is None:
        raise TwitchbnError(f"{test.id} is not a test of tests.yaml")
    if info.draw is None or any(t.workup and t.workup.draw == info.draw and t.id in observed for t in model.kb.tests):
        return info.cost, 0.0
    return info.cost, next(d.cost for d in model.kb.draws if d.id == info.draw)


def next_tests(model: Model, evidence: Mapping[str, Any] | None, alpha: float = ALPHA, serious_first: bool = False) -> Workup:
    """Rank every unobserved test by expected information gain minus ``alpha`` x cost.

    Parameters
    ----------
    model : Model
    evidence : mapping of variable id to state (test results included)
    alpha : float
        Bits per cost unit; 0 ranks by information alone.
    serious_first : bool
        Weight each condition by its category (``SERIOUSNESS``) and rank first, as mandatory,
        the tests that can detect a condition on the current can't-miss list.

    Returns
    -------
    Workup
        ``table`` sorted mandatory first, then by ``value_bits`` (descending, ties by id), with
        columns ``label``, ``value_bits``, ``expected_gain_bits``, ``cost`` (own plus draw),
        ``own_cost``, ``draw_cost``, ``mandatory``, ``recommended`` (value above zero, or
        mandatory), ``abnormal_probability`` (P(a result other than the first) now),
        ``invasiveness``, ``time_to_result``; ``outcomes`` per test and result.

    Examples
    --------
    >>> from twitchbn import load_model
    >>> plan = next_tests(load_model(), {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes"})
    >>> plan.recommended[0]
    'serum_calcium'
    >>> next_tests(load_model(), {"twitch_eyelid": "yes", "sleep_hours": "under_7"}).recommended
    []
    """
    checked = model.check_evidence(evidence)
    alpha = check_alpha(alpha)
    engine = model.engine
    weights = condition_weights(model, serious_first)
    tests = [t for t in model.kb.tests if t.id not in checked]
    variants: list[Variant] = [Variant(), model.no_everyday_variant()]
    for test in tests:
        i = engine.key(test.id)[1]
        for s in range(len(test.states) - 1):
            at_most = Variant(at_most=((i, s),))
            variants += [at_most, model.no_everyday_variant(at_most)]
    if model.cost(checked, variants) > INTERACTIVE_ENTRIES:
        raise EvidenceTooComplexError(
            "too many findings are set to a state other than the first to plan the workup interactively; leave some of them unknown"
        )
    sweep = model.sweep(checked, variants)
    relative = np.exp(sweep.log_z - sweep.log_z[0])  # P(variant evidence | e)
    presence = 1.0 - sweep.status[:, :, ABSENT]
    explains = sweep.status[:, :, CAUSING]
    now = _picture(model, checked, presence[0], explains[0], float(relative[1]))
    u_now = float(weights @ binary_entropy(explains[0]))
    keep = set(now.dont_miss) if serious_first else set()

    rows, outcomes, first = {}, {}, 2
    for test in tests:
        n = len(test.states)
        rows_of = np.arange(first, first + 2 * (n - 1), 2)
        first += 2 * (n - 1)
        cumulative = np.append(relative[rows_of], 1.0)
        prob = np.clip(np.diff(cumulative, prepend=0.0), 0.0, None)
        joint_presence = np.diff(np.vstack([cumulative[:-1, None] * presence[rows_of], presence[0]]), axis=0, prepend=0.0)
        joint_explains = np.diff(np.vstack([cumulative[:-1, None] * explains[rows_of], explains[0]]), axis=0, prepend=0.0)
        joint_quiet = np.diff(np.append(relative[rows_of + 1], relative[1]), prepend=0.0)  # P(T = s, no everyday cause | e)
        real = prob > NEGLIGIBLE  # a result this unlikely has meaningless differences: it keeps the current picture
        with np.errstate(divide="ignore", invalid="ignore"):
            post_presence = np.clip(np.where(real[:, None], joint_presence / prob[:, None], presence[0]), 0.0, 1.0)
            post_explains = np.clip(np.where(real[:, None], joint_explains / prob[:, None], explains[0]), 0.0, 1.0)
            post_quiet = np.clip(np.where(real, joint_quiet / prob, relative[1]), 0.0, 1.0)
        prob = prob / prob.sum()
        gain = max(u_now - float(prob @ (binary_entropy(post_explains) @ weights)), 0.0)
        outcomes[test.id] = tuple(
            Outcome(state, float(prob[s]), _picture(model, {**checked, test.id: state}, post_presence[s], post_explains[s], float(quiet)))
            for s, (state, quiet) in enumerate(zip(test.states, post_quiet, strict=True))
        )
        own, draw = ordering_cost(model, test, checked)
        mandatory = any(link.condition in keep for link in test.links)
        value = gain - alpha * (own + draw)
        info = test.workup
        assert info is not None  # every kb.tests entry carries its workup data
        rows[test.id] = {
            "label": test.label, "value_bits": value, "expected_gain_bits": gain, "cost": own + draw, "own_cost": own, "draw_cost": draw,
            "mandatory": mandatory, "recommended": mandatory or value > 0.0, "abnormal_probability": float(1.0 - prob[0]),
            "invasiveness": info.invasiveness, "time_to_result": info.time_to_result,
        }
    table = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    table.index.name = "id"
    if len(table):
        table = table.loc[sorted(table.index, key=lambda t: (not table.at[t, "mandatory"], -table.at[t, "value_bits"], t))]
    return Workup(table, outcomes, now, alpha, bool(serious_first), u_now, twitching_reported(model.kb, checked))


def _picture(model: Model, checked: Mapping[str, str], presence: np.ndarray, explains: np.ndarray, p_no_everyday: float) -> Picture:
    """The ranked head, can't-miss list and triage for per-condition posteriors (engine order)."""
    ranking = model.rank(checked, presence, explains, p_no_everyday)
    ids = [c.id for c in model.kb.conditions]
    head = ranking.order[:SHOWN_FIRST]
    return Picture(
        tuple(ids[i] for i in head), tuple(float(ranking.explains[i]) for i in head), tuple(ids[i] for i in ranking.dont_miss),
        ranking.triage.level, dict(zip(ids, map(float, ranking.probability), strict=True)),
    )


@dataclass(frozen=True)
class FaganNumbers:
    """One test result and one condition on Fagan's nomogram. ``likelihood_ratio`` is this
    person's (the network's, given all the evidence), so ``fagan(pretest, likelihood_ratio)``
    is exactly ``posttest``; ``published_lr`` is the test's own ratio of that result from
    tests.yaml (``published_lr``; 1 when the test does not detect the condition)."""

    test: str
    state: str
    condition: str
    pretest: float
    likelihood_ratio: float
    posttest: float
    published_lr: float


def fagan_numbers(model: Model, plan: Workup, test: str, condition: str, state: str | None = None) -> FaganNumbers:
    """Pre-test probability that ``condition`` is present, the likelihood ratio of the result
    ``state`` and the post-test probability, from a plan. ``state`` defaults to
    ``characteristic_result``: the abnormal result the condition makes likeliest relative to
    people without it (for a two-state test, its abnormal result)."""
    if test not in plan.outcomes:
        raise TwitchbnError(f"test '{shorten(test)}' is not among the planned tests; planned: {', '.join(plan.outcomes) or 'none'}")
    outcomes = {o.state: o for o in plan.outcomes[test]}
    if condition not in plan.now.presence:
        raise TwitchbnError(f"unknown condition '{shorten(condition)}'; valid: {', '.join(plan.now.presence)}")
    state = state if state is not None else characteristic_result(model, plan, test, condition)
    if state not in outcomes:
        raise TwitchbnError(f"state '{shorten(state)}' of {test} is not valid; valid states: {', '.join(outcomes)}")
    pre, post = plan.now.presence[condition], outcomes[state].picture.presence[condition]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (post / (1.0 - post)) / (pre / (1.0 - pre)) if 0.0 < pre < 1.0 and post < 1.0 else float("nan")
    return FaganNumbers(test, state, condition, pre, float(ratio), post, published_lr(model, test, condition, state))


def characteristic_result(model: Model, plan: Workup, test: str, condition: str) -> str:
    """The abnormal result (any state but the first) with the highest published likelihood
    ratio for ``condition``; ties (a condition the test does not detect) go to the result most
    likely now. An EMG's is "widespread_denervation" for ALS and "myopathic" for myositis."""
    now = {o.state: o.probability for o in plan.outcomes[test]}
    abnormal = model.states(test)[1:]
    return max(abnormal, key=lambda s: (published_lr(model, test, condition, s), now[s]))


def published_lr(model: Model, test: str, condition: str, state: str) -> float:
    """The test's own likelihood ratio of the result ``state`` for ``condition``, from tests.yaml:
    P(state | the condition alone) / P(state | none of the test's conditions) under noisy-MAX,
    where P(result <= s | condition alone) = leak(<= s) x link(<= s). For a two-state test this
    is sensitivity / (1 - specificity) for the abnormal result, (1 - sensitivity) / specificity
    for the normal one. 1 when the test does not detect the condition."""
    finding = model.kb.finding(test)
    link = next((x for x in finding.links if x.condition == condition), None)
    if link is None:
        return 1.0
    s = finding.states.index(state)
    leak = np.asarray(finding.leak.value, dtype=float)
    alone = np.diff(np.cumsum(leak) * np.cumsum(np.asarray(link.number.value, dtype=float)), prepend=0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(alone[s] / leak[s]) if leak[s] > 0.0 else (float("inf") if alone[s] > 0.0 else 1.0)


def fagan(pretest: float, likelihood_ratio: float) -> float:
    """Post-test probability from pre-test probability and a likelihood ratio (Fagan's
    nomogram): post-test odds = pre-test odds x LR.

    >>> round(fagan(0.2, 9.0), 3)
    0.692
    """
    if not 0.0 <= pretest <= 1.0 or not likelihood_ratio >= 0.0:
        raise TwitchbnError(f"pre-test probability must be in [0, 1] and LR >= 0; got {shorten(pretest)}, {shorten(likelihood_ratio)}")
    if pretest in (0.0, 1.0):
        return pretest
    odds = pretest / (1.0 - pretest) * likelihood_ratio
    return float(odds / (1.0 + odds)) if np.isfinite(odds) else 1.0


# -- the plan in words (CLI) and as a document (JSON) ------------------------------------------------
def workup_document(model: Model, evidence: Mapping[str, str], plan: Workup) -> dict[str, Any]:
    """The plan as plain Python for ``--json`` (unrounded)."""

    def picture(p: Picture) -> dict[str, Any]:
        return {"leading": [{"id": c, "explains": x} for c, x in zip(p.leading, p.explains, strict=True)],
                "dont_miss": list(p.dont_miss), "triage": p.triage}

    tests = []
    for tid, row in plan.table.iterrows():
        item = {"id": str(tid), **{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}}
        item["results"] = [{"state": o.state, "probability": o.probability, **picture(o.picture)} for o in plan.outcomes[str(tid)]]
        tests.append(item)
    return {"evidence": dict(evidence), "alpha": plan.alpha, "serious_first": plan.serious_first,
            "uncertainty_bits": plan.uncertainty_bits, "twitching_entered": plan.twitching_entered, "now": picture(plan.now),
            "recommended": plan.recommended, "tests": tests, "model": dict(model.info)}


def workup_text(model: Model, evidence: Mapping[str, str], plan: Workup, top: int = 8) -> str:
    """The plan as a readable table: each test's value, gain and cost, and what each result would do."""

    def head(p: Picture) -> str:
        return ", ".join(f"{model.kb.label(c)} {percent(x)}" for c, x in zip(p.leading, p.explains, strict=True))

    def tail(p: Picture) -> str:
        keep = f"; can't miss: {', '.join(model.kb.label(c) for c in p.dont_miss)}" if p.dont_miss else ""
        return f"{keep}; triage: {state_label(p.triage)}"

    mode = "; serious first: tests of can't-miss conditions are mandatory" if plan.serious_first else ""
    lines = ["Evidence: " + (", ".join(f"{k}={v}" for k, v in evidence.items()) or "none (prior)"),
             f"Now: {head(plan.now)}{tail(plan.now)}", "",
             f"Tests by value = expected gain - alpha x cost (alpha = {plan.alpha:g} bits per cost unit{mode}):",
             f"{'rank':>4}  {'test':<44} {'value':>6} {'gain':>6} {'cost':>6}"]
    for rank, (tid, row) in enumerate(plan.table.head(top).iterrows(), start=1):
        label = f"{row['label']} ({tid})"
        label = label if len(label) <= 44 else label[:43] + "…"
        mark = " *" if row["mandatory"] else ""
        lines.append(f"{rank:>4}  {label:<44} {row['value_bits']:>6.3f} {row['expected_gain_bits']:>6.3f} {row['cost']:>6.1f}{mark}")
        for o in plan.outcomes[str(tid)]:
            lines.append(f"{'':>6}if {state_label(o.state)} ({percent(o.probability)}): {head(o.picture)}{tail(o.picture)}")
    lines.append("")
    named = ", ".join(model.kb.label(t) for t in plan.recommended)
    lines.append(f"Worth ordering now: {named}" if named else "No test is worth its cost at this alpha: watch and wait, or lower alpha.")
    if plan.serious_first:
        lines.append("* mandatory: the test can detect a condition on the can't-miss list")
    if not plan.twitching_entered:
        lines.append(NO_TWITCHING)
    return "\n".join(lines)
