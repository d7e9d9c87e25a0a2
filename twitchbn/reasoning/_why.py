"""Why: each evidence item's weight of evidence for or against the leading conditions.

The weight of item i for condition c is the change in the log-odds (bits) that c is present
and causing the twitching, between all the evidence and all of it but item i:

    W(i -> c) = log2 odds(cause_c = yes | e) - log2 odds(cause_c = yes | e without i)
              = log2 P(e_i | cause_c = yes, e_-i) / P(e_i | cause_c = no, e_-i)

i.e. the log likelihood ratio of the item given the rest of the evidence (docs/reasoning.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.inference import Model
from twitchbn.reasoning._common import (
    causing,
    check_condition,
    check_count,
    evidence_items,
    index_of,
    log2_odds,
    not_causing,
    variant_of,
)

#: Weights closer to zero than this (bits) are "neutral": the item is irrelevant to the
#: condition given the rest (d-separated), up to rounding.
NEUTRAL_BITS = 1e-9
# Work budget (step-table entries, twitchbn.engine; about 2 s here): each finding seen in a higher
# state needs a pass without it; past the budget the rest are left out, named in attrs["not_assessed"].
WORK_ENTRIES = 1 << 25

COLUMNS = ["condition", "label", "variable", "state", "weight_bits", "direction", "explains", "explains_without"]


def why(model: Model, evidence: Mapping[str, Any] | None, condition: str | None = None, top: int = 3) -> pd.DataFrame:
    """Weight of evidence (bits) of every evidence item for each leading condition.

    Parameters
    ----------
    model : Model
    evidence : mapping of variable id to state
    condition : str, optional
        Explain this condition only; default: the ``top`` conditions ranked by ``explains``.
    top : int
        How many leading conditions to explain when ``condition`` is not given.

    Returns
    -------
    pandas.DataFrame
        One row per (condition, evidence item): ``condition``, ``label``, ``variable``,
        ``state``, ``weight_bits`` (log-odds change of "condition is present and causing" when
        the item is added last; +-inf when the item alone decides it), ``direction`` ("for",
        "against", or "neutral" when |weight| < 1e-9 bits), ``explains`` (with all the
        evidence) and ``explains_without`` (without this item). Conditions keep their rank
        order; within a condition rows go from strongest "for" to strongest "against".
        ``frame.attrs["not_assessed"]``: findings seen in a higher state left out past the work
        budget ``WORK_ENTRIES`` (heavy evidence only).

    Examples
    --------
    >>> from twitchbn import load_model
    >>> model = load_model("tests/fixtures/tiny")
    >>> table = why(model, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, top=1)
    >>> [(r.condition, r.variable, r.direction) for r in table.itertuples()]
    [('sleep_deprivation', 'twitch_eyelid', 'for'), ('sleep_deprivation', 'sleep_hours', 'for')]
    """
    top = check_count("top", top, 1)
    result = model.query(evidence)  # validates, refuses impossible evidence
    targets = [check_condition(model, condition)] if condition is not None else list(result.conditions.index[:top])
    items = evidence_items(model, result.evidence)
    if not items:
        return pd.DataFrame(columns=COLUMNS)

    # Product-form items ride as variants of one sweep whose base is the positive findings;
    # each positive finding needs its own sweep (removing it changes the frontier).
    positive = [it for it in items if not it.product_form]
    product = [it for it in items if it.product_form]
    variants = [variant_of(model, product)] + [variant_of(model, [p for p in product if p is not q]) for q in product]
    sweep = model.engine.sweep(index_of(positive), variants)
    yes, no = causing(sweep), not_causing(sweep)
    without: dict[str, tuple[np.ndarray, np.ndarray]] = {q.variable: (yes[1 + k], no[1 + k]) for k, q in enumerate(product)}
    spent, left_out = 2 * model.engine.cost(index_of(positive), variants), []
    for p in positive:
        rest_evidence, rest_variant = index_of([q for q in positive if q is not p]), variant_of(model, product)
        spent += 2 * model.engine.cost(rest_evidence, [rest_variant])
        if spent > WORK_ENTRIES:
            left_out.append(p.variable)
            continue
        rest = model.engine.sweep(rest_evidence, [rest_variant])
        without[p.variable] = (causing(rest)[0], not_causing(rest)[0])
    items = [it for it in items if it.variable not in left_out]

    full = log2_odds(yes[0], no[0])
    rows = []
    position = {c.id: i for i, c in enumerate(model.kb.conditions)}
    for cid in targets:
        c = position[cid]
        block = []
        for it in items:
            y, n = without[it.variable]
            weight = _difference(full[c], float(log2_odds(y[c], n[c])))
            direction = "neutral" if abs(weight) < NEUTRAL_BITS else ("for" if weight > 0 else "against")
            block.append({
                "condition": cid, "label": model.kb.conditions[c].label, "variable": it.variable, "state": it.state,
                "weight_bits": weight, "direction": direction,
                "explains": float(yes[0, c]), "explains_without": float(y[c] / (y[c] + n[c])) if y[c] + n[c] > 0 else 0.0,
            })
        block.sort(key=lambda r: (-r["weight_bits"], r["variable"]))
        rows.extend(block)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["not_assessed"] = left_out
    return frame


def _difference(with_all: float, without: float) -> float:
    """with_all - without, where equal infinities (the item changes nothing) give 0."""
    if np.isinf(with_all) and with_all == without:
        return 0.0
    return float(with_all - without)
