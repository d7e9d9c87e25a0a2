"""The explorer's heavy panels, the background runner they use, and the guard every callback runs under.

* ``Runner``: computes panels in one worker thread, off the widget callback; a result for
  superseded evidence (or a cancelled request) is dropped, so the newest evidence wins;
* ``ExplanationLine``: "Jointly most likely: ..." under the differential (while its box is ticked);
* ``SensitivityPanel``: the tornado of the hand-set numbers that matter, on demand, cancellable;
* ``WhatIfPanel``: the differential and triage if the patient changed a habit.

Each panel calls one ``ExplorerState`` method with the evidence it was asked for and formats what
it returns with ``render_panels``; while it computes, its view is dimmed; an error lands in the
panel as a one-line message. The explorer calls ``refresh()`` after the ranking is on screen.
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
from ipywidgets.widgets.widget_string import HTMLStyle

from twitchbn.errors import TwitchbnError, shorten
from twitchbn.ui import render, render_panels
from twitchbn.ui.state import ExplorerState

#: Exposures a patient can change, offered by the what-if panel (those the knowledge base has).
MODIFIABLE = ("caffeine_intake", "sleep_hours", "tobacco_use", "fluid_intake", "medication", "stress_level")
SENSITIVITY_ROWS = 8
SENSITIVITY_TITLE = "Which hand-set numbers matter here?"
WHAT_IF_TITLE = "What if the patient changed a habit?"
STALE = "tb-stale"  # CSS class of a view whose content is being recomputed


def problem(exc: Exception) -> str:
    """One line for a user: a TwitchbnError's own message, anything else named and shortened."""
    if isinstance(exc, TwitchbnError):
        return str(exc)
    return f"unexpected error ({type(exc).__name__}): {shorten(exc, 160)}"


def guarded(report: Callable[[str], None]) -> Callable:
    """Decorator: run a callback, turning any exception into one line for ``report``."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # a widget callback must never show a traceback
                report(problem(exc))
            return None

        return inner

    return wrap


class Runner:
    """Heavy work off the widget callback: one worker thread, newest request per key wins.

    ``submit(key, compute, show, fail)`` runs ``compute()`` in the worker, then ``show(value)``
    (or ``fail(line)`` on an error) unless a newer request for ``key`` (or ``cancel(key)``) came
    meanwhile. Requests not yet started when superseded are skipped. ``wait()`` blocks until the
    queue is empty (tests and the benchmark use it).

    The worker shares the interpreter lock with the widget callbacks: compiled code that holds it
    for a second (numba without ``nogil=True``) delays the busy state of a change made meanwhile.
    """

    def __init__(self) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="twitchbn-panel")
        self._lock = threading.RLock()
        self._generation: dict[str, int] = {}
        self._pending: set[concurrent.futures.Future] = set()

    def submit(self, key: str, compute: Callable[[], Any], show: Callable[[Any], None], fail: Callable[[str], None]) -> None:
        """Queue ``compute`` for ``key``, superseding any earlier request for it."""
        with self._lock:
            generation = self._generation[key] = self._generation.get(key, 0) + 1

        def current() -> bool:
            return self._generation.get(key) == generation

        def job() -> None:
            if not current():
                return
            try:
                value = compute()
            except Exception as exc:  # reported in the panel, never raised into the worker
                deliver, value = fail, problem(exc)
            else:
                deliver = show
            with self._lock:
                if current():
                    guarded(fail)(deliver)(value)

        future = self._pool.submit(job)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def cancel(self, key: str) -> None:
        """Drop the pending or running request for ``key`` (its result will not be shown)."""
        with self._lock:
            self._generation[key] = self._generation.get(key, 0) + 1

    def wait(self, timeout: float = 300.0) -> None:
        """Block until every queued request has finished (or ``timeout`` seconds)."""
        with self._lock:
            pending = list(self._pending)
        concurrent.futures.wait(pending, timeout=timeout)


def _note(text: str) -> str:
    return f'<div class="tb-note">{render.esc(text)}</div>'


@functools.cache
def _static_look() -> tuple[widgets.Layout, HTMLStyle]:
    return widgets.Layout(), HTMLStyle()


def static_html(markup: str) -> widgets.HTML:
    """An HTML widget whose text never changes; all of them share one layout and one style
    (fewer widget models for the browser to create, so a faster first page)."""
    layout, style = _static_look()
    return widgets.HTML(markup, layout=layout, style=style)


def heading(title: str, level: int = 2) -> widgets.HTML:
    """A section title as a real heading (screen readers list it)."""
    return static_html(f'<h{level} class="tb-heading">{render.esc(title)}</h{level}>')


class BackgroundView:
    """Mixin: a ``view`` (HTML) recomputed through a ``Runner`` under ``key``, dimmed while stale."""

    view: widgets.HTML
    runner: Runner
    key: str

    def _error(self, text: str) -> None:
        self.view.remove_class(STALE)
        self.view.value = render.message_html(text)

    def _show(self, markup: str) -> None:
        self.view.remove_class(STALE)
        self.view.value = markup

    def run(self, compute: Callable[[], Any], format_: Callable[[Any], str]) -> None:
        """Dim the view and compute it in the background; the newest request wins."""
        self.view.add_class(STALE)
        self.runner.submit(self.key, compute, lambda value: self._show(format_(value)), self._error)


class ExplanationLine(BackgroundView, widgets.VBox):
    """The jointly most probable combination of conditions, recomputed on every change while
    ``show`` is ticked (off by default: with many positive findings it can take seconds)."""

    key = "mpe"

    def __init__(self, state: ExplorerState, runner: Runner, show: bool = False):
        self.state = state
        self.runner = runner
        self.show = widgets.Checkbox(show, description="Show the jointly most likely combination (slow with many findings)",
                                     indent=False, layout=widgets.Layout(width="auto"))
        self.show.add_class("mpe-toggle")
        self.view = widgets.HTML()
        super().__init__([self.show, self.view])
        self.add_class("mpe-panel")
        self.show.observe(lambda _: self.refresh(), names="value")

    def refresh(self) -> None:
        """Recompute the line for the current evidence (empty while ``show`` is off)."""
        if not self.show.value:
            self.runner.cancel(self.key)
            self._show("")
            return
        evidence, kb = dict(self.state.evidence), self.state.model.kb
        self.run(lambda: self.state.explanation(evidence), lambda mpe: render_panels.mpe_html(mpe, kb, evidence))


class SensitivityPanel(BackgroundView, widgets.VBox):
    """Compute draws the tornado of ``ExplorerState.sensitivity`` in the background; Cancel stops
    waiting for it. A tornado for other findings is replaced by a note when the evidence changes."""

    key = "sensitivity"

    def __init__(self, state: ExplorerState, runner: Runner, top: int = SENSITIVITY_ROWS):
        self.state = state
        self.runner = runner
        self.top = top
        self.shown = False
        self.compute = widgets.Button(description="Compute", layout=widgets.Layout(width="auto"),
                                      tooltip="Move each hand-set number alone to the ends of its plausible range")
        self.compute.add_class("sensitivity-compute")
        self.stop = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto", display="none"),
                                   tooltip="Stop waiting for this computation")
        self.stop.add_class("sensitivity-cancel")
        self.view = widgets.HTML(_note("Press Compute to see them for the current findings."))
        intro = static_html(
            '<div class="tb-note">Every number in the knowledge base is hand-set. Compute moves each one alone to the ends '
            "of its plausible range and shows the numbers that shift the leading condition most (about a second; longer "
            "with many findings, and you can keep changing findings meanwhile).</div>"
        )
        super().__init__([heading(SENSITIVITY_TITLE), intro, widgets.HBox([self.compute, self.stop]), self.view])
        self.add_class("tb-panel")
        self.add_class("sensitivity-panel")
        self.compute.on_click(guarded(self._error)(lambda _: self.update()))
        self.stop.on_click(guarded(self._error)(lambda _: self.cancel()))

    def _busy(self, busy: bool) -> None:
        self.compute.disabled = busy
        self.stop.layout.display = "" if busy else "none"

    def _error(self, text: str) -> None:
        self.shown = False
        self._busy(False)
        super()._error(text)

    def _show(self, markup: str) -> None:
        self._busy(False)
        super()._show(markup)

    def update(self) -> None:
        """Compute the tornado for the current evidence (in the background) and draw it."""
        evidence, kb = dict(self.state.evidence), self.state.model.kb
        self.shown = False
        self._busy(True)
        self.view.value = _note("Computing… you can keep changing findings; Cancel stops it.")

        def draw(frame: Any) -> str:
            self.shown = True
            return render_panels.tornado_html(frame, kb)

        self.run(lambda: self.state.sensitivity(evidence, top=self.top), draw)

    def cancel(self, text: str = "Cancelled: press Compute to start again.") -> None:
        """Stop waiting for the running computation."""
        self.runner.cancel(self.key)
        self.shown = False
        self._show(_note(text))

    def refresh(self) -> None:
        """The evidence changed: a tornado on screen (or one computing) is for other findings now."""
        if self.compute.disabled:
            self.cancel("The findings changed while computing: press Compute to do it for them.")
        elif self.shown:
            self.shown = False
            self.view.value = _note("The findings changed: press Compute to redo it for them.")


class WhatIfPanel(BackgroundView, widgets.VBox):
    """A habit, a new state for it, and the differential and triage that ``what_if`` gives."""

    key = "what_if"

    def __init__(self, state: ExplorerState, runner: Runner, variables: Sequence[str] = MODIFIABLE):
        self.state = state
        self.runner = runner
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
        guard = guarded(self._error)
        self.variable.observe(lambda _: guard(self._choose_states)(), names="value")
        self.new_state.observe(lambda _: None if self._choosing else guard(self.refresh)(), names="value")
        if not choices:
            self.view.value = _note("This knowledge base has no exposure a patient could change.")
            self.variable.disabled = self.new_state.disabled = True
            return
        self._choose_states(refresh=False)

    def _choose_states(self, refresh: bool = True) -> None:
        """Offer the chosen habit's states, starting at the first one that differs from the answer given."""
        states = self.state.model.states(self.variable.value)
        now = self.state.evidence.get(self.variable.value)
        self._choosing = True
        try:
            self.new_state.options = [(render.state_label(s), s) for s in states]
            self.new_state.value = next((s for s in states if s != now), states[0])
        finally:
            self._choosing = False
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        """Recompute the what-if for the current evidence, habit and state."""
        if not self.variable.value or self.new_state.value is None:
            return
        evidence, changes, kb = dict(self.state.evidence), {self.variable.value: self.new_state.value}, self.state.model.kb
        self.run(lambda: self.state.what_if(evidence, changes), lambda change: render_panels.what_if_html(change, kb))

