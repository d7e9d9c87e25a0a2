"""Posteriors, the ranked differential and triage for a set of evidence.

``load_model()`` compiles the knowledge base once; ``Model.query(evidence)`` returns a
``QueryResult`` whose ``conditions`` frame is the ranked differential (by ``explains``) and whose
``triage`` is the advice with its reasons. The CLI, the notebooks and the tests all call this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twitchbn import __version__
from twitchbn.dont_miss import dont_miss
from twitchbn.engine import CAUSING, Engine, Sweep, Variant
from twitchbn.errors import EvidenceError, ImpossibleEvidenceError, closest, shorten
from twitchbn.knowledge import Knowledge, load_knowledge
from twitchbn.params import Params
from twitchbn.triage import TriageResult, assess, everyday_ids, likely

Evidence = Mapping[str, str]
SHOWN_FIRST = 3  # the head of the differential; a likely condition ranked below it is named apart


@dataclass(frozen=True)
class QueryResult:
    """The answer to one query: evidence, ranked conditions, triage, and the model's identity.

    ``dont_miss``: serious conditions the evidence keeps in play (at most 3, those the findings raised most first).
    ``also_present``: conditions probably present (the triage ``likely`` rule) that rank below the
    head of the differential because they explain little of the twitching.
    """

    evidence: dict[str, str]
    conditions: pd.DataFrame
    triage: TriageResult
    model: dict[str, str]
    exposures: dict[str, dict[str, float]] = field(default_factory=dict)
    p_no_everyday_cause: float = 0.0
    dont_miss: list[str] = field(default_factory=list)
    also_present: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON document as plain Python (unrounded floats)."""
        rows = [
            {
                "id": cid,
                "label": str(row["label"]),
                "category": str(row["category"]),
                "prior": float(row["prior"]),
                "probability": float(row["probability"]),
                "explains": float(row["explains"]),
            }
            for cid, row in self.conditions.iterrows()
        ]
        return {
            "evidence": dict(self.evidence),
            "conditions": rows,
            "dont_miss": list(self.dont_miss),
            "also_present": list(self.also_present),
            "triage": {"level": self.triage.level, "reasons": list(self.triage.reasons), "decided": self.triage.decided},
            "model": dict(self.model),
        }

    @property
    def top(self) -> str:
        """Id of the first-ranked condition."""
        return str(self.conditions.index[0])


@dataclass(frozen=True)
class Ranking:
    """What a query reports beyond the raw posteriors: clipped posteriors (engine order), the
    differential's order, the can't-miss list (engine indices) and the triage."""

    probability: np.ndarray
    explains: np.ndarray
    order: np.ndarray
    dont_miss: tuple[int, ...]
    likely: tuple[int, ...]  # conditions the triage's "likely" rule covers, in the differential's order
    triage: TriageResult


class Model:
    """A compiled knowledge base: validated numbers, the exact engine and (lazily) the network.

    ``params`` replaces the knowledge base's point values (graph surgery for interventions,
    parameter draws); by default the hand-set numbers are used.
    """

    def __init__(self, kb: Knowledge, params: Params | None = None):
        self.kb = kb
        self.engine = Engine(kb, params)
        self.variables: dict[str, tuple[str, ...]] = kb.variables
        self._causes = {f"cause_{c.id}": ("no", "yes") for c in kb.conditions}
        everyday = set(everyday_ids(kb))
        self.everyday = tuple(i for i, c in enumerate(kb.conditions) if c.id in everyday)
        self.info = {"name": "twitchbn", "version": __version__, "knowledge_base_sha256": kb.sha256}

    @cached_property
    def network(self):
        """The pgmpy ``DiscreteBayesianNetwork`` of the same distribution (built on first use)."""
        from twitchbn.model import build_network

        return build_network(self.kb, self.engine, self.engine.params)

    # -- evidence -------------------------------------------------------------------------------
    def states(self, variable: str) -> tuple[str, ...]:
        """States of a settable variable (vocabulary findings, conditions, cause nodes)."""
        if variable in self.variables:
            return self.variables[variable]
        if variable in self._causes:
            return self._causes[variable]
        raise self._unknown_variable(variable)

    def _unknown_variable(self, variable: object) -> EvidenceError:
        hint = ", ".join(closest(str(variable), self.variables))
        return EvidenceError(f"unknown variable '{shorten(variable)}'; closest valid ids: {hint}", variable=str(variable))

    def check_evidence(self, evidence: Mapping[str, Any] | None) -> dict[str, str]:
        """Validate evidence before any engine sees it; return it as {variable: state}.

        Booleans are accepted for yes/no variables (YAML 1.1 turns bare yes/no into them).
        """
        if evidence is None:
            return {}
        if not isinstance(evidence, Mapping):
            raise EvidenceError(f"evidence must be a mapping of variable id to state; got {type(evidence).__name__}")
        out: dict[str, str] = {}
        for variable, state in evidence.items():
            if not isinstance(variable, str) or not (variable in self.variables or variable in self._causes):
                raise self._unknown_variable(variable)
            valid = self.states(variable)
            if isinstance(state, bool) and valid in (("no", "yes"), ("absent", "present")):
                state = valid[int(state)]
            if not isinstance(state, str) or state not in valid:
                raise EvidenceError(
                    f"state '{shorten(state)}' of {variable} is not valid; valid states: {', '.join(valid)}",
                    variable=variable, state=shorten(state),
                )
            out[variable] = state
        return out

    def _indices(self, evidence: Mapping[str, str]) -> dict[str, int]:
        return {v: self.states(v).index(s) for v, s in evidence.items()}

    # -- queries --------------------------------------------------------------------------------
    def sweep(self, evidence: Mapping[str, str], variants: list[Variant] | None = None,
              marginals: bool | list[bool] = True) -> Sweep:
        """Engine pass for already-checked evidence; refuses evidence of probability zero."""
        result = self.engine.sweep(self._indices(evidence), variants, marginals)
        if not np.isfinite(result.log_z[0]):
            raise self._impossible(evidence)
        return result

    def cost(self, evidence: Mapping[str, str], variants: list[Variant]) -> int:
        """Step-table entries a sweep of ``variants`` would compute: a budget check for
        interactive features that run many variants (next question, intervals)."""
        return self.engine.cost(self._indices(evidence), variants)

    def _impossible(self, evidence: Mapping[str, str]) -> ImpossibleEvidenceError:
        """Shrink the evidence to a minimal set that is still impossible and name it."""
        kept = dict(evidence)
        for variable in list(evidence):
            trial = {v: s for v, s in kept.items() if v != variable}
            if not np.isfinite(self.engine.sweep(self._indices(trial), marginals=False).log_z[0]):
                kept = trial
        items = ", ".join(f"{v}={s}" for v, s in kept.items())
        return ImpossibleEvidenceError(
            f"evidence is impossible under the model: {items} cannot all hold; remove or change one of them",
            conflicting=tuple(kept),
        )

    def query(self, evidence: Mapping[str, Any] | None = None) -> QueryResult:
        """Exact posteriors of every condition, the ranked differential and triage.

        >>> model = load_model()
        >>> result = model.query({"twitch_eyelid": "yes", "sleep_hours": "under_7"})
        >>> result.top
        'sleep_deprivation'
        """
        checked = self.check_evidence(evidence)
        sweep = self.sweep(checked, [Variant(), self.no_everyday_variant()], [True, False])
        return self.result(checked, sweep, 0, float(sweep.log_z[1] - sweep.log_z[0]))

    def variant(self, checked: Mapping[str, str]) -> Variant:
        """Checked evidence as one engine ``Variant``: clamps for exposures, conditions and cause
        nodes, "at most the first state" for first-state findings, the rest as positive findings."""
        return self.engine.variant(self._indices(checked))

    def no_everyday_variant(self, base: Variant | None = None) -> Variant:
        """``base`` plus "no everyday cause is causing the twitching" (for triage)."""
        return self.engine.variant({f"cause_{self.kb.conditions[i].id}": 0 for i in self.everyday}, base=base)

    def result(self, checked: dict[str, str], sweep: Sweep, row: int, log_no_everyday: float) -> QueryResult:
        """Assemble a ``QueryResult`` from row ``row`` of a sweep and log P(no everyday cause | e)."""
        status = sweep.status[row]
        exposures = {
            x.id: {s: float(sweep.exposures[row, i, j]) for j, s in enumerate(x.states)} for i, x in enumerate(self.kb.exposures)
        }
        # 1 - P(absent) is exactly 0 or 1 for a condition given as evidence.
        return self.assemble(checked, 1.0 - status[:, 0], status[:, CAUSING], float(np.exp(min(0.0, log_no_everyday))), exposures)

    def assemble(
        self, checked: dict[str, str], probability: np.ndarray, explains: np.ndarray, p_no_everyday: float,
        exposures: dict[str, dict[str, float]] | None = None,
    ) -> QueryResult:
        """The ranked differential and triage from per-condition posteriors (engine order)."""
        ranking = self.rank(checked, probability, explains, p_no_everyday)
        probability, explains, order = ranking.probability, ranking.explains, ranking.order
        table = self._table
        frame = pd.DataFrame(
            {
                "label": table["label"][order],
                "category": table["category"][order],
                "prior": table["prior"][order],
                "probability": probability[order],
                "explains": explains[order],
                "prior_explains": table["prior_explains"][order],
            },
            index=pd.Index(self._ids[order], name="id"),
        )
        below = set(order[SHOWN_FIRST:].tolist())
        also = [str(self._ids[i]) for i in ranking.likely if i in below]
        return QueryResult(checked, frame, ranking.triage, dict(self.info), exposures or {}, p_no_everyday,
                           [str(self._ids[i]) for i in ranking.dont_miss], also)

    def rank(self, checked: Mapping[str, str], probability: np.ndarray, explains: np.ndarray, p_no_everyday: float) -> Ranking:
        """Clipped posteriors (engine order), the differential's order (``explains`` descending,
        ties by id), the can't-miss list and the triage: what ``assemble`` and batch scoring both report."""
        probability = np.clip(probability, 0.0, 1.0)
        explains = np.clip(np.minimum(explains, probability), 0.0, None)
        order = np.lexsort((self._id_rank, -explains))
        keep = dont_miss(self.kb, probability, self.risk_prior(checked))
        probable = tuple(likely(self.kb, probability, order))
        triage = assess(self.kb, checked, probability, explains, order, p_no_everyday, probable, keep)
        return Ranking(probability, explains, order, keep, probable, triage)

    def risk_prior(self, checked: Mapping[str, str]) -> np.ndarray:
        """P(present) of each condition given only the habits and history in ``checked`` (engine
        order): what the person's risk factors alone predict, before any finding.

        A condition depends on its exposures alone, so this is each condition's table averaged
        over the exposure priors, observed exposures fixed: exact, and no engine pass.
        """
        params = self.engine.params
        out = np.empty(len(self.kb.conditions))
        for i, condition in enumerate(self.kb.conditions):
            table = params.condition_cpt[i][0]
            for x in reversed(condition.parents):  # contract the last axis first
                j = self.engine.key(x)[1]
                state = checked.get(x)
                weights = np.eye(len(self.variables[x]))[self.variables[x].index(state)] if state else params.exposure_prior[j][0]
                table = table @ weights
            out[i] = float(table)
        return out

    @cached_property
    def _ids(self) -> np.ndarray:
        return np.array([c.id for c in self.kb.conditions], dtype=object)

    @cached_property
    def _id_rank(self) -> np.ndarray:
        """Each condition's place in id order: the tie-break of the differential."""
        return np.argsort(np.argsort(self._ids))

    @cached_property
    def _table(self) -> dict[str, np.ndarray]:
        """Labels, categories and priors of the conditions (engine order): with no evidence a
        condition depends on its exposures alone, so its prior is closed-form (``risk_prior``)."""
        present = self.risk_prior({})
        return {
            "label": np.array([c.label for c in self.kb.conditions], dtype=object),
            "category": np.array([c.category for c in self.kb.conditions], dtype=object),
            "prior": np.clip(present, 0.0, 1.0),
            "prior_explains": present * self.engine.params.activation[0],
        }


def load_model(path: str | Path | None = None) -> Model:
    """Load, validate and compile a knowledge base (default: the shipped ``twitchbn/data/``)."""
    return Model(load_knowledge(path))
