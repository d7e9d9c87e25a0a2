"""Exact inference specialised to twitchbn's layered noisy-MAX network.

Why not pgmpy's ``VariableElimination`` or ``BeliefPropagation``: the twitch findings are
noisy-MAX children of up to ~30 condition nodes. Expanded, their tables grow as 2^parents and a
generic junction tree over the decomposed network is exponential in the number of *observed*
findings. This engine uses two exact identities instead (derivation: docs/engine.md):

* a finding observed in its first ("nothing") state, or constrained to ``<= s``, factorises into
  one small factor per parent condition (the noisy-MAX cumulative is a product), so negative
  findings cost nothing;
* a finding observed in a higher state needs a two-state bit ("has a parent produced state s
  yet?") that walks through its parents in the condition order.

Inference is a forward-backward pass along the condition order over a small frontier (shared,
unobserved exposures and open bits): cost grows as 2^(positive findings open at once), not
2^(all findings). The pass has one implementation, compiled (``twitchbn.compiled``); this module
turns evidence into its inputs: an order and its spans (``twitchbn.frontier``), per-case product
factors, and the positive findings of each case. Many evidence *variants* (candidate answers for
the next question, clamped conditions, parameter draws) run in one call, each on its own frontier.

The engine works on the validated ``Knowledge`` directly; ``twitchbn.model`` builds the same
distribution as a pgmpy network, and the tests check both against each other and pyAgrum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from twitchbn.errors import EvidenceTooComplexError
from twitchbn.frontier import Plan, Planner
from twitchbn.knowledge import Knowledge
from twitchbn.params import LinkTables, Params, point_params

if TYPE_CHECKING:
    from twitchbn.compiled import Tables

ABSENT, QUIET, CAUSING = 0, 1, 2
_CLAMP = {"c": np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]), "k": np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])}  # status masks by state
# Budgets of one case, in step-table entries (status x frontier, summed over the steps): the pass
# takes about 60 ns an entry here, and keeps a case's tables for its backward pass (19 bytes an
# entry with their indices) only up to KEEP_ENTRIES, recomputing them beyond.
EXACT_ENTRIES = 1 << 24  # about 1.5 s per pass: beyond, the evidence is refused
KEEP_ENTRIES = 1 << 23  # about 160 MB
STEP_ENTRIES = 1 << 23  # the largest single step: its table is built whole

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
    tables_gradient: np.ndarray | None = None  # (B, rows, 3): d log P(e) / d Engine.tables.p3, when asked


class Engine:
    """A knowledge base's structure and numbers, ready for the exact pass."""

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

    @cached_property
    def tables(self) -> Tables:
        """Every number as the pass's flat arrays (``p3``: each condition's status table by exposure row)."""
        from twitchbn import compiled  # numba loads on the first pass, not on import (validate, export)

        return compiled.tables(self.params, self.links, self.condition_parents, self.exposure_card)

    @cached_property
    def _broad(self) -> Plan:
        """One order for unrelated cases (batch scoring): the greedy order with every symptom and
        sign positive (test results, rarely entered at once, do not shape it)."""
        symptoms = tuple(f for f, finding in enumerate(self.kb.findings) if self.finding_parents[f] and finding.kind != "test")
        return self.planner.plan(self.planner.order(symptoms, frozenset()))

    # -- the pass -------------------------------------------------------------------------------
    def sweep(self, evidence: dict[str, int], variants: list[Variant] | None = None,
              marginals: bool | list[bool] = True, gradient: bool = False) -> Sweep:
        """Exact pass for ``evidence`` (variable id -> state index) and each variant.

        Every variant sees the base evidence plus its own, on an order planned for the base
        evidence and all the variants' positive findings. Returns log P(evidence, variant) and,
        where ``marginals`` asks (one flag for all, or one per variant; a forward pass alone costs
        half), posterior marginals of every condition's status and every exposure; with
        ``gradient``, also the gradient of log P(e) over the conditions' tables (sensitivity).
        """
        merged = [self.variant(evidence, base=variant) for variant in (variants or [Variant()])]
        wanted = [marginals] * len(merged) if isinstance(marginals, bool) else list(marginals)
        return self._pass(merged, self._plan(evidence, merged), wanted, batch=False, gradient=gradient)

    def each(self, variants: list[Variant], marginals: list[bool] | None = None) -> Sweep:
        """The pass of many unrelated cases on one fixed order (batch scoring): log P(variant)
        and, where ``marginals`` says so (default: all), condition and exposure marginals."""
        return self._pass(variants, self._broad, [True] * len(variants) if marginals is None else marginals, batch=True)

    def _pass(self, variants: list[Variant], plan: Plan, marginals: list[bool], batch: bool, gradient: bool = False) -> Sweep:
        """The compiled pass of ``variants`` on ``plan``, refused when a variant is over budget
        (``batch``: name the case)."""
        B, nx = len(variants), len(self.exposure_ids)
        total, widest = plan.entries(self._held(variants))
        over = (total > EXACT_ENTRIES) | (widest > STEP_ENTRIES)
        if over.any():
            b = int(np.argmax(over))
            where = f" (case {b + 1})" if batch else ""
            if total[b] > EXACT_ENTRIES:
                raise _too_complex(f"tables of {int(total[b]):,} entries in all (limit {EXACT_ENTRIES:,})", where)
            raise _too_complex(f"a table of {int(widest[b]):,} entries at once (limit {STEP_ENTRIES:,})", where)
        unary, xprior, log_const = self._factors(variants)
        priors = np.zeros((B, nx, max(self.exposure_card)))
        for x, prior in enumerate(xprior):
            priors[:, x, : prior.shape[1]] = prior
        start, found, states = [0], [], []
        for b, variant in enumerate(variants):
            held = self._positive(variant, b)
            found += [f for f in held if self.finding_parents[f]]
            states += [held[f] for f in held if self.finding_parents[f]]
            start.append(len(found))
        from twitchbn import compiled

        as_int = {"dtype": np.int64}
        log_z, status, exposures, tables_gradient = compiled.run(
            self.tables, plan, unary, priors, log_const, np.asarray(start, **as_int), np.asarray(found, **as_int),
            np.asarray(states, **as_int), np.asarray(marginals, dtype=bool), total <= KEEP_ENTRIES, gradient,
        )
        return Sweep(log_z, status, exposures, tables_gradient if gradient else None)

    def _held(self, variants: list[Variant]) -> np.ndarray:
        """(variants, findings) 1 where a variant holds the finding positive."""
        held = np.zeros((len(variants), len(self.finding_ids)))
        for b, variant in enumerate(variants):
            held[b, [f for f, _ in variant.positive]] = 1.0
        return held

    def _plan(self, evidence: dict[str, int], variants: list[Variant]) -> Plan:
        """The greedy order for the variants' positive findings, exposures observed in the base evidence counted once."""
        union = tuple(sorted({f for v in variants for f, _ in v.positive if self.finding_parents[f]}))
        observed = frozenset(self._x_ids[v] for v in evidence if v in self._x_ids)
        return self.planner.plan(self.planner.order(union, observed), observed)

    def cost(self, evidence: dict[str, int], variants: list[Variant]) -> int:
        """Step-table entries a sweep of these variants would compute: its time, for budgets."""
        merged = [self.variant(evidence, base=variant) for variant in variants]
        return int(self._plan(evidence, merged).entries(self._held(merged))[0].sum())

    def fits(self, variants: list[Variant]) -> np.ndarray:
        """Which variants ``each`` answers on its fixed order without keeping more than ``KEEP_ENTRIES``."""
        return self._broad.entries(self._held(variants))[0] <= KEEP_ENTRIES

    def _factors(self, variants: list[Variant]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        """Product-form evidence of each variant: a unary factor on every condition's status
        (B, nc, 3), the (clamped) exposure priors (per exposure (B, card)) and a log constant
        (B,) for first-state findings' leaks and positive findings without parents.

        A finding "at most s" multiplies each parent's active statuses by its cumulative link (a
        non-parent's is 1) and the constant by its leak's.
        """
        B = len(variants)
        links, pb = self.links, self.params.activation.shape[0]
        unary = np.ones((B, len(self.condition_ids), 3))
        log_const = np.zeros(B)
        xprior = [np.broadcast_to(p, (B, p.shape[1])).copy() for p in self.params.exposure_prior]
        clamps: list[tuple[int, tuple[str, int], int]] = []
        at_most: list[tuple[int, int, int, bool]] = []  # (variant, finding, s, exactly s: a parentless positive finding)
        for b, variant in enumerate(variants):
            clamps += [(b, key, state) for key, state in variant.clamps]
            at_most += [(b, f, s, False) for f, s in variant.at_most]
            at_most += [(b, f, s, True) for f, s in variant.positive if not self.finding_parents[f]]
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

    def _positive(self, variant: Variant, b: int) -> dict[int, int]:
        """Positive findings (index -> state) of variant ``b``; one finding in two states is a caller's error."""
        held: dict[int, int] = {}
        for f, s in variant.positive:
            if held.setdefault(f, s) != s:
                raise ValueError(f"variant {b} observes finding {self.finding_ids[f]} in two states")
        return held

    def variant(self, clamp: Mapping[str, int] | None = None, at_most: Mapping[str, int] | None = None,
                base: Variant | None = None) -> Variant:
        """Named evidence as a variant, added to ``base``: ``clamp`` sets variables (exposures,
        conditions, ``cause_`` nodes, or observed findings) to a state index; ``at_most`` bounds
        findings to "at most" a state index. The only place that knows how evidence is encoded."""
        base = base or Variant()
        clamps, bounded, positive = list(base.clamps), list(base.at_most), list(base.positive)
        for var, state in (clamp or {}).items():
            key = self.key(var)
            if key[0] != "f":
                clamps.append((key, state))
            elif state == 0:
                bounded.append((key[1], 0))
            else:
                positive.append((key[1], state))
        bounded += [(self.key(var)[1], state) for var, state in (at_most or {}).items()]
        return Variant(tuple(clamps), tuple(bounded), tuple(positive))

    def key(self, var: str) -> tuple[str, int]:
        """Engine key of a network variable: exposure, condition, finding or cause node."""
        return self._keys[var]


def _too_complex(need: str, where: str) -> EvidenceTooComplexError:
    return EvidenceTooComplexError(
        f"exact inference for this evidence{where} would need {need}: "
        f"too many findings are set to a state other than the first at once; leave some of them unknown"
    )
