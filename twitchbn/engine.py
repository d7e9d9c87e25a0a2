"""Exact inference specialised to twitchbn's layered noisy-MAX network.

Why not pgmpy's ``VariableElimination`` or ``BeliefPropagation``: the twitch findings are
noisy-MAX children of up to ~20 condition nodes. Expanded, their tables grow as 2^parents and a
generic junction tree over the decomposed network is exponential in the number of *observed*
findings. This engine uses two exact identities instead:

* a finding observed in its first ("nothing") state, or constrained to ``<= s``, factorises into
  one small factor per parent condition (the noisy-MAX cumulative is a product), so negative
  findings cost nothing;
* a finding observed in a higher state needs a two-state accumulator ("has a parent produced
  state s yet?") that walks through its parents in a fixed condition order.

Inference is then a forward-backward pass along the condition order over a small frontier
(shared, unobserved exposures and open accumulators): cost grows as 2^(positive findings open at
once), not 2^(all findings). Every quantity is a sum of non-negative terms, so it is numerically
stable. The pass is batched: many evidence *variants* that share a frontier (candidate answers
for the next question, clamped exposures, parameter draws) run in one vectorised sweep.

The engine works on the validated ``Knowledge`` directly; ``twitchbn.model`` builds the same
distribution as a pgmpy network, and the tests check both against each other and pyAgrum.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np

from twitchbn._tensor import contract, normalise, pick, scale, split, total
from twitchbn.errors import EvidenceTooComplexError
from twitchbn.knowledge import Knowledge

ABSENT, QUIET, CAUSING = 0, 1, 2
MAX_ENTRIES = 1 << 21  # largest table (entries, all variants of a chunk) a sweep may build: ~16 MB
_LETTERS = string.ascii_letters


@dataclass(frozen=True)
class Params:
    """All numbers of the network as arrays (a leading batch axis allows parameter draws)."""

    exposure_prior: tuple[np.ndarray, ...]  # per exposure: (P, card)
    condition_cpt: tuple[np.ndarray, ...]  # per condition: (P, *parent cards) = P(present | parents)
    activation: np.ndarray  # (P, n_conditions)
    leak: tuple[np.ndarray, ...]  # per finding: (P, n_states)
    link: tuple[np.ndarray, ...]  # per finding: (P, n_parents, n_states)


@dataclass(frozen=True)
class Variant:
    """Extra product-form evidence applied on top of the base evidence.

    ``clamps`` maps a variable index key (``("x", i)`` exposure, ``("c", i)`` condition
    presence, ``("k", i)`` cause node) to a state index; ``at_most`` maps a finding index to a
    state index s meaning "finding <= s"; ``positive`` maps a finding index to an observed
    state s > 0. Positive findings do change the frontier: a sweep carries an accumulator for
    every positive finding of any variant, neutral in the variants that do not observe it, so
    cases with overlapping positive findings share one pass (batch scoring).
    """

    clamps: tuple[tuple[tuple[str, int], int], ...] = ()
    at_most: tuple[tuple[int, int], ...] = ()
    positive: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Sweep:
    """Result of one batched pass: per variant, log P(evidence) and posterior marginals."""

    log_z: np.ndarray  # (B,)
    status: np.ndarray | None  # (B, n_conditions, 3): absent / present-not-causing / causing
    exposures: np.ndarray | None  # (B, n_exposures, max card), zero-padded


def noisy_or_table(baseline: float, parents: list[tuple[int, dict[int, float]]]) -> np.ndarray:
    """P(present | parent states) of a noisy-OR over exposure states, as an array.

    ``parents`` lists (cardinality, {state index: link probability}).
    """
    table = np.full(tuple(card for card, _ in parents), 1.0 - baseline)
    for axis, (card, links) in enumerate(parents):
        factor = np.ones(card)
        for state, p in links.items():
            factor[state] = 1.0 - p
        shape = [1] * len(parents)
        shape[axis] = card
        table = table * factor.reshape(shape)
    return 1.0 - table


class Engine:
    """Compiled structure of a knowledge base plus the batched exact sweep."""

    def __init__(self, kb: Knowledge, params: Params | None = None):
        self.kb = kb
        self.exposure_ids = [e.id for e in kb.exposures]
        self.condition_ids = [c.id for c in kb.conditions]
        self.finding_ids = [f.id for f in kb.findings]
        self.exposure_card = [len(e.states) for e in kb.exposures]
        self.finding_card = [len(f.states) for f in kb.findings]
        x_index = {x: i for i, x in enumerate(self.exposure_ids)}
        c_index = {c: i for i, c in enumerate(self.condition_ids)}
        self.condition_parents = [tuple(x_index[x] for x in c.parents) for c in kb.conditions]
        self.finding_parents = [tuple(c_index[link.condition] for link in f.links) for f in kb.findings]
        self.finding_causing = [f.driven_by == "causing" for f in kb.findings]
        self._keys: dict[str, tuple[str, int]] = {}
        self._keys.update({x: ("x", i) for i, x in enumerate(self.exposure_ids)})
        self._keys.update({c: ("c", i) for i, c in enumerate(self.condition_ids)})
        self._keys.update({f"cause_{c}": ("k", i) for i, c in enumerate(self.condition_ids)})
        self._keys.update({f: ("f", i) for i, f in enumerate(self.finding_ids)})
        self._x_ids = frozenset(self.exposure_ids)
        self._orders: dict[tuple, tuple[int, ...]] = {}
        self.params = params if params is not None else self.point_params()
        self.order = self._condition_order()
        self.position = {c: k for k, c in enumerate(self.order)}
        self._children: dict[int, list[int]] = {}
        for c, pa in enumerate(self.condition_parents):
            for x in pa:
                self._children.setdefault(x, []).append(c)

    # -- parameters -------------------------------------------------------------------------
    def point_params(self) -> Params:
        """The hand-set point values of the knowledge base as arrays (batch of one)."""
        kb = self.kb
        priors = tuple(np.asarray([e.prior_vector]) for e in kb.exposures)
        cpts = []
        for c in kb.conditions:
            states = {x: self.kb.exposure(x).states for x in c.parents}
            parents = []
            for x in c.parents:
                links = {states[x].index(rf.state): float(rf.number.value) for rf in c.risk_factors if rf.exposure == x}
                parents.append((len(states[x]), links))
            cpts.append(noisy_or_table(float(c.baseline.value), parents)[None])
        activation = np.asarray([[float(c.causes_twitching.value) for c in kb.conditions]])
        leaks = tuple(np.asarray([_dist(f.leak.value, len(f.states))]) for f in kb.findings)
        links = tuple(
            np.asarray([[_dist(link.number.value, len(f.states)) for link in f.links]]).reshape(1, len(f.links), len(f.states))
            for f in kb.findings
        )
        return Params(priors, tuple(cpts), activation, leaks, links)

    def _condition_order(self) -> list[int]:
        """A fixed elimination order that keeps accumulators short-lived.

        Greedy: start from the condition with the most finding links, then repeatedly take the
        condition sharing the most findings and exposures with those already placed.
        """
        n = len(self.condition_ids)
        touches = [set() for _ in range(n)]
        for f, parents in enumerate(self.finding_parents):
            for c in parents:
                touches[c].add(("f", f))
        for c, pa in enumerate(self.condition_parents):
            touches[c].update(("x", x) for x in pa)
        remaining = set(range(n))
        order: list[int] = []
        open_items: set = set()
        while remaining:
            best = max(sorted(remaining), key=lambda c: (len(touches[c] & open_items), -len(touches[c]) if order else len(touches[c])))
            order.append(best)
            remaining.discard(best)
            open_items |= touches[best]
            still_needed = set().union(*(touches[c] for c in remaining)) if remaining else set()
            open_items &= still_needed
        return order

    # -- the sweep ----------------------------------------------------------------------------
    def sweep(self, evidence: dict[str, int], variants: list[Variant] | None = None, marginals: bool = True) -> Sweep:
        """Exact pass for ``evidence`` (variable id -> state index) and each variant.

        Variants must only add product-form evidence (clamps, findings at most a state); the
        base evidence decides the frontier. Returns log P(evidence, variant) and, if asked,
        posterior marginals of every condition's status and every exposure.
        """
        variants = variants or [Variant()]
        B = len(variants)
        P = self.params
        pb = P.activation.shape[0]  # parameter batch (1, or one per variant)
        nc = len(self.condition_ids)
        order, span = self._plan(evidence, variants)
        width = self._widest(span)
        if width > MAX_ENTRIES:
            raise EvidenceTooComplexError(
                f"exact inference for this evidence would need tables of {width:,} entries (limit {MAX_ENTRIES:,}): "
                f"too many findings are set to a state other than the first at once; leave some of them unknown"
            )
        rows = max(1, MAX_ENTRIES // width)
        if rows < B:  # memory-bounded chunks of variants (rows are independent)
            parts = [self._chunk(evidence, variants, start, min(B, start + rows), marginals) for start in range(0, B, rows)]
            return Sweep(
                np.concatenate([p.log_z for p in parts]),
                None if not marginals else np.concatenate([p.status for p in parts]),
                None if not marginals else np.concatenate([p.exposures for p in parts]),
            )

        # Unary factor on each condition's status, per variant: (B, nc, 3).
        unary = np.ones((B, nc, 3))
        act = P.activation  # (pb, nc)
        log_const = np.zeros(B)
        # Exposure priors per variant: list of (B, card)
        xprior = [np.broadcast_to(P.exposure_prior[i], (B, card)).copy() for i, card in enumerate(self.exposure_card)]
        accumulators: dict[int, np.ndarray] = {}  # finding index -> observed state per variant (0: neutral)

        def clamp(key: tuple[str, int], state: int, rows: slice | int) -> None:
            kind, i = key
            if kind == "x":
                mask = np.zeros(self.exposure_card[i])
                mask[state] = 1.0
                xprior[i][rows] = xprior[i][rows] * mask
            elif kind == "c":
                unary[rows, i, :] *= np.array([1.0, 0.0, 0.0]) if state == 0 else np.array([0.0, 1.0, 1.0])
            else:  # cause node
                unary[rows, i, :] *= np.array([1.0, 1.0, 0.0]) if state == 0 else np.array([0.0, 0.0, 1.0])

        def at_most(f: int, s: int, rows: slice | int) -> None:
            leak = P.leak[f]  # (pb, S)
            link = P.link[f]  # (pb, n_par, S)
            cum_leak = leak[:, : s + 1].sum(axis=1)  # (pb,)
            cum_link = link[:, :, : s + 1].sum(axis=2)  # (pb, n_par)
            with np.errstate(divide="ignore"):
                log_const[rows] += np.log(pick(cum_leak, rows, pb))
            for j, c in enumerate(self.finding_parents[f]):
                z = pick(cum_link[:, j], rows, pb)
                if self.finding_causing[f]:
                    unary[rows, c, CAUSING] *= z
                else:
                    unary[rows, c, QUIET] *= z
                    unary[rows, c, CAUSING] *= z

        for var, state in evidence.items():
            key = self.key(var)
            if key[0] == "f":
                if state == 0:
                    at_most(key[1], 0, slice(None))
                else:
                    accumulators[key[1]] = np.full(B, state)
            else:
                clamp(key, state, slice(None))
        for b, variant in enumerate(variants):
            for key, state in variant.clamps:
                clamp(key, state, b)
            for f, s in variant.at_most:
                at_most(f, s, b)
            for f, s in variant.positive:
                states = accumulators.setdefault(f, np.zeros(B, dtype=int))
                if states[b] not in (0, s):
                    raise ValueError(f"variant {b} observes finding {self.finding_ids[f]} in two states")
                states[b] = s

        # Exposures outside the frontier (observed in the base evidence, or with no condition
        # depending on them) contribute a constant: their (clamped) prior mass.
        for x in range(len(self.exposure_ids)):
            if ("x", x) not in span:
                with np.errstate(divide="ignore"):
                    log_const += np.log(xprior[x].sum(axis=1))
        acc_info = {}
        for f, states in accumulators.items():
            parents = self.finding_parents[f]
            below, at, _ = split(P.leak[f], states)
            init = np.stack([below, at], axis=1)  # (B, 2): not yet / already at the observed state
            if not parents:
                with np.errstate(divide="ignore"):
                    log_const += np.log(init[:, 1] + (states == 0))
                continue
            acc_info[f] = (states, init)

        observed = {self._keys[v][1]: state for v, state in evidence.items() if v in self._x_ids}
        steps = [self._step_factors(order[k], k, span, acc_info, xprior, unary, act, observed) for k in range(nc)]

        # Forward pass. alphas[k] is the message entering step k (axes: its frontier); pre[k]
        # keeps the step's own letters (status, entering exposures) beside the new frontier so
        # that the backward pass gets each step's marginals with one product. A step whose
        # factors touch no frontier variable only rescales the message.
        alphas: list[np.ndarray] = []
        pre: list[np.ndarray | None] = []
        log_scale = np.zeros(B)
        alpha = np.ones((B,))
        for k in range(nc):
            alphas.append(alpha)
            factors, out_vars, info = steps[k]
            if info["isolated"]:
                pre.append(None)
                with np.errstate(divide="ignore"):
                    log_scale = log_scale + np.log(total(factors[0][0], B))
                continue
            local = info["local"]
            joint = contract([(alpha, info["in"]), *factors], out_vars + local) if marginals else None
            if joint is None:
                step_out = contract([(alpha, info["in"]), *factors], out_vars)
            else:
                step_out = np.einsum(f"...{out_vars}{local}->...{out_vars}", joint)
            factor = scale(step_out, B)
            alpha = step_out / factor.reshape((B,) + (1,) * (step_out.ndim - 1))
            pre.append(None if joint is None else joint / factor.reshape((B,) + (1,) * (joint.ndim - 1)))
            with np.errstate(divide="ignore"):
                log_scale = log_scale + np.log(factor)
        with np.errstate(divide="ignore"):
            log_z = np.log(alpha.reshape(B)) + log_scale + log_const
        if not marginals:
            return Sweep(log_z, None, None)

        # Backward pass: marginals of step k = pre[k] summed against beta_k.
        status = np.zeros((B, nc, 3))
        xmarg = np.zeros((B, len(self.exposure_ids), max(self.exposure_card)))
        beta = np.ones((B,))
        for k in reversed(range(nc)):
            factors, out_vars, info = steps[k]
            local = info["status"] + "".join(info["entering_x"].values())  # the step's marginals
            if info["isolated"]:
                joint = np.broadcast_to(factors[0][0], (B, *factors[0][0].shape[1:]))
                joint = np.einsum(f"...{factors[0][1]}->...{local}", joint)
            else:
                joint = np.einsum(f"...{out_vars}{info['local']},...{out_vars}->...{local}", pre[k], beta)
                beta = contract([*factors, (beta, out_vars)], info["in"])
                beta = beta / scale(beta, B).reshape((B,) + (1,) * (beta.ndim - 1))
            status[:, order[k], :] = normalise(np.einsum(f"...{local}->...{info['status']}", joint))
            for x, letter in info["entering_x"].items():
                xmarg[:, x, : self.exposure_card[x]] = normalise(np.einsum(f"...{local}->...{letter}", joint))
        for x in range(len(self.exposure_ids)):
            if ("x", x) not in span:
                xmarg[:, x, : self.exposure_card[x]] = normalise(xprior[x])
        return Sweep(log_z, status, xmarg)

    def _chunk(self, evidence: dict[str, int], variants: list[Variant], start: int, stop: int, marginals: bool) -> Sweep:
        """``sweep`` over variants[start:stop] (with their rows of a parameter batch)."""
        engine = self
        if self.params.activation.shape[0] > 1:
            engine = Engine(self.kb, _rows(self.params, start, stop))
        return engine.sweep(evidence, variants[start:stop], marginals)

    def width(self, evidence: dict[str, int], variants: list[Variant]) -> int:
        """Entries of the largest table a sweep of one variant builds (frontier x status x one move).

        Depends only on which findings are positive and which exposures are observed.
        """
        return self._widest(self._plan(evidence, variants)[1])

    def _widest(self, span: dict[tuple[str, int], tuple[int, int]]) -> int:
        """Largest table of a sweep with these spans: frontier open at a step x 3 states x one move."""
        cards = {v: (self.exposure_card[v[1]] if v[0] == "x" else 2) for v in span}
        return max(
            6 * math.prod(cards[v] for v, (a, b) in span.items() if a <= k <= b) for k in range(len(self.condition_ids))
        )

    def _plan(self, evidence: dict[str, int], variants: list[Variant]) -> tuple[tuple[int, ...], dict[tuple[str, int], tuple[int, int]]]:
        """Condition order of a sweep and the span (first, last step) of each frontier variable.

        The frontier holds the unobserved exposures some condition depends on (an exposure in the
        base evidence is sliced out) and an accumulator per positive finding with parents.
        """
        positive = {self._keys[v][1] for v, s in evidence.items() if s > 0 and self._keys[v][0] == "f"}
        positive.update(f for variant in variants for f, _ in variant.positive)
        observed = frozenset(k for k in evidence if k in self._x_ids)
        order = self.sweep_order(tuple(sorted(positive)), observed)
        position = {c: k for k, c in enumerate(order)}
        span: dict[tuple[str, int], tuple[int, int]] = {}
        for x, kids in self._children.items():
            if self.exposure_ids[x] not in observed:
                pos = [position[c] for c in kids]
                span[("x", x)] = (min(pos), max(pos))
        for f in sorted(positive):
            if self.finding_parents[f]:
                pos = [position[c] for c in self.finding_parents[f]]
                span[("a", f)] = (min(pos), max(pos))
        return order, span

    def key(self, var: str) -> tuple[str, int]:
        """Engine key of a network variable: exposure, condition, finding or cause node."""
        return self._keys[var]

    def sweep_order(self, positive: tuple[int, ...], observed: frozenset[str]) -> tuple[int, ...]:
        """Condition order for a pass: greedy, each step adding the condition that keeps the
        frontier (open accumulators of ``positive`` findings, unobserved shared exposures)
        smallest. Cached per evidence shape; any order gives the same exact answer.
        """
        key = (positive, observed)
        if key not in self._orders:
            items = [(frozenset(self.finding_parents[f]), 2) for f in positive if self.finding_parents[f]]
            items += [(frozenset(kids), self.exposure_card[x]) for x, kids in self._children.items()
                      if self.exposure_ids[x] not in observed and len(kids) > 1]
            placed: set[int] = set()
            order: list[int] = []
            for _ in range(len(self.condition_ids)):
                def cost(c: int) -> tuple[int, int, int]:
                    done = placed | {c}
                    size = math.prod(card for parents, card in items if parents & done and not parents <= done)
                    closed = sum(1 for parents, _ in items if c in parents and parents <= done)
                    return (size, -closed, self.position[c])
                best = min((c for c in self.order if c not in placed), key=cost)
                order.append(best)
                placed.add(best)
            if len(self._orders) > 4096:
                self._orders.clear()
            self._orders[key] = tuple(order)
        return self._orders[key]

    def _step_factors(self, c, k, span, acc_info, xprior, unary, act, observed):
        """Factors of step k (condition c) as (array, letters) pairs and the new frontier's letters."""
        letters = iter(_LETTERS)
        # Letters of the incoming frontier are assigned by the caller's alpha: we rebuild the
        # frontier variable list deterministically from spans.
        before = [v for v, (a, b) in span.items() if a < k <= b]
        after = [v for v, (a, b) in span.items() if a <= k < b]
        entering = [v for v, (a, _) in span.items() if a == k]
        table: dict[tuple[str, int] | str, str] = {}
        for v in before:
            table[v] = next(letters)
        for v in entering:
            table[v] = next(letters)
        s_letter = next(letters)
        factors: list[tuple[np.ndarray, str]] = []
        entering_x = {}
        for v in entering:
            if v[0] == "x":
                factors.append((xprior[v[1]], table[v]))
                entering_x[v[1]] = table[v]
            else:
                _, init = acc_info[v[1]]
                factors.append((init, table[v]))
        # Status prior given exposure parents: (pb, *pa, 3)
        cpt = self.params.condition_cpt[c]
        for axis, x in reversed(list(enumerate(self.condition_parents[c], start=1))):
            if x in observed:  # an observed exposure is sliced out of the table
                cpt = np.take(cpt, observed[x], axis=axis)
        a = act[:, c].reshape((-1,) + (1,) * (cpt.ndim - 1))
        prior3 = np.stack([1.0 - cpt, cpt * (1.0 - a), cpt * a], axis=-1)
        pa_letters = "".join(table[("x", x)] for x in self.condition_parents[c] if x not in observed)
        u = unary[:, c, :].reshape((unary.shape[0],) + (1,) * (prior3.ndim - 2) + (3,))
        factors.insert(0, (prior3 * u, pa_letters + s_letter))
        out_table = {}
        for v in after:
            if v[0] == "a" and c in self.finding_parents[v[1]]:
                out_table[v] = next(letters)
            else:
                out_table[v] = table[v]
        # Transitions of open accumulators whose finding has c as a parent.
        for v in list(table):
            if not (isinstance(v, tuple) and v[0] == "a" and c in self.finding_parents[v[1]]):
                continue
            f = v[1]
            states, _ = acc_info[f]
            j = self.finding_parents[f].index(c)
            below, at, upto = split(self.params.link[f][:, j, :], states)
            trans = np.zeros((len(states), 2, 3, 2))
            active = [CAUSING] if self.finding_causing[f] else [QUIET, CAUSING]
            for st in range(3):
                if st in active:
                    trans[:, 0, st, 0] = below
                    trans[:, 0, st, 1] = at
                    trans[:, 1, st, 1] = upto
                else:
                    trans[:, 0, st, 0] = 1.0
                    trans[:, 1, st, 1] = 1.0
            if span[v][1] == k:  # last parent: select "reached" (both, where the variant is neutral)
                select = np.stack([(states == 0).astype(float), np.ones(len(states))], axis=1)
                factors.append((np.einsum("zasy,zy->zas", trans, select), table[v] + s_letter))
            else:
                factors.append((trans, table[v] + s_letter + out_table[v]))
        out_vars = "".join(out_table[v] for v in after)
        in_vars = "".join(table[v] for v in before)
        isolated = len(factors) == 1 and not (set(factors[0][1]) & (set(in_vars) | set(out_vars)))
        local = "".join(ch for ch in dict.fromkeys(s_letter + "".join(entering_x.values())) if ch not in out_vars)
        info = {"status": s_letter, "entering_x": entering_x, "in": in_vars, "isolated": isolated, "local": local}
        return factors, out_vars, info




def _rows(params: Params, start: int, stop: int) -> Params:
    """Rows start:stop of a batch of parameter sets."""
    return Params(
        tuple(a[start:stop] for a in params.exposure_prior),
        tuple(a[start:stop] for a in params.condition_cpt),
        params.activation[start:stop],
        tuple(a[start:stop] for a in params.leak),
        tuple(a[start:stop] for a in params.link),
    )






def _dist(value: float | tuple[float, ...], n: int) -> list[float]:
    if isinstance(value, tuple):
        return list(value)
    return [1.0 - value, value] if n == 2 else [float(value)]
