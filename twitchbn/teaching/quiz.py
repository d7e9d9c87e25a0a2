"""A student's quiz answers: scoring, one CSV row per case, and a class's CSVs merged into a summary.

A student ranks a case's conditions, picks the advice level and flags the conditions that must
not be missed. ``score_answer`` marks the answer with ``twitchbn.evaluation.mark`` (the grader
of the clinical case files): one point each for an acceptable first choice, the exact advice,
and a must-not-miss list that names every expected condition and no other of the case's. Rows
go to a CSV the student downloads (nothing is stored on a server); ``class_summary`` merges a
class's CSVs into a table of cases and a table of the findings the class misweighted.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from twitchbn._files import INPUT_LIMIT, read_user_text
from twitchbn.errors import InputFileError, TwitchbnError, shorten
from twitchbn.evaluation import mark
from twitchbn.inference import Model
from twitchbn.reasoning import why
from twitchbn.teaching.pack import TeachingFile
from twitchbn.ui.render import esc

MARKS = ("first", "triage", "must_not_miss")
COLUMNS = ("student", "case", "answer", "answer_triage", "answer_must_not_miss", "expected", "expected_triage",
           "expected_must_not_miss", "first", "triage", "must_not_miss", "score", "out_of", "seconds")
SEP = " > "  # between ranked conditions in the answer column
OR = " | "  # between acceptable or flagged conditions


@dataclass(frozen=True)
class Answer:
    """What a student commits before the reveal: a ranking of the case's conditions, an advice level, flags."""

    ranking: tuple[str, ...]
    triage: str
    must_not_miss: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scored:
    """An answer's marks (first choice acceptable, exact advice, must-not-miss list right) and under-call."""

    marks: dict[str, bool]
    under_call: bool

    @property
    def score(self) -> int:
        return sum(self.marks.values())

    @property
    def out_of(self) -> int:
        return len(self.marks)


def check_answer(case: TeachingFile, answer: Answer) -> None:
    """Refuse an incomplete answer in one line: every condition ranked once, an advice level chosen."""
    n = len(case.conditions)
    if len(answer.ranking) != n or set(answer.ranking) != set(case.conditions):
        raise TwitchbnError(f"rank all {n} conditions, each once, before checking")
    if not answer.triage:
        raise TwitchbnError("choose the advice (self care, see a doctor or urgent) before checking")
    unknown = [c for c in answer.must_not_miss if c not in case.conditions]
    if unknown:
        raise TwitchbnError(f"flag only conditions of this case; got {', '.join(unknown)}")


def score_answer(case: TeachingFile, answer: Answer) -> Scored:
    """Mark a complete answer against the case's expected answer."""
    check_answer(case, answer)
    grade = mark(case.as_case(), tuple(answer.ranking), tuple(answer.must_not_miss), answer.triage)
    flags_right = set(answer.must_not_miss) == set(case.expected.must_not_miss)
    return Scored({"first": bool(grade.marks["top1"]), "triage": bool(grade.marks["triage"]), "must_not_miss": flags_right},
                  bool(grade.marks["under_call"]))


@dataclass(frozen=True)
class Record:
    """One CSV row: who answered which case, what, what was expected, the marks and the seconds taken."""

    student: str
    case: str
    answer: str
    answer_triage: str
    answer_must_not_miss: str
    expected: str
    expected_triage: str
    expected_must_not_miss: str
    first: bool
    triage: bool
    must_not_miss: bool
    score: int
    out_of: int
    seconds: float


def record(student: str, case: TeachingFile, answer: Answer, seconds: float) -> Record:
    """Score an answer and keep it as a CSV row."""
    scored = score_answer(case, answer)
    return Record(student, case.id, SEP.join(answer.ranking), answer.triage, OR.join(answer.must_not_miss),
                  OR.join(case.expected.first), case.expected.triage, OR.join(case.expected.must_not_miss),
                  *(scored.marks[m] for m in MARKS), scored.score, scored.out_of, round(float(seconds), 1))


def answers_csv(records: Iterable[Record]) -> str:
    """The records as CSV text with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in records:
        writer.writerow(asdict(row))
    return out.getvalue()


def download_html(text: str, filename: str, label: str) -> str:
    """A link that saves ``text`` as a CSV file in the browser (a data: address; nothing is stored on the server)."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (f'<a class="answers-download" download="{esc(filename)}" href="data:text/csv;base64,{data}">{esc(label)}</a>')


def csv_name(student: str) -> str:
    """The downloaded file's name: ``twitchbn-answers-<name>.csv`` with the name in letters, digits and -."""
    safe = "".join(c if c.isalnum() else "-" for c in student.strip().lower()).strip("-")
    return f"twitchbn-answers-{safe or 'student'}.csv"


# -- a class ----------------------------------------------------------------------------------
def read_answers(sources: Iterable[str | Path | pd.DataFrame]) -> pd.DataFrame:
    """A class's answer CSVs (paths or frames) as one frame; a file without the quiz's columns is refused in one line."""
    frames = []
    for source in sources:
        if isinstance(source, pd.DataFrame):
            frame, name = source, "answers"
        else:
            name = shorten(Path(source).name, keep_end=True)
            text = read_user_text(source, INPUT_LIMIT, f"answers file '{name}'")
            try:
                frame = pd.read_csv(io.StringIO(text), dtype={"answer_must_not_miss": str, "expected_must_not_miss": str})
            except (ValueError, pd.errors.ParserError) as exc:
                raise InputFileError(f"answers file '{name}' cannot be read as CSV ({shorten(exc, 80)})", path=str(source)) from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise InputFileError(f"answers file '{name}' must have the quiz's columns; missing {', '.join(missing)}")
        frames.append(frame[list(COLUMNS)])
    if not frames:
        raise TwitchbnError("no answers to merge: give at least one CSV")
    merged = pd.concat(frames, ignore_index=True)
    for column in ("answer_must_not_miss", "expected_must_not_miss"):  # an empty list reads back as a missing value
        merged[column] = merged[column].map(lambda v: "" if pd.isna(v) else str(v))
    for column in ("first", "triage", "must_not_miss"):
        merged[column] = merged[column].astype(str).str.lower().eq("true")
    return merged


def by_case(answers: pd.DataFrame) -> pd.DataFrame:
    """Per case: students, mean score as a share of the maximum, and the share who got each mark right."""
    grouped = answers.groupby("case", sort=False)
    table = pd.DataFrame({
        "students": grouped["student"].nunique(),
        "score": grouped["score"].sum() / grouped["out_of"].sum(),
        **{f"{m}_right": grouped[m].mean() for m in MARKS},
        "seconds": grouped["seconds"].median(),
    })
    return table.sort_values("score", kind="stable").round(2)


def misweighted(answers: pd.DataFrame, cases: Sequence[TeachingFile], model: Model) -> pd.DataFrame:
    """The findings the class misweighted: for every wrong first choice, the finding that most favours
    the expected condition over the student's choice (bits for the one minus bits for the other), counted."""
    known = {c.id: c for c in cases}
    wrong = answers[~answers["first"] & answers["case"].isin(known)]
    weights: dict[tuple[str, str], pd.Series] = {}
    rows = []
    for _, row in wrong.iterrows():
        case = known[row["case"]]
        chosen = str(row["answer"]).split(SEP)[0]
        expected = expected_first(case, model)
        for cid in (expected, chosen):
            if (case.id, cid) not in weights:
                frame = why(model, case.evidence(), condition=cid)
                items = [f"{v}={s}" for v, s in zip(frame["variable"], frame["state"], strict=True)]
                weights[case.id, cid] = pd.Series(frame["weight_bits"].to_numpy(), index=items)
        gap = (weights[case.id, expected] - weights[case.id, chosen]).sort_values(ascending=False, kind="stable")
        if len(gap) and gap.iloc[0] > 0:
            finding = str(gap.index[0])
            variable, state = finding.split("=", 1)
            rows.append({"finding": f"{model.kb.label(variable)}: {state.replace('_', ' ')}", "case": case.id, "bits": float(gap.iloc[0])})
    if not rows:
        return pd.DataFrame(columns=["finding", "times", "cases", "mean_bits"])
    frame = pd.DataFrame(rows)
    table = frame.groupby("finding", sort=False).agg(times=("case", "size"), cases=("case", lambda s: ", ".join(sorted(set(s)))),
                                                      mean_bits=("bits", "mean"))
    return table.sort_values(["times", "mean_bits"], ascending=False, kind="stable").reset_index().round(2)


def expected_first(case: TeachingFile, model: Model) -> str:
    """The acceptable first choice the model ranks highest."""
    ranked = list(model.query(case.evidence()).conditions.index)
    return min(case.expected.first, key=ranked.index)


@dataclass(frozen=True)
class ClassSummary:
    """What a class got right per case, and the findings it misweighted."""

    cases: pd.DataFrame
    findings: pd.DataFrame


def class_summary(sources: Iterable[str | Path | pd.DataFrame], cases: Sequence[TeachingFile], model: Model) -> ClassSummary:
    """Merge a class's answer CSVs into the per-case table and the misweighted findings."""
    answers = read_answers(sources)
    return ClassSummary(by_case(answers), misweighted(answers, cases, model))


def summary_chart_html(table: pd.DataFrame) -> str:
    """A horizontal bar per case: the class's score as a share of the maximum (worst first)."""
    rows = "".join(
        f'<div class="class-bar" data-case="{esc(case)}" style="display:flex;align-items:center;gap:8px;margin:2px 0">'
        f'<span style="width:160px;text-align:right">{esc(case)}</span>'
        f'<span style="display:inline-block;height:12px;width:{300 * float(row["score"]):.0f}px;background:#2563eb"></span>'
        f'<span>{100 * float(row["score"]):.0f}%</span></div>'
        for case, row in table.iterrows()
    )
    return f'<div class="class-chart"><div class="tb-heading">Class score per case (worst first)</div>{rows}</div>'
