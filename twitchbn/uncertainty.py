"""How much an answer depends on the hand-set numbers: ranges, posterior intervals, sensitivity.

Every number of the knowledge base is hand-set. This module gives each one a plausible range
(``plausible_range``: the number's own ``range``, else a documented rule by strength of evidence),
then asks two questions of a query:

* ``posterior_intervals``: redraw every number within its range (seeded), recompute the
  posteriors for each draw in ONE batched engine pass, and report a central interval of
  ``probability`` and ``explains`` for every condition;
* ``sensitivity``: move each number alone to the ends of its range (again one batched pass) and
  rank the numbers by how far they move the leading condition's ``explains`` (a tornado).

The rule and the draws are described in ``docs/uncertainty.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.engine import CAUSING, Engine, Variant
from twitchbn.errors import EvidenceError, TwitchbnError, closest, shorten
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


def _status(model: Any, checked: Mapping[str, str], slot_list: list[Slot], values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """log P(evidence) and condition status for every parameter row, in one batched sweep (the
    engine splits it into memory-bounded chunks)."""
    evidence = {v: model.states(v).index(s) for v, s in checked.items()}
    rows = values[0].shape[0]
    sweep = Engine(model.kb, build_params(model.engine, slot_list, values)).sweep(evidence, [Variant()] * rows)
    return sweep.log_z, sweep.status


def _check_evidence(model: Any, evidence: Mapping[str, Any] | None):
    checked = model.check_evidence(evidence)
    return checked, model.query(checked)  # refuses impossible evidence with the usual message


def _leaders(explains: np.ndarray, ids: list[str]) -> np.ndarray:
    """Index of the first-ranked condition per row (explains descending, ties by id)."""
    by_id = np.argsort(np.argsort(ids))
    return np.lexsort((np.broadcast_to(by_id, explains.shape), -explains), axis=-1)[..., 0]


# -- posterior intervals -------------------------------------------------------------------------
def posterior_intervals(model: Any, evidence: Mapping[str, Any] | None, draws: int = 200, seed: int = 0,
                        level: float = COVERAGE) -> pd.DataFrame:
    """Central ``level`` intervals of every condition's probability and explains.

    ``draws`` parameter sets are drawn within the plausible ranges with
    ``numpy.random.default_rng(seed)``, so the same seed gives the same intervals. The frame is
    ordered like ``model.query(evidence).conditions`` and holds the point estimates, the bounds
    (widened to include the point in the rare case it falls outside), and ``share_first``: the
    share of draws in which the condition ranks first. ``frame.attrs`` reports seed, draws and
    level.

    >>> import twitchbn
    >>> model = twitchbn.load_model()
    >>> frame = posterior_intervals(model, {"twitch_eyelid": "yes"}, seed=1)
    >>> frame.attrs["seed"], frame.attrs["draws"]
    (1, 200)
    >>> bool((frame["explains_low"] <= frame["explains"]).all())
    True
    """
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 2:
        raise TwitchbnError(f"draws must be a whole number of at least 2; got {shorten(draws)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TwitchbnError(f"seed must be a whole number >= 0; got {shorten(seed)}")
    if not isinstance(level, float | int) or not 0.0 < level < 1.0:
        raise TwitchbnError(f"level must be a fraction between 0 and 1 (e.g. 0.9); got {shorten(level)}")
    checked, point = _check_evidence(model, evidence)
    slot_list = slots(model.kb)
    log_z, status = _status(model, checked, slot_list, draw(slot_list, draws, np.random.default_rng(seed)))
    kept = np.isfinite(log_z)
    prob, expl = status[kept, :, 1:].sum(axis=2), status[kept, :, CAUSING]
    ids = [c.id for c in model.kb.conditions]
    tail = (1.0 - level) / 2.0
    frame = point.conditions[["label", "probability", "explains"]].copy()
    for name, arr in (("probability", prob), ("explains", expl)):
        low, high = np.quantile(arr, [tail, 1.0 - tail], axis=0)
        series = frame[name].to_numpy()
        frame[f"{name}_low"] = pd.Series(low, index=ids).loc[frame.index].to_numpy()
        frame[f"{name}_high"] = pd.Series(high, index=ids).loc[frame.index].to_numpy()
        frame[f"{name}_low"] = np.minimum(frame[f"{name}_low"], series)
        frame[f"{name}_high"] = np.maximum(frame[f"{name}_high"], series)
    first = np.bincount(_leaders(expl, ids), minlength=len(ids)) / max(int(kept.sum()), 1)
    frame["share_first"] = pd.Series(first, index=ids).loc[frame.index].to_numpy()
    frame = frame[["label", "probability", "probability_low", "probability_high",
                   "explains", "explains_low", "explains_high", "share_first"]]
    frame.attrs.update({"seed": seed, "draws": int(kept.sum()), "level": float(level), "evidence": dict(checked)})
    return frame


# -- sensitivity ---------------------------------------------------------------------------------
def _moves(slot_list: list[Slot]) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(slot, state, value at the low end, value at the high end) for every movable number."""
    out = []
    for k, s in enumerate(slot_list):
        states = [1] if s.point.size == 2 else range(s.point.size)
        for i in states:
            if s.high[i] <= s.low[i] or s.point[i] >= 1.0:
                continue
            ends = []
            for target in (s.low[i], s.high[i]):
                value = s.point * (1.0 - target) / (1.0 - s.point[i])  # others keep their proportions
                value[i] = target
                ends.append(value)
            out.append((k, i, ends[0], ends[1]))
    return out


def sensitivity(model: Any, evidence: Mapping[str, Any] | None, condition: str | None = None, top: int | None = 10) -> pd.DataFrame:
    """Tornado: the hand-set numbers that move ``condition``'s explains most (default: the leader).

    Each number is moved alone to the low and then the high end of its plausible range (the other
    states of a distribution keep their proportions); one row per number, sorted by ``swing``
    (the larger of the two changes of ``explains``), with its ``where``, ``why`` and ``source``.
    ``top_at_low`` / ``top_at_high`` name the first-ranked condition at each end.

    >>> import twitchbn
    >>> model = twitchbn.load_model()
    >>> tornado = sensitivity(model, {"twitch_eyelid": "yes"}, top=3)
    >>> tornado.attrs["condition"] == model.query({"twitch_eyelid": "yes"}).top, len(tornado)
    (True, 3)
    """
    checked, point = _check_evidence(model, evidence)
    ids = [c.id for c in model.kb.conditions]
    target = point.top if condition is None else condition
    if target not in ids:
        hint = ", ".join(closest(str(target), ids))
        raise EvidenceError(f"condition '{shorten(target)}' is not a condition; closest valid ids: {hint}", variable=str(target))
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise TwitchbnError(f"top must be a whole number of at least 1 (or None for all); got {shorten(top)}")
    slot_list = slots(model.kb)
    moves = _moves(slot_list)
    values = [np.broadcast_to(s.point, (1 + 2 * len(moves), s.point.size)).copy() for s in slot_list]
    for m, (k, _, low, high) in enumerate(moves):
        values[k][1 + 2 * m] = low
        values[k][2 + 2 * m] = high
    _, status = _status(model, checked, slot_list, values)
    explains = status[:, :, CAUSING]
    c = ids.index(target)
    leaders = [ids[i] for i in _leaders(explains, ids)]
    base = explains[0, c]
    rows = []
    for m, (k, i, low, high) in enumerate(moves):
        s = slot_list[k]
        number = s.number(i)
        at_low, at_high = explains[1 + 2 * m, c], explains[2 + 2 * m, c]
        rows.append({
            "where": number.where, "state": s.states[i], "point": float(s.point[i]), "low": float(low[i]), "high": float(high[i]),
            "explains_low": float(at_low), "explains_high": float(at_high), "swing": float(max(abs(at_low - base), abs(at_high - base))),
            "top_at_low": leaders[1 + 2 * m], "top_at_high": leaders[2 + 2 * m], "why": number.why, "source": number.source,
        })
    frame = pd.DataFrame(rows, columns=["where", "state", "point", "low", "high", "explains_low", "explains_high", "swing",
                                        "top_at_low", "top_at_high", "why", "source"])
    frame = frame.sort_values(["swing", "where", "state"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    frame.attrs.update({"condition": target, "explains": float(base), "evidence": dict(checked)})
    return frame if top is None else frame.head(top)
