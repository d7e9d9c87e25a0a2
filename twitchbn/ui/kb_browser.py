"""Browse the knowledge base: a layered picture (exposures -> conditions -> findings) and every
prior and link with its number, rationale and source, filterable by condition or finding.

``number_table(kb)`` is the data (a DataFrame); ``layered_svg`` draws the network;
``KnowledgeBrowser`` is the widget that filters both.
"""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd

from twitchbn.knowledge import Knowledge
from twitchbn.numbers import Number
from twitchbn.ui import render, render_sources
from twitchbn.ui.panels import guarded
from twitchbn.ui.render import CATEGORY_COLOURS

COLUMNS = ["kind", "from_id", "to_id", "from_label", "to_label", "meaning", "number", "strength", "why", "source"]


def _value(number: Number, states: tuple[str, ...] | None = None) -> tuple[str, float]:
    """(text, strength): the number as a percentage, and how strongly it pushes (P of a non-first state)."""
    value = number.value
    if isinstance(value, tuple):
        if len(value) == 2 and states is not None and len(states) == 2:
            return render.fine_percent(value[1]), value[1]
        names = states or tuple(str(i) for i in range(len(value)))
        return ", ".join(f"{render.state_label(s)} {render.fine_percent(v)}" for s, v in zip(names, value, strict=True)), 1.0 - value[0]
    return render.fine_percent(value), float(value)


def number_table(kb: Knowledge) -> pd.DataFrame:
    """Every number of the knowledge base, one row each, with what it means, why and its source."""
    rows = []

    def add(kind: str, src: str, dst: str, meaning: str, number: Number, states: tuple[str, ...] | None = None) -> None:
        text, strength = _value(number, states)
        rows.append({"kind": kind, "from_id": src, "to_id": dst, "from_label": kb.label(src), "to_label": kb.label(dst) if dst else "",
                     "meaning": meaning, "number": text, "strength": strength, "why": number.why, "source": number.source})

    for x in kb.exposures:
        for state, number in zip(x.states, x.prior, strict=True):
            add("exposure prior", x.id, "", f"P({x.label} = {render.state_label(state)})", number)
    for c in kb.conditions:
        add("condition baseline", c.id, "", f"P({c.label} present) with no listed risk factor", c.baseline)
        for rf in c.risk_factors:
            add("risk factor", rf.exposure, c.id,
                f"P({c.label} present | {kb.label(rf.exposure)} = {render.state_label(rf.state)}, alone)", rf.number)
        add("causes twitching", c.id, "", f"P({c.label} causes the twitching | present)", c.causes_twitching)
    for f in kb.findings:
        active = "causing the twitching" if f.driven_by == "causing" else "present"
        what = f"P({f.label} = yes" if f.states[-1] == "yes" and len(f.states) == 2 else f"P({f.label}"
        add("finding leak", f.id, "", f"{what}) with no condition {active}", f.leak, f.states)
        for link in f.links:
            add("link", link.condition, f.id, f"{what} | {kb.label(link.condition)} {active}, alone)", link.number, f.states)
    return pd.DataFrame(rows, columns=COLUMNS)


def filter_table(table: pd.DataFrame, condition: str | None = None, finding: str | None = None) -> pd.DataFrame:
    """Rows that touch ``condition`` (if given) and ``finding`` (a finding or exposure, if given)."""
    keep = pd.Series(True, index=table.index)
    for wanted in (condition, finding):
        if wanted:
            keep &= (table["from_id"] == wanted) | (table["to_id"] == wanted)
    return table[keep]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def layered_svg(kb: Knowledge, table: pd.DataFrame, condition: str | None = None, finding: str | None = None) -> str:
    """The network in three layers; with a filter, its links are drawn strong and the rest faint."""
    width, row, top = 1180, 17, 34
    exposures = [x.id for x in kb.exposures]
    conditions = [c.id for c in kb.conditions]
    findings = [f.id for f in kb.findings]
    height = top + row * max(len(exposures), len(conditions), len(findings)) + 10

    def ys(ids: list[str]) -> dict[str, float]:
        step = (height - top - 10) / max(len(ids), 1)
        return {vid: top + step * (i + 0.5) for i, vid in enumerate(ids)}

    y_x, y_c, y_f = ys(exposures), ys(conditions), ys(findings)
    x_x, x_cl, x_cr, x_f = 232, 468, 772, 850
    filtered = bool(condition or finding)
    lit = filter_table(table, condition, finding) if filtered else table
    lit_edges = set(zip(lit["from_id"], lit["to_id"], strict=True))
    lit_nodes = set(lit["from_id"]) | set(lit["to_id"]) | ({condition, finding} - {None, ""})

    paths = []
    edges = table[table["kind"].isin(["risk factor", "link"])]
    for e in edges.itertuples():
        if e.kind == "risk factor":
            x1, y1, x2, y2 = x_x, y_x[e.from_id], x_cl, y_c[e.to_id]
        else:
            x1, y1, x2, y2 = x_cr, y_c[e.from_id], x_f, y_f[e.to_id]
        on = (e.from_id, e.to_id) in lit_edges
        if filtered and on:
            style = f'stroke="#2563eb" stroke-opacity="0.85" stroke-width="{0.8 + 2.5 * e.strength:.2f}"'
        elif filtered:
            style = 'stroke="#cbd5e1" stroke-opacity="0.35" stroke-width="0.6"'
        else:
            style = f'stroke="#64748b" stroke-opacity="0.28" stroke-width="{0.5 + 1.5 * e.strength:.2f}"'
        dx = (x2 - x1) / 2
        paths.append(f'<path d="M{x1},{y1:.1f} C{x1 + dx},{y1:.1f} {x2 - dx},{y2:.1f} {x2},{y2:.1f}" fill="none" {style}>'
                     f"<title>{render.esc(e.meaning)}: {render.esc(e.number)}</title></path>")

    def node(vid: str, x: float, y: float, anchor: str, tx: float, colour: str, limit: int) -> str:
        dim = filtered and vid not in lit_nodes
        fill = "#94a3b8" if dim else "#1f2933"
        weight = "600" if filtered and not dim else "400"
        label = kb.label(vid)
        return (f'<g data-node="{render.esc(vid)}"><circle cx="{x}" cy="{y:.1f}" r="3.5" fill="{colour}"/>'
                f'<text x="{tx}" y="{y + 4:.1f}" text-anchor="{anchor}" font-size="11.5" fill="{fill}" font-weight="{weight}">'
                f"{render.esc(_short(label, limit))}<title>{render.esc(label)}</title></text></g>")

    nodes = [node(v, x_x, y_x[v], "end", x_x - 8, "#475569", 36) for v in exposures]
    for c in kb.conditions:
        colour = CATEGORY_COLOURS.get(c.category, "#475569")
        nodes.append(f'<circle cx="{x_cr}" cy="{y_c[c.id]:.1f}" r="3.5" fill="{colour}"/>')
        nodes.append(node(c.id, x_cl, y_c[c.id], "start", x_cl + 8, colour, 48))
    nodes += [node(v, x_f, y_f[v], "start", x_f + 8, "#475569", 50) for v in findings]
    heads = "".join(
        f'<text x="{x}" y="16" text-anchor="{a}" font-size="13" font-weight="600" fill="#334155">{t}</text>'
        for x, a, t in ((x_x, "end", "Exposures and history"), (x_cl, "start", "Conditions"), (x_f, "start", "Findings"))
    )
    legend = " ".join(
        f'<span style="color:{colour}">●</span> {render.esc(cat)}' for cat, colour in CATEGORY_COLOURS.items()
    )
    return (f'<div class="kb-picture"><svg class="tb-svg" viewBox="0 0 {width} {height}" width="100%" '
            f'style="max-width:{width}px" role="img" aria-label="Layered network">{heads}{"".join(paths)}{"".join(nodes)}</svg>'
            f'<div class="tb-note">Condition colours: {legend}. Line thickness: the size of the number on the link.</div></div>')


def table_html(rows: pd.DataFrame) -> str:
    """The numbers as an HTML table."""
    body = "".join(
        f'<tr class="kb-row" data-kind="{render.esc(r.kind)}"><td>{render.esc(r.meaning)}<br>'
        f'<span class="tb-note">{render.esc(r.kind)}</span></td><td><b>{render.esc(r.number)}</b></td>'
        f'<td>{render.esc(r.why)}</td><td class="tb-note">{render_sources.source_html(r.source)}</td></tr>'
        for r in rows.itertuples()
    )
    head = ('<tr><th style="width:33%">Prior or link</th><th style="width:13%">Number</th>'
            '<th style="width:32%">Rationale</th><th style="width:22%">Source</th></tr>')
    return (f'<div class="tb-scroll" tabindex="0" role="region" aria-label="The numbers, with rationale and source">'
            f'<table class="tb-table kb-table" style="table-layout:fixed">{head}{body}</table></div>')


class KnowledgeBrowser(widgets.VBox):
    """The layered picture and the table of numbers, filtered by a condition and/or a finding."""

    def __init__(self, kb: Knowledge):
        self.kb = kb
        self.table = number_table(kb)
        self.condition = widgets.Dropdown(
            options=[("all conditions", ""), *sorted(((c.label, c.id) for c in kb.conditions), key=lambda o: o[0].lower())],
            description="Condition", layout=widgets.Layout(width="420px"),
        )
        observable = [(f.label, f.id) for f in kb.findings] + [(x.label, x.id) for x in kb.exposures]
        self.finding = widgets.Dropdown(
            options=[("all findings and exposures", ""), *sorted(observable, key=lambda o: o[0].lower())],
            description="Finding", layout=widgets.Layout(width="460px"),
        )
        self.clear = widgets.Button(description="Show everything", layout=widgets.Layout(width="auto"))
        self.message = widgets.HTML()
        self.picture = widgets.HTML()
        self.count = widgets.HTML()
        self.rows = widgets.HTML()
        super().__init__(
            [widgets.HTML(render.STYLE),
             widgets.HBox([self.condition, self.finding, self.clear], layout=widgets.Layout(flex_flow="row wrap")),
             self.message, self.picture, self.count, self.rows],
            layout=widgets.Layout(max_width="1280px"),
        )
        self.add_class("twitchbn")
        self.add_class("kb-browser")
        update = guarded(lambda text: setattr(self.message, "value", render.message_html(text)))(self.update)
        self.condition.observe(lambda _: update(), names="value")
        self.finding.observe(lambda _: update(), names="value")
        self.clear.on_click(lambda _: self.show_all())
        update()

    def __repr__(self) -> str:
        return f"<twitchbn knowledge-base browser: {len(self.table)} numbers; run the notebook to interact>"

    def show_all(self) -> None:
        """Clear both filters."""
        self.condition.value = ""
        self.finding.value = ""

    def update(self) -> None:
        """Redraw picture and table for the current filters."""
        rows = filter_table(self.table, self.condition.value, self.finding.value)
        self.message.value = ""
        self.picture.value = layered_svg(self.kb, self.table, self.condition.value, self.finding.value)
        self.count.value = f'<h2 class="tb-heading kb-count">{len(rows)} of {len(self.table)} numbers</h2>'
        self.rows.value = table_html(rows)
