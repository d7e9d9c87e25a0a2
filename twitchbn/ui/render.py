"""HTML formatting of results: the differential, the triage banner, the can't-miss list, messages.

Pure functions from data (``QueryResult`` parts) to HTML strings with stable CSS classes and
``data-*`` attributes, so the same text renders in JupyterLab, Voila and nbval and a browser test
can read it. No widget import and no medical logic here. The reasoning panels (why, next
questions, compare) are formatted in ``render_reasoning``, sources in ``render_sources``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode

import pandas as pd

from twitchbn.knowledge import Knowledge
from twitchbn.triage import TriageResult
from twitchbn.wording import percent, state_label

DISCLAIMER = "twitchbn is an educational and exploratory aid, not a diagnosis. Anyone worried about twitching should see a doctor."
LEVELS = {
    "self_care": ("SELF CARE", "everyday measures usually settle this"),
    "see_doctor": ("SEE DOCTOR", "book an appointment with a doctor"),
    "urgent": ("URGENT", "seek medical care now"),
}
CATEGORY_COLOURS = {"lifestyle": "#16a34a", "local": "#7c3aed", "deficiency": "#d97706", "disease": "#dc2626"}
EXPLAINS_COLOUR = "#2563eb"
PROBABILITY_COLOUR = "#bfdbfe"
WHISKER_COLOUR = "#0f172a"
SHOWN_CHANGE = 0.005  # a change below half a percentage point reads "no change"
CLEAR_LEAD = 0.25  # a first-ranked condition explaining less than this is not announced as "most likely"

STYLE = """<style>
.twitchbn { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  font-size: 14px; color: #1f2933; }
.twitchbn .widget-html-content { line-height: 1.4; }
.twitchbn .tb-dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 6px; }
.twitchbn .tb-title { font-size: 22px; font-weight: 600; margin: 2px 0 6px 0; }
.twitchbn .tb-disclaimer { background: #f1f5f9; border-left: 4px solid #64748b; padding: 6px 10px;
  font-size: 13px; margin-bottom: 6px; }
.twitchbn .tb-panel { border: 1px solid #e2e8f0; border-radius: 6px; padding: 6px 10px; margin: 4px 0; }
.twitchbn .tb-heading { font-size: 15px; font-weight: 600; margin: 6px 0 2px 0; color: #334155; }
.twitchbn .tb-note { color: #475569; font-size: 12.5px; }
.twitchbn .tb-control { height: auto !important; min-height: 30px; align-items: center; margin: 1px 0; }
.twitchbn .tb-control .widget-label { white-space: normal !important; overflow: visible !important;
  text-overflow: clip !important; line-height: 1.25 !important; height: auto !important; font-size: 13px; }
.twitchbn .tb-control.tb-set .widget-label { font-weight: 600; }
.twitchbn .tb-control.tb-set select { background-color: #eff6ff; border-color: #2563eb; }
.twitchbn :focus-visible, .twitchbn select:focus, .twitchbn button:focus, .twitchbn input:focus,
.twitchbn .tb-scroll:focus, .twitchbn a:focus { outline: 3px solid #1d4ed8 !important; outline-offset: 1px; }
.twitchbn table.tb-table { border-collapse: collapse; width: 100%; }
.twitchbn table.tb-table th { text-align: left; font-weight: 600; color: #334155; font-size: 12px;
  border-bottom: 1px solid #cbd5e1; padding: 3px 4px; }
.twitchbn table.tb-table td { padding: 3px 4px; border-bottom: 1px solid #f1f5f9; vertical-align: middle; }
.twitchbn td.tb-num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.twitchbn td.tb-muted, .twitchbn span.tb-muted { color: #475569; }
.twitchbn .tb-track { position: relative; height: 9px; background: #f1f5f9; border-radius: 2px; margin: 2px 0; }
.twitchbn .tb-fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 2px; }
.twitchbn .tb-marker { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #111827; }
.twitchbn .tb-whisker { position: absolute; top: 1px; bottom: 1px; box-sizing: border-box; min-width: 3px;
  border-left: 1.5px solid #0f172a; border-right: 1.5px solid #0f172a;
  background: linear-gradient(#0f172a, #0f172a) center / 100% 1.5px no-repeat; }
.twitchbn .tb-range { color: #475569; font-size: 11px; }
.twitchbn .tb-half { position: absolute; height: 45%; }
.twitchbn .tb-centre { position: absolute; top: -3px; bottom: -3px; left: 50%; width: 1px; background: #111827; }
.twitchbn .tb-focus td { background: #fefce8; }
.twitchbn .triage-banner { border-radius: 6px; padding: 8px 12px; margin: 4px 0; border-left: 6px solid; }
.twitchbn .triage-banner ul { margin: 4px 0 0 0; padding-left: 18px; }
.twitchbn .triage-banner .tb-muted { color: #334155; }
.twitchbn .triage-self_care { background: #ecfdf5; border-color: #059669; }
.twitchbn .triage-see_doctor { background: #fffbeb; border-color: #d97706; }
.twitchbn .triage-urgent { background: #fef2f2; border-color: #dc2626; }
.twitchbn .triage-urgent .triage-level { color: #991b1b; }
.twitchbn .triage-none { background: #f8fafc; border-color: #94a3b8; }
.twitchbn .dont-miss { border: 1px solid #fecaca; background: #fff7f7; border-radius: 6px; padding: 4px 10px; margin: 4px 0; }
.twitchbn .dont-miss .tb-note, .twitchbn .dont-miss .tb-muted { color: #334155; }
.twitchbn ul.tb-list { margin: 2px 0; padding-left: 18px; }
.twitchbn .triage-level { font-weight: 700; letter-spacing: 0.02em; }
.twitchbn .tb-message { border-radius: 4px; padding: 5px 10px; margin: 3px 0; }
.twitchbn .tb-message-error { background: #fef2f2; color: #991b1b; border: 1px solid #fecaca; }
.twitchbn .tb-message-info { background: #f0f9ff; color: #075985; border: 1px solid #bae6fd; }
.twitchbn .tb-for { color: #047857; }
.twitchbn .tb-against { color: #b91c1c; }
.twitchbn .tb-scroll { max-height: 460px; overflow-y: auto; }
.twitchbn .tb-svg text { font-family: inherit; }
.twitchbn a { color: #1d4ed8; }
.twitchbn .tb-links a { display: inline-block; margin: 2px 14px 2px 0; font-weight: 600; }
.twitchbn .tb-hidden { display: none !important; }
.twitchbn .tb-stale { opacity: 0.55; transition: opacity 0.1s; }
.twitchbn .results-status { font-size: 12.5px; color: #334155; min-height: 18px; }
.twitchbn .results-status[data-state="busy"]::before { content: ""; display: inline-block; width: 10px; height: 10px;
  margin-right: 6px; border: 2px solid #1d4ed8; border-right-color: transparent; border-radius: 50%;
  animation: tb-spin 0.8s linear infinite; vertical-align: -1px; }
@keyframes tb-spin { to { transform: rotate(360deg); } }
.twitchbn .tb-chips { flex-flow: row wrap; gap: 4px; }
.twitchbn .tb-chip { height: auto !important; min-height: 26px; font-size: 12.5px; border-radius: 13px;
  background: #eff6ff; color: #1e3a8a; border: 1px solid #93c5fd; padding: 0 10px; white-space: normal; }
.twitchbn-explorer { container-type: inline-size; container-name: tbx; }
.twitchbn-explorer .tb-main { display: grid !important; grid-template-columns: minmax(330px, 5fr) minmax(400px, 6fr);
  gap: 14px; align-items: start; }
.twitchbn-explorer, .twitchbn-explorer .tb-main, .jp-OutputArea:has(.twitchbn-explorer),
.jp-OutputArea-child:has(.twitchbn-explorer), .jp-OutputArea-output:has(.twitchbn-explorer) { overflow: visible !important; }
.twitchbn-explorer .results-panel { position: sticky; top: 0; max-height: calc(100vh - 130px); overflow-y: auto; align-self: start;
  background: #ffffff; z-index: 2; }
.twitchbn-explorer .results-panel > *, .twitchbn-explorer .evidence-panel > * { flex-shrink: 0; }
.twitchbn-explorer .tb-headline { display: none !important; }
.twitchbn-explorer .evidence-group, .twitchbn-explorer .results-panel > .tb-panel:not(.ranking-panel) {
  content-visibility: auto; contain-intrinsic-size: auto 320px; }
.twitchbn-explorer .evidence-panel .widget-gridbox { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
@container tbx (max-width: 1060px) {
  .twitchbn-explorer .evidence-panel .widget-gridbox { grid-template-columns: minmax(0, 1fr) !important; }
}
@container tbx (max-width: 860px) {
  .twitchbn-explorer .tb-main { grid-template-columns: minmax(0, 1fr); }
  .twitchbn-explorer .results-panel { order: -1; position: static; max-height: none; overflow: visible; }
  .twitchbn-explorer .tb-headline { display: block !important; position: sticky; top: 0; z-index: 3; order: -2;
    background: #ffffff; border-bottom: 1px solid #cbd5e1; padding: 4px 0; }
  .twitchbn-explorer .evidence-panel .widget-gridbox { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
@container tbx (max-width: 600px) {
  .twitchbn-explorer .evidence-panel .widget-gridbox { grid-template-columns: minmax(0, 1fr) !important; }
}
</style>"""


def esc(text: object) -> str:
    """HTML-escape any value."""
    return html.escape(str(text), quote=True)


def fine_percent(p: float) -> str:
    """A probability as a percentage keeping two significant digits below 10%.

    >>> [fine_percent(p) for p in (0.2, 0.0164, 0.00015, 0.0)]
    ['20%', '1.6%', '0.015%', '0%']
    """
    if not math.isfinite(p) or p <= 0.0 or p >= 1.0:
        return percent(p)
    value = 100 * p
    return f"{value:.0f}%" if value >= 10 else f"{value:.2g}%"


def message_html(text: str, kind: str = "error") -> str:
    """A one-line message box (``kind`` error or info); empty text gives nothing."""
    if not text:
        return ""
    return f'<div class="tb-message tb-message-{esc(kind)}" data-kind="{esc(kind)}">{esc(text)}</div>'


def header_html(title: str, subtitle: str = "") -> str:
    """Page title, an optional subtitle and the disclaimer."""
    sub = f'<div class="tb-note">{esc(subtitle)}</div>' if subtitle else ""
    disclaimer = f'<div class="tb-disclaimer disclaimer"><b>Not a diagnosis.</b> {esc(DISCLAIMER)}</div>'
    return f'<div class="tb-title">{esc(title)}</div>{sub}{disclaimer}'


def evidence_text(evidence: Mapping[str, str], kb: Knowledge) -> list[str]:
    """Readable 'Label: state' items of some evidence, in the order given."""
    return [f"{kb.label(var)}: {state_label(state)}" for var, state in evidence.items()]


def interval_text(low: float, high: float) -> str:
    """An interval as shown beside a number: '38%–75%'."""
    return f"{percent(low)}–{percent(high)}"


def _whisker(bounds: tuple[float, float] | None) -> str:
    if bounds is None:
        return ""
    low, high = bounds
    return (f'<div class="tb-whisker" title="interval {esc(interval_text(low, high))}" '
            f'style="left:{100 * low:.1f}%;width:{100 * max(high - low, 0.0):.1f}%"></div>')


def _bars(explains: float, probability: float, prior: float, interval: pd.Series | None = None) -> str:
    around = {
        name: None if interval is None else (float(interval[f"{name}_low"]), float(interval[f"{name}_high"]))
        for name in ("explains", "probability")
    }
    return (
        f'<div class="tb-track" title="explains {percent(explains)}"><div class="tb-fill" '
        f'style="width:{100 * explains:.1f}%;background:{EXPLAINS_COLOUR}"></div>{_whisker(around["explains"])}</div>'
        f'<div class="tb-track" title="present {percent(probability)}, prior {percent(prior)}"><div class="tb-fill" '
        f'style="width:{100 * probability:.1f}%;background:{PROBABILITY_COLOUR}"></div>'
        f'<div class="tb-marker" style="left:calc({100 * prior:.1f}% - 1px)"></div>{_whisker(around["probability"])}</div>'
    )


def category_dot(category: str) -> str:
    """A small dot in the colour of a condition category (its name as a tooltip)."""
    colour = CATEGORY_COLOURS.get(category, "#94a3b8")
    return f'<span class="tb-dot" style="background:{colour}" title="{esc(category)}"></span>'


def legend_html(categories: bool = True, whiskers: bool = False) -> str:
    """What the bars, the marker, the whiskers and the dots of the differential mean."""
    swatch = '<span style="display:inline-block;width:12px;height:9px;background:{};margin:0 4px 0 0"></span>'
    marker = '<span style="display:inline-block;width:2px;height:12px;background:#111827;margin:0 4px 0 0;vertical-align:middle"></span>'
    parts = [
        f"{swatch.format(EXPLAINS_COLOUR)}<b>explains</b> (present and causing this twitching)",
        f"{swatch.format(PROBABILITY_COLOUR)}<b>present</b>",
        f"{marker}<b>prior</b> (before any finding)",
    ]
    if whiskers:
        whisker = ('<span style="display:inline-block;width:14px;height:7px;border:1.5px solid {0};border-top:0;border-bottom:0;'
                   'background:linear-gradient({0},{0}) center / 100% 1.5px no-repeat;margin:0 4px 0 0"></span>')
        parts.append(f"{whisker.format(WHISKER_COLOUR)}<b>interval</b> (hand-set numbers redrawn)")
    if categories:
        parts.append(" ".join(f"{category_dot(c)}{esc(c)}" for c in CATEGORY_COLOURS))
    return '<div class="tb-note" style="display:flex;flex-wrap:wrap;gap:4px 16px;margin-bottom:4px">' + "".join(
        f"<span>{p}</span>" for p in parts) + "</div>"


def _bounds_cell(cls: str, value: float, interval: pd.Series | None, name: str) -> str:
    if interval is None:
        return f'<td class="tb-num {cls}">{percent(value)}</td>'
    low, high = float(interval[f"{name}_low"]), float(interval[f"{name}_high"])
    return f'<td class="tb-num {cls}">{percent(value)}<div class="tb-range {cls}-range">{esc(interval_text(low, high))}</div></td>'


def _bounds_data(interval: pd.Series | None) -> str:
    if interval is None:
        return ""
    return "".join(f' data-{name}-{end}="{float(interval[f"{name}_{end}"])!r}"'
                   for name in ("explains", "probability") for end in ("low", "high"))


def differential_html(frame: pd.DataFrame, top: int | None = 10, focus: Iterable[str] = (), compact: bool = False,
                      intervals: pd.DataFrame | None = None) -> str:
    """The ranked differential as a table with bars; ``frame`` is ``QueryResult.conditions``.

    Rows carry ``data-condition`` (the id) and ``data-rank``; ``focus`` ids are highlighted.
    ``intervals`` (a ``uncertainty.posterior_intervals`` frame) adds whiskers and the bounds under
    the numbers (also as ``data-explains-low`` ... attributes).
    """
    focus = set(focus)
    rows = frame if top is None else frame.head(top)
    head = (
        '<tr><th>#</th><th>Condition</th><th style="width:32%">Explains / present</th>'
        '<th class="tb-num">Explains</th><th class="tb-num">Present</th>'
        + ("" if compact else '<th class="tb-num">Prior</th>')
        + "</tr>"
    )
    body = []
    for rank, (cid, row) in enumerate(rows.iterrows(), start=1):
        explains, prob, prior = float(row["explains"]), float(row["probability"]), float(row["prior"])
        interval = None if intervals is None or cid not in intervals.index else intervals.loc[cid]
        cls = "differential-row tb-focus" if cid in focus else "differential-row"
        body.append(
            f'<tr class="{cls}" data-condition="{esc(cid)}" data-rank="{rank}" title="{esc(cid)}"{_bounds_data(interval)}>'
            f'<td class="tb-num tb-muted">{rank}</td>'
            f'<td class="differential-label">{category_dot(str(row["category"]))}{esc(row["label"])}</td>'
            f"<td>{_bars(explains, prob, prior, interval)}</td>"
            + _bounds_cell("differential-explains", explains, interval, "explains")
            + _bounds_cell("differential-probability", prob, interval, "probability")
            + ("" if compact else f'<td class="tb-num tb-muted">{percent(prior)}</td>')
            + "</tr>"
        )
    more = "" if top is None or len(frame) <= top else f'<div class="tb-note">Showing the top {top} of {len(frame)} conditions.</div>'
    top_id = esc(frame.index[0]) if len(frame) else ""
    tag = "" if intervals is None else f' data-intervals="{esc(evidence_key(intervals.attrs.get("evidence", {})))}"'
    return (
        f'<div class="differential" data-top="{top_id}"{tag}>{legend_html(not compact, intervals is not None)}'
        f'<table class="tb-table">{head}{"".join(body)}</table>{more}</div>'
    )


def evidence_key(evidence: Mapping[str, str]) -> str:
    """The evidence as a sorted query string (``a=x&b=y``): a stable tag of what a view shows."""
    return urlencode(sorted(evidence.items()))


def summary_html(frame: pd.DataFrame, evidence: Mapping[str, str]) -> str:
    """One line naming the first-ranked condition (or saying that nothing is set yet).

    ``data-top`` holds its id and ``data-evidence`` the evidence it was computed for.
    """
    if not len(frame):
        return ""
    cid = frame.index[0]
    row = frame.iloc[0]
    tags = f'data-top="{esc(cid)}" data-evidence="{esc(evidence_key(evidence))}" role="status" aria-live="polite"'
    if not evidence:
        lead = "No findings set yet: the ranking below is the prior. Set what the person notices."
        return f'<div class="tb-note differential-summary" {tags}>{esc(lead)}</div>'
    lead = "Most likely explanation:" if float(row["explains"]) >= CLEAR_LEAD else "No clear leading explanation yet; the likeliest is"
    return (
        f'<div class="differential-summary" {tags}>{lead} '
        f'<b class="top-condition">{esc(row["label"])}</b> '
        f'<span class="tb-muted">(explains {percent(float(row["explains"]))}, present {percent(float(row["probability"]))})</span></div>'
    )


def triage_html(triage: TriageResult) -> str:
    """The advice banner: level in the CLI's words, a plain-language hint, and every reason
    (a neutral "no verdict yet" while nothing the person notices is entered)."""
    reasons = "".join(f"<li>{esc(reason)}</li>" for reason in triage.reasons)
    if not triage.decided:
        return (
            '<div class="triage-banner triage-none" data-level="none">'
            f'Triage: <span class="triage-level">NO VERDICT YET</span><ul class="triage-reasons">{reasons}</ul></div>'
        )
    title, hint = LEVELS.get(triage.level, (triage.level.upper(), ""))
    return (
        f'<div class="triage-banner triage-{esc(triage.level)}" data-level="{esc(triage.level)}">'
        f'Triage: <span class="triage-level">{esc(title)}</span> <span class="tb-muted">— {esc(hint)}</span>'
        f'<ul class="triage-reasons">{reasons}</ul></div>'
    )


def dont_miss_html(frame: pd.DataFrame, dont_miss: Iterable[str]) -> str:
    """The can't-miss panel: serious conditions the evidence keeps in play, beside the ranking.

    ``data-dont-miss`` lists their ids (space separated) for tests; empty on everyday presentations.
    """
    ids = list(dont_miss)
    if not ids:
        body = '<div class="tb-note">No serious condition is kept in play by these findings.</div>'
    else:
        items = "".join(
            f'<li data-condition="{esc(cid)}"><b>{esc(frame.at[cid, "label"])}</b> '
            f'<span class="tb-muted">present {percent(float(frame.at[cid, "probability"]))}, '
            f'rank {list(frame.index).index(cid) + 1} by explains</span></li>'
            for cid in ids
        )
        body = (f'<ul class="tb-list">{items}</ul><div class="tb-note">Serious conditions the findings keep in play even where '
                "they do not lead the ranking: a doctor should rule them out.</div>")
    return (f'<div class="dont-miss" data-dont-miss="{esc(" ".join(ids))}">'
            f'<div class="tb-heading">Must not miss</div>{body}</div>')


def also_present_html(frame: pd.DataFrame, ids: Iterable[str]) -> str:
    """A note under the ranking naming conditions that are probably present but explain little of
    the twitching (so they rank low by explains)."""
    items = [
        f'{esc(frame.at[cid, "label"])} (present {percent(float(frame.at[cid, "probability"]))}, '
        f'explains {percent(float(frame.at[cid, "explains"]))})'
        for cid in ids
    ]
    if not items:
        return ""
    return ('<div class="tb-note also-present">Probably present, though not the likely cause of this twitching: '
            + "; ".join(items) + ".</div>")
