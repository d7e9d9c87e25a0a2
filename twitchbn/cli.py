"""The ``twitchbn`` command line: query, validate, export.

Every user error (unknown variable or state, malformed file, impossible evidence, broken
knowledge base) ends with exit status 2 and one line on stderr; no traceback reaches the user.
``validate`` lists every fault of a broken knowledge base, one line each.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
import os
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twitchbn._files import INPUT_LIMIT, parse_evidence_json, read_user_text
from twitchbn.errors import EvidenceError, KnowledgeBaseError, TwitchbnError, printable, shorten
from twitchbn.wording import percent

DISCLAIMER = "twitchbn is an educational and exploratory aid, not a diagnosis."
ASCII = {"…": "...", "—": "-", "–": "-", "÷": "/", "‘": "'", "’": "'", "“": '"', "”": '"'}  # for consoles that lack them


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TwitchbnError(f"{message} (see '{self.prog} --help')")


def read_evidence(pairs: Sequence[str], file: str | None) -> dict[str, Any]:
    """Evidence from ``--evidence-file`` (a JSON object) overlaid by ``-e VAR=STATE`` pairs.

    The file must be a regular file of at most 1 MB (``INPUT_LIMIT``); two pairs that give one
    variable different states are refused naming both (the same pair twice is fine).
    """
    evidence: dict[str, Any] = {}
    if file is not None:
        what = f"evidence file '{shorten(file, keep_end=True)}'"
        evidence.update(parse_evidence_json(read_user_text(file, INPUT_LIMIT, what), what))
    given: dict[str, str] = {}
    for pair in pairs:
        variable, sep, state = (part.strip() for part in pair.partition("="))
        if not sep or not variable or not state:
            raise EvidenceError(f"evidence '{shorten(pair)}' must be written VAR=STATE, e.g. -e twitch_eyelid=yes")
        if given.get(variable, state) != state:
            raise EvidenceError(f"variable '{shorten(variable)}' must be given one state; "
                                f"got '{shorten(given[variable])}' and '{shorten(state)}'", variable=variable)
        given[variable] = state
    evidence.update(given)
    return evidence


def _path(text: str) -> str:
    """argparse type of every file or directory argument: refuses an empty path instead of ignoring it."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a path; got an empty string")
    return text


def add_evidence_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-e", "--evidence", action="append", default=[], metavar="VAR=STATE", help="a finding or condition and its state (repeatable)"
    )
    parser.add_argument("--evidence-file", type=_path, metavar="FILE.json",
                        help="JSON object of variable -> state, at most 1 MB (a saved result also works)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")


def _model(args: argparse.Namespace):
    from twitchbn.inference import load_model

    return load_model(args.kb)


def _named(result, ids: list[str]) -> str:
    """Conditions by label with their probability of being present: ``Lupus (45%); ...``."""
    frame = result.conditions
    return "; ".join(f"{frame.at[cid, 'label']} ({percent(float(frame.at[cid, 'probability']))})" for cid in ids)


def format_table(result) -> str:
    """The query result as a readable table (rounded for reading; --json is unrounded)."""
    lines = []
    if result.evidence:
        lines.append("Evidence: " + ", ".join(f"{k}={v}" for k, v in result.evidence.items()))
    else:
        lines.append("Evidence: none (prior)")
    lines.append("")
    lines.append(f"{'rank':>4}  {'condition':<44} {'explains':>8} {'prob.':>7} {'prior':>7}")
    for rank, (cid, row) in enumerate(result.conditions.iterrows(), start=1):
        label = f"{row['label']} ({cid})"
        if len(label) > 44:
            label = label[:43] + "…"
        lines.append(f"{rank:>4}  {label:<44} {row['explains']:>8.3f} {row['probability']:>7.3f} {row['prior']:>7.3f}")
    if result.also_present:
        lines.append("Probably present, though not the likely cause of this twitching: " + _named(result, result.also_present))
    lines.append("")
    if result.dont_miss:
        lines.extend(["Must not miss: " + _named(result, result.dont_miss), ""])
    verdict = result.triage.level.replace("_", " ").upper() if result.triage.decided else "NO VERDICT YET"
    lines.append(f"Triage: {verdict}")
    lines.extend(f"  - {reason}" for reason in result.triage.reasons)
    lines.append("")
    lines.append(DISCLAIMER)
    return "\n".join(lines)


def cmd_query(args: argparse.Namespace) -> int:
    model = _model(args)
    result = model.query(read_evidence(args.evidence, args.evidence_file))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_table(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from twitchbn._files import atomic_write_text
    from twitchbn.report import case_summary

    model = _model(args)
    written = atomic_write_text(args.output, case_summary(model, read_evidence(args.evidence, args.evidence_file), serious=args.serious))
    print(f"twitchbn: case summary written to {printable(str(written))}", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from twitchbn.inference import Model
    from twitchbn.knowledge import load_knowledge
    from twitchbn.numbers import source_counts

    try:
        kb = load_knowledge(args.path)
    except KnowledgeBaseError as exc:  # every fault, one per line (other commands show the first)
        for fault in exc.faults:
            print(f"twitchbn: error: {printable(fault)}", file=sys.stderr)
        return 2
    Model(kb).network  # noqa: B018 - building it runs pgmpy's check_model as a second line
    links = sum(len(f.links) for f in kb.findings) + sum(len(c.risk_factors) for c in kb.conditions)
    counts = source_counts(kb.numbers())
    print(f"{kb.path}: valid — {len(kb.conditions)} conditions, {len(kb.exposures)} exposures, "
          f"{len(kb.findings)} findings, {links} links; {counts['numbers']} numbers, {counts['cited']} citing a URL or DOI, "
          f"{counts['convention']} clinical convention only; sha256 {kb.sha256[:12]}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from twitchbn.model import export_network

    model = _model(args)
    text = export_network(model.network, args.format, args.output)
    if args.output is None:
        sys.stdout.write(text)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from twitchbn.evaluation import grade, load_cases, report, score

    model = _model(args)
    documents = {}
    for path in args.files:
        grades = [grade(model, case) for case in load_cases(path)]
        figures = score(grades)
        documents[str(path)] = {"figures": figures, "misses": {g.case.id: g.problems() for g in grades if g.problems()}}
        if not args.json:
            print(report(Path(path).name, figures))
            if args.misses:
                for cid, problems in documents[str(path)]["misses"].items():
                    print(f"  {cid}: {'; '.join(problems)}")
    if args.json:
        print(json.dumps(documents, indent=2))
    return 0


# -- differential reasoning: why, next, mpe, whatif, compare (twitchbn.reasoning) ---------------
def _emit(args: argparse.Namespace, document: dict[str, Any], text: str) -> int:
    print(json.dumps(document, indent=2) if args.json else f"{text}\n\n{DISCLAIMER}")
    return 0


def cmd_why(args: argparse.Namespace) -> int:
    from twitchbn.reasoning import _report, why

    model = _model(args)
    evidence = model.check_evidence(read_evidence(args.evidence, args.evidence_file))
    frame = why(model, evidence, condition=args.condition, top=args.top)
    return _emit(args, _report.why_document(model, evidence, frame), _report.why_table(evidence, frame))


def cmd_next(args: argparse.Namespace) -> int:
    from twitchbn.reasoning import _report, next_questions

    model = _model(args)
    evidence = model.check_evidence(read_evidence(args.evidence, args.evidence_file))
    frame = next_questions(model, evidence, serious=args.serious)
    return _emit(args, _report.next_document(model, evidence, frame), _report.next_table(evidence, frame, args.top))


def cmd_mpe(args: argparse.Namespace) -> int:
    from twitchbn.reasoning import _report, most_probable_explanation

    model = _model(args)
    evidence = model.check_evidence(read_evidence(args.evidence, args.evidence_file))
    mpe = most_probable_explanation(model, evidence, alternatives=args.alternatives)
    return _emit(args, _report.mpe_document(model, evidence, mpe), _report.mpe_table(evidence, mpe))


def cmd_whatif(args: argparse.Namespace) -> int:
    from twitchbn.reasoning import _report, what_if

    model = _model(args)
    change = what_if(model, read_evidence(args.evidence, args.evidence_file), read_evidence(args.set, None), intervene=not args.see)
    return _emit(args, _report.whatif_document(change), _report.whatif_table(change))


def cmd_compare(args: argparse.Namespace) -> int:
    from twitchbn.reasoning import _report, compare_results

    model = _model(args)
    a = model.query(read_evidence(args.evidence, args.evidence_file))
    b = model.query(read_evidence([], args.against))
    frame = compare_results(a, b)
    return _emit(args, _report.compare_document(a, b, frame), _report.compare_table(a, b, frame, args.top))


def cmd_workup(args: argparse.Namespace) -> int:
    from twitchbn.workup import next_tests, workup_document, workup_text

    model = _model(args)
    evidence = model.check_evidence(read_evidence(args.evidence, args.evidence_file))
    options = {} if args.alpha is None else {"alpha": args.alpha}  # None: the planner's default
    plan = next_tests(model, evidence, serious_first=args.serious_first, **options)
    return _emit(args, workup_document(model, evidence, plan), workup_text(model, evidence, plan, args.top))


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0 (bits per cost unit); got '{shorten(text)}'")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1; got '{shorten(text)}'")
    return int(text)


def _add_reasoning_commands(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("why", help="weight of evidence (bits) of each evidence item for the leading conditions")
    add_evidence_options(w)
    w.add_argument("--condition", metavar="ID", help="explain this condition only (default: the --top leading ones)")
    w.add_argument("--top", type=_count, default=3, metavar="N", help="how many leading conditions (default 3)")
    w.set_defaults(func=cmd_why)

    n = sub.add_parser("next", help="rank the unanswered questions by expected information gain")
    add_evidence_options(n)
    n.add_argument("--serious", action="store_true", help="weight uncertainty about diseases and deficiencies more")
    n.add_argument("--top", type=_count, default=10, metavar="N", help="rows in the table (default 10; --json lists all)")
    n.set_defaults(func=cmd_next)

    m = sub.add_parser("mpe", help="the jointly most probable set of conditions, beside the marginal ranking")
    add_evidence_options(m)
    m.add_argument("--alternatives", type=int, default=2, metavar="N", help="runner-up explanations to list (default 2)")
    m.set_defaults(func=cmd_mpe)

    f = sub.add_parser("whatif", help="differential and triage if an exposure changed or a condition were treated")
    add_evidence_options(f)
    f.add_argument("--set", action="append", required=True, metavar="VAR=STATE",
                   help="an exposure or condition and its new state, e.g. caffeine_intake=none (repeatable)")
    f.add_argument("--see", action="store_true", help="condition on a changed condition instead of intervening (do) on it")
    f.set_defaults(func=cmd_whatif)

    k = sub.add_parser("workup", help="rank the tests a clinician may order by information gain minus alpha x cost")
    add_evidence_options(k)
    k.add_argument("--alpha", type=_alpha, default=None, metavar="A", help="bits per cost unit (default 0.02; 0: information alone)")
    k.add_argument("--serious-first", action="store_true", help="tests of can't-miss conditions first, diseases weighted more")
    k.add_argument("--top", type=_count, default=8, metavar="N", help="tests in the table (default 8; --json lists all)")
    k.set_defaults(func=cmd_workup)

    c = sub.add_parser("compare", help="two scenarios side by side, biggest changes first")
    add_evidence_options(c)
    c.add_argument("--against", required=True, type=_path, metavar="FILE.json", help="the second scenario's evidence file")
    c.add_argument("--top", type=_count, default=10, metavar="N", help="rows in the table (default 10; --json lists all)")
    c.set_defaults(func=cmd_compare)


def cmd_batch(args: argparse.Namespace) -> int:
    """Query every row of a cases CSV; bad rows are skipped (and listed) or refused (exit 2)."""
    from twitchbn import batch

    model = _model(args)
    cases = batch.read_cases(args.cases, [*model.variables, *(f"cause_{c.id}" for c in model.kb.conditions)])
    show = sys.stderr.isatty() and len(cases.rows) > batch.PROGRESS_MIN_ROWS
    result = batch.run_batch(model, cases, top=args.top, on_error=args.on_error, progress=batch.TerminalProgress() if show else None)
    for bad in result.bad:
        print(f"twitchbn: skipped {bad}", file=sys.stderr)
    batch.write_results(result, args.output if args.output else sys.stdout)
    if args.output:
        print(f"twitchbn: {len(result.results)} case(s) written to {printable(args.output)}; {len(result.bad)} bad row(s) skipped",
              file=sys.stderr)
    return 0


def _add_batch_command(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("batch", help="query every case of a CSV (columns = variable ids, empty = unknown)")
    b.add_argument("cases", type=_path, metavar="CASES.csv", help="one case per row; optional 'id' column")
    b.add_argument("-o", "--output", type=_path, metavar="FILE", help="results CSV (default: stdout)")
    b.add_argument("--top", type=_count, default=3, metavar="N", help="ranked conditions per case (default 3)")
    b.add_argument("--on-error", choices=["skip", "refuse"], default="skip",
                   help="skip bad rows and list their lines on stderr (default), or refuse the file (exit 2)")
    b.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    b.set_defaults(func=cmd_batch)


def cmd_cases_check(args: argparse.Namespace) -> int:
    """Validate a teaching pack (every fault, one line each, exit 2) and say per file whether the model agrees (exit 1 if not)."""
    from twitchbn.teaching.pack import PackError, check_pack, load_pack

    model = _model(args)
    try:
        pack = load_pack(args.path, model)
    except PackError as exc:
        for fault in exc.faults:
            print(f"twitchbn: error: {printable(fault)}", file=sys.stderr)
        return 2
    checks = check_pack(pack, model)
    if args.json:
        print(json.dumps({c.item.id: {"file": c.item.file, "kind": c.item.kind, "status": c.status, "problems": list(c.problems),
                                      "failed_claims": list(c.failed_claims), "disagreement": c.item.disagreement} for c in checks},
                         indent=2))
    else:
        for check in checks:
            print(check.line())
        agree = sum(c.status == "agrees" for c in checks)
        intended = sum(c.status == "intended" for c in checks)
        print(f"{pack.path}: {len(pack.lessons)} lessons, {len(pack.cases)} quiz cases; {agree} agree with the model, "
              f"{intended} disagree as intended, {len(checks) - agree - intended} need the author's attention")
    return 0 if all(c.ok for c in checks) else 1


def cmd_cases_handout(args: argparse.Namespace) -> int:
    from twitchbn._files import atomic_write_text
    from twitchbn.teaching.handout import handout_html
    from twitchbn.teaching.pack import load_pack

    model = _model(args)
    pack = load_pack(args.path, model)
    written = atomic_write_text(args.output, handout_html(pack, model))
    print(f"twitchbn: handout of {len(pack.items)} pages written to {printable(str(written))}", file=sys.stderr)
    return 0


def _add_cases_command(sub: argparse._SubParsersAction) -> None:
    cases = sub.add_parser("cases", help="teaching packs of lessons and quiz cases: check one, print a handout")
    inner = cases.add_subparsers(dest="cases_command", metavar="{check,handout}", required=True, parser_class=_Parser)
    check = inner.add_parser("check", help="validate a pack and report, per lesson and case, whether the model agrees")
    check.add_argument("path", nargs="?", default=None, type=_path, metavar="DIR", help="the pack (default: the shipped one)")
    check.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    check.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    check.set_defaults(func=cmd_cases_check)
    handout = inner.add_parser("handout", help="write a printable HTML handout, one page per lesson and case")
    handout.add_argument("path", nargs="?", default=None, type=_path, metavar="DIR", help="the pack (default: the shipped one)")
    handout.add_argument("-o", "--output", required=True, type=_path, metavar="FILE.html", help="the HTML file to write")
    handout.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    handout.set_defaults(func=cmd_cases_handout)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twitchbn", description=f"Explore the causes of muscle twitching with a Bayesian network. {DISCLAIMER}")
    parser.add_argument("--version", action="version", version=f"twitchbn {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    q = sub.add_parser("query", help="posteriors, ranked differential and triage for some evidence")
    add_evidence_options(q)
    q.set_defaults(func=cmd_query)

    r = sub.add_parser("report", help="write the printable one-page case summary (HTML) for some evidence")
    r.add_argument("-e", "--evidence", action="append", default=[], metavar="VAR=STATE",
                   help="a finding or condition and its state (repeatable)")
    r.add_argument("--evidence-file", type=_path, metavar="FILE.json",
                   help="JSON object of variable -> state, at most 1 MB (a saved scenario also works)")
    r.add_argument("--serious", action="store_true", help="next questions weighted towards ruling out serious conditions")
    r.add_argument("-o", "--output", required=True, type=_path, metavar="FILE.html", help="the HTML file to write")
    r.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    r.set_defaults(func=cmd_report)

    v = sub.add_parser("validate", help="check a knowledge-base directory, listing every fault")
    v.add_argument("path", nargs="?", default=None, type=_path, metavar="DIR")
    v.set_defaults(func=cmd_validate)

    x = sub.add_parser("export", help="write the whole network as BIF or XMLBIF")
    x.add_argument("--format", choices=["bif", "xmlbif"], default="bif")
    x.add_argument("-o", "--output", type=_path, metavar="FILE", help="output file (default: stdout)")
    x.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    x.set_defaults(func=cmd_export)

    e = sub.add_parser("evaluate", help="grade the model on clinical case files (first rank, top 3, can't-miss, triage)")
    e.add_argument("files", nargs="+", type=_path, metavar="CASES.yaml")
    e.add_argument("--misses", action="store_true", help="list each case the model gets wrong, and how")
    e.add_argument("--json", action="store_true", help="figures and misses as one JSON document")
    e.add_argument("--kb", type=_path, metavar="DIR", help="knowledge base directory (default: the shipped twitchbn/data/)")
    e.set_defaults(func=cmd_evaluate)

    _add_reasoning_commands(sub)
    _add_batch_command(sub)
    _add_cases_command(sub)
    return parser


def _version() -> str:
    from twitchbn import __version__

    return __version__


def _ascii(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: what a console cannot encode, in plain ASCII ("…" as "...", "—" as "-", else "?")."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    plain = (ASCII.get(c) or unicodedata.normalize("NFKD", c).encode("ascii", "ignore").decode("ascii") or "?" for c in text)
    return "".join(plain), error.end


def plain_console() -> None:
    """Let a console that cannot show "…" or "—" (ascii, latin-1, cp437) degrade to ASCII instead of crashing."""
    codecs.register_error("twitchbn.ascii", _ascii)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="twitchbn.ascii")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twitchbn`` console script."""
    plain_console()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except TwitchbnError as exc:  # values are escaped where echoed; printable() guards the line as a whole
        print(f"twitchbn: error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head)
        return 0
    except OSError as exc:  # an output file that cannot be written, a disk that is full, ...
        where = f" '{shorten(exc.filename, keep_end=True)}'" if getattr(exc, "filename", None) else ""
        print(f"twitchbn: error: cannot read or write{where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twitchbn: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback with TWITCHBN_DEBUG=1
        if os.environ.get("TWITCHBN_DEBUG"):
            raise
        print(f"twitchbn: internal error: {exc.__class__.__name__}: {shorten(exc, 200)} "
              "(please report it; TWITCHBN_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
