"""Lessons and quiz cases as YAML files: their shape, loading a folder of them, and whether the model agrees.

A teaching pack is a folder of YAML files, one lesson or quiz case each (format:
``docs/teaching-format.md``). ``load_pack`` reads every ``*.yaml`` below the folder, validates
each file's shape with pydantic (``twitchbn.schema``'s one-line faults) and then its ids and
states against the loaded model, and raises one ``PackError`` listing every fault, one line
each, naming file, lesson or case, and field. ``check_pack`` says, per file, whether the current
model gives the author's expected answer (graded by ``twitchbn.evaluation``) and whether each
lesson's claims hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import Field, PlainValidator, PrivateAttr

from twitchbn._files import INPUT_LIMIT, read_user_text
from twitchbn.errors import TwitchbnError, closest, shorten
from twitchbn.evaluation import Case, grade
from twitchbn.inference import Model, QueryResult
from twitchbn.schema import LEVELS, Level, Name, Source, Text, _expected, _Strict, parse

KINDS = ("lesson", "case")
HOLDS_WITHIN = 0.05  # "holds": a probability moves by at most 5 percentage points
MAX_CANDIDATES = 6


def default_pack_path() -> Path:
    """The pack shipped with the package."""
    return Path(__file__).resolve().parents[1] / "data" / "teaching"


def _state(value: Any) -> str:
    """A finding's state; a bare YAML yes/no (read as a boolean) is taken as "yes"/"no"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str) or not value.strip():
        raise _expected("a state name such as yes, no or over_1_month")
    return value.strip()


State = Annotated[str, PlainValidator(_state)]


class Step(_Strict):
    """Findings revealed together; a later step may change a finding an earlier one gave."""

    reveal: Annotated[dict[Name, State], Field(min_length=1)]
    say: Text | None = None


class Expected(_Strict):
    """The author's answer once every step is revealed."""

    first: Annotated[tuple[Name, ...], Field(min_length=1)]
    must_not_miss: tuple[Name, ...] = ()
    triage: Level


class Claim(_Strict):
    """A teaching point the numbers must show: ``measure`` of ``condition`` changes so between two
    steps (``change``), and/or ends ``below`` or ``above`` a value at ``to_step``."""

    says: Text
    measure: Literal["explains", "present", "rank", "must_not_miss", "triage"]
    condition: Name | None = None
    change: Literal["rises", "falls", "halves", "doubles", "holds"] | None = None
    below: float | None = None
    above: float | None = None
    from_step: Annotated[int, Field(ge=1)] = 1
    to_step: Annotated[int, Field(ge=1)] | None = None


class TeachingFile(_Strict):
    """One lesson or quiz case."""

    kind: Literal["lesson", "case"]
    id: Name
    title: Text
    story: Text
    steps: Annotated[tuple[Step, ...], Field(min_length=1)]
    question: Text
    conditions: Annotated[tuple[Name, ...], Field(min_length=1)]
    expected: Expected
    teaching_point: Text
    sources: Annotated[tuple[Source, ...], Field(min_length=1)]
    claims: tuple[Claim, ...] = ()
    disagreement: Text | None = None
    _file: str = PrivateAttr(default="")

    @property
    def file(self) -> str:
        """The file name the item was read from (relative to its pack)."""
        return self._file

    @property
    def where(self) -> str:
        """How faults name this item: ``file.yaml: lesson 'id'``."""
        return f"{self._file}: {self.kind} '{self.id}'"

    def evidence(self, step: int | None = None) -> dict[str, str]:
        """The findings of steps 1..``step`` (all steps when None), a later step winning."""
        evidence: dict[str, str] = {}
        for s in self.steps[: len(self.steps) if step is None else step]:
            evidence.update(s.reveal)
        return evidence

    def as_case(self) -> Case:
        """The item as a clinical case of ``twitchbn.evaluation``."""
        return Case(id=self.id, story=self.story, evidence=self.evidence(), top1_any=list(self.expected.first),
                    must_consider=list(self.expected.must_not_miss), triage=self.expected.triage, basis=self.teaching_point)

    def extra_flags(self, flagged: tuple[str, ...] | list[str]) -> list[str]:
        """Conditions of this item flagged as must-not-miss that the author did not expect there."""
        return [c for c in flagged if c in self.conditions and c not in self.expected.must_not_miss]


class PackError(TwitchbnError):
    """A teaching pack has faults; ``faults`` lists every one, one line each."""

    def __init__(self, faults: list[str], *, path: str | None = None):
        self.faults = list(faults)
        self.path = path
        more = f" (and {len(faults) - 1} more fault(s); 'twitchbn cases check {path or 'DIR'}' lists them all)" if len(faults) > 1 else ""
        super().__init__(f"{faults[0]}{more}" if faults else "broken teaching pack")


@dataclass(frozen=True)
class Pack:
    """The lessons and quiz cases of one folder, in file-name order."""

    path: Path
    lessons: tuple[TeachingFile, ...]
    cases: tuple[TeachingFile, ...]

    @property
    def items(self) -> tuple[TeachingFile, ...]:
        return (*self.lessons, *self.cases)

    def lesson(self, lesson_id: str) -> TeachingFile:
        """The lesson with this id, or a one-line error naming the valid ones."""
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        raise TwitchbnError(f"unknown lesson '{shorten(lesson_id)}'; lessons: {', '.join(x.id for x in self.lessons)}")


def load_pack(path: str | Path | None, model: Model) -> Pack:
    """Every lesson and case below ``path`` (default: the shipped pack), validated against ``model``."""
    root = Path(default_pack_path() if path is None else path)
    if not root.is_dir():
        raise PackError([f"{shorten(root, keep_end=True)}: a teaching pack must be a folder of .yaml files"], path=str(root))
    files = sorted(p for p in root.rglob("*.yaml") if p.is_file())
    if not files:
        raise PackError([f"{shorten(root, keep_end=True)}: holds no .yaml lesson or case files"], path=str(root))
    faults: list[str] = []
    items: list[TeachingFile] = []
    seen: dict[str, str] = {}
    for file in files:
        name = file.relative_to(root).as_posix()
        item = _read(file, name, faults)
        if item is None:
            continue
        if item.id in seen:
            faults.append(f"{item.where}: id must be unique in the pack; got '{item.id}', also used by {seen[item.id]}")
            continue
        seen[item.id] = name
        item_faults = check_item(item, model)
        faults.extend(item_faults)
        if not item_faults:
            items.append(item)
    if faults:
        raise PackError(faults, path=str(root))
    return Pack(root, tuple(i for i in items if i.kind == "lesson"), tuple(i for i in items if i.kind == "case"))


def _read(file: Path, name: str, faults: list[str]) -> TeachingFile | None:
    try:
        raw = yaml.safe_load(read_user_text(file, INPUT_LIMIT, f"teaching file '{shorten(name, keep_end=True)}'"))
    except yaml.YAMLError as exc:
        faults.append(f"{name}: cannot be read as YAML ({shorten(exc, 80)})")
        return None
    except TwitchbnError as exc:
        faults.append(str(exc))
        return None
    where = name
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        where = f"{name}: {raw['kind'] if raw.get('kind') in KINDS else 'entry'} '{shorten(raw['id'])}'"
    item, errors = parse(TeachingFile, raw, where)
    faults.extend(errors)
    if item is not None:
        item._file = name
    return item


def check_item(item: TeachingFile, model: Model) -> list[str]:
    """Faults of a well-shaped item against the model: unknown ids or states, inconsistent answers, bad claims."""
    faults: list[str] = []
    at = item.where
    variables = list(model.variables)
    conditions = [c.id for c in model.kb.conditions]
    for n, step in enumerate(item.steps):
        for variable, state in step.reveal.items():
            if variable not in variables:
                faults.append(f"{at}: steps[{n}].reveal key must be a finding, exposure or condition id of the model "
                              f"(closest: {', '.join(closest(variable, variables))}); got '{shorten(variable)}'")
            elif state not in model.states(variable):
                faults.append(f"{at}: steps[{n}].reveal.{variable} must be one of {', '.join(model.states(variable))}; "
                              f"got '{shorten(state)}'")
    fields = {"conditions": item.conditions, "expected.first": item.expected.first, "expected.must_not_miss": item.expected.must_not_miss}
    for field, ids in fields.items():
        for cid in ids:
            if cid not in conditions:
                hint = ", ".join(closest(cid, conditions))
                faults.append(f"{at}: {field} must list condition ids (closest: {hint}); got '{shorten(cid)}'")
    if len(set(item.conditions)) != len(item.conditions):
        faults.append(f"{at}: conditions must name each condition once; got {', '.join(item.conditions)}")
    if item.kind == "case":
        if not 2 <= len(item.conditions) <= MAX_CANDIDATES:
            faults.append(f"{at}: conditions must list 2 to {MAX_CANDIDATES} conditions for the student to rank; "
                          f"got {len(item.conditions)}")
        if not set(item.expected.first) & set(item.conditions):
            faults.append(f"{at}: expected.first must name at least one of the conditions the student ranks; "
                          f"got {', '.join(item.expected.first)}")
        outside = [c for c in item.expected.must_not_miss if c not in item.conditions]
        if outside:
            faults.append(f"{at}: expected.must_not_miss must be among the conditions the student ranks; got {', '.join(outside)}")
    if item.kind == "lesson" and not item.claims:
        faults.append(f"{at}: claims must hold at least one claim the numbers can check; got nothing")
    for n, claim in enumerate(item.claims):
        faults.extend(f"{at}: claims[{n}].{fault}" for fault in _claim_faults(claim, len(item.steps), conditions))
    if not faults:
        for step in range(1, len(item.steps) + 1):
            try:
                model.query(item.evidence(step))
            except TwitchbnError as exc:
                faults.append(f"{at}: steps[{step - 1}] must give possible evidence; {exc}")
                break
    return faults


def _claim_faults(claim: Claim, steps: int, conditions: list[str]) -> list[str]:
    out = []
    to = steps if claim.to_step is None else claim.to_step
    if not (claim.from_step < to if claim.change else claim.from_step <= to) or to > steps:
        order = "<" if claim.change else "<="
        out.append(f"from_step, to_step must satisfy 1 <= from_step {order} to_step <= {steps} (the number of steps); "
                   f"got {claim.from_step}, {to}")
    if claim.measure == "triage":
        if claim.condition is not None:
            out.append(f"condition must be left out for measure triage; got '{claim.condition}'")
    elif claim.condition not in conditions:
        out.append(f"condition must be a condition id for measure {claim.measure}; got '{shorten(claim.condition)}'")
    if claim.measure in ("rank", "must_not_miss", "triage") and claim.change in ("halves", "doubles"):
        out.append(f"change must be rises, falls or holds for measure {claim.measure}; got {claim.change}")
    if claim.change is None and claim.below is None and claim.above is None:
        out.append("change must be one of rises, falls, halves, doubles, holds, unless below or above is given; got nothing")
    return out


# -- what the model says ------------------------------------------------------------------------
def measure(result: QueryResult, claim: Claim) -> float:
    """The claim's measure in one result: a probability, a rank (1 = first), 1 or 0 for on or off the
    must-not-miss list, or a triage level (0 = self care, 1 = see a doctor, 2 = urgent)."""
    if claim.measure == "triage":
        return float(LEVELS.index(result.triage.level))
    if claim.measure == "must_not_miss":
        return float(claim.condition in result.dont_miss)
    if claim.measure == "rank":
        return float(list(result.conditions.index).index(claim.condition) + 1)
    column = "explains" if claim.measure == "explains" else "probability"
    return float(result.conditions.at[claim.condition, column])


def holds(claim: Claim, before: float, after: float) -> bool:
    """Whether the change from ``before`` to ``after`` is the one claimed (a lower rank number is a rise),
    and ``after`` is within the claim's bounds."""
    if (claim.below is not None and not after < claim.below) or (claim.above is not None and not after > claim.above):
        return False
    if claim.change is None:
        return True
    if claim.measure == "rank":
        before, after = -before, -after
    return {
        "rises": after > before,
        "falls": after < before,
        "halves": after <= before / 2,
        "doubles": after >= 2 * before,
        "holds": abs(after - before) <= (HOLDS_WITHIN if claim.measure in ("explains", "present") else 0),
    }[claim.change]


@dataclass(frozen=True)
class ClaimCheck:
    """One claim on the current model: the measure at both steps, and whether it holds."""

    claim: Claim
    before: float
    after: float
    holds: bool


def check_claims(item: TeachingFile, model: Model) -> list[ClaimCheck]:
    """Every claim of an item evaluated on the model."""
    out = []
    for claim in item.claims:
        to = len(item.steps) if claim.to_step is None else claim.to_step
        before = measure(model.query(item.evidence(claim.from_step)), claim)
        after = measure(model.query(item.evidence(to)), claim)
        out.append(ClaimCheck(claim, before, after, holds(claim, before, after)))
    return out


@dataclass(frozen=True)
class Agreement:
    """Whether the model gives the author's answer for one item, and why not."""

    item: TeachingFile
    problems: tuple[str, ...]  # the model's answer against the expected one (twitchbn.evaluation)
    failed_claims: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        return not self.problems and not self.failed_claims

    @property
    def status(self) -> str:
        """agrees; disagrees as intended (the file gives the reason); disagrees; or stale (agrees, yet says it should not)."""
        if self.item.disagreement is None:
            return "agrees" if self.agrees else "disagrees"
        return "stale" if self.agrees else "intended"

    @property
    def ok(self) -> bool:
        """True when the model agrees, or disagrees where the file says that is the point."""
        return self.status in ("agrees", "intended") and not self.failed_claims

    def line(self) -> str:
        """One line for the authoring check."""
        words = {"agrees": "agrees with the model", "disagrees": "DISAGREES with the model",
                 "intended": "disagrees with the model, as intended", "stale": "STALE: agrees with the model, yet says it should not"}
        why = [*self.problems, *(f"claim fails: {c}" for c in self.failed_claims)]
        reason = f" ({self.item.disagreement})" if self.status == "intended" else ""
        detail = f": {'; '.join(why)}" if why else ""
        return f"{self.item.where}: {words[self.status]}{detail}{reason}"


def agreement(item: TeachingFile, model: Model) -> Agreement:
    """Grade the model on an item's expected answer and check its claims."""
    marked = grade(model, item.as_case())
    extra = item.extra_flags(marked.dont_miss)
    problems = (*marked.problems(), *([f"also flags {', '.join(extra)} as must-not-miss"] if extra else []))
    failed = tuple(c.claim.says for c in check_claims(item, model) if not c.holds)
    return Agreement(item, problems, failed)


def check_pack(pack: Pack, model: Model) -> list[Agreement]:
    """The agreement of every lesson and case of a pack."""
    return [agreement(item, model) for item in pack.items]


def claims_table(pack: Pack, model: Model) -> pd.DataFrame:
    """Every lesson's claims on the current model: the measure at both steps and whether the claim holds."""
    rows = []
    for lesson in pack.lessons:
        for check in check_claims(lesson, model):
            claim = check.claim
            rows.append({"lesson": lesson.id, "measure": claim.measure, "condition": claim.condition or "",
                         "steps": f"{claim.from_step}->{len(lesson.steps) if claim.to_step is None else claim.to_step}",
                         "before": round(check.before, 3), "after": round(check.after, 3), "holds": check.holds})
    return pd.DataFrame(rows)
