"""The explorer's findings: one dropdown per question, grouped as a clinician asks, and a search.

``FindingsPanel(model, on_change, report)`` is a ``VBox``; choosing a state calls
``on_change(id, state or None)``, and a callback's error goes to ``report`` as one line.
``sync(evidence)`` puts the dropdowns back to the accepted evidence without calling it (after a
refusal, a load or a reset) and lists the evidence that has no dropdown. No medical logic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import ipywidgets as widgets
from ipywidgets.widgets.widget_description import DescriptionStyle

from twitchbn.errors import shorten
from twitchbn.inference import Model
from twitchbn.ui import render
from twitchbn.ui.panels import guarded, heading, static_html

GROUPS = (
    ("where", "Where it twitches"),
    ("how", "How it behaves"),
    ("exposures", "Exposures and history"),
    ("with", "What comes with it"),
    ("test", "Test and examination results"),
)
UNKNOWN = "unknown"
HIDDEN = "tb-hidden"


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


def set_shown(widget: widgets.DOMWidget, shown: bool) -> None:
    """Show or hide a widget by its CSS class (its layout may be shared with others)."""
    if shown:
        widget.remove_class(HIDDEN)
    else:
        widget.add_class(HIDDEN)


class FindingsPanel(widgets.VBox):
    """Every finding and habit as a dropdown, in groups, with a search that filters them."""

    def __init__(self, model: Model, on_change: Callable[[str, str | None], None], report: Callable[[str], None]):
        self.model = model
        self._on_change = guarded(report)(on_change)
        self._syncing = False
        # The controls share one layout and one style: fewer widget models make a faster first page.
        self._layout = widgets.Layout(width="auto")
        self._style = DescriptionStyle(description_width="58%")
        self.controls: dict[str, widgets.Dropdown] = {}
        self.search = widgets.Text(placeholder="type to filter, e.g. sleep, weakness", description="Find a question",
                                   continuous_update=True, style={"description_width": "initial"},
                                   layout=widgets.Layout(width="100%"))
        self.search.add_class("finding-search")
        self.no_match = widgets.HTML()
        self.sections: list[tuple[widgets.VBox, list[str]]] = []
        children: list[widgets.Widget] = [
            heading("What does the person notice?"),
            static_html('<div class="tb-note">Leave a question at “unknown” if you do not know the answer.</div>'),
            self.search, self.no_match,
        ]
        for title, members in finding_groups(model):
            grid = widgets.GridBox([self._control(fid, label, states) for fid, label, states in members],
                                   layout=widgets.Layout(grid_gap="0px 14px"))
            section = widgets.VBox([heading(title, 3), grid])
            section.add_class("tb-panel")
            section.add_class("evidence-group")
            self.sections.append((section, [fid for fid, _, _ in members]))
            children.append(section)
        #: Evidence without a dropdown (say, a cause node from a loaded scenario), listed in words.
        self.extra = widgets.HTML()
        children.append(self.extra)
        super().__init__(children, layout=widgets.Layout(min_width="0px"))
        self.add_class("evidence-panel")
        self.search.observe(guarded(report)(lambda _: self.filter()), names="value")

    def _control(self, fid: str, label: str, states: tuple[str, ...]) -> widgets.Dropdown:
        dropdown = widgets.Dropdown(
            options=[(UNKNOWN, ""), *((render.state_label(s), s) for s in states)],
            value="", description=label, description_allow_html=False, style=self._style, layout=self._layout,
        )
        dropdown.add_class("tb-control")
        dropdown.add_class(f"finding-{fid}")
        dropdown.observe(functools.partial(self._changed, fid), names="value")
        self.controls[fid] = dropdown
        return dropdown

    def _changed(self, fid: str, change: dict) -> None:
        if not self._syncing:
            self._on_change(fid, change["new"] or None)

    def sync(self, evidence: Mapping[str, str]) -> None:
        """Dropdowns set to ``evidence`` (the rest to unknown) without reporting a change; the
        evidence that has no dropdown is listed below them."""
        self._syncing = True
        try:
            for fid, dropdown in self.controls.items():
                value = evidence.get(fid, "")
                if dropdown.value != value:
                    dropdown.value = value
                if value:
                    dropdown.add_class("tb-set")
                else:
                    dropdown.remove_class("tb-set")
        finally:
            self._syncing = False
        extra = {v: s for v, s in evidence.items() if v not in self.controls}
        self.extra.value = (
            '<div class="tb-note">Also in this scenario: '
            + render.esc("; ".join(render.evidence_text(extra, self.model.kb))) + "</div>" if extra else ""
        )

    def filter(self) -> None:
        """Show only the questions whose label or answers contain the search text."""
        words = self.search.value.strip().lower()
        shown = 0
        for section, fids in self.sections:
            visible = 0
            for fid in fids:
                control = self.controls[fid]
                hit = not words or words in control.description.lower() or any(words in str(label) for label, _ in control.options[1:])
                set_shown(control, hit)
                visible += hit
            set_shown(section, bool(visible))
            shown += visible
        self.no_match.value = (f'<div class="tb-note">No question matches “{render.esc(shorten(words))}”.</div>'
                               if words and not shown else "")
