"""Many cases at once: ``twitchbn batch cases.csv -o results.csv``.

A cases file is a CSV whose columns are variable ids (any settable variable: findings,
exposures, conditions) and optionally ``id``; each row is one case, an empty cell an unknown.
The results repeat the input columns and add the ranked top conditions (by ``explains``, with
``probability``) and the triage of each case: the same numbers ``Model.query`` gives.

Why it is fast: every case needs its own exact forward-backward pass (its positive findings
decide the frontier), so repeated cases are computed once and the rest go, many per call, through
the compiled pass on one fixed order (``Engine.each``, ``twitchbn/compiled.py``): no per-case
Python in the arithmetic, each case's frontier no wider than its own evidence needs. "No everyday
cause is causing" (for triage) is a forward-only pass of the same case. A case too wide for the
fixed order takes ``Engine.sweep`` with an order of its own, exactly as a query would; one too
heavy even for that is a bad row. No approximation, no cancellation: identical to
``Model.query``.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from twitchbn._files import CASES_LIMIT, atomic_write_text, read_user_text, user_text
from twitchbn.engine import CAUSING, Variant
from twitchbn.errors import EvidenceError, EvidenceTooComplexError, ImpossibleEvidenceError, TwitchbnError, closest, shorten

ON_ERROR = ("skip", "refuse")
GROUP = 500  # cases per compiled call (progress is reported between calls)
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
    variant: Variant  # the case's evidence in engine terms (Model.variant)


def read_cases(source: str | Path | TextIO, variables: Iterable[str]) -> Cases:
    """Parse a cases CSV (header of variable ids and optional ``id``) with line numbers.

    A file must be a regular file of at most 50 MB (``CASES_LIMIT``, about half a million cases).
    """
    name = Path(source).name if isinstance(source, str | Path) else str(getattr(source, "name", "cases"))
    what = f"cases file '{shorten(name)}'"
    if isinstance(source, str | Path):
        text = read_user_text(source, CASES_LIMIT, what)
    else:
        text = user_text(source.read(CASES_LIMIT + 1), CASES_LIMIT, what)
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

    for group in (unique[i : i + GROUP] for i in range(0, len(unique), GROUP)):
        _solve(model, group, top, records, bad)
        report()
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
    frame = pd.DataFrame([records[i] for i in sorted(records)], columns=[*columns, "dont_miss", "triage", "triage_reasons"])
    return BatchResult(frame, tuple(bad))


def _refusal(cases: Cases, first: BadRow) -> TwitchbnError:
    return TwitchbnError(f"'{shorten(cases.name)}' {first}; nothing was written (--on-error skip leaves bad rows out)")


def _parse(model: Any, cases: Cases) -> tuple[list[_Case], list[BadRow]]:
    """Check every row; each good case carries its evidence as an engine variant."""
    good, bad = [], []
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
        good.append(_Case(index, line, fields, checked, model.variant(checked)))
    return good, bad


def _solve(model: Any, cases: list[_Case], top: int, records: dict, bad: list[BadRow]) -> None:
    """Score ``cases``: posteriors, then "no everyday cause is causing" (triage) from log masses.

    Cases go through the pass on one fixed order (``Engine.each``); one whose tables would be too
    big in that order takes ``Engine.sweep`` with an order of its own, as a query would.
    """
    engine = model.engine
    fits = engine.fits([case.variant for case in cases])
    fast = [case for case, ok in zip(cases, fits, strict=True) if ok]
    variants = [v for case in fast for v in (case.variant, model.no_everyday_variant(case.variant))]
    both = engine.each(variants, marginals=[True, False] * len(fast))
    answers = {case.index: (both.log_z[2 * k], both.log_z[2 * k + 1], both.status[2 * k]) for k, case in enumerate(fast)}
    for case in (case for case, ok in zip(cases, fits, strict=True) if not ok):
        try:
            sweep = engine.sweep({}, [case.variant, model.no_everyday_variant(case.variant)], [True, False])
        except EvidenceTooComplexError as exc:
            bad.append(BadRow(case.line, str(exc)))
            continue
        answers[case.index] = (sweep.log_z[0], sweep.log_z[1], sweep.status[0])
    for case in cases:
        if case.index not in answers:
            continue
        log_z, log_no_everyday, status = answers[case.index]
        if not np.isfinite(log_z):
            bad.append(BadRow(case.line, str(_impossible(model, case.evidence))))
            continue
        p_no_everyday = float(np.exp(min(0.0, log_no_everyday - log_z)))
        ranking = model.rank(case.evidence, 1.0 - status[:, 0], status[:, CAUSING], p_no_everyday)
        record: list[Any] = list(case.fields)
        for i in ranking.order[:top]:
            record += [engine.condition_ids[i], float(ranking.explains[i]), float(ranking.probability[i])]
        dont = " ".join(engine.condition_ids[i] for i in ranking.dont_miss)
        records[case.index] = [*record, dont, ranking.triage.level, " | ".join(ranking.triage.reasons)]


def _impossible(model: Any, evidence: Mapping[str, str]) -> ImpossibleEvidenceError:
    try:
        model.sweep(evidence, marginals=False)
    except ImpossibleEvidenceError as exc:
        return exc
    return ImpossibleEvidenceError("evidence is impossible under the model")  # pragma: no cover - the pass above agrees


def write_results(result: BatchResult, output: str | Path | TextIO) -> None:
    """Write the results as CSV (full-precision floats); a path is replaced atomically."""
    if isinstance(output, str | Path):
        atomic_write_text(output, result.results.to_csv(index=False))
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
