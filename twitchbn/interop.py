"""Read a network twitchbn exported (BIF or XMLBIF) back into a ``Model``.

``twitchbn export`` writes every node and table: exposure priors, noisy-OR condition tables,
``cause_<condition>`` nodes, and each noisy-MAX finding as a chain ``<f>__1 ... <f>``. Reading
reverses that: the pgmpy readers parse the file, then every table is checked to have exactly the
form the exporter writes, and the hand-set numbers (priors, baselines and risk factors, causes
twitching, leaks and links) are recovered from it. The result is a ``Model`` whose posteriors
equal the exported model's (to rounding; the tests hold it to 1e-9).

A noisy-OR table fixes each risk factor only up to the baseline (an exposure state that raises
every other one is indistinguishable from a higher baseline), so the recovered numbers are the
canonical ones: the least risky state of each exposure adds nothing. Labels, categories, groups
and triage rules are not in the file; they come from a reference knowledge base (default: the
shipped one) when it has the same variables.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from pgmpy.factors.discrete import TabularCPD

from twitchbn._files import KNOWLEDGE_LIMIT, read_user_file, user_text
from twitchbn.errors import KnowledgeBaseError, TwitchbnError, shorten
from twitchbn.inference import Model
from twitchbn.knowledge import CONDITION_STATES, Condition, Exposure, Finding, Knowledge, Link, RiskFactor, Triage, load_knowledge
from twitchbn.model import CAUSE_STATES, cause_node, max_step
from twitchbn.numbers import Number
from twitchbn.params import noisy_or_table

TOLERANCE = 1e-9  # a recovered table must rebuild the file's table to this
XML_SUFFIXES = (".xml", ".xmlbif", ".bifxml")


class _Reader:
    """The pgmpy network of a file, with tables re-ordered by name and a one-line fault helper."""

    def __init__(self, path: Path):
        from pgmpy.readwrite import BIFReader, XMLBIFReader

        self.name = path.name
        what = f"network file '{shorten(path, keep_end=True)}'"
        self.data = read_user_file(path, KNOWLEDGE_LIMIT, what)  # the bytes are hashed, the text parsed
        text = user_text(self.data, KNOWLEDGE_LIMIT, what)
        xml = path.suffix.lower() in XML_SUFFIXES or text[:200].lstrip().startswith("<")
        try:
            self.net = (XMLBIFReader if xml else BIFReader)(string=text).get_model()
        except Exception as exc:  # the readers raise many kinds; the user needs one line
            kind = "XMLBIF" if xml else "BIF"
            raise TwitchbnError(f"'{shorten(self.name)}' cannot be read as {kind} ({exc.__class__.__name__}: {shorten(exc, 80)})") from None
        self.cpds: dict[str, TabularCPD] = {cpd.variable: cpd for cpd in self.net.get_cpds()}

    def fault(self, node: str, what: str) -> TwitchbnError:
        return TwitchbnError(f"node '{shorten(node)}' of '{shorten(self.name)}' {what}; twitchbn reads only networks it exported")

    def parents(self, node: str) -> list[str]:
        return list(self.cpds[node].variables[1:])

    def states(self, node: str) -> tuple[str, ...]:
        return tuple(map(str, self.cpds[node].state_names[node]))

    def table(self, node: str, parents: list[str] | None = None, states: dict[str, tuple[str, ...]] | None = None) -> np.ndarray:
        """The node's table with axes (node, *parents), states in the given (or the file's) order."""
        cpd = self.cpds[node]
        parents = self.parents(node) if parents is None else parents
        if sorted(parents) != sorted(cpd.variables[1:]):
            raise self.fault(node, f"must have parents {parents}; got {cpd.variables[1:]}")
        values = np.transpose(cpd.values, [0, *(cpd.variables.index(p) for p in parents)])
        for axis, var in enumerate([node, *parents]):
            wanted = (states or {}).get(var)
            if wanted is not None:
                have = [str(s) for s in cpd.state_names[var]]
                if sorted(have) != sorted(wanted):
                    raise self.fault(node, f"states of {var} must be {list(wanted)}; got {have}")
                values = np.take(values, [have.index(s) for s in wanted], axis=axis)
        return np.asarray(values, dtype=float)

    def check(self, node: str, got: np.ndarray, rebuilt: np.ndarray, form: str) -> None:
        error = float(np.max(np.abs(got - rebuilt))) if got.size else 0.0
        if not error <= TOLERANCE:
            raise self.fault(node, f"is not {form} (its table differs by {error:.3g} from the nearest one)")


def _number(value: float | tuple[float, ...], node: str, reader: _Reader) -> Number:
    return Number(value, f"recovered from the {node} table of {reader.name}", f"imported: {reader.name}", f"{reader.name} {node}")


def _condition(cid: str, reader: _Reader, exposure_states: dict[str, tuple[str, ...]]) -> tuple[Number, tuple[RiskFactor, ...], Number]:
    parents = reader.parents(cid)
    for p in parents:
        if p not in exposure_states:
            raise reader.fault(cid, f"must depend on exposures only; '{p}' is not a root of the network")
    table = reader.table(cid, parents, {cid: CONDITION_STATES, **{p: exposure_states[p] for p in parents}})
    q = table[0]  # P(absent | exposures) = (1 - baseline) * prod (1 - risk)
    ref = np.unravel_index(int(np.argmax(q)), q.shape) if q.size else ()
    none = float(q[ref]) if q.ndim else float(q)
    rfs, links = [], []
    for axis, p in enumerate(parents):
        line = q[tuple(slice(None) if a == axis else ref[a] for a in range(q.ndim))]
        ratio = line / none if none > 0 else np.ones_like(line)
        found = {s: float(1.0 - r) for s, r in enumerate(ratio) if r < 1.0}
        links.append((len(exposure_states[p]), found))
        rfs += [RiskFactor(p, exposure_states[p][s], _number(v, cid, reader)) for s, v in found.items()]
    baseline = 1.0 - none
    reader.check(cid, table[1], noisy_or_table(baseline, links), "a noisy-OR of its exposures")
    cause = cause_node(cid)
    if cause not in reader.cpds or reader.parents(cause) != [cid]:
        raise reader.fault(cid, f"must have a node '{cause}' with it as the only parent")
    ctable = reader.table(cause, [cid], {cause: CAUSE_STATES, cid: CONDITION_STATES})
    a = float(ctable[1, 1])
    reader.check(cause, ctable, np.asarray([[1.0, 1.0 - a], [0.0, a]]), "'yes' only when the condition is present")
    return _number(baseline, cid, reader), tuple(rfs), _number(a, cause, reader)


def _finding(fid: str, reader: _Reader, conditions: set[str]) -> tuple[str, Number, tuple[Link, ...]]:
    states = reader.states(fid)
    n = len(states)
    chain = [fid]
    while True:  # walk back from the finding to <f>__1
        prev = [p for p in reader.parents(chain[0]) if p.startswith(f"{fid}__")]
        if not prev:
            break
        chain.insert(0, prev[0])
    links, driven = [], set()
    inactive = np.eye(n)[0]
    leak = None
    for step, node in enumerate(chain):
        parent = [p for p in reader.parents(node) if not p.startswith(f"{fid}__")]
        if not parent and step == 0 and len(chain) == 1:
            leak = reader.table(node, [], {node: states})
            break
        if len(parent) != 1:
            raise reader.fault(node, f"must have one condition or cause node as parent; got {parent}")
        parent = parent[0]
        cid = parent.removeprefix("cause_") if parent.startswith("cause_") and parent.removeprefix("cause_") in conditions else parent
        if cid not in conditions:
            raise reader.fault(node, f"parent '{parent}' is not a condition or a cause node")
        driven.add("causing" if parent != cid else "present")
        pstates = CAUSE_STATES if parent != cid else CONDITION_STATES
        if step == 0:
            table = reader.table(node, [parent], {node: states, parent: pstates})
            leak = table[:, 0]
            cum_leak, cum_active = np.cumsum(leak), np.cumsum(table[:, 1])
            with np.errstate(divide="ignore", invalid="ignore"):
                cum = np.where(cum_leak > 0, cum_active / np.where(cum_leak > 0, cum_leak, 1.0), 0.0)
            link = np.clip(np.diff(np.concatenate([[0.0], np.maximum.accumulate(cum)])), 0.0, 1.0)
            rebuilt = max_step(leak[None, :], np.stack([inactive, link]))[:, 0, :]
        else:
            table = reader.table(node, [chain[step - 1], parent], {node: states, chain[step - 1]: states, parent: pstates})
            link = table[:, 0, 1]
            rebuilt = max_step(np.eye(n), np.stack([inactive, link]))
        reader.check(node, table, rebuilt, "a noisy-MAX chain step (max of the previous step and its parent's link)")
        links.append(Link(cid, _number(tuple(map(float, link)), node, reader)))
    if len(driven) > 1:
        raise reader.fault(fid, "mixes condition and cause-node parents")
    assert leak is not None
    return (driven.pop() if driven else "causing"), _number(tuple(map(float, leak)), fid, reader), tuple(links)


def read_network(path: str | Path, reference: str | Path | Knowledge | None = None) -> Model:
    """A ``Model`` from a BIF or XMLBIF file written by ``twitchbn export``.

    Raises ``TwitchbnError`` (one line naming the node) when a table is not of the exported form.
    ``reference`` supplies labels, categories, groups and triage rules (default: the shipped
    knowledge base, used only if it has exactly the file's variables).

    >>> import tempfile, twitchbn
    >>> from twitchbn.model import export_network
    >>> model = twitchbn.load_model()
    >>> path = Path(tempfile.mkdtemp()) / "twitchbn.xml"
    >>> _ = export_network(model.network, "xmlbif", path)
    >>> back = read_network(path)
    >>> a, b = (m.query({"twitch_eyelid": "yes"}).conditions for m in (model, back))
    >>> bool(abs(a["explains"] - b.loc[a.index, "explains"]).max() < 1e-12)
    True
    """
    file = Path(path)
    reader = _Reader(file)
    cpds = reader.cpds
    conditions = {name[len("cause_") :] for name in cpds if name.startswith("cause_") and reader.parents(name) == [name[len("cause_") :]]}
    if not conditions:
        raise TwitchbnError(f"'{shorten(file.name)}' holds no twitchbn network (no condition with a cause_<condition> node); "
                            "twitchbn reads only networks it exported")
    chains = {name for name in cpds if "__" in name}
    findings = set(cpds) - conditions - {cause_node(c) for c in conditions} - chains
    exposures = {name for name in findings if not reader.parents(name) and any(name in reader.parents(c) for c in conditions)}
    ref = _reference(reference, set(conditions), findings)
    if ref is not None:  # a childless root is an exposure or a finding without links: the reference knows
        exposures |= {x.id for x in ref.exposures if x.id in findings}
    findings -= exposures
    order = _order(ref)
    exposure_list = []
    for xid in sorted(exposures, key=order):
        states = reader.states(xid)
        prior = reader.table(xid, [], {xid: states})
        exposure_list.append(Exposure(xid, _label(ref, xid), _group(ref, xid, "exposures"), states,
                                      tuple(_number(float(p), xid, reader) for p in prior)))
    exposure_states = {x.id: x.states for x in exposure_list}
    condition_list = []
    for cid in sorted(conditions, key=order):
        baseline, rfs, causes = _condition(cid, reader, exposure_states)
        category = next((c.category for c in ref.conditions if c.id == cid), "unknown") if ref else "unknown"
        condition_list.append(Condition(cid, _label(ref, cid), category, baseline, rfs, causes))
    finding_list = []
    for fid in sorted(findings, key=order):
        driven, leak, links = _finding(fid, reader, conditions)
        finding_list.append(Finding(fid, _label(ref, fid), _group(ref, fid, ""), reader.states(fid), driven, leak, links))
    triage = ref.triage if ref is not None else Triage((), {}, {}, {})
    digest = hashlib.sha256(reader.data).hexdigest()
    return Model(Knowledge(file, tuple(exposure_list), tuple(condition_list), tuple(finding_list), triage, digest))


def _reference(reference: str | Path | Knowledge | None, conditions: set[str], findings: set[str]) -> Knowledge | None:
    if isinstance(reference, Knowledge):
        kb = reference
    else:
        try:
            kb = load_knowledge(reference)
        except KnowledgeBaseError:
            if reference is not None:
                raise
            return None
    same = {c.id for c in kb.conditions} == conditions and {x.id for x in kb.exposures} | {f.id for f in kb.findings} == findings
    if not same and reference is not None:
        raise TwitchbnError(f"reference knowledge base '{shorten(Path(kb.path).name)}' does not have the network's variables")
    return kb if same else None


def _order(ref: Knowledge | None):
    rank = {item.id: i for i, item in enumerate((*ref.exposures, *ref.conditions, *ref.findings))} if ref else {}
    return lambda vid: (rank.get(vid, len(rank)), vid)


def _label(ref: Knowledge | None, vid: str) -> str:
    return ref.label(vid) if ref is not None else vid


def _group(ref: Knowledge | None, vid: str, default: str) -> str:
    if ref is None:
        return default
    item = next((x for x in (*ref.exposures, *ref.findings) if x.id == vid), None)
    return item.group if item is not None else default
