"""Build the pgmpy network from the validated knowledge base, and export it.

Nodes: the 12 exposures, the 29 conditions, one hidden ``cause_<condition>`` node per condition
("present and causing the twitching"), and the 37 other findings. A noisy-MAX finding with n
parents is decomposed into a chain (``<finding>__1`` ... ``<finding>__<n-1>``, then the finding
itself), each link of the chain a table of (states x states x parent states): the clinician
edits one number per link and no table ever grows as 2^parents.

The chain follows the engine's condition order, so the exported network also triangulates well
in other engines (pyAgrum).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from twitchbn._files import atomic_write_text
from twitchbn.engine import Engine
from twitchbn.errors import TwitchbnError
from twitchbn.knowledge import CONDITION_STATES, Knowledge
from twitchbn.params import Params

CAUSE_STATES = ("no", "yes")


def cause_node(condition: str) -> str:
    """Name of the hidden node 'condition is present and causing the twitching'."""
    return f"cause_{condition}"


def max_step(u_dist: np.ndarray, z_by_active: np.ndarray) -> np.ndarray:
    """Distribution of max(U, Z) for each U distribution row and each Z column.

    ``u_dist``: (U, n) rows of distributions of U; ``z_by_active``: (A, n) distributions of Z.
    Returns (n, U, A): P(max = s | row u, column a).
    """
    cu = np.cumsum(u_dist, axis=1)  # (U, n)
    cz = np.cumsum(z_by_active, axis=1)  # (A, n)
    cum = cu[:, None, :] * cz[None, :, :]  # (U, A, n)
    pmf = np.diff(np.concatenate([np.zeros((*cum.shape[:2], 1)), cum], axis=2), axis=2)
    return np.clip(np.moveaxis(pmf, 2, 0), 0.0, 1.0)


def build_network(kb: Knowledge, engine: Engine | None = None, params: Params | None = None) -> DiscreteBayesianNetwork:
    """The whole knowledge base as a pgmpy ``DiscreteBayesianNetwork`` (checked)."""
    engine = engine or Engine(kb)
    params = params or engine.params
    net = DiscreteBayesianNetwork()
    net.name = "twitchbn"
    cpds: list[TabularCPD] = []
    for i, x in enumerate(kb.exposures):
        net.add_node(x.id)
        cpds.append(TabularCPD(x.id, len(x.states), params.exposure_prior[i][0].reshape(-1, 1), state_names={x.id: list(x.states)}))
    for i, c in enumerate(kb.conditions):
        net.add_node(c.id)
        parents = list(c.parents)
        for p in parents:
            net.add_edge(p, c.id)
        present = params.condition_cpt[i][0]
        values = np.stack([1.0 - present, present]).reshape(2, -1)
        names = {c.id: list(CONDITION_STATES), **{p: list(kb.exposure(p).states) for p in parents}}
        cards = [len(kb.exposure(p).states) for p in parents]
        cpds.append(TabularCPD(c.id, 2, values, evidence=parents or None, evidence_card=cards or None, state_names=names))
        cause = cause_node(c.id)
        net.add_edge(c.id, cause)
        a = float(params.activation[0, i])
        cpds.append(TabularCPD(cause, 2, [[1.0, 1.0 - a], [0.0, a]], evidence=[c.id], evidence_card=[2],
                               state_names={cause: list(CAUSE_STATES), c.id: list(CONDITION_STATES)}))
    position = engine.position
    for f_index, f in enumerate(kb.findings):
        n = len(f.states)
        leak = params.leak[f_index][0]
        order = sorted(range(len(f.links)), key=lambda j: position[engine.finding_parents[f_index][j]])
        parents = [(cause_node(f.links[j].condition) if f.driven_by == "causing" else f.links[j].condition) for j in order]
        parent_states = [CAUSE_STATES if f.driven_by == "causing" else CONDITION_STATES for _ in order]
        links = [params.link[f_index][0, j] for j in order]
        if not parents:
            net.add_node(f.id)
            cpds.append(TabularCPD(f.id, n, leak.reshape(-1, 1), state_names={f.id: list(f.states)}))
            continue
        inactive = np.zeros(n)
        inactive[0] = 1.0
        prev_name = None
        for step, (parent, pstates, link) in enumerate(zip(parents, parent_states, links, strict=True)):
            name = f.id if step == len(parents) - 1 else f"{f.id}__{step + 1}"
            z = np.stack([inactive, link])  # (active, n): parent state 0 inactive, 1 active
            net.add_node(name)
            net.add_edge(parent, name)
            if prev_name is None:
                table = max_step(leak[None, :], z)[:, 0, :]  # (n, active)
                cpds.append(TabularCPD(name, n, table, evidence=[parent], evidence_card=[2],
                                       state_names={name: list(f.states), parent: list(pstates)}))
            else:
                net.add_edge(prev_name, name)
                table = max_step(np.eye(n), z).reshape(n, -1)  # (n, prev * active)
                cpds.append(TabularCPD(name, n, table, evidence=[prev_name, parent], evidence_card=[n, 2],
                                       state_names={name: list(f.states), prev_name: list(f.states), parent: list(pstates)}))
            prev_name = name
    net.add_cpds(*cpds)
    if not net.check_model():  # pragma: no cover - check_model raises on faults
        raise TwitchbnError("the network built from the knowledge base is inconsistent")
    return net


def export_network(net: DiscreteBayesianNetwork, fmt: str, path: str | Path | None = None) -> str:
    """Write ``net`` as BIF or XMLBIF (full-precision numbers); return the text."""
    from pgmpy.readwrite import BIFWriter, XMLBIFWriter

    if fmt == "bif":
        text = str(BIFWriter(net))
    elif fmt == "xmlbif":
        text = XMLBIFWriter(net).__str__()
    else:
        raise TwitchbnError(f"export format must be one of bif, xmlbif; got {fmt!r}")
    if path is not None:
        atomic_write_text(path, text)
    return text
