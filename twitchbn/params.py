"""Every number of the network as arrays: the hand-set point values, and dense link tables.

``Params`` carries a leading batch axis, so parameter draws (posterior intervals) and graph
surgery (what-if) are just other ``Params``; the engine never reads a number from anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twitchbn.knowledge import Knowledge


@dataclass(frozen=True)
class Params:
    """All numbers of the network as arrays (a leading batch axis allows parameter draws)."""

    exposure_prior: tuple[np.ndarray, ...]  # per exposure: (P, card)
    condition_cpt: tuple[np.ndarray, ...]  # per condition: (P, *parent cards) = P(present | parents)
    activation: np.ndarray  # (P, n_conditions)
    leak: tuple[np.ndarray, ...]  # per finding: (P, n_states)
    link: tuple[np.ndarray, ...]  # per finding: (P, n_parents, n_states)


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


def point_params(kb: Knowledge) -> Params:
    """The hand-set point values of the knowledge base as arrays (batch of one)."""
    priors = tuple(np.asarray([e.prior_vector]) for e in kb.exposures)
    cpts = []
    for c in kb.conditions:
        states = {x: kb.exposure(x).states for x in c.parents}
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


def status_table(cpt: np.ndarray, activation: float) -> np.ndarray:
    """One condition's status table: P(absent, present not causing, causing) for each combination
    of its exposure parents, flattened (``cpt``: P(present | parents), one parameter set)."""
    cpt = np.asarray(cpt, dtype=float).reshape(-1)
    return np.stack([1.0 - cpt, cpt * (1.0 - activation), cpt * activation], axis=-1)


class LinkTables:
    """Every finding's noisy-MAX numbers as dense (params, finding, condition, state) arrays, so
    the moves of an accumulator slot are gathered for all variants at once whatever finding each
    variant keeps in it. A condition that is not a parent of a finding never produces it."""

    def __init__(self, params: Params, finding_parents: list[tuple[int, ...]], causing: list[bool], n_conditions: int):
        pb = params.activation.shape[0]
        n_states = max(leak.shape[1] for leak in params.leak)
        dist = np.zeros((pb, len(finding_parents), n_conditions, n_states))
        dist[..., 0] = 1.0
        leak = np.zeros((pb, len(finding_parents), n_states))
        self.parent = np.zeros((len(finding_parents), n_conditions), dtype=bool)
        for f, parents in enumerate(finding_parents):
            card = params.leak[f].shape[1]
            leak[:, f, :card] = params.leak[f]
            if parents:
                dist[:, f, list(parents), :] = 0.0
                dist[:, f, list(parents), :card] = params.link[f]
                self.parent[f, list(parents)] = True
        self.dist, self.cum = dist, np.cumsum(dist, axis=-1)
        self.leak, self.leak_cum = leak, np.cumsum(leak, axis=-1)
        # Statuses in which a parent can produce the finding: causing only, or present (quiet or causing).
        self.active = np.array([[False, not c, True] for c in causing])


def _dist(value: float | tuple[float, ...], n: int) -> list[float]:
    if isinstance(value, tuple):
        return list(value)
    return [1.0 - value, value] if n == 2 else [float(value)]
