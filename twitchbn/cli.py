"""The ``twitchbn`` command line: query, validate, export.

Every user error (unknown variable or state, malformed file, impossible evidence, broken
knowledge base) ends with exit status 2 and one line on stderr; no traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twitchbn.errors import EvidenceError, TwitchbnError, shorten

DISCLAIMER = "twitchbn is an educational and exploratory aid, not a diagnosis."


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TwitchbnError(f"{message} (see '{self.prog} --help')")


def read_evidence(pairs: Sequence[str], file: str | None) -> dict[str, Any]:
    """Evidence from ``--evidence-file`` (a JSON object) overlaid by ``-e VAR=STATE`` pairs."""
    evidence: dict[str, Any] = {}
    if file:
        path = Path(file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise EvidenceError(f"evidence file '{shorten(file)}' does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise EvidenceError(f"evidence file '{shorten(file)}' cannot be read ({exc.__class__.__name__})") from None
        except json.JSONDecodeError as exc:
            raise EvidenceError(f"evidence file '{shorten(file)}' must be a JSON object of variable to state; line {exc.lineno}: {exc.msg}") from None
        if isinstance(data, dict) and isinstance(data.get("evidence"), dict) and "conditions" in data:
            data = data["evidence"]  # a saved result document
        if not isinstance(data, dict):
            raise EvidenceError(f"evidence file '{shorten(file)}' must hold a JSON object of variable to state; got {type(data).__name__}")
        evidence.update(data)
    for pair in pairs:
        variable, sep, state = pair.partition("=")
        if not sep or not variable.strip() or not state.strip():
            raise EvidenceError(f"evidence '{shorten(pair)}' must be written VAR=STATE, e.g. -e twitch_eyelid=yes")
        evidence[variable.strip()] = state.strip()
    return evidence


def add_evidence_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--evidence", action="append", default=[], metavar="VAR=STATE", help="a finding or condition and its state (repeatable)")
    parser.add_argument("--evidence-file", metavar="FILE.json", help="JSON object of variable -> state (a saved result also works)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument("--kb", metavar="DIR", help="knowledge base directory (default: the shipped data/)")


def _model(args: argparse.Namespace):
    from twitchbn.inference import load_model

    return load_model(args.kb)


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
    lines.append("")
    lines.append(f"Triage: {result.triage.level.replace('_', ' ').upper()}")
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


def cmd_validate(args: argparse.Namespace) -> int:
    from twitchbn.inference import Model
    from twitchbn.knowledge import load_knowledge

    kb = load_knowledge(args.path)
    model = Model(kb)
    model.network  # builds the pgmpy network and runs its check_model as a second line
    links = sum(len(f.links) for f in kb.findings) + sum(len(c.risk_factors) for c in kb.conditions)
    print(f"{kb.path}: valid — {len(kb.conditions)} conditions, {len(kb.exposures)} exposures, "
          f"{len(kb.findings)} findings, {links} links; sha256 {kb.sha256[:12]}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from twitchbn.model import export_network

    model = _model(args)
    text = export_network(model.network, args.format, args.output)
    if args.output is None:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twitchbn", description=f"Explore the causes of muscle twitching with a Bayesian network. {DISCLAIMER}")
    parser.add_argument("--version", action="version", version=f"twitchbn {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    q = sub.add_parser("query", help="posteriors, ranked differential and triage for some evidence")
    add_evidence_options(q)
    q.set_defaults(func=cmd_query)

    v = sub.add_parser("validate", help="check a knowledge-base directory")
    v.add_argument("path", nargs="?", default=None, metavar="DIR")
    v.set_defaults(func=cmd_validate)

    x = sub.add_parser("export", help="write the whole network as BIF or XMLBIF")
    x.add_argument("--format", choices=["bif", "xmlbif"], default="bif")
    x.add_argument("-o", "--output", metavar="FILE", help="output file (default: stdout)")
    x.add_argument("--kb", metavar="DIR", help="knowledge base directory (default: the shipped data/)")
    x.set_defaults(func=cmd_export)
    return parser


def _version() -> str:
    from twitchbn import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twitchbn`` console script."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except TwitchbnError as exc:
        print(f"twitchbn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("twitchbn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
