"""HTML of the explorer's deeper panels: the intervals note, the tornado, the jointly most likely
combination (MPE) and the what-if table.

Pure functions from what ``twitchbn.uncertainty`` and ``twitchbn.reasoning`` return to HTML with
stable CSS classes and ``data-*`` attributes (``data-evidence`` says which findings a panel was
computed for). No widget import and no medical logic here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from twitchbn.knowledge import Knowledge
from twitchbn.ui import render, render_sources
from twitchbn.ui.render import (
    EXPLAINS_COLOUR,
    LEVELS,
    SHOWN_CHANGE,
    category_dot,
    esc,
    evidence_key,
    state_label,
)
from twitchbn.ui.render_reasoning import signed_change

LOW_END_COLOUR = "#f59e0b"
HIGH_END_COLOUR = EXPLAINS_COLOUR


def percent(p: float) -> str:
    """``render.percent``, escaped for HTML ('&lt;1%')."""
    return esc(render.percent(p))


def fine_percent(p: float) -> str:
    """``render.fine_percent``, escaped for HTML."""
    return esc(render.fine_percent(p))


def _tag(kind: str, evidence: Mapping[str, str], **data: str) -> str:
    extra = "".join(f' data-{key.replace("_", "-")}="{esc(value)}"' for key, value in data.items())
    return f'class="{kind}" data-evidence="{esc(evidence_key(evidence))}"{extra}'


# -- posterior intervals ---------------------------------------------------------------------------
def intervals_note_html(intervals: pd.DataFrame) -> str:
    """What the whiskers are (level, draws, seed) and how often the leader stays first."""
    attrs = intervals.attrs
    lead = intervals.iloc[0]
    return (
        f'<div class="tb-note intervals-note" data-seed="{esc(attrs["seed"])}" data-draws="{esc(attrs["draws"])}">'
        f'Whiskers: central {100 * attrs["level"]:.0f}% intervals over {esc(attrs["draws"])} parameter draws '
        + (f'(fewer than the {esc(attrs["draws_asked"])} asked: with this much evidence each draw takes longer) '
           if attrs.get("draws_asked", attrs["draws"]) > attrs["draws"] else "")
        +         f'(seed {esc(attrs["seed"])}): every hand-set number redrawn within its plausible range. '
        f'{esc(lead["label"])} ranks first in {percent(float(lead["share_first"]))} of the draws.</div>'
    )


# -- sensitivity (tornado) -------------------------------------------------------------------------
def _half(delta: float, span: float, colour: str, top: bool, title: str) -> str:
    left = 50 + 50 * min(delta, 0.0) / span
    width = 50 * abs(delta) / span
    place = "top:0" if top else "bottom:0"
    return (f'<div class="tb-half" title="{esc(title)}" '
            f'style="{place};left:{left:.1f}%;width:{width:.1f}%;background:{colour}"></div>')


def tornado_html(frame: pd.DataFrame, kb: Knowledge) -> str:
    """A ``uncertainty.sensitivity`` frame as a tornado, each number with its place, rationale and source.

    Bars start at the leading condition's current explains (the centre line): the upper half is
    the change with the number at the low end of its range, the lower half at the high end.
    Rows carry ``data-where``, ``data-state`` and ``data-swing``.
    """
    cid, base = str(frame.attrs["condition"]), float(frame.attrs["explains"])
    label = kb.label(cid)
    if frame.empty:
        return f'<div {_tag("tornado tb-note", frame.attrs["evidence"])}>No hand-set number can move {esc(label)}.</div>'
    span = float(frame["swing"].max()) or 1.0
    swatch = '<span style="display:inline-block;width:12px;height:8px;background:{};margin:0 4px 0 0"></span>'
    body = []
    for _, r in frame.iterrows():
        low, high = float(r["explains_low"]), float(r["explains_high"])
        titles = [f"number at {render.fine_percent(float(r[end]))}: explains {render.percent(x)}"
                  for end, x in (("low", low), ("high", high))]
        track = (
            '<div class="tb-track" style="height:16px">'
            + _half(low - base, span, LOW_END_COLOUR, True, titles[0])
            + _half(high - base, span, HIGH_END_COLOUR, False, titles[1])
            + '<div class="tb-centre"></div></div>'
        )
        leaders = [f"at the {end} end {kb.label(str(r[f'top_at_{end}']))} leads" for end in ("low", "high")
                   if pd.notna(r[f"top_at_{end}"]) and r[f"top_at_{end}"] != cid]
        lead = f' <b>Ranking changes: {esc("; ".join(leaders))}.</b>' if leaders else ""
        body.append(
            f'<tr class="tornado-row" data-where="{esc(r["where"])}" data-state="{esc(r["state"])}" data-swing="{float(r["swing"])!r}">'
            f'<td><span class="tb-where">{esc(render_sources.number_meaning(kb, str(r["where"]), str(r["state"])))}</span>'
            f'<div class="tb-note">{fine_percent(float(r["point"]))}, range {fine_percent(float(r["low"]))}–'
            f'{fine_percent(float(r["high"]))}</div></td>'
            f'<td style="width:30%">{track}</td>'
            f'<td class="tb-num tornado-low">{percent(low)}</td><td class="tb-num tornado-high">{percent(high)}</td></tr>'
            f'<tr class="tornado-why"><td colspan="4" class="tb-note" style="padding-bottom:6px">{esc(r["why"])} '
            f'— <i class="tornado-source">{render_sources.source_html(r["source"])}</i>{lead}</td></tr>'
        )
    head = (f'<tr><th>Hand-set number: value, plausible range</th><th>Change of explains</th>'
            f'<th class="tb-num">{swatch.format(LOW_END_COLOUR)}at low end</th>'
            f'<th class="tb-num">{swatch.format(HIGH_END_COLOUR)}at high end</th></tr>')
    intro = (f'<div class="tb-note">How far <b>{esc(label)}</b> (explains {percent(base)} now) moves when one hand-set number '
             "is moved alone to the low or the high end of its plausible range; the biggest effect first.</div>")
    left_out = frame.attrs.get("not_assessed", [])
    if left_out:
        intro += ('<div class="tb-note tornado-partial">With this much evidence, not assessed within the time allowed: '
                  f'the numbers of {esc(", ".join(kb.label(f) for f in left_out))}.</div>')
    if frame["top_at_low"].isna().any():
        intro += '<div class="tb-note tornado-partial">Whether the ranking changes at each end was not computed (too much evidence).</div>'
    tag = _tag("tornado", frame.attrs["evidence"], condition=cid)
    return f'<div {tag}>{intro}<table class="tb-table">{head}{"".join(body)}</table></div>'


# -- most probable explanation ------------------------------------------------------------------
def _combination(present: tuple[str, ...], kb: Knowledge) -> str:
    return " + ".join(kb.label(c) for c in present) if present else "no condition present"


def mpe_html(mpe: Any | None, kb: Knowledge, evidence: Mapping[str, str]) -> str:
    """One line naming the jointly most probable conditions (``reasoning.most_probable_explanation``),
    with a teaching note when that set is not the top of the marginal ranking."""
    if mpe is None:
        return '<div class="mpe tb-note">The jointly most likely combination is not available yet.</div>'
    present = tuple(mpe.present)
    ranked = list(mpe.marginal.index)
    leaders = ranked[: max(len(present), 1)]
    caveat = "" if mpe.exact else " — the best found before the search limit, not proven best"
    line = (
        f'Jointly most likely: <b class="mpe-present">{esc(_combination(present, kb))}</b> '
        f'<span class="tb-muted">(probability {fine_percent(mpe.probability)}; every other condition absent{caveat})</span>'
    )
    if mpe.alternatives:
        nxt, p = mpe.alternatives[0]
        line += f'<div class="tb-note">Next likeliest: {esc(_combination(tuple(nxt), kb))} ({fine_percent(p)}).</div>'
    note = ""
    if set(present) != set(leaders):
        note = (
            f'<div class="tb-note mpe-differs"><b>Not the top of the ranking</b> ({esc(" + ".join(kb.label(c) for c in leaders))}): '
            "the ranking scores each condition on its own, summed over every combination of the others, "
            "while this line is the single likeliest combination of all of them.</div>"
        )
    tag = _tag("mpe", evidence, present=",".join(present), probability=repr(float(mpe.probability)))
    return f"<div {tag}>{line}{note}</div>"


# -- what-if ------------------------------------------------------------------------------------
def _level(level: str) -> str:
    return f'<span class="triage-level">{esc(LEVELS.get(level, (level.upper(), ""))[0])}</span>'


def what_if_html(change: Any | None, kb: Knowledge, top: int = 5) -> str:
    """The differential and triage after a ``reasoning.what_if`` change, with the change per condition."""
    if change is None:
        return '<div class="what-if tb-note">The what-if panel is not available yet.</div>'
    (variable, new), = change.changes.items()
    was = change.before.evidence.get(variable)
    label = kb.label(variable)
    head = (f'<div>{esc(label)}: <b>{esc(state_label(was) if was else "unknown")}</b> → <b>{esc(state_label(new))}</b>'
            + (' <span class="tb-muted">(already the answer given: nothing changes)</span>' if was == new else "") + "</div>")
    before, after = change.before.conditions, change.after.conditions
    ranks = {cid: rank for rank, cid in enumerate(after.index, start=1)}
    shown = list(after.index[:top])
    movers = change.delta.index[:1]  # the biggest mover, shown even from outside the top
    extra = [c for c in movers if c not in shown and abs(float(change.delta.at[c, "delta_explains"])) >= SHOWN_CHANGE]

    def row(cid: str, cls: str) -> str:
        r = after.loc[cid]
        return (
            f'<tr class="{cls}" data-condition="{esc(cid)}"><td class="tb-num tb-muted">{ranks[cid]}</td>'
            f'<td>{category_dot(str(r["category"]))}{esc(r["label"])}</td>'
            f'<td class="tb-num">{percent(float(before.at[cid, "explains"]))} → {percent(float(r["explains"]))}</td>'
            f'<td>{signed_change(float(r["explains"]) - float(before.at[cid, "explains"]))}</td>'
            f'<td class="tb-num">{percent(float(before.at[cid, "probability"]))} → {percent(float(r["probability"]))}</td></tr>'
        )

    rows = "".join(row(cid, "what-if-row") for cid in shown) + "".join(
        '<tr><td colspan="5" class="tb-note">moved most, now further down:</td></tr>' + row(cid, "what-if-mover") for cid in extra
    )
    table = ('<table class="tb-table"><tr><th>#</th><th>Condition (new ranking)</th><th class="tb-num">Explains</th>'
             f'<th>Change</th><th class="tb-num">Present</th></tr>{rows}</table>')
    b_top, a_top = change.before.top, change.after.top
    lead = (f"{esc(kb.label(a_top))} stays on top." if a_top == b_top
            else f"The top changes from {esc(kb.label(b_top))} to <b>{esc(kb.label(a_top))}</b>.")
    b_level, a_level = change.before.triage.level, change.after.triage.level
    advice = (f'<div class="what-if-triage">Advice: {_level(b_level)} → {_level(a_level)}'
              + ("" if b_level != a_level else ' <span class="tb-muted">(unchanged)</span>') + "</div>")
    note = (
        f'<div class="tb-note">The same findings, with the answer about {esc(label.lower())} changed to '
        f"“{esc(state_label(new))}”. It shows what would best explain these findings with the other habit, "
        "not whether the twitching would stop.</div>"
    )
    tag = _tag("what-if", change.before.evidence, variable=variable, state=new, top_before=b_top, top_after=a_top,
               level_before=b_level, level_after=a_level)
    return f"<div {tag}>{head}{table}<div>{lead}</div>{advice}{note}</div>"


# -- headline (narrow pages) ---------------------------------------------------------------------
def headline_html(result: Any) -> str:
    """One line that stays pinned above the findings on a narrow page: the leader and the advice.

    Hidden from screen readers (``aria-hidden``): the differential summary already announces the
    same results.
    """
    frame = result.conditions
    triage = result.triage
    level = esc(LEVELS.get(triage.level, (triage.level.upper(), ""))[0]) if triage.decided else "NO VERDICT YET"
    lead = (f'Most likely: <b>{esc(frame.iloc[0]["label"])}</b> (explains {percent(float(frame.iloc[0]["explains"]))})'
            if result.evidence and len(frame) else "No findings set yet")
    return (f'<div class="headline" aria-hidden="true" data-evidence="{esc(evidence_key(result.evidence))}">'
            f'{lead} · Advice: <span class="triage-level">{level}</span></div>')
