"""The plan of an exact pass: the order in which it visits the conditions, and what that costs.

The pass (``twitchbn.compiled``, derivation in docs/engine.md) visits the conditions one by one.
Between two steps it carries a *frontier*: the unobserved exposures that a condition on each side
depends on, and one "already produced" bit per positive finding (observed beyond its first
state) whose parents lie on both sides. A finding's bit is open from its first parent in the order
to its last. The step tables (frontier x the condition's three statuses) are what the pass
computes, so their total size is its time and, when it keeps them for the backward pass, its
memory. Any order gives the same exact answer; the greedy order only keeps the tables small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plan:
    """An order and, per exposure and finding, the steps between which it is open."""

    order: np.ndarray  # (n_conditions,) condition visited at each step
    x_first: np.ndarray  # (n_exposures,) first step of a condition needing the exposure (-1: none does)
    x_last: np.ndarray
    f_first: np.ndarray  # (n_findings,) step of the finding's first parent (-1: no parents)
    f_last: np.ndarray
    exposure_size: np.ndarray  # (n_steps,) product of the open exposures' cardinalities (observed ones count 1)
    open: np.ndarray  # (n_findings, n_steps) 1.0 where the finding's bit is open during the step

    def entries(self, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Step-table entries of each case, summed over steps and their largest step:
        ``positive`` is (cases, findings) 0/1. Returns (total, widest), each (cases,)."""
        per_step = 3.0 * self.exposure_size * 2.0 ** (positive @ self.open)
        return per_step.sum(axis=1), per_step.max(axis=1, initial=0.0)


class Planner:
    """Orders and plans for one network structure (greedy orders cached per evidence shape)."""

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
        """A fixed order that keeps findings' bits short-lived (the tie-break of ``order``).

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
        frontier (open bits of ``positive`` findings, unobserved shared exposures) smallest.
        Cached per evidence shape.
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

    def plan(self, order: Sequence[int], observed: frozenset[int] = frozenset()) -> Plan:
        """The spans of every exposure and finding in ``order``; ``observed`` exposures count one state."""
        step = np.empty(self.n, dtype=np.int64)
        step[list(order)] = np.arange(self.n)
        nf, nx = len(self.finding_parents), len(self.exposure_card)
        f_first, f_last = np.full(nf, -1, dtype=np.int64), np.full(nf, -1, dtype=np.int64)
        for f, parents in enumerate(self.finding_parents):
            if parents:
                at = step[list(parents)]
                f_first[f], f_last[f] = at.min(), at.max()
        x_first, x_last = np.full(nx, -1, dtype=np.int64), np.full(nx, -1, dtype=np.int64)
        for x, kids in self.children.items():
            at = step[kids]
            x_first[x], x_last[x] = at.min(), at.max()
        steps = np.arange(self.n)
        size = np.ones(self.n)
        for x in range(nx):
            if x_first[x] >= 0 and x not in observed:
                size *= np.where((x_first[x] <= steps) & (steps <= x_last[x]), self.exposure_card[x], 1)
        is_open = (f_first[:, None] <= steps) & (steps <= f_last[:, None]) & (f_first[:, None] >= 0)
        return Plan(np.asarray(order, dtype=np.int64), x_first, x_last, f_first, f_last, size, is_open.astype(float))
