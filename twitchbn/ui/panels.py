"""The explorer's deeper panels, and the guard every widget callback runs under.

* ``ExplanationLine``: "Jointly most likely: ..." under the differential (while its box is ticked);
* ``SensitivityPanel``: a collapsible tornado of the hand-set numbers that matter, on demand;
* ``WhatIfPanel``: the differential and triage if the patient changed a habit.

Each panel observes ``ExplorerState.result``, calls one ``ExplorerState`` method and formats what
it returns with ``render_panels``; an error lands in the panel as a one-line message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from twitchbn.errors import TwitchbnError, shorten
from twitchbn.ui import render, render_panels
from twitchbn.ui.state import ExplorerState

#: Exposures a patient can change, offered by the what-if panel (those the knowledge base has).
MODIFIABLE = ("caffeine_intake", "sleep_hours", "tobacco_use", "fluid_intake", "medication", "stress_level")
SENSITIVITY_ROWS = 8
SENSITIVITY_TITLE = "Which hand-set numbers matter here?"
WHAT_IF_TITLE = "What if the patient changed a habit?"


def guarded(report: Callable[[str], None]) -> Callable:
    """Decorator: run a callback, turning any exception into one line for ``report``."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except TwitchbnError as exc:
                report(str(exc))
            except Exception as exc:  # a widget callback must never show a traceback
                report(f"unexpected error ({type(exc).__name__}): {shorten(exc, 160)}")
            return None

        return inner

    return wrap


def _note(text: str) -> str:
    return f'<div class="tb-note">{render.esc(text)}</div>'


class ExplanationLine(widgets.VBox):
    """The jointly most probable combination of conditions, recomputed on every change while
    ``show`` is ticked (off by default: with many positive findings it can take seconds)."""

    def __init__(self, state: ExplorerState, show: bool = False):
        self.state = state
        self.show = widgets.Checkbox(show, description="Show the jointly most likely combination (slow with many findings)",
                                     indent=False, layout=widgets.Layout(width="auto"))
        self.show.add_class("mpe-toggle")
        self.view = widgets.HTML()
        super().__init__([self.show, self.view])
        self.add_class("mpe-panel")
        self.refresh = guarded(self._error)(self.update)
        self.show.observe(lambda _: self.refresh(), names="value")
        state.observe(lambda _: self.refresh(), names="result")
        self.refresh()

    def _error(self, text: str) -> None:
        self.view.value = render.message_html(text)

    def update(self) -> None:
        """Redraw the line for the current evidence (empty while ``show`` is off)."""
        if not self.show.value:
            self.view.value = ""
            return
        self.view.value = render_panels.mpe_html(self.state.explanation(), self.state.model.kb, self.state.evidence)


class SensitivityPanel(widgets.Accordion):
    """A collapsed section; its Compute button draws the tornado of ``ExplorerState.sensitivity``.

    A tornado drawn for other findings is replaced by a note when the evidence changes.
    """

    def __init__(self, state: ExplorerState, top: int = SENSITIVITY_ROWS):
        self.state = state
        self.top = top
        self.shown = False
        self.compute = widgets.Button(description="Compute", icon="sliders", layout=widgets.Layout(width="auto"),
                                      tooltip="Move each hand-set number alone to the ends of its plausible range")
        self.compute.add_class("sensitivity-compute")
        self.view = widgets.HTML(_note("Press Compute to see them for the current findings."))
        intro = widgets.HTML(
            '<div class="tb-note">Every number in the knowledge base is hand-set. Compute moves each one alone to the ends '
            "of its plausible range and shows the numbers that shift the leading condition most (about a second; longer "
            "with many findings).</div>"
        )
        super().__init__([widgets.VBox([intro, self.compute, self.view])], titles=(SENSITIVITY_TITLE,), selected_index=None)
        self.add_class("sensitivity-panel")
        self.compute.on_click(guarded(self._error)(lambda _: self.update()))
        state.observe(self._stale, names="result")

    def _error(self, text: str) -> None:
        self.shown = False
        self.view.value = render.message_html(text)

    def update(self) -> None:
        """Compute the tornado for the current evidence and draw it."""
        self.shown = False
        self.view.value = _note("Computing…")
        self.compute.disabled = True
        try:
            frame = self.state.sensitivity(top=self.top)
        finally:
            self.compute.disabled = False
        self.view.value = render_panels.tornado_html(frame, self.state.model.kb)
        self.shown = True

    def _stale(self, change: dict) -> None:
        if self.shown:
            self.shown = False
            self.view.value = _note("The findings changed: press Compute to redo it for them.")


class WhatIfPanel(widgets.VBox):
    """A habit, a new state for it, and the differential and triage that ``what_if`` gives."""

    def __init__(self, state: ExplorerState, variables: Sequence[str] = MODIFIABLE):
        self.state = state
        kb = state.model.kb
        known = {x.id for x in kb.exposures}
        choices = [(kb.label(v), v) for v in variables if v in known]
        narrow = {"description_width": "80px"}
        self.variable = widgets.Dropdown(options=choices, description="Habit", style=narrow, layout=widgets.Layout(width="300px"))
        self.new_state = widgets.Dropdown(description="changed to", style=narrow, layout=widgets.Layout(width="260px"))
        self.variable.add_class("what-if-variable")
        self.new_state.add_class("what-if-state")
        self.view = widgets.HTML()
        super().__init__([widgets.HBox([self.variable, self.new_state], layout=widgets.Layout(flex_flow="row wrap")), self.view])
        self.add_class("what-if-panel")
        self._choosing = False
        self.refresh = guarded(self._error)(self.update)
        self.variable.observe(lambda _: self._choose_states(), names="value")
        self.new_state.observe(lambda _: None if self._choosing else self.refresh(), names="value")
        state.observe(lambda _: self.refresh(), names="result")
        if not choices:
            self.view.value = _note("This knowledge base has no exposure a patient could change.")
            self.variable.disabled = self.new_state.disabled = True
            return
        self._choose_states()

    def _error(self, text: str) -> None:
        self.view.value = render.message_html(text)

    def _choose_states(self) -> None:
        """Offer the chosen habit's states, starting at the first one that differs from the answer given."""
        states = self.state.model.states(self.variable.value)
        now = self.state.evidence.get(self.variable.value)
        self._choosing = True
        try:
            self.new_state.options = [(render.state_label(s), s) for s in states]
            self.new_state.value = next((s for s in states if s != now), states[0])
        finally:
            self._choosing = False
        self.refresh()

    def update(self) -> None:
        """Redraw the what-if for the current evidence, habit and state."""
        if not self.variable.value or self.new_state.value is None:
            return
        change = self.state.what_if({self.variable.value: self.new_state.value})
        self.view.value = render_panels.what_if_html(change, self.state.model.kb)
