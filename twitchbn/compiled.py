"""The exact forward-backward pass, compiled with numba: the one implementation of inference.

Every query, variant and parameter draw runs through ``run`` (derivation in docs/engine.md).
Each case (one evidence variant, optionally with its own row of a parameter batch) gets its own
frontier in a shared condition order (``twitchbn.frontier.Plan``):

* steps visit the conditions in the plan's order;
* the frontier after a step holds the exposures some later condition still needs (only the
  states the case allows) and one bit per positive finding whose parents are not all visited;
* a step builds its table over (status, exposures and findings open during the step), lets its
  condition move each open finding's "already reached the observed state" bit, sums out what
  leaves, and rescales; the backward pass gives every condition's status marginal and every
  exposure's marginal.

Every quantity is a sum of non-negative terms, so the pass is numerically stable. The backward
pass reuses the forward step tables when a case's tables fit ``keep``; otherwise it recomputes
each step from the stored incoming message (twice the forward work, memory of one step).
numba is imported with this module (on the first pass); the compiled code is cached on disk after its first use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from twitchbn.frontier import Plan
from twitchbn.params import LinkTables, Params, status_table


@dataclass(frozen=True)
class Tables:
    """Every number of the network as flat arrays for the kernel; a leading axis holds the rows
    of a parameter batch (1 for the point values)."""

    cp_stride: np.ndarray  # (nc, nx) stride of an exposure in the condition's table (0: not a parent)
    p3_start: np.ndarray  # (nc,) first row of the condition's table in p3
    p3: np.ndarray  # (P, rows, 3) P(absent, present not causing, causing | exposure states)
    parent: np.ndarray  # (nf, nc) bool
    dist: np.ndarray  # (P, nf, nc, S) noisy-MAX link distribution (non-parents never produce)
    cum: np.ndarray  # (P, nf, nc, S) its cumulative sums
    leak: np.ndarray  # (P, nf, S)
    leak_cum: np.ndarray  # (P, nf, S)
    active: np.ndarray  # (nf, 3) bool: statuses in which a parent can produce the finding


def tables(params: Params, links: LinkTables, condition_parents: list[tuple[int, ...]], exposure_card: list[int]) -> Tables:
    """Flatten ``params`` (every row of its batch) and its link tables for the kernel."""
    nc, nx = len(condition_parents), len(exposure_card)
    cp_stride = np.zeros((nc, nx), dtype=np.int64)
    p3_start = np.zeros(nc, dtype=np.int64)
    parts = []
    rows = 0
    for c, parents in enumerate(condition_parents):
        cpt = params.condition_cpt[c]  # (P, *parent cards)
        parts.append(np.stack([status_table(row, a) for row, a in zip(cpt, params.activation[:, c], strict=True)]))
        p3_start[c] = rows
        rows += parts[-1].shape[1]
        stride = 1
        for x in reversed(parents):
            cp_stride[c, x] = stride
            stride *= exposure_card[x]
    pb = max(part.shape[0] for part in parts)
    p3 = np.concatenate([np.broadcast_to(part, (pb, *part.shape[1:])) for part in parts], axis=1)
    return Tables(cp_stride, p3_start, np.ascontiguousarray(p3), links.parent, links.dist, links.cum, links.leak, links.leak_cum,
                  links.active)


def run(t: Tables, plan: Plan, unary: np.ndarray, xprior: np.ndarray, log_const: np.ndarray, pos_start: np.ndarray,
        pos_f: np.ndarray, pos_s: np.ndarray, marginals: np.ndarray,
        keep: np.ndarray, gradient: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """log P(evidence) (B,), status marginals (B, nc, 3), exposure marginals (B, nx, max card,
    zero-padded) and the gradient of log P(evidence) with respect to every entry of the
    conditions' tables ``t.p3`` (B, rows, 3) of each case, computed only if ``gradient`` asks (it
    costs about a tenth of the pass; otherwise empty); all but the first are zero where
    ``marginals`` is False. P(evidence) is linear in each condition's table, so the gradient gives
    it exactly under any change of one table (sensitivity).

    ``unary`` (B, nc, 3), ``xprior`` (B, nx, max card) and ``log_const`` (B,) are the cases'
    product-form evidence (``Engine._factors``); case b's positive findings with parents are
    ``pos_f[pos_start[b]:pos_start[b + 1]]`` in states ``pos_s[...]``; case b uses row b of a
    parameter batch (row 0 of a single set). ``keep[b]``: keep its step tables for the backward pass.
    """
    return _run(plan.order, plan.x_first, plan.x_last, plan.f_first, plan.f_last, t.cp_stride, t.p3_start, t.p3, t.parent,
                t.dist, t.cum, t.leak, t.leak_cum, t.active, unary, xprior, log_const, pos_start, pos_f, pos_s, marginals, keep,
                gradient)


# Rows of a step's layout table (one column per variable open during the step).
KIND, INDEX, CARD, IS_IN, IS_OUT, STRIDE, IN_STRIDE, OUT_STRIDE = range(8)
# Rows of a step's per-entry index table.
ROW, IN, OUT = range(3)


@njit(cache=True, nogil=True)
def _layout(k, x_first, x_last, nstates, fs, f_first, f_last, lay):  # pragma: no cover - compiled
    """Fill ``lay`` with the variables open during step k: exposures, then open findings (kind
    0 / 1), with card, whether each comes in from and goes out to the frontier, and strides in
    the step table and in the frontier before and after. Returns (variables, entries, in size, out size)."""
    nv = 0
    for x in range(x_first.shape[0]):
        if x_first[x] >= 0 and x_first[x] <= k <= x_last[x]:
            lay[KIND, nv], lay[INDEX, nv], lay[CARD, nv] = 0, x, nstates[x]
            lay[IS_IN, nv], lay[IS_OUT, nv] = x_first[x] < k, k < x_last[x]
            nv += 1
    for j in range(fs.shape[0]):
        f = fs[j]
        if f_first[f] <= k <= f_last[f]:
            lay[KIND, nv], lay[INDEX, nv], lay[CARD, nv] = 1, j, 2
            lay[IS_IN, nv], lay[IS_OUT, nv] = f_first[f] < k, k < f_last[f]
            nv += 1
    nu, ni, no = 1, 1, 1
    for v in range(nv - 1, -1, -1):
        lay[STRIDE, v] = nu
        nu *= lay[CARD, v]
        lay[IN_STRIDE, v] = ni if lay[IS_IN, v] else 0
        ni *= lay[CARD, v] if lay[IS_IN, v] else 1
        lay[OUT_STRIDE, v] = no if lay[IS_OUT, v] else 0
        no *= lay[CARD, v] if lay[IS_OUT, v] else 1
    return nv, nu, ni, no


@njit(cache=True, nogil=True)
def _step(c, b, alpha, nv, nu, lay, cp_stride, p3_start, p3, unary, xprior, states, odo, weight):  # pragma: no cover - compiled
    """Table (status x entries) of a step before its moves, and per entry the weight without the
    incoming message and its table row, in and out index (out -1: a closing finding unreached)."""
    table = np.zeros((3, nu))
    base = np.zeros(nu)
    index = np.zeros((3, nu), dtype=np.int64)
    # Odometer over the variables (last fastest): column v+1 of ``odo`` / ``weight`` holds the
    # running row, in and out index and weight once variables 0..v are set, so a step of the
    # odometer redoes only the variables that changed.
    for v in range(nv + 1):
        odo[:, v] = 0
        weight[v] = 1.0
    odo[ROW, 0] = p3_start[c]
    digit = odo[3]
    changed = 0
    for u in range(nu):
        for v in range(changed, nv):
            d = digit[v]
            row, i_in, i_out, w = odo[ROW, v], odo[IN, v] + d * lay[IN_STRIDE, v], odo[OUT, v], weight[v]
            if lay[KIND, v] == 0:
                x = lay[INDEX, v]
                state = states[x, d]
                if not lay[IS_IN, v]:
                    w *= xprior[b, x, state]
                row += state * cp_stride[c, x]
            elif not lay[IS_IN, v] and d == 1:
                w = 0.0  # an opening finding starts "not reached"
            if i_out >= 0:
                if lay[KIND, v] == 1 and not lay[IS_OUT, v] and d == 0:
                    i_out = -1
                else:
                    i_out += d * lay[OUT_STRIDE, v]
            odo[ROW, v + 1], odo[IN, v + 1], odo[OUT, v + 1], weight[v + 1] = row, i_in, i_out, w
        index[ROW, u], index[IN, u], index[OUT, u], base[u] = odo[ROW, nv], odo[IN, nv], odo[OUT, nv], weight[nv]
        a = alpha[odo[IN, nv]] * weight[nv]
        if a != 0.0:
            for t in range(3):
                table[t, u] = a * p3[odo[ROW, nv], t] * unary[b, c, t]
        changed = nv - 1
        while changed >= 0:
            digit[changed] += 1
            if digit[changed] < lay[CARD, changed]:
                break
            digit[changed] = 0
            changed -= 1
    return table, base, index


@njit(cache=True, nogil=True)
def _moves(table, f, s, c, st, opens, transpose, parent, dist, cum, leak, leak_cum, active):  # pragma: no cover - compiled
    """Bit ``st`` of the table is finding f's "reached": open it from the leak (if it opens at this
    step), then let condition c move it. ``transpose`` applies the adjoint, in reverse order, to
    carry the backward pass's gradient through the same two steps."""
    nu = table.shape[1]
    below, at = leak_cum[f, s - 1], leak[f, s]
    for phase in range(2):
        if opens and phase == (1 if transpose else 0):
            for hi in range(0, nu, 2 * st):
                for u in range(hi, hi + st):
                    for t in range(3):
                        v0, v1 = table[t, u], table[t, u + st]
                        table[t, u] = below * v0 + at * v1 if transpose else v0 * below
                        table[t, u + st] = 0.0 if transpose else v0 * at
        elif parent[f, c] and phase == (0 if transpose else 1):
            for t in range(3):
                if not active[f, t]:
                    continue
                stay, reach, kept = cum[f, c, s - 1], dist[f, c, s], cum[f, c, s]
                for hi in range(0, nu, 2 * st):
                    for u in range(hi, hi + st):
                        v0, v1 = table[t, u], table[t, u + st]
                        table[t, u] = stay * v0 + reach * v1 if transpose else v0 * stay
                        table[t, u + st] = kept * v1 if transpose else v0 * reach + v1 * kept


@njit(cache=True, nogil=True)
def _forward(k, c, b, alpha, fs, ss, lay, x_first, x_last, f_first, f_last, nstates, states, cp_stride, p3_start, p3, parent,
             dist, cum, leak, leak_cum, active, unary, xprior, odo, weight):  # pragma: no cover - compiled
    """Step k's table after its moves, with its per-entry weights and indices (``_step``) and its sizes."""
    nv, nu, ni, no = _layout(k, x_first, x_last, nstates, fs, f_first, f_last, lay)
    table, base, index = _step(c, b, alpha, nv, nu, lay, cp_stride, p3_start, p3, unary, xprior, states, odo, weight)
    for v in range(nv):  # findings open at this step: open from the leak, then move
        if lay[KIND, v] == 1:
            f, s = fs[lay[INDEX, v]], ss[lay[INDEX, v]]
            _moves(table, f, s, c, lay[STRIDE, v], not lay[IS_IN, v], False, parent, dist, cum, leak, leak_cum, active)
    return table, base, index, nv, nu, ni, no


@njit(cache=True, nogil=True)
def _run(order, x_first, x_last, f_first, f_last, cp_stride, p3_start, p3_all, parent, dist_all, cum_all, leak_all, leak_cum_all,
         active, unary, xprior, log_const, pos_start, pos_f, pos_s, marginals, keep, gradient):  # pragma: no cover - compiled
    nb, nc = unary.shape[0], unary.shape[1]
    nx, maxcard = xprior.shape[1], xprior.shape[2]
    log_z = np.empty(nb)
    status = np.zeros((nb, nc, 3))
    xmarg = np.zeros((nb, nx, maxcard))
    dp3 = np.zeros((nb if gradient else 0, p3_all.shape[1], 3))
    for b in range(nb):
        r = b if p3_all.shape[0] > 1 else 0  # this case's row of a parameter batch
        p3, dist, cum, leak, leak_cum = p3_all[r], dist_all[r], cum_all[r], leak_all[r], leak_cum_all[r]
        fs = pos_f[pos_start[b] : pos_start[b + 1]]
        ss = pos_s[pos_start[b] : pos_start[b + 1]]
        lay = np.zeros((8, nx + fs.shape[0]), dtype=np.int64)
        odo = np.zeros((4, nx + fs.shape[0] + 1), dtype=np.int64)
        weight = np.ones(nx + fs.shape[0] + 1)
        # Each exposure keeps only the states the case allows; one nobody needs is a constant.
        states = np.zeros((nx, maxcard), dtype=np.int64)
        nstates = np.zeros(nx, dtype=np.int64)
        logc = log_const[b]
        for x in range(nx):
            mass = 0.0
            for s in range(maxcard):
                if xprior[b, x, s] > 0.0:
                    states[x, nstates[x]] = s
                    nstates[x] += 1
                    mass += xprior[b, x, s]
            if x_first[x] < 0 or nstates[x] == 0:
                logc += math.log(mass) if mass > 0.0 else -math.inf
                for s in range(maxcard):  # outside the frontier: its (clamped) prior
                    xmarg[b, x, s] = xprior[b, x, s] / mass if mass > 0.0 else 0.0
        log_z[b] = -math.inf
        if logc == -math.inf:
            continue
        stored = marginals[b] and keep[b]
        tables, bases, indices = [np.zeros((3, 0))], [np.zeros(0)], [np.zeros((3, 0), dtype=np.int64)]
        alphas = [np.ones(1)]  # alphas[k + 1]: the message entering step k (for the backward pass)
        alpha = np.ones(1)
        log_scale = 0.0
        for k in range(nc):
            if marginals[b]:
                alphas.append(alpha)
            table, base, index, nv, nu, ni, no = _forward(k, order[k], b, alpha, fs, ss, lay, x_first, x_last, f_first, f_last,
                                                          nstates, states, cp_stride, p3_start, p3, parent, dist, cum, leak,
                                                          leak_cum, active, unary, xprior, odo, weight)
            out = np.zeros(no)
            for u in range(nu):
                if index[OUT, u] >= 0:
                    out[index[OUT, u]] += table[0, u] + table[1, u] + table[2, u]
            top = out.max()
            if top <= 0.0:
                log_scale = -math.inf
                break
            alpha = out / top
            log_scale += math.log(top)
            if stored:
                tables.append(table)
                bases.append(base)
                indices.append(index)
        if log_scale == -math.inf:
            continue
        log_z[b] = math.log(alpha[0]) + log_scale + logc
        if not marginals[b]:
            continue
        beta = np.ones(1)
        for k in range(nc - 1, -1, -1):
            c = order[k]
            if stored:
                nv, nu, ni, no = _layout(k, x_first, x_last, nstates, fs, f_first, f_last, lay)
                table, base, index = tables[k + 1], bases[k + 1], indices[k + 1]
            else:
                table, base, index, nv, nu, ni, no = _forward(k, c, b, alphas[k + 1], fs, ss, lay, x_first, x_last, f_first, f_last,
                                                              nstates, states, cp_stride, p3_start, p3, parent, dist, cum, leak,
                                                              leak_cum, active, unary, xprior, odo, weight)
            grad = np.zeros((3, nu))
            for u in range(nu):
                if index[OUT, u] >= 0:
                    g = beta[index[OUT, u]]
                    for t in range(3):
                        grad[t, u] = g
            total = 0.0
            for t in range(3):
                acc = 0.0
                for u in range(nu):
                    acc += table[t, u] * grad[t, u]
                status[b, c, t] = acc
                total += acc
            if total > 0.0:
                for t in range(3):
                    status[b, c, t] /= total
            for v in range(nv):  # an exposure entering the frontier here: its marginal from this step
                if lay[KIND, v] == 0 and not lay[IS_IN, v] and total > 0.0:
                    x = lay[INDEX, v]
                    for u in range(nu):
                        d = (u // lay[STRIDE, v]) % lay[CARD, v]
                        xmarg[b, x, states[x, d]] += (table[0, u] * grad[0, u] + table[1, u] * grad[1, u]
                                                      + table[2, u] * grad[2, u]) / total
            for v in range(nv - 1, -1, -1):  # the moves and openings, transposed, in reverse
                if lay[KIND, v] == 1:
                    f, s = fs[lay[INDEX, v]], ss[lay[INDEX, v]]
                    _moves(grad, f, s, c, lay[STRIDE, v], not lay[IS_IN, v], True, parent, dist, cum, leak, leak_cum, active)
            new = np.zeros(ni)
            alpha_in = alphas[k + 1]
            for u in range(nu):
                if base[u] != 0.0:
                    acc = 0.0
                    row = index[ROW, u]
                    share = base[u] * alpha_in[index[IN, u]] / total if gradient and total > 0.0 else 0.0
                    for t in range(3):
                        g = grad[t, u] * unary[b, c, t]
                        acc += g * p3[row, t]
                        if gradient:
                            dp3[b, row, t] += g * share  # d log P(e) / d (this table entry)
                    new[index[IN, u]] += acc * base[u]
            top = new.max()
            beta = new / top if top > 0.0 else new
    return log_z, status, xmarg, dp3
