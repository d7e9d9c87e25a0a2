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
* **tests** (``tests.yaml``, when the vocabulary lists tests): tests and examination signs a
  clinician may order next. Each is a finding of kind ``test`` (a noisy-MAX of the conditions
  it detects: link = sensitivity, leak = 1 - specificity) that also carries its cost,
  invasiveness, time to result and shared draw (``twitchbn.workup`` ranks them);
* **triage** (``triage.yaml``): red-flag floors and the probability rules of the advice.

Every number carries ``why`` (a one-line rationale) and ``source`` (a seed file name with a short
paraphrase, or ``clinical convention``). Validation has two layers: the schema
(``twitchbn.schema``: keys, types, categories, ranges) and then the cross-references here (ids
in the vocabulary, valid states, distributions summing to 1, every finding exactly once). Both
collect every fault in one pass and name file, entry and key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel

from twitchbn import schema
from twitchbn._files import KNOWLEDGE_LIMIT, read_user_text
from twitchbn.errors import InputFileError, KnowledgeBaseError, closest, shorten
from twitchbn.numbers import TOLERANCE, Faults, Number, over_states, point
from twitchbn.schema import CONDITION_STATES, LEVELS, DontMissRule, FloorRule

FILES = ("vocabulary.yaml", "exposures.yaml", "conditions.yaml", "findings.yaml", "triage.yaml")
TESTS_FILE = "tests.yaml"  # required when the vocabulary lists tests
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when libyaml is present
M = TypeVar("M", bound=BaseModel)
__all__ = ["CONDITION_STATES", "LEVELS", "Condition", "Draw", "Exposure", "Finding", "Knowledge", "Link", "RiskFactor", "Triage",
           "WorkupInfo",
           "default_path", "knowledge_sha256", "load_knowledge"]


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
class WorkupInfo:
    """What ordering a test takes: its own cost (cost units), the shared draw it needs (or
    None), how invasive it is and how long its result takes."""

    cost: float
    cost_source: str
    draw: str | None
    invasiveness: str
    time_to_result: str


@dataclass(frozen=True)
class Draw:
    """A shared cost: paid once by the first test of the draw (GeNIe's conditional cost)."""

    id: str
    label: str
    cost: float
    why: str
    source: str


@dataclass(frozen=True)
class Finding:
    """An observable node below the conditions; ``kind`` "test" marks a test or examination
    sign of ``tests.yaml`` (it then carries ``workup``)."""

    id: str
    label: str
    group: str
    states: tuple[str, ...]
    driven_by: str
    leak: Number
    links: tuple[Link, ...]
    kind: str = "finding"
    workup: WorkupInfo | None = None


@dataclass(frozen=True)
class Triage:
    """The rules of ``triage.yaml``; ``likely``, ``unexplained`` and ``persistent`` are empty when absent."""

    floors: tuple[FloorRule, ...]
    likely: dict[str, Any]
    unexplained: dict[str, Any]
    persistent: dict[str, Any]
    everyday_categories: tuple[str, ...] = ()
    everyday_conditions: tuple[str, ...] = ()
    dont_miss: DontMissRule | None = None


@dataclass(frozen=True)
class Knowledge:
    """The validated knowledge base; everything downstream is derived from it."""

    path: Path
    exposures: tuple[Exposure, ...]
    conditions: tuple[Condition, ...]
    findings: tuple[Finding, ...]
    triage: Triage
    sha256: str
    draws: tuple[Draw, ...] = ()

    @property
    def tests(self) -> tuple[Finding, ...]:
        """The tests and examination signs (findings of kind "test"), in file order."""
        return tuple(f for f in self.findings if f.kind == "test")

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

    def numbers(self) -> list[Number]:
        """Every hand-set number: exposure priors, condition baselines, risk factors and
        causes_twitching, finding leaks and links."""
        out = [n for x in self.exposures for n in x.prior]
        for c in self.conditions:
            out += [c.baseline, *(rf.number for rf in c.risk_factors), c.causes_twitching]
        for f in self.findings:
            out += [f.leak, *(link.number for link in f.links)]
        return out

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


def _read(root: Path, name: str, model: type[M], faults: Faults) -> M | None:
    """One file parsed as YAML and validated against its schema (None after a fault)."""
    path = root / name
    if not path.exists():
        faults.add(name, "file is missing")
        return None
    try:
        raw = yaml.load(read_user_text(path, KNOWLEDGE_LIMIT, name), Loader=_LOADER)
    except InputFileError as exc:  # not a regular file, too big, not UTF-8
        faults.items.append(str(exc))
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        faults.add(f"{name}{line}", f"must be valid YAML; {problem}")
        return None
    except ValueError as exc:  # a value YAML cannot convert: an integer of thousands of digits, a 13th month
        problem = (" with numbers of at most 4,300 digits; got a longer one" if "integer string conversion" in str(exc)
                   else f"; {shorten(str(exc).split(':')[0], 80)}")
        faults.add(name, f"must be valid YAML{problem}")
        return None
    parsed, found = schema.parse(model, raw, name)
    faults.items.extend(found)
    return parsed


def load_knowledge(path: str | Path | None = None) -> Knowledge:
    """Load ``path`` (a directory laid out like ``data/``), validate it, and return it.

    Raises ``KnowledgeBaseError`` whose ``faults`` list every fault (file, entry and key) when
    anything is wrong: an unknown or missing key, a value of the wrong type or outside its range,
    unknown ids, invalid states, distributions not summing to 1, missing rationale or source, or a
    vocabulary entry left out. Cross-references are checked against the files that pass the schema.
    """
    root = Path(path) if path is not None else default_path()
    if not root.is_dir():
        message = f"{root}: knowledge base must be a directory laid out like data/ ({', '.join(FILES)})"
        raise KnowledgeBaseError([message], path=str(root))
    faults = Faults()
    vocab = _read(root, "vocabulary.yaml", schema.VocabularyFile, faults)
    exposures_file = _read(root, "exposures.yaml", schema.ExposuresFile, faults)
    conditions_file = _read(root, "conditions.yaml", schema.ConditionsFile, faults)
    findings_file = _read(root, "findings.yaml", schema.FindingsFile, faults)
    triage_file = _read(root, "triage.yaml", schema.TriageFile, faults)
    wants_tests = (vocab is not None and bool(vocab.tests)) or (root / TESTS_FILE).exists()
    tests_file = _read(root, TESTS_FILE, schema.WorkupFile, faults) if wants_tests else None
    if vocab is None or exposures_file is None:  # every cross-reference needs the vocabulary and the exposures
        raise KnowledgeBaseError(faults.items, path=str(root))
    states = {f.id: f.states for f in vocab.findings}
    condition_ids = {c.id for c in vocab.conditions}  # one missing from conditions.yaml is a fault of its own
    exposure_states = {e.id: states[e.id] for e in exposures_file.exposures if e.id in states}
    exposures = _load_exposures(exposures_file, vocab, faults)
    conditions = _load_conditions(conditions_file, vocab, exposure_states, faults) if conditions_file is not None else None
    findings = _load_findings(findings_file, vocab, exposure_states, condition_ids, faults) if findings_file is not None else None
    draws, tests = ((), []) if tests_file is None else _load_tests(tests_file, vocab, set(states) | condition_ids, condition_ids, faults)
    states |= {t.id: t.states for t in vocab.tests}
    variables = states | dict.fromkeys(condition_ids, CONDITION_STATES)
    triage = _load_triage(triage_file, variables, condition_ids, faults) if triage_file is not None else None
    if faults.items or conditions is None or findings is None or triage is None:
        raise KnowledgeBaseError(faults.items, path=str(root))
    return Knowledge(root, tuple(exposures), tuple(conditions), (*findings, *tests), triage, knowledge_sha256(root), draws)


def _not_one_of(key: str, expected: str, got: str, valid: Any) -> str:
    return f"{key} must be {expected}; got '{shorten(got)}' (closest: {', '.join(closest(got, sorted(valid)))})"


def _bad_state(key: str, variable: str, state: str, states: tuple[str, ...]) -> str:
    return f"{key} must be a state of {variable} ({', '.join(states)}); got '{shorten(state)}'"


def _check_coverage(file: str, kind: str, got: list[str], expected: set[str], faults: Faults) -> None:
    """Each vocabulary id of ``kind`` appears in ``file`` exactly once."""
    seen: set[str] = set()
    for gid in got:
        if gid in seen:
            faults.add(f"{file}: {kind} '{gid}'", "is defined twice; each id appears once")
        seen.add(gid)
    for missing in sorted(expected - seen):
        faults.add(file, f"{kind} '{missing}' of vocabulary.yaml is missing")


def _load_exposures(raw: schema.ExposuresFile, vocab: schema.VocabularyFile, faults: Faults) -> list[Exposure]:
    findings = {f.id: f for f in vocab.findings}
    out = []
    for entry in raw.exposures:
        at = f"exposures.yaml: exposure '{entry.id}'"
        if entry.id not in findings:
            faults.add(at, _not_one_of("id", "a finding of vocabulary.yaml", entry.id, findings))
            continue
        states = findings[entry.id].states
        if set(entry.prior) != set(states):
            faults.add(at, f"prior must give exactly the states {', '.join(states)}; got {', '.join(entry.prior) or 'none'}")
            continue
        prior = tuple(point(entry.prior[s], f"exposures.yaml {entry.id} prior[{s}]") for s in states)
        total = sum(float(n.value) for n in prior)  # type: ignore[arg-type]
        if abs(total - 1.0) > TOLERANCE:
            faults.add(at, f"prior must sum to 1; got {total!r}")
            continue
        out.append(Exposure(entry.id, findings[entry.id].label, entry.group, states, prior))
    return out


def _load_conditions(raw: schema.ConditionsFile, vocab: schema.VocabularyFile, exposure_states: dict[str, tuple[str, ...]],
                     faults: Faults) -> list[Condition]:
    known = {c.id: c for c in vocab.conditions}
    out = []
    for entry in raw.conditions:
        at, label = f"conditions.yaml: condition '{entry.id}'", f"conditions.yaml {entry.id}"
        if entry.id not in known:
            faults.add(at, _not_one_of("id", "a condition of vocabulary.yaml", entry.id, known))
            continue
        rfs: list[RiskFactor] = []
        for i, rf in enumerate(entry.risk_factors):
            key = f"risk_factors[{i}]"
            if rf.exposure not in exposure_states:
                faults.add(at, _not_one_of(f"{key}.exposure", "an exposure of exposures.yaml", rf.exposure, exposure_states))
            elif rf.state not in exposure_states[rf.exposure]:
                faults.add(at, _bad_state(f"{key}.state", rf.exposure, rf.state, exposure_states[rf.exposure]))
            elif any((r.exposure, r.state) == (rf.exposure, rf.state) for r in rfs):
                faults.add(at, f"{key} must not repeat {rf.exposure}={rf.state}; it is given twice")
            else:
                rfs.append(RiskFactor(rf.exposure, rf.state, point(rf, f"{label} {key}")))
        condition = Condition(entry.id, known[entry.id].label, known[entry.id].category, point(entry.baseline, f"{label} baseline"),
                              tuple(rfs), point(entry.causes_twitching, f"{label} causes_twitching"))
        if len(condition.parents) > 3:
            faults.add(at, f"risk_factors must involve at most 3 exposures (keeps its table small); got {', '.join(condition.parents)}")
        out.append(condition)
    _check_coverage("conditions.yaml", "condition", [e.id for e in raw.conditions], set(known), faults)
    return out


def _load_findings(raw: schema.FindingsFile, vocab: schema.VocabularyFile, exposure_states: dict[str, tuple[str, ...]],
                   condition_ids: set[str], faults: Faults) -> list[Finding]:
    known = {f.id: f for f in vocab.findings}
    out = []
    for entry in raw.findings:
        at, label = f"findings.yaml: finding '{entry.id}'", f"findings.yaml {entry.id}"
        states = _vocabulary_states(entry, known, "a finding of vocabulary.yaml", exposure_states,
                                    "is already an exposure in exposures.yaml; a finding appears in one file only", at, faults)
        if states is None:
            continue
        leak, links = _links(entry, label, states, condition_ids, at, faults)
        if leak is not None:
            out.append(Finding(entry.id, known[entry.id].label, entry.group, states, entry.driven_by, leak, links))
    ids = [*exposure_states, *(f.id for f in raw.findings if f.id in known and f.id not in exposure_states)]
    _check_coverage("exposures.yaml + findings.yaml", "finding", ids, set(known), faults)
    return out


def _vocabulary_states(entry: schema.FindingEntry | schema.WorkupEntry, known: Mapping[str, Any], what: str,
                       taken: Collection[str], clash: str, at: str, faults: Faults) -> tuple[str, ...] | None:
    """The vocabulary's states of a finding or test entry (a differing ``states`` key is a fault),
    or None, with the fault, when its id is not in ``known`` or already ``taken``."""
    if entry.id not in known:
        faults.add(at, _not_one_of("id", what, entry.id, known))
        return None
    if entry.id in taken:
        faults.add(at, clash)
        return None
    states = known[entry.id].states
    if entry.states is not None and entry.states != states:
        faults.add(at, f"states must be {', '.join(states)} as in vocabulary.yaml; got {', '.join(entry.states)}")
    return states


def _links(entry: schema.FindingEntry | schema.WorkupEntry, label: str, states: tuple[str, ...], condition_ids: set[str], at: str,
           faults: Faults) -> tuple[Number | None, tuple[Link, ...]]:
    """The leak and the links of a finding or test, each checked against its states."""
    leak = over_states(entry.leak, f"{label} leak", states, faults, at, "leak")
    links: list[Link] = []
    for i, link in enumerate(entry.links):
        key = f"links[{i}]"
        if link.condition not in condition_ids:
            faults.add(at, _not_one_of(f"{key}.condition", "a condition of the knowledge base", link.condition, condition_ids))
        elif any(x.condition == link.condition for x in links):
            faults.add(at, f"{key} must not repeat condition '{link.condition}'; it is linked twice")
        elif (number := over_states(link, f"{label} link from {link.condition}", states, faults, at, key)) is not None:
            links.append(Link(link.condition, number))
    return leak, tuple(links)


def _load_tests(raw: schema.WorkupFile, vocab: schema.VocabularyFile, taken: set[str], condition_ids: set[str],
                faults: Faults) -> tuple[tuple[Draw, ...], list[Finding]]:
    """The shared draws and the tests of ``tests.yaml``, each test a finding of kind "test"."""
    draws = tuple(Draw(d.id, d.label, d.cost, d.why, d.source) for d in raw.draws)
    draw_ids = {d.id for d in draws}
    known = {t.id: t for t in vocab.tests}
    out = []
    for entry in raw.tests:
        at, label = f"{TESTS_FILE}: test '{entry.id}'", f"{TESTS_FILE} {entry.id}"
        states = _vocabulary_states(entry, known, "a test of vocabulary.yaml", taken,
                                    "is already a finding or condition; a test id must be new", at, faults)
        if states is None:
            continue
        if entry.draw is not None and entry.draw not in draw_ids:
            faults.add(at, _not_one_of("draw", f"a draw of {TESTS_FILE}", entry.draw, draw_ids or {"(none defined)"}))
        leak, links = _links(entry, label, states, condition_ids, at, faults)
        info = WorkupInfo(entry.cost.value, entry.cost.source, entry.draw, entry.invasiveness, entry.time_to_result)
        if leak is not None:
            out.append(Finding(entry.id, known[entry.id].label, "test", states, "present", leak, links, "test", info))
    _check_coverage(TESTS_FILE, "test", [e.id for e in raw.tests], set(known), faults)
    return draws, out


def _load_triage(raw: schema.TriageFile, variables: dict[str, tuple[str, ...]], condition_ids: set[str], faults: Faults) -> Triage:
    states_of = [(f"triage.yaml: floors[{i}]", "", rule) for i, rule in enumerate(raw.floors)]
    states_of += [("triage.yaml", "persistent.", raw.persistent)] if raw.persistent else []
    for at, key, rule in states_of:
        if rule.finding not in variables:
            faults.add(at, _not_one_of(f"{key}finding", "a variable of the knowledge base", rule.finding, variables))
        elif rule.state not in variables[rule.finding]:
            faults.add(at, _bad_state(f"{key}state", rule.finding, rule.state, variables[rule.finding]))
    for name, listing in (("likely", raw.likely), ("everyday_causes", raw.everyday_causes), ("dont_miss", raw.dont_miss)):
        for i, cid in enumerate(listing.conditions if listing else ()):
            if cid not in condition_ids:
                faults.add("triage.yaml", _not_one_of(f"{name}.conditions[{i}]", "a condition of the knowledge base", cid, condition_ids))
    return Triage(
        raw.floors,
        raw.likely.model_dump() if raw.likely else {},
        raw.unexplained.model_dump() if raw.unexplained else {},
        raw.persistent.model_dump() if raw.persistent else {},
        raw.everyday_causes.categories if raw.everyday_causes else (),
        raw.everyday_causes.conditions if raw.everyday_causes else (),
        raw.dont_miss,
    )
