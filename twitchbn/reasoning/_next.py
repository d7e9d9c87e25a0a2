"""Next best question: expected information gain of every unobserved finding and exposure
(tests and examination signs excepted: ``twitchbn.workup`` ranks those against their cost).

Target (docs/reasoning.md): the uncertainty of the differential is

    U(e) = sum over conditions c of  w_c * H2( P(cause_c = yes | e) )      [bits]

with w_c = 1 (or the ``SERIOUSNESS`` weight of c's category in the serious variant). The gain of
asking finding F is U(e) - sum_s P(F = s | e) U(e, F = s) = sum_c w_c I(cause_c ; F | e) >= 0.

Everything comes from ONE engine sweep. An exposure x is clamped to each state (variants
"x = s"); a finding f is constrained to "f <= s" for s below its last state (product form, same
frontier as the base evidence), and the posteriors given "f = s" follow from differences of
joint masses: P(C, e, f = s) = P(C, e, f <= s) - P(C, e, f <= s - 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.engine import Variant
from twitchbn.errors import EvidenceTooComplexError
from twitchbn.inference import Model
from twitchbn.reasoning._common import NEGLIGIBLE, binary_entropy, causing, condition_weights

INTERACTIVE_ENTRIES = 1 << 24  # work budget of one ranking (step-table entries, all variants): about a second here
TIE = 1e-12  # shifts closer than this are equal (rounding), so the first such state is best

COLUMNS = [
    "label", "kind", "expected_gain_bits", "best_state", "best_state_probability", "best_shift",
    "moves", "moves_from", "moves_to",
]


def next_questions(model: Model, evidence: Mapping[str, Any] | None, serious: bool = False) -> pd.DataFrame:
    """Rank every unobserved finding and exposure by expected information gain (bits).

    Parameters
    ----------
    model : Model
    evidence : mapping of variable id to state
    serious : bool
        Weight each condition's uncertainty by its category (``SERIOUSNESS``): disease 3,
        deficiency 2, lifestyle and local 1.

    Returns
    -------
    pandas.DataFrame
        Index: finding id, sorted by ``expected_gain_bits`` (descending, ties by id). Columns:
        ``label``, ``kind`` ("exposure" or "finding"), ``expected_gain_bits``, ``best_state``
        (the answer that moves the differential most), ``best_state_probability`` (its
        probability now), ``best_shift`` (sum over conditions of w_c |change in explains|
        under that answer), ``moves`` (the condition it moves most), ``moves_from``,
        ``moves_to`` (that condition's ``explains`` now and after the answer).
        ``frame.attrs`` holds ``uncertainty_bits`` (U(e)) and ``serious``.

    Examples
    --------
    >>> from twitchbn import load_model
    >>> model = load_model("tests/fixtures/tiny")
    >>> next_questions(model, {"twitch_eyelid": "yes"}).index[0]
    'sleep_hours'
    """
    checked = model.check_evidence(evidence)
    engine = model.engine
    weights = condition_weights(model, serious)

    # Variants: base first (model.sweep refuses impossible evidence from it), then per candidate
    # all states but the last ("x = s" for an exposure, "f <= s" for a finding); the last state's
    # share follows from the base evidence by difference.
    variants: list[Variant] = [Variant()]
    plan: list[tuple[str, str, int, int]] = []  # (id, kind, first variant, number of states)
    for i, x in enumerate(engine.exposure_ids):
        if x not in checked:
            plan.append((x, "exposure", len(variants), engine.exposure_card[i]))
            variants.extend(engine.variant({x: s}) for s in range(engine.exposure_card[i] - 1))
    tests = {t.id for t in model.kb.tests}  # ordered, not asked: twitchbn.workup ranks them
    for i, f in enumerate(engine.finding_ids):
        if f not in checked and f not in tests:
            plan.append((f, "finding", len(variants), engine.finding_card[i]))
            variants.extend(engine.variant(at_most={f: s}) for s in range(engine.finding_card[i] - 1))
    if model.cost(checked, variants) > INTERACTIVE_ENTRIES:
        raise EvidenceTooComplexError(
            "too many findings are set to a state other than the first to rank the next questions interactively; "
            "leave some of them unknown"
        )
    sweep = model.sweep(checked, variants)

    relative = np.exp(sweep.log_z - sweep.log_z[0])  # P(variant evidence | e)
    explains = causing(sweep)  # (B, nc)
    now = explains[0]
    u_now = float(weights @ binary_entropy(now))
    rows = {}
    for vid, kind, first, card in plan:
        rel = relative[first : first + card - 1]
        mass = rel[:, None] * explains[first : first + card - 1]  # P(variant, cause_c = yes | e)
        if kind == "exposure":  # P(x = s | e) and P(x = s, cause | e) directly; the last by difference
            prob = np.append(rel, 1.0 - rel.sum())
            joint = np.vstack([mass, now - mass.sum(axis=0)])
        else:  # cumulative P(f <= s ...): differences of consecutive ones
            prob = np.diff(np.append(rel, 1.0), prepend=0.0)
            joint = np.diff(np.vstack([mass, now]), axis=0, prepend=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            post = np.clip(np.where(prob[:, None] > 0, joint / prob[:, None], now), 0.0, 1.0)
        prob = np.clip(prob, 0.0, None)
        prob = prob / prob.sum()
        expected = float(prob @ (binary_entropy(post) @ weights))
        shift = np.abs(post - now) * weights  # (S, nc)
        shift_total = np.where(prob > NEGLIGIBLE, shift.sum(axis=1), -np.inf)
        best = int(np.argmax(shift_total >= shift_total.max() - TIE))  # ties: the first state
        moved = int(np.argmax(shift[best]))
        rows[vid] = {
            "label": model.kb.label(vid),
            "kind": kind,
            "expected_gain_bits": max(u_now - expected, 0.0),
            "best_state": model.states(vid)[best],
            "best_state_probability": float(prob[best]),
            "best_shift": float(shift_total[best]),
            "moves": engine.condition_ids[moved],
            "moves_from": float(now[moved]),
            "moves_to": float(post[best, moved]),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    frame.index.name = "id"
    if len(frame):
        frame = frame.loc[sorted(frame.index, key=lambda v: (-frame.at[v, "expected_gain_bits"], v))]
    frame.attrs = {"uncertainty_bits": u_now, "serious": bool(serious)}
    return frame
