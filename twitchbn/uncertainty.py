"""How much an answer depends on the hand-set numbers: posterior intervals and sensitivity.

Each number has a plausible range (``twitchbn.ranges``). Two questions of a query:

* ``posterior_intervals``: redraw every number within its range (seeded), recompute the
  posteriors for each draw in ONE batched engine call, and report a central interval of
  ``probability`` and ``explains`` for every condition;
* ``sensitivity``: move each number alone to the ends of its range and rank the numbers by how
  far they move a condition's ``explains`` (a tornado). P(evidence) is linear in each table of
  the network, so every end comes exactly from a few passes and their gradients, not from one
  pass per number.

The rules, the draws and the derivation are in ``docs/uncertainty.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from twitchbn.engine import CAUSING, Engine, Sweep, Variant
from twitchbn.errors import EvidenceError, EvidenceTooComplexError, TwitchbnError, closest, shorten
from twitchbn.params import Params, status_table
from twitchbn.ranges import COVERAGE, Slot, build_params, draw, slots

# Work budget of the intervals, in step-table entries (twitchbn.engine; about 2 s here): heavy
# evidence gets fewer draws than asked, never fewer than MIN_DRAWS.
INTERVAL_ENTRIES = 1 << 25
MIN_DRAWS = 20
# Work budget of a tornado, in the same units: the numbers of a finding seen in a higher state
# need two passes of their own and the leaders at each end one pass per end; past the budget a
# finding's numbers are left out (listed in ``attrs["not_assessed"]``) and leaders are not named.
SENSITIVITY_ENTRIES = 1 << 25


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
    level, and ``draws_asked``: heavy evidence gets as many draws as ``INTERVAL_ENTRIES`` of work
    allow (at least ``MIN_DRAWS``, else it is refused in one line).

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
    affordable = INTERVAL_ENTRIES // (2 * model.cost(checked, [Variant()]))  # a full pass per draw
    if affordable < MIN_DRAWS:
        raise EvidenceTooComplexError(
            f"too many findings are set to a state other than the first for uncertainty intervals "
            f"({MIN_DRAWS} parameter draws would take too long); leave some of them unknown"
        )
    asked, draws = draws, min(draws, int(affordable))
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
    frame.attrs.update({"seed": seed, "draws": int(kept.sum()), "draws_asked": asked, "level": float(level), "evidence": dict(checked)})
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


class _Ratios:
    """P(e) and P(cause of the target, e) after moving one number, as ratios to their values now.

    Exact without a pass per number: P(e) is a sum over configurations of one entry of every
    table, so it is linear in each table (docs/uncertainty.md). A condition's table: the gradient
    of log P(e) (``Sweep.tables_gradient``). An exposure's prior or a finding seen "at most s"
    (a product over its parents): the posterior marginals. A finding seen in state s > 0:
    P(f = s, rest) = P(f <= s, rest) - P(f <= s - 1, rest), two product-form passes. An unseen
    finding's numbers change nothing. ``None`` where a ratio would divide by zero (then the
    number gets a pass of its own).
    """

    def __init__(self, model: Any, checked: Mapping[str, str], target: int):
        self.engine = model.engine
        self.evidence = {v: model.states(v).index(s) for v, s in checked.items()}
        self.clamp = {f"cause_{self.engine.condition_ids[target]}": 1}
        self.spent = 4 * self.engine.cost(self.evidence, [Variant()])  # two full passes
        if self.spent > SENSITIVITY_ENTRIES:
            raise EvidenceTooComplexError("too many findings are set to a state other than the first for the sensitivity "
                                          "of the hand-set numbers; leave some of them unknown")
        self.base = self.engine.sweep(self.evidence, [Variant(), self.engine.variant(self.clamp)], gradient=True)
        self.observed = {self.engine.key(v)[1]: s for v, s in self.evidence.items() if self.engine.key(v)[0] == "f"}
        self._positive: dict[int, Sweep] = {}

    def afford(self, entries: int) -> bool:
        """Spend ``entries`` of work if the budget allows."""
        if self.spent + entries > SENSITIVITY_ENTRIES:
            return False
        self.spent += entries
        return True

    def assessed(self, f: int) -> bool:
        """Whether a finding's numbers can be assessed: always unless it is seen in a higher state
        and its two passes do not fit the budget (then they are run now)."""
        s = self.observed.get(f, 0)
        if s == 0 or f in self._positive:
            return True
        rest = {v: i for v, i in self.evidence.items() if self.engine.key(v) != ("f", f)}
        name = self.engine.finding_ids[f]
        if not self.afford(8 * self.engine.cost(rest, [self.engine.variant(at_most={name: s})])):
            return False
        self._positive[f] = self.engine.sweep(rest, [self.engine.variant(clamp, at_most={name: bound})
                                                     for bound in (s, s - 1) for clamp in ({}, self.clamp)])
        return True

    def of(self, slot: Slot, params: Params, row: int) -> np.ndarray | None:
        """(ratio of P(e), ratio of P(cause, e)) with row ``row`` of ``params`` for ``slot``'s numbers."""
        engine, kind = self.engine, slot.kind
        if kind == "prior":
            x = slot.index[0]
            point, moved = engine.params.exposure_prior[x][0], params.exposure_prior[x][row]
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(moved == point, 1.0, moved / point)
            if not np.isfinite(factor).all():
                return None
            return self.base.exposures[:, x, : factor.size] @ factor
        if kind in ("baseline", "risk", "activation"):
            c = slot.index[0]
            start, table = engine.tables.p3_start[c], status_table(params.condition_cpt[c][row], params.activation[row, c])
            step = table - engine.tables.p3[0, start : start + len(table)]
            return 1.0 + np.einsum("brt,rt->b", self.base.tables_gradient[:, start : start + len(table)], step)
        f = slot.index[0]
        if f not in self.observed:
            return np.ones(2)
        s = self.observed[f]
        if s == 0:
            return self._factor(slot, params, row, self.base.status[0:2], 0)
        split = self._positive[f]
        at_s, below = self._factor(slot, params, row, split.status[0:2], s), self._factor(slot, params, row, split.status[2:4], s - 1)
        if at_s is None or below is None:
            return None
        weight = np.exp(split.log_z - np.tile(self.base.log_z, 2))  # P(f <= s, rest) and P(f <= s - 1, rest), over P(e)
        return weight[0:2] * at_s - weight[2:4] * below

    def _factor(self, slot: Slot, params: Params, row: int, status: np.ndarray, s: int) -> np.ndarray | None:
        """Ratio of P(f <= s, ...) when ``slot`` (a finding's leak or link) takes row ``row`` of
        ``params``; ``status`` is the (2, conditions, 3) posterior with f "at most s", without and
        with the target's cause clamped."""
        links, f = self.engine.links, slot.index[0]
        if slot.kind == "leak":
            old, new = links.leak_cum[0, f, s], np.cumsum(params.leak[f][row])[s]
            return None if old == 0.0 else np.full(2, new / old)
        j = slot.index[1]
        c = self.engine.finding_parents[f][j]
        old, new = links.cum[0, f, c, s], np.cumsum(params.link[f][row, j])[s]
        if old == 0.0:
            return None
        return status[:, c, :] @ np.where(links.active[f], new / old, 1.0)  # the parent's status decides


def sensitivity(model: Any, evidence: Mapping[str, Any] | None, condition: str | None = None, top: int | None = 10) -> pd.DataFrame:
    """Tornado: the hand-set numbers that move ``condition``'s explains most (default: the leader).

    Each number is moved alone to the low and then the high end of its plausible range (the other
    states of a distribution keep their proportions); one row per number, sorted by ``swing``
    (the larger of the two changes of ``explains``), with its ``where``, ``why`` and ``source``.
    ``top_at_low`` / ``top_at_high`` name the first-ranked condition at each end (a pass per end
    for the rows returned; None past the work budget ``SENSITIVITY_ENTRIES``). On heavy evidence
    the numbers of some findings seen in a higher state may be left out: ``attrs["not_assessed"]``
    names those findings.

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
    params = build_params(model.engine, slot_list, values)
    c = ids.index(target)
    ratios = _Ratios(model, checked, c)
    per_pass = 2 * model.cost(checked, [Variant()])
    base = float(np.exp(ratios.base.log_z[1] - ratios.base.log_z[0]))  # P(cause | e)
    ends = np.full(1 + 2 * len(moves), base)
    direct, left_out = [], set()  # rows whose ratio would divide by zero get a pass of their own
    for m, (k, _, _, _) in enumerate(moves):
        if slot_list[k].kind in ("leak", "link") and not ratios.assessed(slot_list[k].index[0]):
            left_out.add(m)
            continue
        for row in (1 + 2 * m, 2 + 2 * m):
            r = ratios.of(slot_list[k], params, row) if np.isfinite(ratios.base.log_z[1]) else None
            if r is None and ratios.afford(per_pass):
                direct.append(row)
            elif r is None:
                left_out.add(m)
            else:
                ends[row] = base * r[1] / r[0]
    if direct:
        ends[direct] = _explains(model, checked, slot_list, values, direct)[:, c]
    rows = []
    for m, (k, i, low, high) in enumerate(moves):
        if m in left_out:
            continue
        s = slot_list[k]
        number = s.number(i)
        at_low, at_high = ends[1 + 2 * m], ends[2 + 2 * m]
        rows.append({
            "where": number.where, "state": s.states[i], "point": float(s.point[i]), "low": float(low[i]), "high": float(high[i]),
            "explains_low": float(at_low), "explains_high": float(at_high), "swing": float(max(abs(at_low - base), abs(at_high - base))),
            "move": m, "why": number.why, "source": number.source,
        })
    frame = pd.DataFrame(rows, columns=["where", "state", "point", "low", "high", "explains_low", "explains_high", "swing",
                                        "move", "why", "source"])
    frame = frame.sort_values(["swing", "where", "state"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    frame = frame if top is None else frame.head(top).copy()
    shown = [row for m in frame["move"] for row in (1 + 2 * m, 2 + 2 * m)]
    leaders: list[str | None] = [None] * len(shown)
    if shown and ratios.afford(per_pass * len(shown)):
        leaders = [ids[i] for i in _leaders(_explains(model, checked, slot_list, values, shown), ids)]
    frame.insert(8, "top_at_low", leaders[0::2])
    frame.insert(9, "top_at_high", leaders[1::2])
    frame = frame.drop(columns="move")
    not_assessed = sorted({model.engine.finding_ids[slot_list[k].index[0]] if slot_list[k].kind in ("leak", "link")
                           else slot_list[k].number(i).where for k, i, _, _ in (moves[m] for m in left_out)})
    frame.attrs.update({"condition": target, "explains": base, "evidence": dict(checked), "not_assessed": not_assessed})
    return frame


def _explains(model: Any, checked: Mapping[str, str], slot_list: list[Slot], values: list[np.ndarray], rows: list[int]) -> np.ndarray:
    """Every condition's explains under the given rows of ``values``, one pass per row."""
    _, status = _status(model, checked, slot_list, [v[rows] for v in values])
    return status[:, :, CAUSING]
