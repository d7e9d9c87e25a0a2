"""Clinical case files and how the model is graded against them.

A case is a presentation written by a clinician (often blind to the knowledge base): evidence, the
acceptable first-ranked conditions, the serious conditions that must stay in view, and the advice
level. ``grade`` scores one case; ``score`` a whole file, with the figures the project promises:
first rank, an acceptable answer in the top three, required conditions in the top three or the
can't-miss list, can't-miss recall, false alarms on everyday presentations, exact triage and
under-calls. The tests, ``twitchbn evaluate`` and the calibration notes all use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twitchbn._files import INPUT_LIMIT, read_user_text
from twitchbn.errors import CaseFileError, shorten
from twitchbn.inference import Model

LEVELS = ("self_care", "see_doctor", "urgent")
METRICS = ("top1", "top3", "required", "triage", "under_call", "false_alarm", "dont_miss_recall")


class Case(BaseModel):
    """One clinical presentation and what a clinician expects of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    story: str = ""
    evidence: dict[str, str]
    top1_any: list[str] = Field(min_length=1)
    target: str | None = None
    must_consider: list[str] = []
    triage: Literal["self_care", "see_doctor", "urgent"]
    everyday: bool = False
    basis: str = ""

    @property
    def required(self) -> list[str]:
        """Conditions that must be in the top three or on the can't-miss list."""
        extra = [self.target] if self.target and self.target not in self.must_consider else []
        return [*self.must_consider, *extra]


def _yes_no(value: object) -> object:
    """YAML 1.1 reads bare yes/no as booleans; evidence states are strings."""
    return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value


def load_cases(path: str | Path) -> list[Case]:
    """Read a YAML list of cases; a malformed one raises ``CaseFileError`` naming file, case and key."""
    path = Path(path)
    text = read_user_text(path, INPUT_LIMIT, f"case file '{shorten(path.name, keep_end=True)}'")
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        raise CaseFileError(f"{path.name}: cannot be read as YAML ({shorten(exc, 80)})", path=str(path)) from None
    if not isinstance(raw, list):
        raise CaseFileError(f"{path.name}: cases must be a YAML list; got {type(raw).__name__}", path=str(path))
    cases, seen = [], set()
    for position, item in enumerate(raw, start=1):
        name = f"case '{shorten(item.get('id'))}'" if isinstance(item, dict) and item.get("id") else f"case {position}"
        if isinstance(item, dict) and isinstance(item.get("evidence"), dict):
            item = {**item, "evidence": {k: _yes_no(v) for k, v in item["evidence"].items()}}
        try:
            case = Case.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "entry"
            raise CaseFileError(f"{path.name}: {name}: {where}: {error['msg']}", path=str(path)) from None
        if case.id in seen:
            raise CaseFileError(f"{path.name}: {name}: id is used twice", path=str(path))
        seen.add(case.id)
        cases.append(case)
    return cases


@dataclass(frozen=True)
class Grade:
    """How the model did on one case (each metric True/False; None where it does not apply)."""

    case: Case
    top: tuple[str, ...]
    dont_miss: tuple[str, ...]
    level: str
    marks: dict[str, bool | None]

    def problems(self) -> list[str]:
        """What went wrong, in words (empty when the case passes)."""
        c, out = self.case, []
        if not self.marks["top1"]:
            out.append(f"first is {self.top[0]}, expected one of {c.top1_any}")
        missing = [r for r in c.required if r not in self.top[:3] and r not in self.dont_miss]
        if missing:
            out.append(f"{', '.join(missing)} neither in the top 3 nor can't-miss")
        if not self.marks["triage"]:
            out.append(f"triage is {self.level}, expected {c.triage}")
        if self.marks["false_alarm"]:
            out.append(f"everyday presentation flags {', '.join(self.dont_miss)} as can't-miss")
        return out


def grade(model: Model, case: Case) -> Grade:
    """Query the model with the case's evidence and mark each metric."""
    result = model.query(case.evidence)
    return mark(case, tuple(str(i) for i in result.conditions.index), tuple(result.dont_miss), result.triage.level)


def mark(case: Case, top: tuple[str, ...], dont_miss: tuple[str, ...], level: str) -> Grade:
    """Mark an answer to a case: a ranking, a can't-miss list and a triage level (the model's or a student's)."""
    marks: dict[str, bool | None] = {
        "top1": top[0] in case.top1_any,
        "top3": any(c in top[:3] for c in case.top1_any),
        "required": all(r in top[:3] or r in dont_miss for r in case.required) if case.required else None,
        "triage": level == case.triage,
        "under_call": LEVELS.index(level) < LEVELS.index(case.triage),
        "false_alarm": bool(dont_miss) if case.everyday else None,
        "dont_miss_recall": all(r in dont_miss or r == top[0] for r in case.must_consider) if case.must_consider else None,
    }
    return Grade(case, top, dont_miss, level, marks)


def score(grades: list[Grade]) -> dict[str, float | int]:
    """Rates of each metric over the cases it applies to (``under_call`` as a count), and counts."""
    out: dict[str, float | int] = {"cases": len(grades)}
    for metric in METRICS:
        marks = [g.marks[metric] for g in grades if g.marks[metric] is not None]
        if metric == "under_call":
            out[metric] = sum(bool(m) for m in marks)
        else:
            out[metric] = sum(bool(m) for m in marks) / len(marks) if marks else float("nan")
            out[f"{metric}_n"] = len(marks)
    return out


def report(name: str, figures: dict[str, float | int]) -> str:
    """One readable line of figures for a case file."""
    def rate(metric: str) -> str:
        value = figures[metric]
        return "n/a" if value != value else f"{100 * float(value):.0f}% of {figures[metric + '_n']}"

    return (f"{name}: {figures['cases']} cases; first {rate('top1')}, top 3 {rate('top3')}, "
            f"required in view {rate('required')}, can't-miss recall {rate('dont_miss_recall')}, "
            f"false alarms {rate('false_alarm')}, exact triage {rate('triage')}, under-calls {figures['under_call']}")
