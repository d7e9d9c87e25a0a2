"""Most probable explanation: the jointly most probable presence/absence of all conditions.

A MAP query: maximise P(C_1 = a_1, ..., C_n = a_n | e) over the 2^n presence assignments, with
exposures, cause nodes and unobserved findings summed out. Exact best-first (A*) search over
partial assignments A, each scored by the admissible bound

    bound(A) = P(A, e) * min over undecided c of max_s P(c = s | A, e)  >=  max over completions

(any completion is at most P(A, e) times the conditional probability of each of its remaining
values). A complete assignment's bound is its exact probability, so the first complete assignment
popped is the best and the next ones popped are the runners-up, in order. Known complete
assignments give a floor: a condition value whose bound falls below it is never needed, so it is
fixed at once (this removes the near-certain conditions from the search). Expansions run in
batches, each batch one engine sweep with two clamp variants per node (docs/reasoning.md).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.engine import Engine, Variant
from twitchbn.inference import Model
from twitchbn.reasoning._common import check_count, evidence_items, index_of, variant_of

#: Nodes expanded per engine sweep and the default caps on expansions and on work (step-table
#: entries of all sweeps, about 2 s here; twitchbn.engine): past either, the answer is the best
#: assignment evaluated so far and ``exact`` is False.
BATCH, MIN_BATCH = 64, 4
MAX_EXPANSIONS = 4000
WORK_ENTRIES = 1 << 25
SLACK = 1e-9  # log-space slack so that rounding never prunes the optimum
FREE = -1  # an undecided condition in a partial assignment


@dataclass(frozen=True)
class MostProbableExplanation:
    """The jointly most probable set of present conditions, beside the marginal ranking.

    ``present``: ids of the conditions present in the best assignment (every other condition
    absent), in ranking order; ``probability``: P(that exact assignment of all conditions | e);
    ``alternatives``: the next best assignments as (present, probability), best first;
    ``exact``: False when the expansion or work cap was hit before the best was proven (then ``present``
    is the best complete assignment evaluated so far); ``upper_bound``: the largest probability any assignment not returned
    could have (0 when the search space was exhausted); ``marginal``: the ranked differential with each
    condition's marginal ``probability`` and whether it is ``in_explanation``.
    """

    present: tuple[str, ...]
    probability: float
    alternatives: tuple[tuple[tuple[str, ...], float], ...]
    exact: bool
    expansions: int
    upper_bound: float
    marginal: pd.DataFrame


def most_probable_explanation(
    model: Model, evidence: Mapping[str, Any] | None, alternatives: int = 2, max_expansions: int = MAX_EXPANSIONS
) -> MostProbableExplanation:
    """Exact MAP assignment of all conditions' presence given the evidence (A* search).

    Examples
    --------
    >>> from twitchbn import load_model
    >>> model = load_model("tests/fixtures/tiny")
    >>> most_probable_explanation(model, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}).present
    ('sleep_deprivation',)
    """
    wanted = 1 + check_count("alternatives", alternatives, 0)
    max_expansions = check_count("max_expansions", max_expansions, 1)
    result = model.query(evidence)  # validates, refuses impossible evidence
    items = evidence_items(model, result.evidence)
    positive = index_of([it for it in items if not it.product_form])
    product = variant_of(model, [it for it in items if it.product_form])
    engine = model.engine
    nc = len(engine.condition_ids)

    base = engine.sweep(positive, [product])
    log_pe = float(base.log_z[0])
    per_variant = engine.cost(positive, [product])  # clamps cost nothing: every variant costs the same
    spent = 0

    def run(assignments: list[tuple[int, ...]], marginals: bool = True):
        """One sweep with each assignment clamped: (log P(assignment, e), P(present | it, e))."""
        nonlocal spent
        spent += per_variant * len(assignments) * (2 if marginals else 1)
        sweep = engine.sweep(positive, [_variant(engine, product, a) for a in assignments], marginals)
        return sweep.log_z, (sweep.status[:, :, 1:].sum(axis=2) if marginals else None)

    # Lower bounds on the wanted best values: the marginal-argmax assignment and its single
    # flips (distinct assignments, so the k-th largest of them is at most the true k-th best).
    present0 = base.status[0, :, 1:].sum(axis=1)
    greedy = tuple(int(p > 1.0 - p) for p in present0)
    seeds = [greedy] + [(*greedy[:c], 1 - greedy[c], *greedy[c + 1:]) for c in range(nc)]
    known = {a: float(v) for a, v in zip(seeds, run(seeds, marginals=False)[0], strict=True) if np.isfinite(v)}

    def floor() -> float:
        values = sorted(known.values(), reverse=True)
        return values[wanted - 1] - SLACK if len(values) >= wanted else -np.inf

    def node(assignment: tuple[int, ...], log_joint: float, marg: np.ndarray) -> tuple | None:
        """Heap entry of a partial assignment, with forced values filled in (None if pruned).

        An undecided condition is forced to its likelier value when the other value caps every
        completion below the floor; the bound is P(A, e) * min over undecided of max_s P(c=s | A, e).
        """
        if not np.isfinite(log_joint):
            return None
        low = floor()
        values = list(assignment)
        with np.errstate(divide="ignore"):
            for c in range(nc):
                if values[c] == FREE and log_joint + np.log(min(marg[c], 1.0 - marg[c])) < low:
                    values[c] = int(marg[c] > 1.0 - marg[c])
            free = [c for c in range(nc) if values[c] == FREE]
            bound = log_joint + (float(np.log(min(max(marg[c], 1.0 - marg[c]) for c in free))) if free else 0.0)
        if bound < low:
            return None
        return (-bound, next(counter), tuple(values), log_joint, marg, free)

    def push(entries: list[tuple | None]) -> None:
        """Queue nodes; a node completed by forced values is queued at its exact probability."""
        entries = [e for e in entries if e is not None]
        pending = [e[2] for e in entries if not e[5] and e[2] not in known]
        if pending:
            known.update(zip(pending, map(float, run(pending, marginals=False)[0]), strict=True))
        for e in entries:
            if not e[5]:
                e = (-known[e[2]], e[1], e[2], known[e[2]], e[4], e[5])
            if np.isfinite(e[0]):
                heapq.heappush(heap, e)

    counter = itertools.count()
    heap: list = []
    push([node((FREE,) * nc, log_pe, present0)])
    found: list[tuple[tuple[int, ...], float]] = []
    expansions = 0
    while heap and len(found) < wanted and expansions < max_expansions and spent < WORK_ENTRIES:
        if not heap[0][5]:  # complete, at its exact probability: the next best assignment
            entry = heapq.heappop(heap)
            found.append((entry[2], entry[3]))
            continue
        low = floor()
        batch = []
        while heap and heap[0][5] and len(batch) < BATCH and (len(batch) < MIN_BATCH or -heap[0][0] >= low):
            batch.append(heapq.heappop(heap))
        children = []
        for entry in batch:
            free, marg = entry[5], entry[4]
            branch = max(free, key=lambda c: (min(marg[c], 1.0 - marg[c]), -c))
            children.extend((*entry[2][:branch], s, *entry[2][branch + 1 :]) for s in (0, 1))
        log_z, margs = run(children)
        known.update((a, float(lj)) for a, lj in zip(children, log_z, strict=True) if FREE not in a and np.isfinite(lj))
        push([node(a, float(lj), mg) for a, lj, mg in zip(children, log_z, margs, strict=True)])
        expansions += len(batch)

    exact = bool(found)  # the best is proven; runners-up may be fewer than asked if the cap was hit
    if not found:  # cap hit first: the best complete assignment seen (seeds included), unproven
        if not known:
            _, _, assignment, _, marg, _ = heap[0]
            greedy = tuple(v if v != FREE else int(marg[c] > 1.0 - marg[c]) for c, v in enumerate(assignment))
            known[greedy] = float(run([greedy], marginals=False)[0][0])
        found.append(max(known.items(), key=lambda item: item[1]))
    returned = {a for a, _ in found}
    unreturned = [v for a, v in known.items() if a not in returned] + ([-heap[0][0]] if heap else [])
    upper = float(np.exp(max(unreturned) - log_pe)) if unreturned else 0.0

    def named(assignment: tuple[int, ...]) -> tuple[str, ...]:
        chosen = {engine.condition_ids[c] for c, s in enumerate(assignment) if s == 1}
        return tuple(cid for cid in result.conditions.index if cid in chosen)

    best = named(found[0][0])
    marginal = result.conditions[["label", "category", "probability", "explains"]].copy()
    marginal["in_explanation"] = [cid in best for cid in marginal.index]
    return MostProbableExplanation(
        present=best,
        probability=float(np.exp(found[0][1] - log_pe)),
        alternatives=tuple((named(a), float(np.exp(lj - log_pe))) for a, lj in found[1:]),
        exact=exact,
        expansions=expansions,
        upper_bound=upper,
        marginal=marginal,
    )


def _variant(engine: Engine, product: Variant, assignment: tuple[int, ...]) -> Variant:
    """The evidence's product-form part plus clamps of the decided conditions."""
    return engine.variant({engine.condition_ids[c]: s for c, s in enumerate(assignment) if s != FREE}, base=product)
