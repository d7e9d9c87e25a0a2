"""pyAgrum's LazyPropagation on the exported network: the reference for speed and answers.

Used as an expert would: the network is read once from XMLBIF (full precision), one
``LazyPropagation`` is reused across evidence sets, and only the condition nodes and their
``cause_<id>`` nodes are targets (targeting every node is ~100x slower, which would flatter us).

Each positive finding ties all its parent conditions together in pyAgrum's junction tree, so a
few evidence sets need cliques of gigabytes and minutes (one clinical case: ~4 GB, ~70 s). The
engine gets a memory budget (``setMaxMemory``, in pyAgrum's own estimate, which here runs far
above the memory actually used); a set over budget raises ``OverBudgetError`` and is counted, not
timed. Leaving those sets out can only favour pyAgrum in the comparison.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyagrum as gum

from benchmarks.sets import BenchmarkError
from twitchbn import Model, QueryResult
from twitchbn.model import CAUSE_STATES, cause_node, export_network

TOLERANCE = 1e-9
BUDGET_GB = 256  # pyAgrum's estimate; admits sets using up to ~0.7 GB here, refuses the ~4 GB one


class OverBudgetError(BenchmarkError):
    """pyAgrum refused an evidence set whose junction tree exceeds the memory budget."""


class EnginesDisagreeError(BenchmarkError):
    """twitchbn and pyAgrum give different posteriors for the same evidence."""


class AgrumReference:
    """One reusable pyAgrum inference engine over ``model``'s exported network."""

    def __init__(self, model: Model, network=None, budget_gb: int = BUDGET_GB):
        self.ids = [c.id for c in model.kb.conditions]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "twitchbn.bifxml"
            export_network(network if network is not None else model.network, "xmlbif", path)
            self.bn = gum.loadBN(str(path))
        self.engine = gum.LazyPropagation(self.bn)
        self.budget_gb = int(budget_gb)
        if self.budget_gb:
            self.engine.setMaxMemory(self.budget_gb)
        self._present = []  # (node, index of "present") per condition
        self._causing = []  # (node, index of "yes") per cause node
        for cid in self.ids:
            self.engine.addTarget(cid)
            self.engine.addTarget(cause_node(cid))
            self._present.append((cid, self.bn.variable(cid).labels().index("present")))
            self._causing.append((cause_node(cid), self.bn.variable(cause_node(cid)).labels().index(CAUSE_STATES[1])))

    def posteriors(self, evidence: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """Posterior ``probability`` and ``explains`` of every condition (knowledge-base order)."""
        ie = self.engine
        ie.eraseAllEvidence()
        if evidence:
            ie.setEvidence(evidence)
        try:  # LazyPropagation may run out of memory in makeInference or in a lazy posterior
            ie.makeInference()
            prob = np.fromiter((ie.posterior(node).toarray()[i] for node, i in self._present), float, len(self._present))
            expl = np.fromiter((ie.posterior(node).toarray()[i] for node, i in self._causing), float, len(self._causing))
        except Exception as exc:  # pyAgrum raises a bare Exception("std::bad_alloc") over budget
            if "bad_alloc" in str(exc):
                raise OverBudgetError(f"pyAgrum needs more than its {self.budget_gb} GB budget for this evidence ({exc})") from None
            raise
        return prob, expl


@dataclass
class Agreement:
    """The largest absolute difference seen so far between the two engines, and where."""

    max_abs_diff: float = 0.0
    where: str = ""
    checked: int = 0
    over_budget: int = 0  # sets pyAgrum refused: not compared

    def add(self, name: str, ours: tuple[np.ndarray, np.ndarray], theirs: tuple[np.ndarray, np.ndarray], ids: list[str]) -> None:
        """Compare twitchbn's ``(probability, explains)`` with pyAgrum's for evidence set ``name``."""
        self.checked += 1
        for column, mine, other in zip(("probability", "explains"), ours, theirs, strict=True):
            diff = np.abs(mine - other)
            worst = int(np.argmax(diff))
            if diff[worst] > self.max_abs_diff or not np.isfinite(diff[worst]):
                self.max_abs_diff = float(diff[worst]) if np.isfinite(diff[worst]) else float("inf")
                values = f"twitchbn {float(mine[worst])!r}, pyAgrum {float(other[worst])!r}"
                self.where = f"{column} of {ids[worst]} for evidence set {name}: {values}"

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= TOLERANCE

    def check(self) -> None:
        """Raise ``EnginesDisagreeError`` if the engines differed by more than 1e-9 anywhere."""
        if not self.ok:
            raise EnginesDisagreeError(
                f"twitchbn and pyAgrum disagree by {self.max_abs_diff:.3g} (more than {TOLERANCE:g}) on {self.where}"
            )


def answers(result: QueryResult, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """twitchbn's ``(probability, explains)`` of every condition in ``ids`` order."""
    frame = result.conditions.loc[ids]
    return frame["probability"].to_numpy(dtype=float), frame["explains"].to_numpy(dtype=float)


def agreement(model: Model, sets, reference: AgrumReference | None = None) -> Agreement:
    """Query every set with both engines (untimed) and collect the largest difference."""
    reference = reference or AgrumReference(model)
    found = Agreement()
    for s in sets:
        try:
            theirs = reference.posteriors(s.evidence)
        except OverBudgetError:
            found.over_budget += 1
            continue
        found.add(s.name, answers(model.query(s.evidence), reference.ids), theirs, reference.ids)
    return found
