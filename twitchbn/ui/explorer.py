"""The explorer: the findings on one side, the results always in view on the other.

Results: what was entered (each item removable), the triage banner, the can't-miss list and the
ranked differential (optionally with 90% intervals and the jointly most likely combination),
then the best next questions, which test next, why, what-if and which hand-set numbers matter.
The findings are a ``FindingsPanel`` (dropdowns in groups, with a search). Scenarios are
downloaded to and uploaded from the visitor's own computer; a printable case summary downloads
from the page.

The ranking is computed in the widget callback (milliseconds); every heavier panel is computed
afterwards in a background thread (``panels.Runner``) and a result for superseded evidence is
dropped, so the newest evidence always wins and the page never freezes. ``Explorer(model)`` is
a ``VBox``; its logic lives in ``ExplorerState``, its panels in ``panels`` and its HTML in
``render`` / ``render_panels``. Every callback is guarded: an error becomes one line in the page.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from twitchbn.errors import shorten
from twitchbn.inference import Model
from twitchbn.report import case_summary_html
from twitchbn.ui import render, render_panels, render_reasoning
from twitchbn.ui.findings_panel import FindingsPanel, set_shown
from twitchbn.ui.panels import (
    STALE,
    WHAT_IF_TITLE,
    ExplanationLine,
    Runner,
    SensitivityPanel,
    WhatIfPanel,
    guarded,
    heading,
    static_html,
)
from twitchbn.ui.state import INTERVAL_DRAWS, ExplorerState, parse_scenario, scenario_json
from twitchbn.ui.workup_panel import WorkupPanel
from twitchbn.uncertainty import COVERAGE

INTERVALS_LABEL = f"Show {100 * COVERAGE:.0f}% intervals ({INTERVAL_DRAWS} parameter draws)"
SUBTITLE = "What could be causing this muscle twitching? Set the findings; the ranking updates at once."
SCENARIO_FILE = "twitchbn-scenario.json"
REPORT_FILE = "twitchbn-case-summary.html"


def download_link(text: str, filename: str, mime: str, css: str) -> str:
    """An anchor that saves ``text`` as ``filename`` on the visitor's computer (a data: URL; nothing is stored on the server)."""
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f'<a class="{css}" download="{render.esc(filename)}" href="data:{mime};charset=utf-8;base64,{data}">'


def _status(state: str, text: str) -> str:
    return f'<div class="results-status" data-state="{state}">{render.esc(text)}</div>'


class Explorer(widgets.VBox):
    """The explorer page. ``explorer.state`` holds evidence and result; the widgets only format.

    Parameters
    ----------
    model : the compiled knowledge base (``twitchbn.load_model()``).
    evidence : starting evidence (validated; a refusal shows as a message).
    top : conditions shown before "show all".
    header : show the title and the disclaimer (a notebook that shows them itself passes False).
    """

    def __init__(self, model: Model, evidence: Mapping[str, Any] | None = None, top: int = 10, header: bool = True):
        self.model = model
        self.state = ExplorerState(model)
        self.runner = Runner()
        self.top = top
        self._intervals = None
        self.message = widgets.HTML(layout=widgets.Layout(min_height="0px"))
        self.message.add_class("ui-message")
        kb = model.kb

        # -- the findings ---------------------------------------------------------------------
        self.findings = FindingsPanel(model, lambda fid, state: self._set(fid, state), self.show_error)
        # the panel's parts, as the page's tests and scripts name them
        self.controls, self.search, self.sections = self.findings.controls, self.findings.search, self.findings.sections
        self.no_match, self.extra = self.findings.no_match, self.findings.extra

        # -- the results, first what is always in view --------------------------------------
        self.status = widgets.HTML(_status("ready", ""))
        self.summary = widgets.HTML()
        self.chips: dict[str, widgets.Button] = {}  # one per finding entered so far, made when first needed
        self._chip_layout = widgets.Layout(width="auto")
        self._chip_style = widgets.ButtonStyle()
        self.entered = widgets.Box([], layout=widgets.Layout(display="flex"))
        self.entered.add_class("tb-chips")
        self.entered.add_class("entered-findings")
        pinned = widgets.VBox([self.status, self.summary, self.entered])
        pinned.add_class("tb-pinned")
        self.triage = widgets.HTML()
        self.triage.add_class("triage")
        self.dont_miss = widgets.HTML()
        self.differential = widgets.HTML()
        self.show_all = widgets.Checkbox(False, description=f"Show all {len(kb.conditions)} conditions", indent=False,
                                         layout=widgets.Layout(width="auto", margin="0 24px 0 0"))
        self.show_intervals = widgets.Checkbox(False, description=INTERVALS_LABEL, indent=False, layout=widgets.Layout(width="auto"))
        self.show_intervals.add_class("intervals-toggle")
        self.intervals_message = widgets.HTML()
        self.explanation = ExplanationLine(self.state, self.runner)
        ranking = self._section("Most likely: the ranked differential", [
            self.differential,
            widgets.HBox([self.show_all, self.show_intervals], layout=widgets.Layout(flex_flow="row wrap")),
            self.intervals_message, self.explanation,
        ], layout=widgets.Layout(min_width="0px"))
        ranking.add_class("ranking-panel")

        # -- then the heavier panels, computed in the background -----------------------------
        self.serious = widgets.Checkbox(False, description="Focus on ruling out serious conditions", indent=False)
        self.next = widgets.HTML()
        self.why_choice = widgets.Dropdown(
            options=[("the top 3 conditions", ""), *sorted(((c.label, c.id) for c in kb.conditions), key=lambda o: o[0].lower())],
            description="Explain", layout=widgets.Layout(width="360px", max_width="100%"),
        )
        self.why = widgets.HTML()
        self.what_if = WhatIfPanel(self.state, self.runner)
        self.sensitivity = SensitivityPanel(self.state, self.runner)
        #: Which test next: a result entered there becomes a finding here.
        self.workup = WorkupPanel(model)
        self.report = widgets.HTML()
        self.report.add_class("tb-links")
        #: Where a further panel goes (``add_panel``): after the ranking, before the slower panels.
        self.slot = widgets.VBox([], layout=widgets.Layout(min_width="0px"))
        self.slot.add_class("explorer-slot")
        results_box = widgets.VBox(
            [
                pinned, self.triage, self.dont_miss, ranking,
                self.slot,
                self._section("Best next questions", [self.serious, self.next]),
                self._section("Which test next", [self.workup]),
                self._section("Why this ranking", [self.why_choice, self.why]),
                self._section(WHAT_IF_TITLE, [self.what_if]),
                self.sensitivity,
            ],
            layout=widgets.Layout(min_width="0px"),
        )
        results_box.add_class("results-panel")

        # -- scenarios: the visitor's own files ----------------------------------------------
        self.reset_button = widgets.Button(description="Reset", tooltip="Set every finding back to unknown",
                                           layout=widgets.Layout(width="auto"))
        self.download = widgets.HTML()
        self.download.add_class("tb-links")
        self.upload = widgets.FileUpload(accept=".json", multiple=False, description="Load a scenario",
                                        tooltip="Load a scenario (JSON) from this computer", layout=widgets.Layout(width="auto"))
        self.upload.add_class("scenario-upload")
        self.compare_upload = widgets.FileUpload(accept=".json", multiple=False, description="Compare with a scenario",
                                                tooltip="Show a scenario file from this computer beside the current one",
                                                layout=widgets.Layout(width="auto"))
        self.compare_upload.add_class("compare-upload")
        toolbar = widgets.HBox([self.reset_button, self.upload, self.compare_upload, self.download, self.report],
                               layout=widgets.Layout(flex_flow="row wrap", align_items="center", grid_gap="6px"))
        toolbar.add_class("toolbar")
        self.compare_view = widgets.HTML()
        self.close_compare = widgets.Button(description="Close comparison", layout=widgets.Layout(width="auto"))
        self.compare_box = widgets.VBox([self.compare_view, self.close_compare], layout=widgets.Layout(display="none"))
        self.compare_box.add_class("tb-panel")
        self.compare_box.add_class("compare-panel")

        #: On a narrow page (one column) the leader and the advice stay pinned above the findings.
        self.headline = widgets.HTML()
        self.headline.add_class("tb-headline")
        main = widgets.Box([self.headline, self.findings, results_box])
        main.add_class("tb-main")
        super().__init__(
            [static_html(render.STYLE),
             static_html(render.header_html("twitchbn explorer", SUBTITLE) if header else ""),
             toolbar, self.message, self.compare_box, main],
            layout=widgets.Layout(max_width="1280px"),
        )
        self.add_class("twitchbn")
        self.add_class("twitchbn-explorer")

        report = guarded(self.show_error)
        self._guard = report
        self.show_all.observe(report(lambda _: self._render_differential()), names="value")
        self.show_intervals.observe(report(lambda _: self._update_intervals()), names="value")
        self.why_choice.observe(report(lambda _: self._update_why()), names="value")
        self.serious.observe(report(lambda _: self._update_next()), names="value")
        self.reset_button.on_click(report(lambda _: self.reset()))
        self.close_compare.on_click(report(lambda _: self._hide_compare()))
        self.upload.observe(report(self._on_upload), names="value")
        self.compare_upload.observe(report(self._on_compare_upload), names="value")
        self.workup.on_enter(report(lambda test, state: self._set(test, state)))
        self.state.observe(report(self._on_result), names="result")
        self._on_result()
        if evidence:
            self.start_with(evidence)

    def __repr__(self) -> str:
        return f"<twitchbn explorer: {len(self.state.evidence)} finding(s) set; run the notebook to interact>"

    # -- building ----------------------------------------------------------------------------
    def _chip(self, fid: str) -> None:
        """The removable item for finding ``fid`` in the list of what was entered."""
        chip = widgets.Button(layout=self._chip_layout, style=self._chip_style)
        chip.add_class("tb-chip")
        chip.add_class(f"entered-{fid}")
        chip.on_click(functools.partial(self._remove, fid))
        self.chips[fid] = chip
        self.entered.children = [self.chips[f] for f in self.controls if f in self.chips]

    @staticmethod
    def _section(title: str, children: list[widgets.Widget], layout: widgets.Layout | None = None) -> widgets.VBox:
        box = widgets.VBox([heading(title), *children], layout=layout or widgets.Layout())
        box.add_class("tb-panel")
        return box

    def add_panel(self, panel: widgets.Widget) -> None:
        """Put one more panel in the results column, right after the ranking."""
        self.slot.children = (*self.slot.children, panel)

    # -- messages ------------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        """Show one line of error in the page and put the controls back to the accepted evidence."""
        self.message.value = render.message_html(text, "error")
        self._sync_controls()
        self.status.value = _status("ready", "")

    def show_info(self, text: str) -> None:
        """Show one line of information in the page."""
        self.message.value = render.message_html(text, "info")

    def wait(self, timeout: float = 300.0) -> None:
        """Block until every background panel is drawn (for tests and scripts; the page never needs it)."""
        self.runner.wait(timeout)

    # -- actions -------------------------------------------------------------------------------
    def _remove(self, fid: str, _button: widgets.Button) -> None:
        self._guard(self._set)(fid, None)

    def _set(self, fid: str, state: str | None) -> None:
        self.apply(lambda: self.state.set(fid, state))

    def apply(self, change: Any) -> None:
        """Run ``change()`` (which updates ``self.state``, and so the page) with the busy state shown meanwhile."""
        self.status.value = _status("busy", "Updating the results…")
        self.message.value = ""
        change()

    def start_with(self, evidence: Mapping[str, Any]) -> None:
        """Make ``evidence`` (say, from the page's address) the findings; a refusal shows as one line."""
        self._guard(self.apply)(lambda: self.state.replace(evidence))

    def reset(self) -> None:
        """Every finding back to unknown."""
        self.apply(self.state.reset)
        self.show_info("All findings are back to unknown.")

    def _upload(self, widget: widgets.FileUpload, change: dict) -> tuple[dict[str, str], str] | None:
        files = change["new"]
        if not files:
            return None
        item = files[0]
        name = f"file '{shorten(item.get('name', 'upload'))}'"
        widget.value = ()
        return parse_scenario(bytes(item["content"]), self.model, name=name), name

    def _on_upload(self, change: dict) -> None:
        loaded = self._upload(self.upload, change)
        if loaded:
            evidence, name = loaded
            self.apply(lambda: self.state.replace(evidence))
            self.show_info(f"Loaded {name}.")

    def _on_compare_upload(self, change: dict) -> None:
        loaded = self._upload(self.compare_upload, change)
        if loaded:
            self.compare(*loaded)

    def compare(self, evidence: Mapping[str, str], name: str = "the other scenario") -> None:
        """Show the current scenario beside another one."""
        theirs, table = self.state.compare(evidence)
        self.compare_view.value = render_reasoning.compare_html(("Current", f"From {name}"), (self.state.result, theirs),
                                                                self.model.kb, table)
        self.compare_box.layout.display = "flex"

    def _hide_compare(self) -> None:
        self.compare_box.layout.display = "none"
        self.compare_view.value = ""

    # -- rendering: the ranking at once --------------------------------------------------------
    def _on_result(self, _change: dict | None = None) -> None:
        self._render()
        self._refresh()

    def _sync_controls(self) -> None:
        self.findings.sync(self.state.evidence)

    def _render(self) -> None:
        """What must be current at once: controls, entered list, summary, triage, can't-miss, ranking."""
        result = self.state.result
        kb = self.model.kb
        n = len(result.evidence)
        # The status first, then the summary that announces the new results: messages reach the
        # page in order, so results on screen always come with the status "ready".
        self.status.value = _status("ready", f"Results for {n} finding{'' if n == 1 else 's'} entered." if n else "")
        self.summary.value = render.summary_html(result.conditions, result.evidence)
        self.headline.value = render_panels.headline_html(result)
        self._sync_controls()
        self.triage.value = render.triage_html(result.triage)
        self.dont_miss.value = render.dont_miss_html(result.conditions, result.dont_miss)
        if self._intervals is not None and self._intervals.attrs.get("evidence") != result.evidence:
            self._intervals = None  # computed for other findings: never show stale whiskers
        self._render_differential()
        for fid in result.evidence:
            if fid in self.controls and fid not in self.chips:
                self._chip(fid)
        for fid, chip in self.chips.items():
            state = result.evidence.get(fid)
            if state:
                chip.description = f"✕ {kb.label(fid)}: {render.state_label(state)}"
                chip.tooltip = f"Remove “{kb.label(fid)}” (back to unknown)"
            set_shown(chip, bool(state))
        self.download.value = (download_link(scenario_json(result), SCENARIO_FILE, "application/json", "scenario-download")
                               + "Download this scenario</a>")

    def _render_differential(self) -> None:
        top = None if self.show_all.value else self.top
        intervals = self._intervals
        note = render_panels.intervals_note_html(intervals) if intervals is not None else ""
        result = self.state.result
        self.differential.value = (render.differential_html(result.conditions, top=top, intervals=intervals)
                                   + render.also_present_html(result.conditions, result.also_present) + note)

    # -- rendering: the rest, in the background -----------------------------------------------
    def _refresh(self) -> None:
        """Queue every heavy panel for the current evidence, the most useful first."""
        self._update_next()
        evidence = dict(self.state.evidence)
        self.runner.submit("workup", lambda: self.workup.update(evidence), lambda _: None, self.workup.show_message)
        self._update_why()
        self.what_if.refresh()
        self.sensitivity.refresh()
        self.explanation.refresh()
        self._update_intervals()

    def _background(self, key: str, view: widgets.HTML, compute: Any, show: Any) -> None:
        def done(markup: str) -> None:
            view.remove_class(STALE)
            view.value = markup

        def failed(text: str) -> None:
            view.remove_class(STALE)
            view.value = render.message_html(text)

        view.add_class(STALE)
        self.runner.submit(key, compute, lambda value: done(show(value)), failed)

    def _update_next(self) -> None:
        """Next questions, and with them the printable case summary (which lists them)."""
        result, serious, kb = self.state.result, self.serious.value, self.model.kb
        self.report.value = '<span class="tb-note report-pending">Printable case summary: preparing…</span>'

        def show(frame: Any) -> str:
            self.report.value = (download_link(case_summary_html(kb, result, frame), REPORT_FILE, "text/html", "report-download")
                                 + "Printable case summary</a>")
            return render_reasoning.next_html(frame, kb)

        self._background("next", self.next, lambda: self.state.next_questions(result.evidence, serious=serious), show)

    def _update_why(self) -> None:
        evidence, condition, kb = dict(self.state.evidence), self.why_choice.value or None, self.model.kb
        self._background("why", self.why, lambda: self.state.why(evidence, condition=condition),
                         lambda frame: render_reasoning.why_html(frame, kb))

    def _update_intervals(self) -> None:
        """Recompute the intervals for the current evidence while the box is ticked."""
        self.intervals_message.value = ""
        if not self.show_intervals.value:
            self.runner.cancel("intervals")
            self.differential.remove_class(STALE)
            if self._intervals is not None:
                self._intervals = None
                self._render_differential()
            return
        evidence = dict(self.state.evidence)

        def show(frame: Any) -> None:
            self.differential.remove_class(STALE)
            self.intervals_message.value = ""
            self._intervals = frame
            self._render_differential()

        def failed(text: str) -> None:
            self.differential.remove_class(STALE)
            self.intervals_message.value = render.message_html(text)

        self.differential.add_class(STALE)
        self.intervals_message.value = '<div class="tb-note">Computing the intervals…</div>'
        self.runner.submit("intervals", lambda: self.state.intervals(evidence), show, failed)
