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
stable. The pass is batched: many evidence *variants* (candidate answers for the next question,
clamped exposures, parameter draws) run in one vectorised sweep; each variant keeps its own
positive findings in accumulator slots (``twitchbn.frontier``), so variants need not share them.
``Engine.each`` runs the same pass compiled, one case at a time on its own frontier (batch scoring).

The engine works on the validated ``Knowledge`` directly; ``twitchbn.model`` builds the same
distribution as a pgmpy network, and the tests check both against each other and pyAgrum.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from twitchbn._tensor import contract, normalise, scale, total
from twitchbn.errors import EvidenceTooComplexError
from twitchbn.frontier import Plan, Planner
from twitchbn.knowledge import Knowledge
from twitchbn.params import LinkTables, Params, point_params, take_rows

ABSENT, QUIET, CAUSING = 0, 1, 2
_CLAMP = {"c": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), "k": np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])}  # status masks by state
MAX_ENTRIES = 1 << 21  # largest table (entries, all variants of a chunk) a sweep may build: ~16 MB
# Step-table entries the compiled pass may keep for one case's backward pass (about 19 bytes an
# entry with its index rows: ~160 MB), and the width above which a single query goes through it.
EACH_ENTRIES = 1 << 23
COMPILED_ABOVE = 1 << 16
_LETTERS = string.ascii_letters


@dataclass(frozen=True)
class Variant:
    """Evidence of one variant, applied on top of the base evidence of a sweep.

    ``clamps`` maps a variable index key (``("x", i)`` exposure, ``("c", i)`` condition
    presence, ``("k", i)`` cause node) to a state index; ``at_most`` maps a finding index to a
    state index s meaning "finding <= s"; ``positive`` maps a finding index to an observed
    state s > 0. Clamps and "at most" are product-form and cost nothing; each positive finding
    takes an accumulator slot of the variant's own (``twitchbn.frontier``), so variants with
    different positive findings still share one pass.
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
        self._x_ids = {x: i for i, x in enumerate(self.exposure_ids)}
        self.params = params if params is not None else point_params(kb)
        children: dict[int, list[int]] = {}
        for c, pa in enumerate(self.condition_parents):
            for x in pa:
                children.setdefault(x, []).append(c)
        self.planner = Planner(self.finding_parents, children, self.exposure_card, len(self.condition_ids))
        self.order = list(self.planner.default)
        self.position = {c: k for k, c in enumerate(self.order)}
        self.links = LinkTables(self.params, self.finding_parents, self.finding_causing, len(self.condition_ids))

    # -- the sweep ----------------------------------------------------------------------------
    def sweep(self, evidence: dict[str, int], variants: list[Variant] | None = None, marginals: bool = True) -> Sweep:
        """Exact pass for ``evidence`` (variable id -> state index) and each variant.

        Every variant sees the base evidence plus its own; exposures observed in the base
        evidence are sliced out of the frontier. Returns log P(evidence, variant) and, if asked,
        posterior marginals of every condition's status and every exposure.
        """
        variants = variants or [Variant()]
        B = len(variants)
        P = self.params
        pb = P.activation.shape[0]  # parameter batch (1, or one per variant)
        nc = len(self.condition_ids)
        plan = self._plan(evidence, variants)
        order, span = plan.order, plan.span
        width = self.planner.widest(span)
        if width > COMPILED_ABOVE and pb == 1:  # wide tables: the compiled pass, each variant on its own
            return self.each([self.merge(evidence, variant) for variant in variants], [marginals] * B)
        if width > MAX_ENTRIES:
            raise _too_complex(width, MAX_ENTRIES)
        rows = max(1, MAX_ENTRIES // width)
        if rows < B:  # memory-bounded chunks of variants (rows are independent)
            parts = [self._chunk(evidence, variants, start, min(B, start + rows), marginals) for start in range(0, B, rows)]
            return Sweep(
                np.concatenate([p.log_z for p in parts]),
                None if not marginals else np.concatenate([p.status for p in parts]),
                None if not marginals else np.concatenate([p.exposures for p in parts]),
            )

        unary, xprior, log_const = self._factors(evidence, variants)
        act = P.activation  # (pb, nc)

        # Exposures outside the frontier (observed in the base evidence, or with no condition
        # depending on them) contribute a constant: their (clamped) prior mass.
        for x in range(len(self.exposure_ids)):
            if ("x", x) not in span:
                with np.errstate(divide="ignore"):
                    log_const += np.log(xprior[x].sum(axis=1))

        observed = {self._x_ids[v]: state for v, state in evidence.items() if v in self._x_ids}
        param_rows = np.arange(B) if pb > 1 else 0
        steps = [self._step_factors(order[k], k, plan, xprior, unary, act, observed, param_rows) for k in range(nc)]

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

    def _factors(self, evidence: dict[str, int], variants: list[Variant]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Product-form evidence of each variant: a unary factor on every condition's status
        (B, nc, 3), the (clamped) exposure priors (per exposure (B, card)) and a log constant
        (B,) for first-state findings' leaks and positive findings without parents.

        Base evidence applies to every variant. A finding "at most s" multiplies each parent's
        active statuses by its cumulative link (a non-parent's is 1) and the constant by its leak's.
        """
        B = len(variants)
        links, pb = self.links, self.params.activation.shape[0]
        unary = np.ones((B, len(self.condition_ids), 3))
        log_const = np.zeros(B)
        xprior = [np.broadcast_to(p, (B, p.shape[1])).copy() for p in self.params.exposure_prior]
        clamps: list[tuple[int, tuple[str, int], int]] = []
        at_most: list[tuple[int, int, int, bool]] = []  # (variant, finding, s, exactly s: a parentless positive finding)
        base: dict[int, int] = {}
        for var, state in evidence.items():
            key = self.key(var)
            if key[0] != "f":
                clamps += [(b, key, state) for b in range(B)]
            elif state == 0:
                at_most += [(b, key[1], 0, False) for b in range(B)]
            else:
                base[key[1]] = state
        for b, variant in enumerate(variants):
            clamps += [(b, key, state) for key, state in variant.clamps]
            at_most += [(b, f, s, False) for f, s in variant.at_most]
            at_most += [(b, f, s, True) for f, s in (base | dict(variant.positive)).items() if not self.finding_parents[f]]
        for b, (kind, i), state in clamps:
            if kind == "x":
                xprior[i][b, np.arange(xprior[i].shape[1]) != state] = 0.0
            else:  # condition present/absent, or its cause node
                unary[b, i] *= _CLAMP[kind][state]
        if at_most:
            rows, found, states, exact = (np.asarray(column) for column in zip(*at_most, strict=True))
            param = rows if pb > 1 else np.zeros_like(rows)
            leak = np.where(exact, links.leak[param, found, states], links.leak_cum[param, found, states])
            with np.errstate(divide="ignore"):
                np.add.at(log_const, rows, np.log(leak))
            cum = links.cum[param, found, :, states]  # (items, nc); exact items have no parents: all 1
            factor = np.ones((*cum.shape, 3))
            factor[:, :, CAUSING] = cum
            factor[:, :, QUIET] = np.where(links.active[found, QUIET][:, None], cum, 1.0)
            np.multiply.at(unary, rows, factor)
        return unary, xprior, log_const

    def _chunk(self, evidence: dict[str, int], variants: list[Variant], start: int, stop: int, marginals: bool) -> Sweep:
        """``sweep`` over variants[start:stop] (with their rows of a parameter batch)."""
        engine = self
        if self.params.activation.shape[0] > 1:
            engine = Engine(self.kb, take_rows(self.params, start, stop))
        return engine.sweep(evidence, variants[start:stop], marginals)

    def width(self, evidence: dict[str, int], variants: list[Variant]) -> int:
        """Entries of the largest table a sweep of one variant builds (frontier x status x one move).

        Depends only on the positive findings of the variants and on the observed exposures.
        """
        return self.planner.widest(self._plan(evidence, variants).span)

    def _plan(self, evidence: dict[str, int], variants: list[Variant]) -> Plan:
        """The frontier plan: every variant carries the base evidence's positive findings and its own;
        exposures observed in the base evidence are sliced out."""
        base = {self._keys[v][1]: s for v, s in evidence.items() if s > 0 and self._keys[v][0] == "f"}
        positives = [tuple(sorted(self._positive(base, variant, b).items())) for b, variant in enumerate(variants)]
        observed = frozenset(self._x_ids[v] for v in evidence if v in self._x_ids)
        return self.planner.plan(positives, observed)

    def _positive(self, base: dict[int, int], variant: Variant, b: int) -> dict[int, int]:
        """Positive findings (index -> state) of variant ``b`` on top of ``base``; one finding in
        two states is a caller's error."""
        held = dict(base)
        for f, s in variant.positive:
            if held.setdefault(f, s) != s:
                raise ValueError(f"variant {b} observes finding {self.finding_ids[f]} in two states")
        return held

    def each(self, variants: list[Variant], marginals: list[bool] | None = None) -> Sweep:
        """``sweep`` of each variant on its own frontier, compiled (``twitchbn.compiled``): log
        P(evidence, variant) and, where ``marginals`` says so (default: all), condition status and
        exposure marginals.

        For many unrelated cases (batch scoring) and for single queries too wide for ``sweep``;
        needs the point parameters. A variant whose tables would exceed ``EACH_ENTRIES`` is refused.
        """
        from twitchbn import compiled

        B, nx = len(variants), len(self.exposure_ids)
        unary, xprior, log_const = self._factors({}, variants)
        priors = np.zeros((B, nx, max(self.exposure_card)))
        for x, prior in enumerate(xprior):
            priors[:, x, : prior.shape[1]] = prior
        widths = self.each_widths(variants)
        if widths.max(initial=0) > EACH_ENTRIES:
            b = int(np.argmax(widths))
            raise _too_complex(int(widths[b]), EACH_ENTRIES, f" (case {b + 1})" if B > 1 else "")
        start, found, states = [0], [], []
        for b, variant in enumerate(variants):
            held = self._positive({}, variant, b)
            found += [f for f in held if self.finding_parents[f]]
            states += [held[f] for f in held if self.finding_parents[f]]
            start.append(len(found))
        as_int = {"dtype": np.int64}
        wanted = np.ones(B, dtype=bool) if marginals is None else np.asarray(marginals, dtype=bool)
        log_z, status, exposures = compiled.run(self._broad.structure, unary, priors, log_const, np.asarray(start, **as_int),
                                     np.asarray(found, **as_int), np.asarray(states, **as_int), wanted)
        return Sweep(log_z, status, exposures)

    def merge(self, evidence: dict[str, int], variant: Variant) -> Variant:
        """Base evidence (variable id -> state index) and a variant as one variant."""
        clamps, at_most, positive = list(variant.clamps), list(variant.at_most), list(variant.positive)
        for var, state in evidence.items():
            key = self.key(var)
            if key[0] != "f":
                clamps.append((key, state))
            elif state == 0:
                at_most.append((key[1], 0))
            else:
                positive.append((key[1], state))
        return Variant(tuple(clamps), tuple(at_most), tuple(positive))

    def each_widths(self, variants: list[Variant]) -> np.ndarray:
        """Entries ``each`` keeps for each variant's backward pass: the sum over steps of its
        tables (exposures at full size)."""
        held = np.zeros((len(variants), len(self.finding_ids)))
        for b, variant in enumerate(variants):
            held[b, [f for f, _ in variant.positive]] = 1.0
        return self._broad.widths(held)

    @cached_property
    def _broad(self) -> _Broad:
        """The fixed order of ``each`` and the batch grouping: planned for every finding positive."""
        return _Broad(self)

    def key(self, var: str) -> tuple[str, int]:
        """Engine key of a network variable: exposure, condition, finding or cause node."""
        return self._keys[var]

    def _step_factors(self, c, k, plan, xprior, unary, act, observed, param_rows):
        """Factors of step k (condition c) as (array, letters) pairs and the new frontier's letters."""
        span = plan.span
        letters = iter(_LETTERS)
        before = [v for v, (a, b) in span.items() if a < k <= b]
        after = [v for v, (a, b) in span.items() if a <= k < b]
        entering = [v for v, (a, _) in span.items() if a == k and v[0] == "x"]
        table: dict[tuple[str, int], str] = {}
        for v in before + entering:
            table[v] = next(letters)
        s_letter = next(letters)
        factors: list[tuple[np.ndarray, str]] = []
        entering_x = {}
        for v in entering:
            factors.append((xprior[v[1]], table[v]))
            entering_x[v[1]] = table[v]
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
        out_table = {v: table[v] for v in after if v in table}
        # Accumulator slots: open at this step, moved by c, or closed here.
        for v, (first, last) in span.items():
            if v[0] != "a" or not first <= k <= last:
                continue
            move = self.links.move(plan, v[1], k, c, param_rows)
            if move is None:  # no variant's finding in this slot has c as a parent
                continue
            if k < last:
                out_table[v] = next(letters)
            if first == k == last:
                factors.append((move[:, 0, :, 0], s_letter))
            elif first == k:  # the slot enters in its "not yet" state
                factors.append((move[:, 0], s_letter + out_table[v]))
            elif k == last:  # leaves the frontier: every finding has closed back to "not yet"
                factors.append((move[..., 0], table[v] + s_letter))
            else:
                factors.append((move, table[v] + s_letter + out_table[v]))
        out_vars = "".join(out_table[v] for v in after)
        in_vars = "".join(table[v] for v in before)
        isolated = len(factors) == 1 and not (set(factors[0][1]) & (set(in_vars) | set(out_vars)))
        local = "".join(ch for ch in dict.fromkeys(s_letter + "".join(entering_x.values())) if ch not in out_vars)
        info = {"status": s_letter, "entering_x": entering_x, "in": in_vars, "isolated": isolated, "local": local}
        return factors, out_vars, info


class _Broad:
    """One order for unrelated cases: the greedy order with every finding positive, its frontier
    sizes (a bound per case) and its flat arrays for the compiled pass."""

    def __init__(self, engine: Engine):
        findings = [f for f, parents in enumerate(engine.finding_parents) if parents]
        self.plan = engine.planner.plan([tuple((f, 1) for f in findings)], frozenset())
        steps = np.arange(len(engine.condition_ids))
        self.open = (self.plan.first[:, None] <= steps) & (steps <= self.plan.last[:, None])  # (findings, steps)
        exposures = [engine.exposure_card[v[1]] * ((a <= steps) & (steps <= b)) for v, (a, b) in self.plan.span.items() if v[0] == "x"]
        self.exposure_size = np.prod(np.maximum(np.array(exposures), 1), axis=0)  # per step
        self.engine = engine

    def widths(self, held: np.ndarray) -> np.ndarray:
        """Entries of the step tables summed over steps, per case ((cases, findings) 0/1 positive
        findings): exposures x findings open x status. The compiled pass keeps them all for its
        backward pass, so this bounds its memory."""
        return (3 * self.exposure_size * 2.0 ** (held @ self.open)).sum(axis=1)

    @cached_property
    def structure(self):
        from twitchbn import compiled

        return compiled.structure(self.engine, self.plan)


def _too_complex(entries: int, limit: int, where: str = "") -> EvidenceTooComplexError:
    return EvidenceTooComplexError(
        f"exact inference for this evidence{where} would need tables of {entries:,} entries (limit {limit:,}): "
        f"too many findings are set to a state other than the first at once; leave some of them unknown"
    )
