"""Many cases at once: ``twitchbn batch cases.csv -o results.csv``.

A cases file is a CSV whose columns are variable ids (any settable variable: findings,
exposures, conditions) and optionally ``id``; each row is one case, an empty cell an unknown.
The results repeat the input columns and add the ranked top conditions (by ``explains``, with
``probability``) and the triage of each case: the same numbers ``Model.query`` gives.

Why it is fast: only findings seen in a *higher* state (positive findings) shape the engine's
frontier (they are its base evidence); everything else (first-state findings, exposures,
conditions) is a product-form ``Variant`` of a shared sweep. A positive finding can also be
written as a difference of two product-form terms, f = t  ->  P(f <= t, ...) - P(f <= t-1, ...),
so a case with positive findings D outside the base set A is a signed sum of 2^|D| variants.
Cases are solved in up to three passes, each grouping cases by A:

1. A = {} for every case (one shared sweep for all of them, the cheapest frontier);
2. for a case whose difference was ill-conditioned, A = its rare positive findings (estimated
   from pass 1), the others still differenced;
3. whatever is left: A = all its positive findings (no difference at all: exact).

A difference loses precision when its terms nearly cancel; the condition number
kappa = sum|terms| / |sum| bounds the loss (measured: error <= 4e-16 * kappa), so a result is
accepted only when kappa <= MAX_CONDITION (error under ~4e-13); otherwise the case moves on.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from twitchbn.engine import CAUSING, Variant
from twitchbn.errors import EvidenceError, ImpossibleEvidenceError, TwitchbnError, closest, shorten

ON_ERROR = ("skip", "refuse")
MAX_DIFFERENCES = 4  # positive findings a case may difference (2^k terms); more go to pass 3
MAX_CONDITION = 1000.0  # largest accepted kappa of a difference (error <= ~4e-13, see above)
MAX_VARIANTS = 1024  # variants per engine pass (bounds memory)
PROGRESS_MIN_ROWS = 2000  # the CLI shows a progress bar on a terminal above this many cases


@dataclass(frozen=True)
class BadRow:
    """A case that was not computed: its line in the file and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Cases:
    """A parsed cases file: the header and each row's line number and fields."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]
    name: str = "cases"


@dataclass(frozen=True)
class BatchResult:
    """One results row per good case (in input order) and every bad row."""

    results: pd.DataFrame
    bad: tuple[BadRow, ...] = field(default_factory=tuple)


@dataclass
class _Case:
    index: int
    line: int
    fields: tuple[str, ...]
    evidence: dict[str, str]
    clamps: list[tuple[tuple[str, int], int]] = field(default_factory=list)  # exposures, conditions, cause nodes
    negative: list[tuple[int, int]] = field(default_factory=list)  # findings in their first state: (f, 0)
    positive: list[tuple[str, int]] = field(default_factory=list)  # findings in a higher state: (id, state)
    ratios: dict[str, float] = field(default_factory=dict)  # set by a rejected difference (see _rare)


def read_cases(source: str | Path | TextIO, variables: Iterable[str]) -> Cases:
    """Parse a cases CSV (header of variable ids and optional ``id``) with line numbers."""
    name = Path(source).name if isinstance(source, str | Path) else str(getattr(source, "name", "cases"))
    try:
        text = Path(source).read_text(encoding="utf-8-sig") if isinstance(source, str | Path) else source.read()
    except FileNotFoundError:
        raise TwitchbnError(f"cases file '{shorten(name)}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TwitchbnError(f"cases file '{shorten(name)}' cannot be read ({exc.__class__.__name__})") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TwitchbnError(f"cases file '{shorten(name)}' is empty; it needs a header of variable ids") from None
    except csv.Error as exc:
        raise TwitchbnError(f"cases file '{shorten(name)}' line 1 is not valid CSV ({exc})") from None
    valid = list(variables)
    known = set(valid) | {"id"}
    for column in header:
        if header.count(column) > 1:
            raise TwitchbnError(f"column '{shorten(column)}' of '{shorten(name)}' (line 1) appears twice")
        if column not in known:
            hint = ", ".join(closest(column, valid))
            raise EvidenceError(f"column '{shorten(column)}' of '{shorten(name)}' (line 1) is not a variable; closest valid ids: {hint}",
                                variable=column)
    rows = []
    line = reader.line_num
    try:
        for fields in reader:
            start, line = line + 1, reader.line_num
            if fields:
                rows.append((start, tuple(fields)))
    except csv.Error as exc:
        raise TwitchbnError(f"cases file '{shorten(name)}' line {line + 1} is not valid CSV ({exc})") from None
    return Cases(tuple(header), tuple(rows), name)


def run_batch(model: Any, cases: Cases, top: int = 3, on_error: str = "skip",
              progress: Callable[[int, int], None] | None = None) -> BatchResult:
    """Query every case; results equal ``model.query`` row by row.

    ``on_error="skip"`` leaves bad rows (wrong field count, unknown state, impossible evidence)
    out of the results and lists them in ``bad``; ``"refuse"`` raises a ``TwitchbnError`` naming
    the first bad line instead. ``progress(done, total)`` is called after each engine pass.
    """
    if on_error not in ON_ERROR:
        raise TwitchbnError(f"on_error must be one of {', '.join(ON_ERROR)}; got {shorten(on_error)!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise TwitchbnError(f"top must be a whole number of at least 1; got {shorten(top)}")
    top = min(top, len(model.kb.conditions))
    good, bad = _parse(model, cases)
    if bad and on_error == "refuse":
        raise _refusal(cases, bad[0])
    records: dict[int, list] = {}
    first: dict[tuple, _Case] = {}
    copies = [(case, first.setdefault(tuple(sorted(case.evidence.items())), case)) for case in good]
    weight = Counter(original.index for _, original in copies)
    rows = len(copies)
    unique = list(first.values())  # a repeated case is computed once

    def report() -> None:  # progress in rows of the file, repeats included
        if progress is not None:
            progress(sum(weight[i] for i in records), rows)

    state = (model, top, records, bad, report)
    many = [c for c in unique if len(c.positive) > MAX_DIFFERENCES]
    rejected = _pass(state, {(): [c for c in unique if len(c.positive) <= MAX_DIFFERENCES]})
    groups: dict[tuple, list[_Case]] = {}
    for case in rejected:
        rare = _rare(case)
        if rare:
            groups.setdefault(rare, []).append(case)
        else:  # no single finding to blame: straight to exact
            many.append(case)
    rejected = _pass(state, groups) + many
    groups = {}
    for case in rejected:
        groups.setdefault(tuple(sorted(case.positive)), []).append(case)
    _pass(state, groups)
    if progress is not None:
        progress(rows, rows)
    failed = {b.line: b.message for b in bad}
    for case, original in copies:
        if original.index in records:
            records[case.index] = list(case.fields) + records[original.index][len(original.fields) :]
        elif case is not original:
            bad.append(BadRow(case.line, failed[original.line]))
    bad.sort(key=lambda b: b.line)
    if bad and on_error == "refuse":
        raise _refusal(cases, bad[0])
    columns = list(cases.columns) + [f"top{k}{suffix}" for k in range(1, top + 1) for suffix in ("", "_explains", "_probability")]
    frame = pd.DataFrame([records[i] for i in sorted(records)], columns=[*columns, "triage", "triage_reasons"])
    return BatchResult(frame, tuple(bad))


def _refusal(cases: Cases, first: BadRow) -> TwitchbnError:
    return TwitchbnError(f"'{shorten(cases.name)}' {first}; nothing was written (--on-error skip leaves bad rows out)")


def _parse(model: Any, cases: Cases) -> tuple[list[_Case], list[BadRow]]:
    """Check every row; split each good case into clamps, negative and positive findings."""
    good, bad = [], []
    engine = model.engine
    width = len(cases.columns)
    for index, (line, fields) in enumerate(cases.rows):
        if len(fields) != width:
            bad.append(BadRow(line, f"has {len(fields)} fields; the header has {width}"))
            continue
        raw = {c: v.strip() for c, v in zip(cases.columns, fields, strict=True) if c != "id" and v.strip()}
        try:
            checked = model.check_evidence(raw)
        except EvidenceError as exc:
            bad.append(BadRow(line, str(exc)))
            continue
        case = _Case(index, line, fields, checked)
        for var, state in checked.items():
            key, s = engine.key(var), model.states(var).index(state)
            if key[0] != "f":
                case.clamps.append((key, s))
            elif s == 0:
                case.negative.append((key[1], 0))
            else:
                case.positive.append((var, s))
        good.append(case)
    return good, bad


def _rare(case: _Case) -> tuple[tuple[str, int], ...]:
    """Positive findings to keep exact: the rarest, until the rest's estimated kappa is small.

    ``case.ratios[v]`` is P(v below its state | ...) / P(v at most its state | ...) from pass 1;
    a difference over v has kappa (1 + r) / (1 - r).
    """
    rest = dict(case.ratios)
    estimate = np.prod([(1 + r) / (1 - r) if r < 1 else np.inf for r in rest.values()])
    while rest and not estimate <= MAX_CONDITION / 10:
        rest.pop(max(rest, key=lambda v: rest[v] if np.isfinite(rest[v]) else np.inf))
        estimate = np.prod([(1 + r) / (1 - r) if r < 1 else np.inf for r in rest.values()])
    return tuple(sorted((v, t) for v, t in case.positive if v not in rest))


def _pass(state: tuple, groups: dict[tuple, list[_Case]]) -> list[_Case]:
    """Solve each group (its base set A, its cases) in chunks of at most MAX_VARIANTS; return
    the cases whose difference was ill-conditioned."""
    model, top, records, bad, report = state
    rejected: list[_Case] = []
    for base, members in groups.items():
        chunk: list[_Case] = []
        size = 0
        for n, case in enumerate(members, start=1):
            chunk.append(case)
            size += 2 << (len(case.positive) - len(base))  # 2^|D| terms, with and without everyday causes
            if size >= MAX_VARIANTS or n == len(members):
                rejected += _solve(model, dict(base), chunk, top, records, bad)
                report()
                chunk, size = [], 0
    return rejected


def _solve(model: Any, base: dict[str, int], cases: list[_Case], top: int, records: dict, bad: list[BadRow]) -> list[_Case]:
    """One sweep with ``base`` (positive findings shared by ``cases``) as evidence."""
    variants: list[Variant] = []
    signs: list[float] = []
    starts: list[int] = []  # each case owns two groups of terms: its evidence, and + no everyday cause
    singles: list[dict[str, int]] = []  # per case: positive finding -> index of the term lowering only it
    for case in cases:
        diff = [(v, model.engine.key(v)[1], t, len(model.states(v))) for v, t in case.positive if v not in base]
        terms, term_signs = [], []
        for choice in itertools.product((0, 1), repeat=len(diff)):
            extra = [(f, t - 1) if low else (f, t) for (_, f, t, n), low in zip(diff, choice, strict=True) if low or t < n - 1]
            terms.append(Variant(tuple(case.clamps), tuple(case.negative + extra)))
            term_signs.append(-1.0 if sum(choice) % 2 else 1.0)
        singles.append({v: len(variants) + (1 << (len(diff) - 1 - j)) for j, (v, *_) in enumerate(diff)})
        for group in (terms, [model.no_everyday_variant(v) for v in terms]):
            starts.append(len(variants))
            variants += group
            signs += term_signs
    sweep = model.engine.sweep(base, variants)
    idx = np.asarray(starts)
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(idx, len(variants))))
    log_z = sweep.log_z
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        top_log = np.maximum.reduceat(log_z, idx)
        weight = np.asarray(signs) * np.exp(log_z - top_log[owner])
        total = np.add.reduceat(weight, idx)
        kappa = np.add.reduceat(np.abs(weight), idx) / total
        prob = np.add.reduceat(weight[:, None] * sweep.status[:, :, 1:].sum(axis=2), idx) / total[:, None]
        expl = np.add.reduceat(weight[:, None] * sweep.status[:, :, CAUSING], idx) / total[:, None]
        ratio = total[1::2] / total[0::2] * np.exp(top_log[1::2] - top_log[0::2])
    rejected = []
    for k, case in enumerate(cases):
        main = 2 * k
        exact = len(case.positive) == len(base)  # nothing differenced
        if not (np.isfinite(top_log[main]) and total[main] > 0 and (exact or kappa[main] <= MAX_CONDITION)):
            if exact:  # the evidence itself is impossible
                bad.append(BadRow(case.line, str(_impossible(model, case.evidence))))
            else:
                case.ratios = {v: float(np.exp(log_z[r] - log_z[starts[main]])) for v, r in singles[k].items()}
                rejected.append(case)
            continue
        p_no = float(np.clip(ratio[k], 0.0, 1.0)) if np.isfinite(top_log[main + 1]) else 0.0
        _finish(model, case, np.clip(prob[main], 0.0, 1.0), np.clip(expl[main], 0.0, 1.0), p_no, top, records)
    return rejected


def _finish(model: Any, case: _Case, prob: np.ndarray, expl: np.ndarray, p_no_everyday: float, top: int, records: dict) -> None:
    """Rank, triage and record one case exactly as ``Model.query`` does (``Model.assemble``)."""
    result = model.assemble(case.evidence, prob, expl, p_no_everyday)
    record: list[Any] = list(case.fields)
    for cid, row in result.conditions.head(top).iterrows():
        record += [cid, float(row["explains"]), float(row["probability"])]
    records[case.index] = [*record, result.triage.level, " | ".join(result.triage.reasons)]


def _impossible(model: Any, evidence: Mapping[str, str]) -> ImpossibleEvidenceError:
    try:
        model.sweep(evidence, marginals=False)
    except ImpossibleEvidenceError as exc:
        return exc
    return ImpossibleEvidenceError("evidence is impossible under the model")  # pragma: no cover - the pass above agrees


def write_results(result: BatchResult, output: str | Path | TextIO) -> None:
    """Write the results as CSV (full-precision floats); a path is replaced atomically."""
    if isinstance(output, str | Path):
        path = Path(output)
        tmp = path.with_name(f".{path.name}.tmp")
        result.results.to_csv(tmp, index=False)
        tmp.replace(path)
    else:
        result.results.to_csv(output, index=False)


class TerminalProgress:
    """A one-line progress bar on a terminal stream (the CLI's; library calls print nothing)."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30):
        self.stream, self.width = stream, width

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // max(total, 1)
        end = "\n" if done >= total else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} cases{end}")
        self.stream.flush()
