"""The plan of an engine sweep: the condition order and the frontier carried between steps.

The sweep visits the conditions one by one. Its frontier holds the unobserved exposures shared by
several conditions and the two-state accumulators of the positive findings (observed in a state
above the first) that are open: a finding opens at its first parent in the order and closes at
its last. Accumulators live in *slots*, assigned per variant by interval colouring, so

* a slot is reused once its finding has closed, and
* variants with different positive findings share one pass: each variant puts its own findings
  in the slots, and the frontier grows with the number of findings a variant has open at once,
  not with the union of the variants' findings (batch scoring relies on this).

Any order gives the same exact answer; the greedy order only keeps the frontier small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Positives = tuple[tuple[int, int], ...]  # (finding index, observed state > 0), sorted


@dataclass(frozen=True)
class Plan:
    """Everything a sweep needs to know about its frontier."""

    order: tuple[int, ...]  # condition visited at each step
    span: dict[tuple[str, int], tuple[int, int]]  # ("x", exposure) or ("a", slot) -> (first step, last step)
    occupant: dict[int, np.ndarray]  # slot -> (variants, steps): finding held at each step, -1 when free
    state: dict[int, np.ndarray]  # slot -> (variants, steps): the observed state of that finding
    first: np.ndarray  # per finding: step of its first parent (-1 without parents)
    last: np.ndarray  # per finding: step of its last parent (-1 without parents)


class Planner:
    """Orders and frontiers for one network structure (orders cached per evidence shape)."""

    def __init__(self, finding_parents: Sequence[tuple[int, ...]], exposure_children: dict[int, list[int]],
                 exposure_card: Sequence[int], n_conditions: int):
        self.finding_parents = finding_parents
        self.children = exposure_children
        self.exposure_card = exposure_card
        self.n = n_conditions
        self.default = self._default_order()
        self.rank = {c: k for k, c in enumerate(self.default)}
        self._orders: dict[tuple, tuple[int, ...]] = {}

    def _default_order(self) -> tuple[int, ...]:
        """A fixed order that keeps accumulators short-lived (the tie-break of ``order``).

        Greedy: start from the condition with the most links, then repeatedly take the condition
        sharing the most findings and exposures with those already placed.
        """
        touches = [set() for _ in range(self.n)]
        for f, parents in enumerate(self.finding_parents):
            for c in parents:
                touches[c].add(("f", f))
        for x, kids in self.children.items():
            for c in kids:
                touches[c].add(("x", x))
        remaining = set(range(self.n))
        order: list[int] = []
        open_items: set = set()
        while remaining:
            best = max(sorted(remaining), key=lambda c: (len(touches[c] & open_items), -len(touches[c]) if order else len(touches[c])))
            order.append(best)
            remaining.discard(best)
            open_items |= touches[best]
            still_needed = set().union(*(touches[c] for c in remaining)) if remaining else set()
            open_items &= still_needed
        return tuple(order)

    def order(self, positive: tuple[int, ...], observed: frozenset[int]) -> tuple[int, ...]:
        """Condition order for a pass: greedy, each step adding the condition that keeps the
        frontier (open accumulators of ``positive`` findings, unobserved shared exposures)
        smallest. Cached per evidence shape.
        """
        key = (positive, observed)
        if key not in self._orders:
            items = [(frozenset(self.finding_parents[f]), 2) for f in positive if self.finding_parents[f]]
            items += [(frozenset(kids), self.exposure_card[x]) for x, kids in self.children.items() if x not in observed and len(kids) > 1]
            placed: set[int] = set()
            order: list[int] = []
            for _ in range(self.n):
                def cost(c: int) -> tuple[int, int, int]:
                    done = placed | {c}
                    size = math.prod(card for parents, card in items if parents & done and not parents <= done)
                    closed = sum(1 for parents, _ in items if c in parents and parents <= done)
                    return (size, -closed, self.rank[c])
                best = min((c for c in self.default if c not in placed), key=cost)
                order.append(best)
                placed.add(best)
            if len(self._orders) > 4096:
                self._orders.clear()
            self._orders[key] = tuple(order)
        return self._orders[key]

    def plan(self, positives: Sequence[Positives], observed: frozenset[int]) -> Plan:
        """The plan for variants with these positive findings, ``observed`` exposures sliced out."""
        union = tuple(sorted({f for pos in positives for f, _ in pos if self.finding_parents[f]}))
        order = self.order(union, observed)
        step = np.empty(self.n, dtype=int)
        step[list(order)] = np.arange(self.n)
        first = np.full(len(self.finding_parents), -1)
        last = np.full(len(self.finding_parents), -1)
        for f, parents in enumerate(self.finding_parents):
            if parents:
                at = step[list(parents)]
                first[f], last[f] = at.min(), at.max()
        span: dict[tuple[str, int], tuple[int, int]] = {}
        for x, kids in self.children.items():
            if x not in observed:
                at = step[kids]
                span[("x", x)] = (int(at.min()), int(at.max()))
        occupant: dict[int, np.ndarray] = {}
        state: dict[int, np.ndarray] = {}
        colourings: dict[Positives, list[tuple[int, int, int]]] = {}
        for b, pos in enumerate(positives):
            if pos not in colourings:
                colourings[pos] = _colour([(f, s) for f, s in pos if first[f] >= 0], first, last)
            for slot, f, s in colourings[pos]:
                if slot not in occupant:
                    occupant[slot] = np.full((len(positives), self.n), -1)
                    state[slot] = np.zeros((len(positives), self.n), dtype=int)
                occupant[slot][b, first[f] : last[f] + 1] = f
                state[slot][b, first[f] : last[f] + 1] = s
        for slot, held in occupant.items():
            used = np.flatnonzero((held >= 0).any(axis=0))
            span[("a", slot)] = (int(used[0]), int(used[-1]))
        return Plan(order, span, occupant, state, first, last)

    def widest(self, span: dict[tuple[str, int], tuple[int, int]]) -> int:
        """Largest table of a sweep with these spans: frontier open at a step x 3 states x one move."""
        cards = {v: (self.exposure_card[v[1]] if v[0] == "x" else 2) for v in span}
        return max(6 * math.prod(cards[v] for v, (a, b) in span.items() if a <= k <= b) for k in range(self.n))


def _colour(findings: list[tuple[int, int]], first: np.ndarray, last: np.ndarray) -> list[tuple[int, int, int]]:
    """(slot, finding, state) per finding: interval colouring, a slot reused once its finding closed."""
    ends: list[int] = []  # last step of the finding now in each slot
    out = []
    for f, s in sorted(findings, key=lambda fs: (first[fs[0]], last[fs[0]], fs[0])):
        slot = next((j for j, end in enumerate(ends) if end < first[f]), len(ends))
        if slot == len(ends):
            ends.append(last[f])
        else:
            ends[slot] = last[f]
        out.append((slot, f, s))
    return out
