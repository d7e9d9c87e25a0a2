"""The explorer: an evidence panel, the live ranked differential (with optional 90% intervals and
the jointly most likely combination), which hand-set numbers matter, what-if, triage, why, next
questions, reset, save / load / compare scenarios.

``Explorer(model)`` is a ``VBox``; its logic lives in ``ExplorerState``, its deeper panels in
``panels`` and its HTML in ``render`` / ``render_panels``. Every callback is guarded: an error
becomes a one-line message in the page.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from twitchbn.errors import TwitchbnError, shorten
from twitchbn.inference import Model
from twitchbn.ui import render, render_panels
from twitchbn.ui.panels import WHAT_IF_TITLE, ExplanationLine, SensitivityPanel, WhatIfPanel, guarded
from twitchbn.ui.state import (
    INTERVAL_DRAWS,
    ExplorerState,
    list_scenarios,
    load_scenario,
    parse_scenario,
    save_scenario,
    scenario_path,
)
from twitchbn.uncertainty import COVERAGE

GROUPS = (
    ("where", "Where it twitches"),
    ("how", "How it behaves"),
    ("exposures", "Exposures and history"),
    ("with", "What comes with it"),
)
UNKNOWN = "unknown"
INTERVALS_LABEL = f"Show {100 * COVERAGE:.0f}% intervals ({INTERVAL_DRAWS} parameter draws)"
SUBTITLE = "What could be causing this muscle twitching? Set the findings; the ranking updates at once."


def finding_groups(model: Model) -> list[tuple[str, list[tuple[str, str, tuple[str, ...]]]]]:
    """(group title, [(id, label, states)]) for every observable finding, grouped as a clinician asks."""
    kb = model.kb
    items = [(f.group, f.id, f.label, f.states) for f in kb.findings] + [(x.group, x.id, x.label, x.states) for x in kb.exposures]
    known = {key for key, _ in GROUPS}
    out = [(title, [(i, label, states) for g, i, label, states in items if g == key]) for key, title in GROUPS]
    other = [(i, label, states) for g, i, label, states in items if g not in known]
    if other:
        out.append(("Other findings", other))
    return [(title, members) for title, members in out if members]


class Explorer(widgets.VBox):
    """The explorer page. ``explorer.state`` holds evidence and result; the widgets only format.

    Parameters
    ----------
    model : the compiled knowledge base (``twitchbn.load_model()``).
    evidence : starting evidence (validated; a refusal shows as a message).
    scenario_dir : where scenarios are saved and listed.
    top : conditions shown before "show all".
    header : show the title and the disclaimer (a notebook that shows them itself passes False).
    """

    def __init__(self, model: Model, evidence: Mapping[str, Any] | None = None, scenario_dir: str | Path = "scenarios", top: int = 10,
                 header: bool = True):
        self.model = model
        self.state = ExplorerState(model)
        self.scenario_dir = Path(scenario_dir)
        self.top = top
        self._syncing = False
        self.message = widgets.HTML(layout=widgets.Layout(min_height="0px"))
        self.message.add_class("ui-message")

        self.controls: dict[str, widgets.Dropdown] = {}
        intro = ('<div class="tb-heading" style="font-size:17px">What does the person notice?</div>'
                 '<div class="tb-note">Leave a question at “unknown” if you do not know the answer.</div>')
        panel: list[widgets.Widget] = [widgets.HTML(intro)]
        for title, members in finding_groups(model):
            boxes = [self._control(fid, label, states) for fid, label, states in members]
            grid = widgets.GridBox(boxes, layout=widgets.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))", grid_gap="0px 14px"))
            section = widgets.VBox([widgets.HTML(f'<div class="tb-heading">{render.esc(title)}</div>'), grid])
            section.add_class("tb-panel")
            section.add_class("evidence-group")
            panel.append(section)
        self.extra = widgets.HTML()
        panel.append(self.extra)
        evidence_box = widgets.VBox(panel, layout=widgets.Layout(flex="0 1 620px", min_width="420px"))
        evidence_box.add_class("evidence-panel")

        self.summary = widgets.HTML()
        self.triage = widgets.HTML()
        self.dont_miss = widgets.HTML()
        self.triage.add_class("triage")
        self.differential = widgets.HTML()
        self.show_all = widgets.Checkbox(False, description=f"Show all {len(model.kb.conditions)} conditions", indent=False,
                                         layout=widgets.Layout(width="auto", margin="0 24px 0 0"))
        self.show_intervals = widgets.Checkbox(False, description=INTERVALS_LABEL, indent=False, layout=widgets.Layout(width="auto"))
        self.show_intervals.add_class("intervals-toggle")
        self.intervals_message = widgets.HTML()
        self._intervals = None
        self.explanation = ExplanationLine(self.state)
        self.sensitivity = SensitivityPanel(self.state)
        self.what_if = WhatIfPanel(self.state)
        self.why_choice = widgets.Dropdown(
            options=[("the top 3 conditions", ""), *sorted(((c.label, c.id) for c in model.kb.conditions), key=lambda o: o[0].lower())],
            description="Explain", layout=widgets.Layout(width="360px"),
        )
        self.why = widgets.HTML()
        self.serious = widgets.Checkbox(False, description="Focus on ruling out serious conditions", indent=False)
        self.next = widgets.HTML()
        results_box = widgets.VBox(
            [
                self.summary, self.triage,
                widgets.HBox([
                    self._section("Most likely: the ranked differential", [
                        self.differential,
                        widgets.HBox([self.show_all, self.show_intervals], layout=widgets.Layout(flex_flow="row wrap")),
                        self.intervals_message, self.explanation,
                    ], layout=widgets.Layout(flex="3 1 420px")),
                    widgets.Box([self.dont_miss], layout=widgets.Layout(flex="1 1 200px")),
                ], layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="8px")),
                self.sensitivity,
                self._section(WHAT_IF_TITLE, [self.what_if]),
                self._section("Why this ranking", [self.why_choice, self.why]),
                self._section("Best next questions", [self.serious, self.next]),
            ],
            layout=widgets.Layout(flex="1 1 540px", min_width="420px"),
        )
        results_box.add_class("results-panel")

        self.reset_button = widgets.Button(description="Reset", icon="undo", tooltip="Set every finding back to unknown")
        self.name = widgets.Text(placeholder="scenario name", layout=widgets.Layout(width="170px"))
        self.save_button = widgets.Button(description="Save", icon="save", tooltip="Save the current scenario as JSON")
        self.saved = widgets.Dropdown(options=[("none saved yet", "")], layout=widgets.Layout(width="220px"), description="Saved")
        self.load_button = widgets.Button(description="Load", icon="folder-open", tooltip="Load the chosen saved scenario")
        self.compare_button = widgets.Button(description="Compare", icon="columns",
                                             tooltip="Show the chosen scenario beside the current one")
        self.upload = widgets.FileUpload(accept=".json", multiple=False, description="Load file",
                                        tooltip="Load a scenario (JSON) from this computer")
        for button in (self.reset_button, self.save_button, self.load_button, self.compare_button):
            button.layout.width = "auto"
        toolbar = widgets.HBox(
            [self.reset_button, widgets.HTML("&nbsp;"), self.name, self.save_button, widgets.HTML("&nbsp;"), self.saved,
             self.load_button, self.compare_button, self.upload],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        toolbar.add_class("toolbar")
        self.compare_view = widgets.HTML()
        self.close_compare = widgets.Button(description="Close comparison", layout=widgets.Layout(width="auto"))
        self.compare_box = widgets.VBox([self.compare_view, self.close_compare], layout=widgets.Layout(display="none"))
        self.compare_box.add_class("tb-panel")
        self.compare_box.add_class("compare-panel")

        main = widgets.HBox([evidence_box, results_box],
                            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap="14px"))
        super().__init__(
            [widgets.HTML(render.STYLE),
             widgets.HTML(render.header_html("twitchbn explorer", SUBTITLE) if header else ""),
             toolbar, self.message, self.compare_box, main],
            layout=widgets.Layout(max_width="1280px"),
        )
        self.add_class("twitchbn")
        self.add_class("twitchbn-explorer")

        report = guarded(self.show_error)
        self._guard = report
        self.state.observe(report(self._on_result), names="result")
        self.show_all.observe(report(lambda _: self._render_differential()), names="value")
        self.show_intervals.observe(report(lambda _: self._update_intervals()), names="value")
        self.why_choice.observe(lambda _: self._render_panels(), names="value")
        self.serious.observe(lambda _: self._render_panels(), names="value")
        self.reset_button.on_click(report(lambda _: self.reset()))
        self.save_button.on_click(report(lambda _: self.save()))
        self.load_button.on_click(report(lambda _: self.load()))
        self.compare_button.on_click(report(lambda _: self.compare()))
        self.close_compare.on_click(report(lambda _: self._hide_compare()))
        self.upload.observe(report(self._on_upload), names="value")
        self.refresh_saved()
        self._render()
        if evidence:
            report(self.state.replace)(evidence)

    def __repr__(self) -> str:
        return f"<twitchbn explorer: {len(self.state.evidence)} finding(s) set; run the notebook to interact>"

    # -- building ----------------------------------------------------------------------------
    def _control(self, fid: str, label: str, states: tuple[str, ...]) -> widgets.Dropdown:
        dropdown = widgets.Dropdown(
            options=[(UNKNOWN, ""), *((render.state_label(s), s) for s in states)],
            value="", description=label, description_allow_html=False,
            style={"description_width": "58%"}, layout=widgets.Layout(width="auto"),
        )
        dropdown.add_class("tb-control")
        dropdown.add_class(f"finding-{fid}")
        dropdown.observe(functools.partial(self._on_control, fid), names="value")
        self.controls[fid] = dropdown
        return dropdown

    @staticmethod
    def _section(title: str, children: list[widgets.Widget], layout: widgets.Layout | None = None) -> widgets.VBox:
        box = widgets.VBox([widgets.HTML(f'<div class="tb-heading">{render.esc(title)}</div>'), *children],
                           layout=layout or widgets.Layout())
        box.add_class("tb-panel")
        return box

    # -- messages ------------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """Show one line of error in the page and put the controls back to the accepted evidence."""
        self.message.value = render.message_html(text, "error")
        self._sync_controls()

    def show_info(self, text: str) -> None:
        """Show one line of information in the page."""
        self.message.value = render.message_html(text, "info")

    # -- actions -------------------------------------------------------------------------------
    def _on_control(self, fid: str, change: dict) -> None:
        if self._syncing:
            return
        self._guard(self._set)(fid, change["new"] or None)

    def _set(self, fid: str, state: str | None) -> None:
        self.message.value = ""
        self.state.set(fid, state)

    def reset(self) -> None:
        """Every finding back to unknown."""
        self.state.reset()
        self.show_info("All findings are back to unknown.")

    def save(self, name: str | None = None) -> Path:
        """Save the current scenario as ``<scenario_dir>/<name>.json`` (atomic write)."""
        name = self.name.value if name is None else name
        if not name.strip():
            raise TwitchbnError("type a name for the scenario before saving")
        path = save_scenario(scenario_path(self.scenario_dir, name), self.state.result)
        self.refresh_saved(path.stem)
        self.show_info(f"Saved scenario '{path.stem}' ({len(self.state.evidence)} findings) to {path.name}.")
        return path

    def _chosen(self) -> Path:
        if not self.saved.value:
            raise TwitchbnError(f"no saved scenario to choose yet; save one first (they live in {self.scenario_dir})")
        return scenario_path(self.scenario_dir, self.saved.value)

    def load(self, name: str | None = None) -> None:
        """Replace the evidence with a saved scenario's (validated; refused files change nothing)."""
        path = scenario_path(self.scenario_dir, name) if name else self._chosen()
        self.state.replace(load_scenario(path, self.model))
        self.show_info(f"Loaded scenario '{path.stem}'.")

    def _on_upload(self, change: dict) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = f"file '{shorten(item.get('name', 'upload'))}'"
        self.upload.value = ()
        self.state.replace(parse_scenario(bytes(item["content"]), self.model, name=name))
        self.show_info(f"Loaded {name}.")

    def compare(self, name: str | None = None) -> None:
        """Show the current scenario beside a saved one."""
        path = scenario_path(self.scenario_dir, name) if name else self._chosen()
        theirs, table = self.state.compare(load_scenario(path, self.model))
        self.compare_view.value = render.compare_html(
            ("Current", f"Saved: {path.stem}"), (self.state.result, theirs), self.model.kb, table
        )
        self.compare_box.layout.display = "flex"

    def _hide_compare(self) -> None:
        self.compare_box.layout.display = "none"

    def refresh_saved(self, select: str | None = None) -> None:
        """Re-read the scenario folder into the "Saved" list (optionally choosing ``select``)."""
        names = list_scenarios(self.scenario_dir)
        self.saved.options = names or [("none saved yet", "")]
        self.saved.value = select if select in names else (names[0] if names else "")

    # -- rendering -----------------------------------------------------------------------------
    def _on_result(self, change: dict) -> None:
        self._render()

    def _sync_controls(self) -> None:
        self._syncing = True
        try:
            for fid, dropdown in self.controls.items():
                value = self.state.evidence.get(fid, "")
                if dropdown.value != value:
                    dropdown.value = value
                if not value:
                    dropdown.remove_class("tb-set")
                else:
                    dropdown.add_class("tb-set")
        finally:
            self._syncing = False

    def _render(self) -> None:
        result = self.state.result
        self._sync_controls()
        extra = {v: s for v, s in result.evidence.items() if v not in self.controls}
        self.extra.value = (
            '<div class="tb-note">Also in this scenario: ' + render.esc("; ".join(render.evidence_text(extra, self.model.kb))) + "</div>"
            if extra else ""
        )
        self.summary.value = render.summary_html(result.conditions, result.evidence)
        self.triage.value = render.triage_html(result.triage)
        self.dont_miss.value = render.dont_miss_html(result.conditions, result.dont_miss)
        self._update_intervals()
        self._render_panels()

    def _render_panels(self) -> None:
        """Why and next questions; an error in either lands in its own panel."""
        guarded(lambda text: setattr(self.why, "value", render.message_html(text)))(self._render_why)()
        guarded(lambda text: setattr(self.next, "value", render.message_html(text)))(self._render_next)()

    def _update_intervals(self) -> None:
        """Recompute the intervals for the current evidence while the box is ticked; then redraw."""
        self._intervals = None
        self.intervals_message.value = ""
        if self.show_intervals.value:
            guarded(lambda text: setattr(self.intervals_message, "value", render.message_html(text)))(self._compute_intervals)()
        self._render_differential()

    def _compute_intervals(self) -> None:
        self._intervals = self.state.intervals()

    def _render_differential(self) -> None:
        top = None if self.show_all.value else self.top
        intervals = self._intervals
        if intervals is not None and intervals.attrs.get("evidence") != self.state.evidence:
            intervals = None  # computed for other findings: never show stale whiskers
        note = render_panels.intervals_note_html(intervals) if intervals is not None else ""
        result = self.state.result
        self.differential.value = (render.differential_html(result.conditions, top=top, intervals=intervals)
                                   + render.also_present_html(result.conditions, result.also_present) + note)

    def _render_why(self) -> None:
        self.why.value = render.why_html(self.state.why(condition=self.why_choice.value or None), self.model.kb)

    def _render_next(self) -> None:
        self.next.value = render.next_html(self.state.next_questions(serious=self.serious.value), self.model.kb)
