"""Load and validate the knowledge base (the YAML files in ``data/``).

The knowledge base is the single source of truth for medical content. It is layered, and the
layering is what keeps exact inference fast:

* **exposures** (``exposures.yaml``): observable root findings (sleep, caffeine, age, ...) with a
  prior per state;
* **conditions** (``conditions.yaml``): the 29 conditions of the vocabulary. Each is a noisy-OR of
  its risk factors (one probability per exposure state, plus a baseline), and carries
  ``causes_twitching``: the probability that, when present, it is a cause of this person's
  twitching;
* **findings** (``findings.yaml``): every other observable finding, a noisy-MAX of conditions with
  a leak. ``driven_by: causing`` findings (where and how it twitches) hang off "condition is
  causing the twitching"; ``driven_by: present`` findings (what comes with it) hang off the
  condition itself;
* **triage** (``triage.yaml``): red-flag floors and the probability rules of the advice.

Every number carries ``why`` (a one-line rationale) and ``source`` (a seed file name with a short
paraphrase, or ``clinical convention``). Validation collects every fault in one pass and names
file, entry and fault.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from twitchbn.errors import KnowledgeBaseError
from twitchbn.numbers import CONVENTION, TOLERANCE, Faults, Number, is_prob, read_number

FILES = ("vocabulary.yaml", "exposures.yaml", "conditions.yaml", "findings.yaml", "triage.yaml")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is present
LEVELS = ("self_care", "see_doctor", "urgent")
CONDITION_STATES = ("absent", "present")
DRIVERS = ("causing", "present")


@dataclass(frozen=True)
class Exposure:
    id: str
    label: str
    group: str
    states: tuple[str, ...]
    prior: tuple[Number, ...]  # one per state

    @property
    def prior_vector(self) -> tuple[float, ...]:
        return tuple(float(n.value) for n in self.prior)


@dataclass(frozen=True)
class RiskFactor:
    exposure: str
    state: str
    number: Number


@dataclass(frozen=True)
class Condition:
    id: str
    label: str
    category: str
    baseline: Number
    risk_factors: tuple[RiskFactor, ...]
    causes_twitching: Number

    @property
    def parents(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for rf in self.risk_factors:
            seen.setdefault(rf.exposure, None)
        return tuple(seen)


@dataclass(frozen=True)
class Link:
    condition: str
    number: Number  # distribution over the finding's states given the parent is active


@dataclass(frozen=True)
class Finding:
    id: str
    label: str
    group: str
    states: tuple[str, ...]
    driven_by: str
    leak: Number
    links: tuple[Link, ...]


@dataclass(frozen=True)
class FloorRule:
    finding: str
    state: str
    level: str
    reason: str
    source: str


@dataclass(frozen=True)
class Triage:
    floors: tuple[FloorRule, ...]
    likely: dict[str, Any]
    unexplained: dict[str, Any]
    persistent: dict[str, Any]
    everyday_categories: tuple[str, ...] = ()
    everyday_conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Knowledge:
    """The validated knowledge base; everything downstream is derived from it."""

    path: Path
    exposures: tuple[Exposure, ...]
    conditions: tuple[Condition, ...]
    findings: tuple[Finding, ...]
    triage: Triage
    sha256: str

    @property
    def variables(self) -> dict[str, tuple[str, ...]]:
        """Every settable vocabulary variable and its states."""
        out: dict[str, tuple[str, ...]] = {c.id: CONDITION_STATES for c in self.conditions}
        out.update({e.id: e.states for e in self.exposures})
        out.update({f.id: f.states for f in self.findings})
        return out

    def condition(self, cid: str) -> Condition:
        return next(c for c in self.conditions if c.id == cid)

    def finding(self, fid: str) -> Finding:
        return next(f for f in self.findings if f.id == fid)

    def exposure(self, eid: str) -> Exposure:
        return next(e for e in self.exposures if e.id == eid)

    def label(self, vid: str) -> str:
        for item in (*self.conditions, *self.exposures, *self.findings):
            if item.id == vid:
                return item.label
        return vid


def default_path() -> Path:
    """The knowledge base shipped with the package (``data/``)."""
    return Path(str(resources.files("twitchbn.data")))


def knowledge_sha256(path: Path) -> str:
    """Hash of the knowledge-base files: sorted by path, bytes concatenated."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.suffix == ".yaml"):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def _read_yaml(path: Path, faults: Faults) -> Any:
    if not path.is_file():
        faults.add(path.name, "file is missing")
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        faults.add(f"{path.name}{line}", f"must be valid YAML; {problem}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        faults.add(path.name, f"cannot be read ({exc.__class__.__name__})")
        return None


def _vocabulary(raw: Any, faults: Faults) -> tuple[dict, dict, tuple[str, ...]]:
    conditions: dict[str, dict] = {}
    findings: dict[str, dict] = {}
    if not isinstance(raw, dict):
        faults.add("vocabulary.yaml", "must be a mapping with conditions and findings")
        return conditions, findings, ()
    for c in raw.get("conditions") or []:
        conditions[str(c["id"])] = c
    for f in raw.get("findings") or []:
        findings[str(f["id"])] = {**f, "states": tuple(str(s) for s in f["states"])}
    if tuple(raw.get("condition_states", ())) != CONDITION_STATES:
        faults.add("vocabulary.yaml", f"condition_states must be {list(CONDITION_STATES)}")
    return conditions, findings, tuple(raw.get("triage_levels", LEVELS))


def _entries(raw: Any, file: str, key: str, faults: Faults) -> list[dict]:
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        faults.add(file, f"must hold a list under '{key}'")
        return []
    out = []
    for i, entry in enumerate(raw[key]):
        if not isinstance(entry, dict) or "id" not in entry:
            faults.add(f"{file} {key}[{i}]", "must be a mapping with an 'id'")
            continue
        out.append(entry)
    return out


def _check_ids(file: str, kind: str, got: list[str], expected: set[str], faults: Faults) -> None:
    seen: set[str] = set()
    for gid in got:
        if gid in seen:
            faults.add(f"{file} {gid}", f"{kind} is defined twice")
        seen.add(gid)
        if gid not in expected:
            faults.add(f"{file} {gid}", f"unknown {kind} id; valid ids are in vocabulary.yaml")
    for missing in sorted(expected - seen):
        faults.add(file, f"vocabulary {kind} '{missing}' is missing")


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Load ``path`` (a directory laid out like ``data/``), validate it, and return it.

    Raises ``KnowledgeBaseError`` listing every fault (file, entry and fault) when anything is
    wrong: unknown ids, invalid states, probabilities outside [0, 1], distributions not summing
    to 1, missing rationale or source, or a vocabulary entry left out.
    """
    root = Path(path) if path is not None else default_path()
    if not root.is_dir():
        message = f"{root}: knowledge base must be a directory laid out like data/ ({', '.join(FILES)})"
        raise KnowledgeBaseError([message], path=str(root))
    faults = Faults()
    raw = {name: _read_yaml(root / name, faults) for name in FILES}
    if faults.items:
        raise KnowledgeBaseError(faults.items, path=str(root))
    vocab_conditions, vocab_findings, _levels = _vocabulary(raw["vocabulary.yaml"], faults)

    exposures = _load_exposures(raw["exposures.yaml"], vocab_findings, faults)
    exposure_states = {e.id: e.states for e in exposures}
    conditions = _load_conditions(raw["conditions.yaml"], vocab_conditions, exposure_states, faults)
    findings = _load_findings(raw["findings.yaml"], vocab_findings, set(exposure_states), {c.id for c in conditions}, faults)
    finding_ids = [e.id for e in exposures] + [f.id for f in findings]
    _check_ids("exposures.yaml + findings.yaml", "finding", finding_ids, set(vocab_findings), faults)
    all_states = {**exposure_states, **{f.id: f.states for f in findings}, **{c.id: CONDITION_STATES for c in conditions}}
    triage = _load_triage(raw["triage.yaml"], all_states, faults)
    if faults.items:
        raise KnowledgeBaseError(faults.items, path=str(root))
    return Knowledge(root, tuple(exposures), tuple(conditions), tuple(findings), triage, knowledge_sha256(root))


def _vocab_states(fid: str, vocab: dict, file: str, raw_states: Any, faults: Faults) -> tuple[str, ...] | None:
    states = vocab.get(fid, {}).get("states")
    if raw_states is not None and tuple(map(str, raw_states)) != states:
        faults.add(f"{file} {fid}", f"states must be {list(states or ())} as in vocabulary.yaml; got {raw_states!r}")
    return states


def _load_exposures(raw: Any, vocab: dict, faults: Faults) -> list[Exposure]:
    out = []
    for entry in _entries(raw, "exposures.yaml", "exposures", faults):
        eid = str(entry["id"])
        if eid not in vocab:
            faults.add(f"exposures.yaml {eid}", "unknown finding id; valid ids are in vocabulary.yaml")
            continue
        states = vocab[eid]["states"]
        prior = entry.get("prior")
        if not isinstance(prior, dict) or set(map(str, prior)) != set(states):
            got = sorted(map(str, prior)) if isinstance(prior, dict) else prior
            faults.add(f"exposures.yaml {eid}", f"prior must give one entry per state {list(states)}; got {got!r}")
            continue
        numbers = tuple(read_number(prior[s], f"exposures.yaml {eid} prior[{s}]", faults) for s in states)
        if any(n is None for n in numbers):
            continue
        total = sum(float(n.value) for n in numbers)  # type: ignore[union-attr]
        if abs(total - 1.0) > TOLERANCE:
            faults.add(f"exposures.yaml {eid}", f"prior must sum to 1; got {total!r}")
            continue
        out.append(Exposure(eid, str(vocab[eid]["label"]), str(entry.get("group", "exposures")), states, numbers))  # type: ignore[arg-type]
    return out


def _load_conditions(raw: Any, vocab: dict, exposure_states: dict, faults: Faults) -> list[Condition]:
    entries = _entries(raw, "conditions.yaml", "conditions", faults)
    _check_ids("conditions.yaml", "condition", [str(e["id"]) for e in entries], set(vocab), faults)
    out = []
    for entry in entries:
        cid = str(entry["id"])
        if cid not in vocab:
            continue
        where = f"conditions.yaml {cid}"
        baseline = read_number(entry.get("baseline"), f"{where} baseline", faults)
        causes = read_number(entry.get("causes_twitching"), f"{where} causes_twitching", faults)
        rfs = []
        seen: set[tuple[str, str]] = set()
        for i, rf in enumerate(entry.get("risk_factors") or []):
            rw = f"{where} risk_factors[{i}]"
            if not isinstance(rf, dict):
                faults.add(rw, "must be a mapping with exposure, state, p, why, source")
                continue
            ex, st = str(rf.get("exposure")), str(rf.get("state"))
            if ex not in exposure_states:
                faults.add(rw, f"exposure '{ex}' is not an exposure; valid: {', '.join(sorted(exposure_states))}")
                continue
            if st not in exposure_states[ex]:
                faults.add(rw, f"state '{st}' of {ex} is not valid; valid: {', '.join(exposure_states[ex])}")
                continue
            if (ex, st) in seen:
                faults.add(rw, f"{ex}={st} is given twice")
                continue
            seen.add((ex, st))
            number = read_number(rf, rw, faults)
            if number is not None:
                rfs.append(RiskFactor(ex, st, number))
        if len({rf.exposure for rf in rfs}) > 3:
            faults.add(where, "at most 3 exposures may shape one condition (keeps its table small)")
        if baseline is not None and causes is not None:
            out.append(Condition(cid, str(vocab[cid]["label"]), str(vocab[cid]["category"]), baseline, tuple(rfs), causes))
    return out


def _load_findings(raw: Any, vocab: dict, exposure_ids: set, condition_ids: set, faults: Faults) -> list[Finding]:
    out = []
    for entry in _entries(raw, "findings.yaml", "findings", faults):
        fid = str(entry["id"])
        where = f"findings.yaml {fid}"
        if fid not in vocab:
            faults.add(where, "unknown finding id; valid ids are in vocabulary.yaml")
            continue
        if fid in exposure_ids:
            faults.add(where, "is already an exposure in exposures.yaml")
            continue
        states = _vocab_states(fid, vocab, "findings.yaml", entry.get("states"), faults)
        driven = entry.get("driven_by")
        if driven not in DRIVERS:
            faults.add(where, f"driven_by must be one of {list(DRIVERS)}; got {driven!r}")
            continue
        leak = read_number(entry.get("leak"), f"{where} leak", faults, states)
        links = []
        seen: set[str] = set()
        for i, link in enumerate(entry.get("links") or []):
            lw = f"{where} links[{i}]"
            cid = str(link.get("condition")) if isinstance(link, dict) else None
            if cid not in condition_ids:
                faults.add(lw, f"condition '{cid}' is not a condition of conditions.yaml")
                continue
            if cid in seen:
                faults.add(lw, f"condition '{cid}' is linked twice")
                continue
            seen.add(cid)
            number = read_number(link, f"{where} link from {cid}", faults, states)
            if number is not None:
                links.append(Link(cid, number))
        if leak is not None and states is not None:
            out.append(Finding(fid, str(vocab[fid]["label"]), str(entry.get("group", "")), states, str(driven), leak, tuple(links)))
    return out


def _load_triage(raw: Any, states: dict, faults: Faults) -> Triage:
    if not isinstance(raw, dict):
        faults.add("triage.yaml", "must be a mapping with floors, likely and unexplained")
        return Triage((), {}, {}, {})
    floors = []
    for i, rule in enumerate(raw.get("floors") or []):
        where = f"triage.yaml floors[{i}]"
        var, st, level = str(rule.get("finding")), str(rule.get("state")), rule.get("level")
        if var not in states:
            faults.add(where, f"'{var}' is not a variable of the knowledge base")
        elif st not in states[var]:
            faults.add(where, f"state '{st}' of {var} is not valid; valid: {', '.join(states[var])}")
        elif level not in LEVELS:
            faults.add(where, f"level must be one of {list(LEVELS)}; got {level!r}")
        elif not rule.get("reason"):
            faults.add(where, "must give a reason")
        else:
            floors.append(FloorRule(var, st, str(level), str(rule["reason"]), str(rule.get("source", CONVENTION))))
    blocks = {name: dict(raw.get(name) or {}) for name in ("likely", "unexplained", "persistent")}
    for name, block in blocks.items():
        if block and not is_prob(block.get("threshold")):
            faults.add(f"triage.yaml {name}", f"threshold must be a probability in [0, 1]; got {block.get('threshold')!r}")
        if block and block.get("level", "see_doctor") not in LEVELS:
            faults.add(f"triage.yaml {name}", f"level must be one of {list(LEVELS)}; got {block.get('level')!r}")
    persistent = blocks["persistent"]
    if persistent and persistent.get("state") not in states.get(str(persistent.get("finding")), ()):
        pair = f"{persistent.get('finding')}={persistent.get('state')}"
        faults.add("triage.yaml persistent", f"finding/state '{pair}' is not a valid finding state")
    everyday = raw.get("everyday_causes") or {}
    categories = tuple(map(str, everyday.get("categories") or ()))
    conditions = tuple(map(str, everyday.get("conditions") or ()))
    for cid in conditions:
        if cid not in states or states[cid] != CONDITION_STATES:
            faults.add("triage.yaml everyday_causes", f"'{cid}' is not a condition of conditions.yaml")
    for block_name, block in (("likely", blocks["likely"]),):
        for cid in block.get("conditions") or ():
            if cid not in states or states[cid] != CONDITION_STATES:
                faults.add(f"triage.yaml {block_name}", f"'{cid}' is not a condition of conditions.yaml")
    return Triage(tuple(floors), blocks["likely"], blocks["unexplained"], persistent, categories, conditions)
