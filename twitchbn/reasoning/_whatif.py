"""What-if (interventions) and compare (two scenarios side by side).

Exposures are root nodes, so for them do(x = s) is the same as conditioning on x = s: the answer
is simply the query with that exposure changed. For a condition, do(c = s) ("treated", "made to
happen") differs from conditioning: graph surgery replaces c's table by a point mass on s, so the
evidence no longer flows through c to its exposures, and c's own risk factors no longer matter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.errors import EvidenceError
from twitchbn.inference import Model, QueryResult


@dataclass(frozen=True)
class WhatIf:
    """Before and after a change, with the per-condition differences.

    ``changes``: the changes as {variable: state}; ``interventions``: the changed conditions
    handled by graph surgery (empty when ``intervene=False`` or only exposures changed, where
    do() equals conditioning); ``before`` / ``after``: full query results (``after`` of the
    surgically changed network when there are interventions); ``delta``: ``compare_results``
    of the two.
    """

    changes: dict[str, str]
    interventions: tuple[str, ...]
    before: QueryResult
    after: QueryResult
    delta: pd.DataFrame

    @property
    def triage_changed(self) -> bool:
        """True when the advice level differs after the change."""
        return self.before.triage.level != self.after.triage.level


def what_if(model: Model, evidence: Mapping[str, Any] | None, changes: Mapping[str, Any], intervene: bool = True) -> WhatIf:
    """The differential and triage if the patient changed an exposure or a condition were treated.

    Parameters
    ----------
    model : Model
    evidence : mapping of variable id to state
    changes : mapping of exposure or condition id to its new state
        e.g. ``{"caffeine_intake": "none"}`` or ``{"caffeine_excess": "absent"}``.
    intervene : bool
        True (default): a changed condition is set by intervention, do(c = s) (graph surgery).
        False: it is conditioned on instead ("what if we learned that ...").
        For exposures both are the same.

    Examples
    --------
    >>> from twitchbn import load_model
    >>> model = load_model("tests/fixtures/tiny")
    >>> change = what_if(model, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, {"sleep_hours": "7_or_more"})
    >>> change.delta.index[0], change.before.top, change.after.top
    ('sleep_deprivation', 'sleep_deprivation', 'caffeine_excess')
    """
    checked = model.check_evidence(evidence)
    if not isinstance(changes, Mapping) or not changes:
        raise EvidenceError("what-if needs at least one change written VAR=STATE, e.g. caffeine_intake=none")
    wanted = model.check_evidence(changes)
    exposures = {e.id for e in model.kb.exposures}
    conditions = {c.id for c in model.kb.conditions}
    for variable in wanted:
        if variable not in exposures and variable not in conditions:
            raise EvidenceError(
                f"what-if changes must name an exposure or a condition; got {variable}, a finding "
                "(use compare to see the effect of a different answer)",
                variable=variable,
            )
    before = model.query(checked)
    surgery = {v: s for v, s in wanted.items() if v in conditions} if intervene else {}
    after_evidence = {**checked, **wanted}
    world = _intervened(model, surgery) if surgery else model
    after = world.query(after_evidence)
    return WhatIf(dict(wanted), tuple(surgery), before, after, compare_results(before, after, ("before", "after")))


def compare(model: Model, evidence_a: Mapping[str, Any] | None, evidence_b: Mapping[str, Any] | None) -> pd.DataFrame:
    """Two scenarios side by side: per condition both values and the change, biggest first.

    Returns the frame of ``compare_results(model.query(evidence_a), model.query(evidence_b))``.

    Examples
    --------
    >>> from twitchbn import load_model
    >>> model = load_model("tests/fixtures/tiny")
    >>> frame = compare(model, {"twitch_eyelid": "yes"}, {"twitch_eyelid": "yes", "muscle_weakness": "yes"})
    >>> frame.index[0]
    'vitamin_d_deficiency'
    """
    return compare_results(model.query(evidence_a), model.query(evidence_b))


def compare_results(a: QueryResult, b: QueryResult, names: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Per condition: ``explains`` and ``probability`` under a and b and the change (b - a).

    Index: condition id, sorted by |delta_explains| then |delta_probability| (descending), ties
    by id. Columns: label, category, explains_<a>, explains_<b>, delta_explains,
    probability_<a>, probability_<b>, delta_probability. ``frame.attrs["triage"]`` holds both
    advice levels.
    """
    x, y = names
    left, right = a.conditions, b.conditions.loc[a.conditions.index]
    frame = pd.DataFrame(
        {
            "label": left["label"],
            "category": left["category"],
            f"explains_{x}": left["explains"],
            f"explains_{y}": right["explains"],
            "delta_explains": right["explains"] - left["explains"],
            f"probability_{x}": left["probability"],
            f"probability_{y}": right["probability"],
            "delta_probability": right["probability"] - left["probability"],
        },
        index=left.index,
    )
    key = {cid: (-abs(frame.at[cid, "delta_explains"]), -abs(frame.at[cid, "delta_probability"]), cid) for cid in frame.index}
    frame = frame.loc[sorted(frame.index, key=key.__getitem__)]
    frame.attrs = {"triage": {x: a.triage.level, y: b.triage.level}}
    return frame


def _intervened(model: Model, surgery: Mapping[str, str]) -> Model:
    """A twin of ``model`` whose changed conditions have point-mass tables (graph surgery)."""
    params = model.engine.params
    cpts = list(params.condition_cpt)
    for cid, state in surgery.items():
        i = model.engine.condition_ids.index(cid)
        cpts[i] = np.full_like(cpts[i], float(state == "present"))
    return Model(model.kb, dataclasses.replace(params, condition_cpt=tuple(cpts)))
