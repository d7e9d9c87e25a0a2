"""HTML formatting of the reasoning panels: why, next questions, and two scenarios compared.

Pure functions from the reasoning frames (``twitchbn.reasoning``) to HTML strings with stable CSS
classes and ``data-*`` attributes. No widget import and no medical logic here.
"""

from __future__ import annotations

import math

import pandas as pd

from twitchbn.knowledge import Knowledge
from twitchbn.ui.render import SHOWN_CHANGE, esc, triage_html
from twitchbn.wording import percent, state_label

SHOWN_BITS = 0.05  # a weight that would read "+0.0 bits" counts as making no difference


def _bits(weight: float) -> str:
    if math.isinf(weight):
        return "decisive"
    return f"{weight:+.1f} bits"


def _weighs(rows: pd.DataFrame) -> pd.Series:
    """Rows whose weight shows as at least 0.1 bits (or is decisive)."""
    weights = rows["weight_bits"].astype(float)
    return (rows["direction"] != "neutral") & (weights.abs() >= SHOWN_BITS)


def why_html(frame: pd.DataFrame | None, kb: Knowledge, per_condition: int = 5) -> str:
    """Evidence for and against each condition of a ``reasoning.why`` frame (strongest first)."""
    if frame is None:
        return '<div class="why tb-note">The explanation panel is not available yet.</div>'
    if frame.empty:
        return '<div class="why tb-note">Set some findings to see which of them push each condition up or down.</div>'
    blocks = []
    left_out = frame.attrs.get("not_assessed", [])
    if left_out:
        blocks.append('<div class="tb-note why-partial">With this much evidence, not weighed within the time allowed: '
                      f'{esc(", ".join(kb.label(v) for v in left_out))}.</div>')
    for cid, rows in frame.groupby("condition", sort=False):
        active = rows[_weighs(rows)]
        active = active.reindex(active["weight_bits"].abs().sort_values(ascending=False, kind="stable").index).head(per_condition)
        items = []
        for _, r in active.iterrows():
            cls, arrow = ("tb-for", "▲") if r["direction"] == "for" else ("tb-against", "▼")
            items.append(
                f'<li data-variable="{esc(r["variable"])}"><span class="{cls}">{arrow} {esc(r["direction"])} '
                f'({_bits(float(r["weight_bits"]))})</span> {esc(kb.label(str(r["variable"])))}: {esc(state_label(r["state"]))}</li>'
            )
        quiet = len(rows) - int(_weighs(rows).sum())
        if quiet:
            items.append(f'<li class="tb-note">{quiet} other finding{"" if quiet == 1 else "s"} make{"s" if quiet == 1 else ""} '
                         "little or no difference to it</li>")
        explains = f' <span class="tb-muted">— explains {percent(float(rows["explains"].iloc[0]))}</span>' if "explains" in rows else ""
        blocks.append(
            f'<div data-condition="{esc(cid)}"><b>{esc(kb.label(str(cid)))}</b>{explains}'
            f'<ul style="margin:2px 0 6px 0;list-style:none;padding-left:8px">{"".join(items)}</ul></div>'
        )
    note = ('<div class="tb-note">Bits: how much each finding moves the odds that the condition explains the twitching '
            "(+1 bit doubles them, −1 halves them).</div>")
    return f'<div class="why">{"".join(blocks)}{note}</div>'


def next_html(frame: pd.DataFrame | None, kb: Knowledge, top: int = 5) -> str:
    """The most informative findings still unknown, from ``reasoning.next_questions``."""
    if frame is None:
        return '<div class="next-questions tb-note">Suggested next questions are not available yet.</div>'
    if frame.empty:
        return '<div class="next-questions tb-note">Every finding is already set.</div>'
    rows = []
    for fid, r in frame.head(top).iterrows():
        if "moves" in r:
            effect = (f"{esc(kb.label(str(r['moves'])))} {percent(float(r['moves_from']))} → "
                      f"{percent(float(r['moves_to']))}")
        else:
            effect = f"shift {float(r['best_shift']):.2f}"
        rows.append(
            f'<tr data-finding="{esc(fid)}"><td>{esc(r["label"])}</td>'
            f'<td class="tb-num">{float(r["expected_gain_bits"]):.2f}</td>'
            f'<td>{esc(state_label(r["best_state"]))}</td><td>{effect}</td></tr>'
        )
    head = ('<tr><th>Ask about</th><th class="tb-num">Gain (bits)</th><th>Most telling answer</th>'
            '<th>It would move (explains)</th></tr>')
    note = ('<div class="tb-note">Gain: how much the answer is expected to sharpen the differential, '
            "on average over the possible answers.</div>")
    return f'<div class="next-questions"><table class="tb-table">{head}{"".join(rows)}</table>{note}</div>'


def _top_list(frame: pd.DataFrame, top: int) -> str:
    items = "".join(
        f'<tr data-condition="{esc(cid)}"><td>{esc(r["label"])}</td><td class="tb-num">{percent(float(r["explains"]))}</td></tr>'
        for cid, r in frame.head(top).iterrows()
    )
    return f'<table class="tb-table"><tr><th>Top conditions</th><th class="tb-num">Explains</th></tr>{items}</table>'


def signed_change(delta: float) -> str:
    """A change of a probability in percentage points, with an arrow ('▲ 12 points')."""
    if abs(delta) < SHOWN_CHANGE:
        return '<span class="tb-muted">no change</span>'
    arrow, cls = ("▲", "tb-for") if delta > 0 else ("▼", "tb-against")
    points = round(100 * abs(delta))
    return f'<span class="{cls}">{arrow} {points} point{"" if points == 1 else "s"}</span>'


def changes_html(table: pd.DataFrame, top: int = 8) -> str:
    """The conditions that move most between two scenarios, from ``reasoning.compare``."""
    explains = [c for c in table.columns if c.startswith("explains_")]
    present = [c for c in table.columns if c.startswith("probability_")]
    if len(explains) != 2 or len(present) != 2 or "delta_explains" not in table:
        return ""
    body = "".join(
        f'<tr data-condition="{esc(cid)}"><td>{esc(r["label"])}</td>'
        f'<td class="tb-num">{percent(float(r[explains[0]]))} → {percent(float(r[explains[1]]))}</td>'
        f'<td>{signed_change(float(r["delta_explains"]))}</td>'
        f'<td class="tb-num">{percent(float(r[present[0]]))} → {percent(float(r[present[1]]))}</td></tr>'
        for cid, r in table.head(top).iterrows()
    )
    head = ('<tr><th>Condition</th><th class="tb-num">Explains (current → saved)</th>'
            '<th>Change</th><th class="tb-num">Present (current → saved)</th></tr>')
    return f'<div class="tb-heading">What moves most between them</div><table class="tb-table compare-changes">{head}{body}</table>'


def compare_html(names: tuple[str, str], results: tuple, kb: Knowledge, table: pd.DataFrame | None = None, top: int = 5) -> str:
    """Two scenarios side by side: evidence (differences marked), top conditions and triage."""
    evidences = [r.evidence for r in results]
    columns = []
    for name, result, other in zip(names, results, reversed(evidences), strict=True):
        items = []
        for var, state in result.evidence.items():
            differs = other.get(var) != state
            text = esc(f"{kb.label(var)}: {state_label(state)}")
            items.append(f"<li><b>{text}</b></li>" if differs else f"<li>{text}</li>")
        evidence = (f'<ul style="margin:2px 0;padding-left:18px">{"".join(items)}</ul>' if items
                    else '<div class="tb-note">no findings set</div>')
        columns.append(
            f'<div class="compare-column" style="flex:1 1 0;min-width:260px;padding:0 8px">'
            f'<div class="tb-heading">{esc(name)}</div>{evidence}{_top_list(result.conditions, top)}{triage_html(result.triage)}</div>'
        )
    extra = changes_html(table) if table is not None and not table.empty else ""
    note = '<div class="tb-note">Findings in bold differ between the two scenarios.</div>'
    return f'<div class="compare"><div style="display:flex;gap:8px">{"".join(columns)}</div>{note}{extra}</div>'
