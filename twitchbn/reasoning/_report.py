"""JSON documents and readable tables of the reasoning results (used by the CLI).

Documents hold unrounded floats; a non-finite weight of evidence (an item that alone decides the
hypothesis) is written as ``null`` with its ``direction`` kept. Tables are rounded for reading.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from twitchbn.inference import Model, QueryResult
from twitchbn.reasoning._mpe import MostProbableExplanation
from twitchbn.reasoning._whatif import WhatIf

WHY_DEFINITION = (
    "weight_bits = log2 odds(condition present and causing | all evidence) - log2 odds(same | all evidence but this item)"
    " = log likelihood ratio of the item given the rest of the evidence"
)
NEXT_DEFINITION = (
    "expected_gain_bits = U(e) - sum_s P(F=s|e) U(e, F=s), U = sum over conditions of w_c * H2(P(present and causing))"
)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    return value


def records(frame: pd.DataFrame, index: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``frame`` as plain dicts (index under ``index`` when given)."""
    out = []
    for key, row in frame.iterrows():
        item = {index: key} if index else {}
        item.update({col: _plain(row[col]) for col in frame.columns})
        out.append(item)
    return out


def why_document(model: Model, evidence: dict[str, str], frame: pd.DataFrame) -> dict[str, Any]:
    """The ``twitchbn why --json`` document."""
    return {"evidence": evidence, "definition": WHY_DEFINITION, "contributions": records(frame),
            "not_assessed": list(frame.attrs.get("not_assessed", [])), "model": dict(model.info)}


def next_document(model: Model, evidence: dict[str, str], frame: pd.DataFrame) -> dict[str, Any]:
    """The ``twitchbn next --json`` document (every candidate, best first)."""
    return {
        "evidence": evidence,
        "definition": NEXT_DEFINITION,
        "serious": frame.attrs.get("serious", False),
        "uncertainty_bits": frame.attrs.get("uncertainty_bits"),
        "questions": records(frame, "id"),
        "model": dict(model.info),
    }


def mpe_document(model: Model, evidence: dict[str, str], mpe: MostProbableExplanation) -> dict[str, Any]:
    """The ``twitchbn mpe --json`` document."""
    return {
        "evidence": evidence,
        "present": list(mpe.present),
        "probability": mpe.probability,
        "exact": mpe.exact,
        "expansions": mpe.expansions,
        "alternatives": [{"present": list(p), "probability": q} for p, q in mpe.alternatives],
        "marginal": records(mpe.marginal, "id"),
        "model": dict(model.info),
    }


def whatif_document(change: WhatIf) -> dict[str, Any]:
    """The ``twitchbn whatif --json`` document."""
    return {
        "changes": change.changes,
        "interventions": list(change.interventions),
        "before": change.before.to_dict(),
        "after": change.after.to_dict(),
        "delta": records(change.delta, "id"),
    }


def compare_document(a: QueryResult, b: QueryResult, frame: pd.DataFrame) -> dict[str, Any]:
    """The ``twitchbn compare --json`` document."""
    return {"a": a.to_dict(), "b": b.to_dict(), "delta": records(frame, "id")}


# -- tables ------------------------------------------------------------------------------------
def evidence_line(evidence: dict[str, str]) -> str:
    return "Evidence: " + (", ".join(f"{k}={v}" for k, v in evidence.items()) if evidence else "none (prior)")


def _name(label: str, vid: str, width: int = 44) -> str:
    """'label (id)' within ``width``, shortening the label and keeping the id whole."""
    text = f"{label} ({vid})"
    if len(text) <= width:
        return text
    room = width - len(vid) - 4
    return f"{label[:room]}… ({vid})" if room > 0 else text[: width - 1] + "…"


def why_table(evidence: dict[str, str], frame: pd.DataFrame) -> str:
    """``twitchbn why`` as text."""
    lines = [evidence_line(evidence), "Weight of evidence, in bits, that each condition is present and causing the twitching",
             "(the item's log likelihood ratio given the rest of the evidence; + for, - against):"]
    for cid, block in frame.groupby("condition", sort=False):
        first = block.iloc[0]
        lines += ["", f"{_name(first['label'], str(cid), 60)} — explains {first['explains']:.3f}"]
        for row in block.itertuples():
            weight = f"{row.weight_bits:+8.2f}" if math.isfinite(row.weight_bits) else ("    +inf" if row.weight_bits > 0 else "    -inf")
            lines.append(f"  {row.direction:<8}{weight}  {row.variable}={row.state}  (explains {row.explains_without:.3f} without it)")
    if frame.attrs.get("not_assessed"):
        lines += ["", f"Not weighed within the work budget (too much evidence): {', '.join(frame.attrs['not_assessed'])}"]
    return "\n".join(lines)


def next_table(evidence: dict[str, str], frame: pd.DataFrame, top: int) -> str:
    """``twitchbn next`` as text (the ``top`` best questions)."""
    kind = "serious-weighted " if frame.attrs.get("serious") else ""
    lines = [evidence_line(evidence), f"Uncertainty of the differential ({kind}sum of per-condition entropies): "
             f"{frame.attrs.get('uncertainty_bits', 0.0):.3f} bits", "",
             f"{'rank':>4}  {'question':<44} {'gain':>6}  answer that moves the differential most"]
    for rank, (vid, row) in enumerate(frame.head(top).iterrows(), start=1):
        lines.append(f"{rank:>4}  {_name(row['label'], str(vid)):<44} {row['expected_gain_bits']:>6.3f}  "
                     f"{row['best_state']} (p={row['best_state_probability']:.2f}): {row['moves']} "
                     f"{row['moves_from']:.2f} -> {row['moves_to']:.2f}")
    if len(frame) > top:
        lines.append(f"      ... {len(frame) - top} more (--top N, or --json for all)")
    return "\n".join(lines)


def mpe_table(evidence: dict[str, str], mpe: MostProbableExplanation) -> str:
    """``twitchbn mpe`` as text."""
    def named(present: tuple[str, ...]) -> str:
        return " + ".join(present) if present else "no condition present"

    status = "exact" if mpe.exact else f"search capped: best found; untried assignments <= {mpe.upper_bound:.4f}"
    lines = [evidence_line(evidence), f"Most probable explanation (jointly): {named(mpe.present)}",
             f"  probability of exactly this set (all others absent): {mpe.probability:.4f} ({status})"]
    lines += [f"  runner-up: {named(p)}  {q:.4f}" for p, q in mpe.alternatives]
    lines += ["", "Marginal ranking (each condition on its own):", f"{'condition':<46} {'prob.':>7} {'explains':>8}  in MPE"]
    for cid, row in mpe.marginal.iterrows():
        lines.append(f"{_name(row['label'], str(cid), 46):<46} {row['probability']:>7.3f} {row['explains']:>8.3f}  "
                     f"{'yes' if row['in_explanation'] else ''}")
    return "\n".join(lines)


def delta_table(frame: pd.DataFrame, names: tuple[str, str], top: int = 10) -> str:
    """Per-condition changes, biggest first (the ``top`` rows)."""
    x, y = names
    lines = [f"{'condition':<46} {'explains ' + x:>16} {'explains ' + y:>16} {'change':>8}"]
    for cid, row in frame.head(top).iterrows():
        lines.append(f"{_name(row['label'], str(cid), 46):<46} {row[f'explains_{x}']:>16.3f} {row[f'explains_{y}']:>16.3f} "
                     f"{row['delta_explains']:>+8.3f}")
    triage = frame.attrs.get("triage", {})
    if triage:
        lines += ["", f"Triage: {triage.get(x)} ({x}) -> {triage.get(y)} ({y})"]
    return "\n".join(lines)


def whatif_table(change: WhatIf) -> str:
    """``twitchbn whatif`` as text."""
    how = ", ".join(f"do({v}={s})" if v in change.interventions else f"{v}={s}" for v, s in change.changes.items())
    lines = [evidence_line(change.before.evidence), f"Change: {how}"]
    if len(change.interventions) < len(change.changes):
        lines.append("  (VAR=STATE without do(): conditioned on; for an exposure, a root node, that equals intervening)")
    return "\n".join([*lines, "", delta_table(change.delta, ("before", "after"))])


def compare_table(a: QueryResult, b: QueryResult, frame: pd.DataFrame, top: int) -> str:
    """``twitchbn compare`` as text."""
    return "\n".join([evidence_line(a.evidence) + "  (a)", evidence_line(b.evidence) + "  (b)", "", delta_table(frame, ("a", "b"), top)])
