"""The shape of each knowledge-base file, declared as strict pydantic models.

This is the first layer of validation: keys, types, closed categories and numeric ranges. Every
model forbids unknown keys and is frozen. ``parse`` validates one file's YAML and turns
pydantic's errors into one-line faults naming file, entry (its id, or its list position when it
has none) and key, with what is valid. Whether ids, states and distributions agree across files
is the second layer, in ``twitchbn.knowledge``.
"""

from __future__ import annotations

import math
import re
import types
import typing
from typing import Annotated, Any, Literal, Self, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from twitchbn.errors import shorten
from twitchbn.numbers import CONVENTION, SEED_FILES, is_valid_source

Category = Literal["lifestyle", "deficiency", "local", "disease"]
Group = Literal["where", "how", "exposures", "with"]
Driver = Literal["causing", "present"]
Level = Literal["self_care", "see_doctor", "urgent"]
Invasiveness = Literal["none", "minimal", "moderate"]
TimeToResult = Literal["immediate", "hours", "days", "weeks"]
LEVELS: tuple[str, ...] = get_args(Level)
CONDITION_STATES = ("absent", "present")
_YES_NO = 'YAML reads a bare yes or no as true or false: write "yes" or "no"'


def _expected(expected: str, **ctx: Any) -> PydanticCustomError:
    """A fault: what the value must be. Optional ``ctx``: ``key`` extends the path, ``got`` replaces
    the input, ``shown`` replaces how it is echoed, ``hint`` follows the message."""
    return PydanticCustomError("twitchbn", "{expected}", {"expected": expected, **ctx})


def _real(value: Any, expected: str, low: float, high: float, whole: bool = False) -> Any:
    """``value`` if it is a finite number (a whole one when ``whole``) in [low, high]."""
    kinds = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _expected(expected)
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise _expected(expected) from None
    if not (math.isfinite(number) and low <= number <= high):
        raise _expected(expected)
    return value if whole else number


def _text(value: Any, expected: str = "a non-empty string") -> str:
    if isinstance(value, bool):
        raise _expected(expected, hint=_YES_NO)
    if not isinstance(value, str) or not value.strip():
        raise _expected(expected)
    return value.strip()


def _name(value: Any) -> str:
    text = _text(value, "a name of letters, digits and _")
    if not re.fullmatch(r"\w+", text, flags=re.ASCII):
        raise _expected("a name of letters, digits and _")
    return text


def _source(value: Any) -> str:
    expected = f"a seed file name ({', '.join(SEED_FILES)}) with a paraphrase, a reference with its URL or DOI, or '{CONVENTION}'"
    text = _text(value, expected)
    if not is_valid_source(text):
        raise _expected(expected)
    return text


def _range(value: Any) -> tuple[float, float]:
    expected = "[low, high] with 0 <= low <= high <= 1"
    if not isinstance(value, list) or len(value) != 2:
        raise _expected(expected)
    low, high = (_real(v, expected, 0.0, 1.0) for v in value)
    if low > high:
        raise _expected(expected)
    return low, high


def _exactly(values: tuple[str, ...]) -> PlainValidator:
    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or tuple(value) != values:
            raise _expected(f"[{', '.join(values)}]")
        return values

    return PlainValidator(check)


Prob = Annotated[float, PlainValidator(lambda v: _real(v, "a probability in [0, 1]", 0.0, 1.0))]
Lift = Annotated[float, PlainValidator(lambda v: _real(v, "a number of at least 1", 1.0, math.inf))]
ListSize = Annotated[int, PlainValidator(lambda v: _real(v, "a whole number from 1 to 5", 1, 5, whole=True))]
Cost = Annotated[float, PlainValidator(lambda v: _real(v, "a cost of at least 0 (cost units)", 0.0, math.inf))]
Version = Annotated[int, PlainValidator(lambda v: _real(v, "a whole number of at least 1", 1, math.inf, whole=True))]
Text = Annotated[str, PlainValidator(_text)]
Name = Annotated[str, PlainValidator(_name)]
Source = Annotated[str, PlainValidator(_source)]
Range = Annotated[tuple[float, float], PlainValidator(_range)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- numbers ----------------------------------------------------------------------------------------
class _Number(_Strict):
    """Checks every hand-set number shares: one of p or dist, and a range that holds p."""

    @model_validator(mode="after")
    def _p_dist_and_range(self) -> Self:
        p, dist, bounds = getattr(self, "p", None), getattr(self, "dist", None), getattr(self, "range", None)
        if "dist" in type(self).model_fields and (p is None) == (dist is None):
            raise _expected("a number with exactly one of p or dist", shown="both" if p is not None else "neither")
        if bounds is not None and p is None:
            raise _expected("left out for a dist (a range bounds a single p)", key="range", got=list(bounds))
        if bounds is not None and p is not None and not bounds[0] <= p <= bounds[1]:
            raise _expected(f"within its range [{bounds[0]}, {bounds[1]}]", key="p", got=p)
        return self


class PNumber(_Number):
    """A single probability with its rationale and source."""

    p: Prob
    range: Range | None = None
    why: Text
    source: Source


class DistNumber(_Number):
    """A finding's leak: ``p`` (binary findings) or ``dist`` over the finding's states."""

    p: Prob | None = None
    dist: dict[Name, Prob] | None = None
    range: Range | None = None
    why: Text
    source: Source


class RiskFactorEntry(PNumber):
    """One exposure state that raises a condition's probability by ``p``."""

    exposure: Name
    state: Name


class LinkEntry(DistNumber):
    """What a condition, when active, makes of a finding: ``p`` or ``dist``."""

    condition: Name


# -- the five files -----------------------------------------------------------------------------------
class VocabularyCondition(_Strict):
    id: Name
    label: Text
    category: Category
    seed: Text | None = None


class VocabularyFinding(_Strict):
    id: Name
    label: Text
    states: Annotated[tuple[Name, ...], Field(min_length=2)]


class VocabularyFile(_Strict):
    version: Version
    condition_states: Annotated[tuple[str, ...], _exactly(CONDITION_STATES)]
    conditions: tuple[VocabularyCondition, ...]
    findings: tuple[VocabularyFinding, ...]
    tests: tuple[VocabularyFinding, ...] = ()
    triage_levels: Annotated[tuple[str, ...], _exactly(LEVELS)]


class ExposureEntry(_Strict):
    id: Name
    group: Group
    prior: dict[Name, PNumber]


class ExposuresFile(_Strict):
    exposures: tuple[ExposureEntry, ...]


class ConditionEntry(_Strict):
    id: Name
    baseline: PNumber
    risk_factors: tuple[RiskFactorEntry, ...] = ()
    causes_twitching: PNumber


class ConditionsFile(_Strict):
    conditions: tuple[ConditionEntry, ...]


class FindingEntry(_Strict):
    id: Name
    group: Group
    states: tuple[Name, ...] | None = None  # optional; when given, the vocabulary's states
    driven_by: Driver
    leak: DistNumber
    links: tuple[LinkEntry, ...] = ()


class FindingsFile(_Strict):
    findings: tuple[FindingEntry, ...]


class CostEntry(_Strict):
    """What a test costs (cost units) and where the figure comes from."""

    value: Cost
    source: Source


class DrawEntry(_Strict):
    """A shared cost (GeNIe's conditional cost): paid by the first test that needs it."""

    id: Name
    label: Text
    cost: Cost
    why: Text
    source: Source


class WorkupEntry(_Strict):
    """A test or examination sign: a finding hung off the conditions it detects (link p =
    sensitivity, leak = 1 - specificity) plus its cost, invasiveness and time to result."""

    id: Name
    states: tuple[Name, ...] | None = None  # optional; when given, the vocabulary's states
    cost: CostEntry
    draw: Name | None = None
    invasiveness: Invasiveness
    time_to_result: TimeToResult
    leak: DistNumber
    links: tuple[LinkEntry, ...] = ()


class WorkupFile(_Strict):
    draws: tuple[DrawEntry, ...] = ()
    tests: tuple[WorkupEntry, ...]


class FloorRule(_Strict):
    """A red flag: this finding state sets at least this level."""

    finding: Name
    state: Name
    level: Level
    reason: Text
    source: Text


class LikelyRule(_Strict):
    """A condition of these categories or ids this likely (or, with ``leading``, ranked first)
    raises the level."""

    threshold: Prob
    categories: tuple[Category, ...] = ()
    conditions: tuple[Name, ...] = ()
    leading: bool = False
    level: Level


class EverydayCauses(_Strict):
    """The convincing everyday explanations of twitching."""

    categories: tuple[Category, ...] = ()
    conditions: tuple[Name, ...] = ()


class UnexplainedRule(_Strict):
    """Twitching no everyday cause explains this likely raises the level."""

    threshold: Prob
    level: Level


class PersistentRule(_Strict):
    """Weeks of twitching without a convincing everyday cause raise the level (a cause is
    convincing when it is known to be present, at ``present`` or above, and explains the
    twitching at ``threshold`` or above)."""

    finding: Name
    state: Name
    threshold: Prob
    present: Prob = 0.0
    level: Level
    reason: Text
    source: Text


class DontMissRule(_Strict):
    """The can't-miss list: serious conditions the evidence keeps in play."""

    conditions: Annotated[tuple[Name, ...], Field(min_length=1)]
    threshold: Prob
    lift: Lift
    rare_threshold: Prob = 1.0
    rare_lift: Lift = 1.0
    probable: Prob = 1.0
    max: ListSize
    level: Level
    reason: Text
    source: Text


class TriageFile(_Strict):
    floors: tuple[FloorRule, ...] = ()
    likely: LikelyRule | None = None
    everyday_causes: EverydayCauses | None = None
    unexplained: UnexplainedRule | None = None
    persistent: PersistentRule | None = None
    dont_miss: DontMissRule | None = None


_ENTRY_KINDS = {"exposures": "exposure", "conditions": "condition", "findings": "finding", "tests": "test", "draws": "draw"}
M = TypeVar("M", bound=BaseModel)


# -- pydantic's errors as one-line faults ----------------------------------------------------------
def parse(model: type[M], raw: Any, file: str) -> tuple[M | None, list[str]]:
    """``raw`` (one file's YAML) validated as ``model``, or None and every fault found."""
    try:
        return model.model_validate(raw), []
    except ValidationError as error:
        return None, [_fault(model, raw, file, e) for e in error.errors(include_url=False)]


def _fault(model: type[BaseModel], raw: Any, file: str, error: ErrorDetails) -> str:
    loc = tuple(error["loc"])
    kind = _ENTRY_KINDS.get(loc[0]) if loc and isinstance(loc[0], str) else None
    entry, rest = None, loc
    if len(loc) >= 2 and isinstance(loc[1], int) and isinstance(raw, dict) and isinstance(raw.get(loc[0]), list):
        item = raw[loc[0]][loc[1]]
        ident = item.get("id") if isinstance(item, dict) else None
        entry = f"{kind} '{shorten(ident)}'" if kind and isinstance(ident, str) else f"{loc[0]}[{loc[1]}]"
        rest = loc[2:]
    text = _message(model, loc, rest, error)
    return f"{file}: {entry}: {text}" if entry else f"{file}: {text}"


def _message(model: type[BaseModel], loc: tuple, rest: tuple, error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("extra_forbidden", "missing"):
        parent = f" in {_path(rest[:-1])}" if rest[:-1] else ""
        if kind == "missing":
            return f"missing key '{rest[-1]}'{parent}"
        return f"unknown key '{shorten(rest[-1])}'{parent}; valid keys: {', '.join(_keys(model, loc[:-1]))}"
    if rest and rest[-1] == "[key]":  # a mapping's key, e.g. a state name in a dist
        path, got = f"{_path(rest[:-2])} key", error["input"]
    else:
        path, got = _path((*rest, *([ctx["key"]] if "key" in ctx else []))), ctx.get("got", error["input"])
    if kind == "twitchbn":
        expected = ctx["expected"]
    elif kind == "literal_error":
        expected = "one of " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
    elif kind in ("model_type", "model_attributes_type"):
        expected = f"a mapping with keys {', '.join(_keys(model, loc))}"
    elif kind == "dict_type":
        expected = "a mapping"
    elif kind in ("tuple_type", "list_type"):
        expected = "a list"
    elif kind == "too_short":
        expected = f"a list of at least {ctx['min_length']} {'entry' if ctx['min_length'] == 1 else 'entries'}"
    else:  # a pydantic check twitchbn does not word itself
        expected = f"valid ({error['msg']})"
    hint = f" ({ctx['hint']})" if "hint" in ctx else ""
    return f"{path + ' ' if path else ''}must be {expected}; got {ctx.get('shown') or _got(got)}{hint}"


def _path(parts: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")


def _got(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        scalars = all(isinstance(v, int | float | str) for v in value)
        return shorten(f"[{', '.join(map(str, value))}]") if scalars else f"a list of {len(value)} entries"
    if isinstance(value, str):
        return f"'{shorten(value)}'"
    return shorten(value)


def _keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys of the model found at ``loc`` in ``model``."""
    found: Any = model
    for part in loc:
        found = _bare(found)
        if isinstance(found, type) and issubclass(found, BaseModel):
            found = found.model_fields[part].annotation
        else:  # tuple[X, ...] or dict[str, X]: the item type
            found = [a for a in get_args(found) if a is not Ellipsis][-1]
    found = _bare(found)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        return []
    own = list(found.__annotations__)  # a subclass's own keys (a link's condition) read first
    return [*own, *(key for key in found.model_fields if key not in own)]


def _bare(annotation: Any) -> Any:
    """``annotation`` without Annotated[...] and without an optional None."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif get_origin(annotation) in (typing.Union, types.UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation
