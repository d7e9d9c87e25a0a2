"""The hand-set numbers' plausible ranges, and parameter sets drawn or moved within them.

Every number of the knowledge base is hand-set. ``plausible_range`` gives each one a range (its
own ``range``, else a documented rule by strength of evidence: docs/uncertainty.md); ``slots``
lists every number as an adjustable unit; ``draw`` samples them within their ranges; and
``build_params`` turns rows of slot values into one batched ``Params`` for the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from twitchbn.engine import Engine
from twitchbn.knowledge import Knowledge
from twitchbn.numbers import Number, is_cited, is_seeded
from twitchbn.params import Params

SOURCED_ODDS_FACTOR = 2.0  # a number backed by a seed or a reference is plausible within odds x/÷ 2 of its point
CONVENTION_ODDS_FACTOR = 3.0  # clinical convention: odds x/÷ 3
COVERAGE = 0.9  # a default range is the central 90% of the draws' spread (sets Dirichlet concentration)

Bounds = float | tuple[float, ...]


# -- plausible ranges ----------------------------------------------------------------------------
def odds_factor(number: Number) -> float:
    """Width of the default range in odds: narrower when a seed or a reference backs the number."""
    return SOURCED_ODDS_FACTOR if is_seeded(number.source) or is_cited(number.source) else CONVENTION_ODDS_FACTOR


def _odds_interval(p: float, factor: float) -> tuple[float, float]:
    if p <= 0.0 or p >= 1.0:  # structural zeros and certainties stay as they are
        return p, p
    logit = math.log(p / (1.0 - p))
    width = math.log(factor)
    return 1.0 / (1.0 + math.exp(width - logit)), 1.0 / (1.0 + math.exp(-logit - width))


def plausible_range(number: Number) -> tuple[Bounds, Bounds]:
    """Low and high plausible values of a hand-set number, shaped like ``number.value``.

    The number's own ``range`` when it has one; otherwise odds within x/÷ ``odds_factor`` of the
    point (3 for clinical convention, 2 for a seed-backed number), which stays inside (0, 1).
    For a distribution each state gets its own bounds by the same rule (a binary finding's
    ``range`` applies to its second state, "yes").

    >>> from twitchbn.numbers import Number
    >>> low, high = plausible_range(Number(0.5, "why", "clinical convention", "here"))
    >>> round(low, 3), round(high, 3)
    (0.25, 0.75)
    """
    factor = odds_factor(number)
    value = number.value
    if isinstance(value, float):
        return number.range if number.range is not None else _odds_interval(value, factor)
    if len(value) == 2:
        lo, hi = number.range if number.range is not None else _odds_interval(value[1], factor)
        return (1.0 - hi, lo), (1.0 - lo, hi)
    pairs = [_odds_interval(v, factor) for v in value]
    return tuple(lo for lo, _ in pairs), tuple(hi for _, hi in pairs)


@dataclass(frozen=True)
class Slot:
    """One adjustable unit of the network: a distribution over ``states`` (k = 2 for a single p).

    ``kind`` and ``index`` say where it lives in ``Params``: prior (exposure), baseline / risk
    (condition, risk factor), activation (condition), leak (finding), link (finding, link).
    ``numbers`` holds the Number behind it (one per state for an exposure prior).
    """

    kind: str
    index: tuple[int, ...]
    numbers: tuple[Number, ...]
    states: tuple[str, ...]
    point: np.ndarray
    low: np.ndarray
    high: np.ndarray
    factor: float

    def number(self, state: int) -> Number:
        """The Number a user edits to change ``state`` of this slot."""
        return self.numbers[state] if len(self.numbers) > 1 else self.numbers[0]


def _slot(kind: str, index: tuple[int, ...], number: Number, states: tuple[str, ...]) -> Slot:
    value = number.value
    point = np.asarray([1.0 - value, value] if isinstance(value, float) else value)
    low, high = plausible_range(number)
    if isinstance(low, float):
        low, high = (1.0 - high, low), (1.0 - low, high)
    return Slot(kind, index, (number,), states, point, np.asarray(low), np.asarray(high), odds_factor(number))


def _prior_slot(i: int, numbers: tuple[Number, ...], states: tuple[str, ...]) -> Slot:
    point = np.asarray([float(n.value) for n in numbers])
    low, high = (np.asarray(b, dtype=float) for b in zip(*(plausible_range(n) for n in numbers), strict=True))
    if len(numbers) == 2:  # the two states mirror each other: intersect their ranges
        lo1, hi1 = max(low[1], 1.0 - high[0]), min(high[1], 1.0 - low[0])
        low, high = np.asarray([1.0 - hi1, lo1]), np.asarray([1.0 - lo1, hi1])
    return Slot("prior", (i,), numbers, states, point, low, high, max(odds_factor(n) for n in numbers))


def slots(kb: Knowledge) -> list[Slot]:
    """Every hand-set number of ``kb`` as a slot, in a fixed order (draws depend on it)."""
    out = [_prior_slot(i, x.prior, x.states) for i, x in enumerate(kb.exposures)]
    yes = ("absent", "present")
    for c_index, c in enumerate(kb.conditions):
        out.append(_slot("baseline", (c_index,), c.baseline, yes))
        out.extend(_slot("risk", (c_index, r), rf.number, yes) for r, rf in enumerate(c.risk_factors))
        out.append(_slot("activation", (c_index,), c.causes_twitching, ("no", "yes")))
    for f_index, f in enumerate(kb.findings):
        out.append(_slot("leak", (f_index,), f.leak, f.states))
        out.extend(_slot("link", (f_index, j), link.number, f.states) for j, link in enumerate(f.links))
    return out


# -- parameter sets ------------------------------------------------------------------------------
def draw(slot_list: list[Slot], n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` values of every slot drawn within its range, as (n, k) arrays.

    A single probability is drawn from a triangular distribution (low, point, high); a
    distribution over 3+ states from a Dirichlet centred on the point whose concentration gives
    each state's logit the spread of the rule, then pulled towards the point until every state
    lies within its bounds.
    """
    z = NormalDist().inv_cdf(0.5 + COVERAGE / 2)
    out = []
    for s in slot_list:
        values = np.broadcast_to(s.point, (n, s.point.size)).copy()
        if s.point.size == 2:
            lo, mode, hi = s.low[1], s.point[1], s.high[1]
            if hi > lo:
                p = rng.triangular(lo, mode, hi, size=n)
                values = np.stack([1.0 - p, p], axis=1)
        else:
            live = s.point > 0.0
            m = s.point[live]
            if live.sum() > 1:
                alpha = float(np.mean(1.0 / (m * (1.0 - m)))) * (z / math.log(s.factor)) ** 2
                x = np.zeros((n, s.point.size))
                x[:, live] = rng.dirichlet(alpha * m, size=n)
                values = s.point + _shrink(x - s.point, s) * (x - s.point)
        out.append(values)
    return out


def _shrink(step: np.ndarray, s: Slot) -> np.ndarray:
    """Largest fraction in [0, 1] of each row's step from the point that stays within bounds."""
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.where(step > 0, (s.high - s.point) / step, np.inf)
        down = np.where(step < 0, (s.low - s.point) / step, np.inf)
    return np.clip(np.minimum(up, down).min(axis=1, keepdims=True), 0.0, 1.0)


def build_params(engine: Engine, slot_list: list[Slot], values: list[np.ndarray]) -> Params:
    """A batched ``Params`` (leading axis = rows of ``values``) for ``engine``'s knowledge base."""
    kb = engine.kb
    P = values[0].shape[0]
    by_kind: dict[str, dict[tuple[int, ...], np.ndarray]] = {}
    for s, v in zip(slot_list, values, strict=True):
        by_kind.setdefault(s.kind, {})[s.index] = v
    priors = tuple(by_kind["prior"][(i,)] for i in range(len(kb.exposures)))
    activation = np.stack([by_kind["activation"][(c,)][:, 1] for c in range(len(kb.conditions))], axis=1)
    cpts = []
    for c_index, c in enumerate(kb.conditions):
        cards = [engine.exposure_card[x] for x in engine.condition_parents[c_index]]
        table = np.broadcast_to((1.0 - by_kind["baseline"][(c_index,)][:, 1]).reshape((P,) + (1,) * len(cards)), (P, *cards))
        for axis, x in enumerate(c.parents):  # noisy-OR, same order of operations as params.noisy_or_table
            factor = np.ones((P, cards[axis]))
            for r, rf in enumerate(c.risk_factors):
                if rf.exposure == x:
                    factor[:, kb.exposure(x).states.index(rf.state)] = 1.0 - by_kind["risk"][(c_index, r)][:, 1]
            shape = [P] + [1] * len(cards)
            shape[axis + 1] = cards[axis]
            table = table * factor.reshape(shape)
        cpts.append(1.0 - table)
    leaks = tuple(by_kind["leak"][(f,)] for f in range(len(kb.findings)))
    links = tuple(
        np.stack([by_kind["link"][(f, j)] for j in range(len(finding.links))], axis=1)
        if finding.links else np.zeros((P, 0, len(finding.states)))
        for f, finding in enumerate(kb.findings)
    )
    return Params(priors, tuple(cpts), activation, leaks, links)
