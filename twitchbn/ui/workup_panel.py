"""The workup panel: which test next, what each result would do, and Fagan's nomogram.

``WorkupPanel(model)`` is a ``VBox``: a cost weight (alpha, bits per cost unit), a
"serious first" box, the ranked tests (``twitchbn.workup.next_tests``), the selected test's
results with what each would do to the differential, the can't-miss list and the triage, one
button per result that enters it, and Fagan's nomogram for the selected test, a condition and one
result (by default the result characteristic of that condition: an EMG's widespread denervation for ALS).
``update(evidence)`` recomputes for new evidence; ``on_enter(callback)`` registers
``callback(test, state)``, called after a result is entered (the panel itself moves on to the
new picture). No medical logic here: the planner computes, the panel formats. Every callback's
error lands in the panel as one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from twitchbn.inference import Model
from twitchbn.ui.panels import guarded
from twitchbn.ui.render import esc, evidence_key, message_html
from twitchbn.wording import percent, state_label
from twitchbn.workup import (
    ALPHA,
    ALPHA_MAX,
    NO_TWITCHING,
    FaganNumbers,
    Picture,
    Workup,
    characteristic_result,
    fagan_numbers,
    next_tests,
)

TITLE = "Which test next?"
NOMOGRAM_PROBABILITIES = (0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999)
NOMOGRAM_RATIOS = (0.001, 0.01, 0.1, 1, 10, 100, 1000)


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)  # the nomogram spans 0.1% to 99.9%
    return math.log(p / (1 - p))


def nomogram_svg(numbers: FaganNumbers, condition_label: str, width: int = 340, height: int = 360) -> str:
    """Fagan's nomogram as SVG: pre-test probability (left), likelihood ratio (middle), post-test
    probability (right). A straight line through pre-test and LR meets the post-test value
    because post-test odds = pre-test odds x LR; the dashed line uses the test's published LR."""
    top, bottom = 24, height - 34
    scale = (bottom - top) / (2 * _logit(0.999))
    middle_y = (top + bottom) / 2
    xs = (60, width // 2, width - 60)

    def left(p: float) -> float:
        return middle_y + scale * _logit(p)

    def right(p: float) -> float:
        return middle_y - scale * _logit(p)

    def mid(ratio: float) -> float:
        return middle_y - scale / 2 * math.log(min(max(ratio, 1e-3), 1e3))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="Fagan nomogram for {esc(condition_label)}" style="font:11px sans-serif">']
    for x in xs:
        parts.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{bottom}" stroke="#555"/>')
    for p in NOMOGRAM_PROBABILITIES:
        label = f"{100 * p:g}"
        parts.append(f'<text x="{xs[0] - 6}" y="{left(p) + 4:.1f}" text-anchor="end">{label}</text>')
        parts.append(f'<text x="{xs[2] + 6}" y="{right(p) + 4:.1f}">{label}</text>')
    for ratio in NOMOGRAM_RATIOS:
        parts.append(f'<text x="{xs[1] + 6}" y="{mid(ratio) + 4:.1f}">{ratio:g}</text>')
    for x, title in zip(xs, ("Pre-test %", "Likelihood ratio", "Post-test %"), strict=True):
        parts.append(f'<text x="{x}" y="{top - 10}" text-anchor="middle" font-weight="bold">{title}</text>')
    if math.isfinite(numbers.published_lr) and numbers.published_lr > 0:
        end = 1 / (1 + 1 / (numbers.pretest / (1 - numbers.pretest) * numbers.published_lr)) if 0 < numbers.pretest < 1 else numbers.pretest
        parts.append(f'<line class="published" x1="{xs[0]}" y1="{left(numbers.pretest):.1f}" x2="{xs[2]}" y2="{right(end):.1f}" '
                     'stroke="#999" stroke-dasharray="4 3"/>')
    if math.isfinite(numbers.likelihood_ratio) and numbers.likelihood_ratio > 0:
        parts.append(f'<line class="person" x1="{xs[0]}" y1="{left(numbers.pretest):.1f}" x2="{xs[2]}" y2="{right(numbers.posttest):.1f}" '
                     'stroke="#c0392b" stroke-width="2"/>')
    parts.append("</svg>")
    return "".join(parts)


def fagan_caption(numbers: FaganNumbers, condition_label: str, result_label: str) -> str:
    """The nomogram's numbers in words: before, after, and the two likelihood ratios."""
    return (f"<p>{esc(condition_label)}: {percent(numbers.pretest)} before, {percent(numbers.posttest)} after the result "
            f"'{esc(result_label)}'. Likelihood ratio here {numbers.likelihood_ratio:.2g} (red line); the test's published "
            f"ratio {numbers.published_lr:.2g} (dashed) assumes no other cause of the same result.</p>")


def ranking_html(model: Model, plan: Workup, top: int) -> str:
    """The ranked tests as a table: value, gain, cost, chance of an abnormal result, burden."""
    if plan.table.empty:
        return "<p>Every test already has a result.</p>"
    rows = []
    for rank, (tid, row) in enumerate(plan.table.head(top).iterrows(), start=1):
        mark = " (mandatory)" if row["mandatory"] else ""
        style = "" if row["recommended"] else ' style="color:#777"'
        rows.append(f"<tr{style} data-test='{esc(tid)}'><td>{rank}</td><td>{esc(row['label'])}{mark}</td><td>{row['value_bits']:.3f}</td>"
                    f"<td>{row['expected_gain_bits']:.3f}</td><td>{row['cost']:.1f}</td><td>{percent(row['abnormal_probability'])}</td>"
                    f"<td>{esc(row['invasiveness'])}</td><td>{esc(row['time_to_result'])}</td></tr>")
    names = ", ".join(esc(model.kb.label(t)) for t in plan.recommended)
    verdict = f"Worth ordering now: {names}." if names else "No test is worth its cost at this weight: watch and wait, or lower it."
    if not plan.twitching_entered:
        verdict += f" <span class='workup-no-twitching'>{esc(NO_TWITCHING)}</span>"
    return ("<table class='tb-workup'><tr><th>#</th><th>Test</th><th>Value (bits)</th><th>Gain (bits)</th><th>Cost</th>"
            "<th>Abnormal now</th><th>Invasive</th><th>Result in</th></tr>" + "".join(rows) + f"</table><p>{verdict}</p>")


def picture_text(model: Model, picture: Picture) -> str:
    """Leading conditions, can't-miss list and triage in one line."""
    head = ", ".join(f"{esc(model.kb.label(c))} {percent(x)}" for c, x in zip(picture.leading, picture.explains, strict=True))
    keep = f"; can't miss: {', '.join(esc(model.kb.label(c)) for c in picture.dont_miss)}" if picture.dont_miss else ""
    return f"{head}{keep}; advice: {esc(state_label(picture.triage))}"


class WorkupPanel(widgets.VBox):
    """Cost weight, ranked tests, results that can be entered, and Fagan's nomogram."""

    def __init__(self, model: Model, evidence: Mapping[str, Any] | None = None, top: int = 8):
        self.model = model
        self.top = top
        self.evidence: dict[str, str] = {}
        self.plan: Workup | None = None
        self._callbacks: list[Callable[[str, str], None]] = []
        self.message = widgets.HTML()
        report = self.show_message
        # A labelled number box (arrow keys step it) rather than ipywidgets' slider, whose handle
        # has no accessible name (axe-core: aria-input-field-name, serious).
        self.alpha = widgets.BoundedFloatText(value=ALPHA, min=0.0, max=ALPHA_MAX, step=0.005, continuous_update=False,
                                              description="Cost weight", style={"description_width": "initial"},
                                              layout=widgets.Layout(width="220px"))
        self.serious = widgets.Checkbox(value=False, description="Serious first", indent=False)
        self.now = widgets.HTML()
        self.ranking = widgets.HTML()
        self.test = widgets.Dropdown(description="Test", options=[])
        self.outcomes = widgets.HTML()
        self.buttons = widgets.HBox()
        self.condition = widgets.Dropdown(description="Condition", options=[])
        self.result = widgets.Dropdown(description="Result", options=[])
        self.nomogram = widgets.HTML()
        self.alpha.observe(guarded(report)(lambda _: self._recompute()), names="value")
        self.serious.observe(guarded(report)(lambda _: self._recompute()), names="value")
        self._syncing = False  # True while the panel itself sets a dropdown's options
        self.test.observe(guarded(report)(lambda _: self._syncing or self._show_test()), names="value")
        self.condition.observe(guarded(report)(lambda _: self._syncing or self._show_condition()), names="value")
        self.result.observe(guarded(report)(lambda _: self._syncing or self._show_nomogram()), names="value")
        super().__init__([
            widgets.HTML(f"<b>{TITLE}</b> Value = information gain about what explains the twitching − cost weight × cost "
                         "(1 cost unit ≈ US$10; the first blood test also pays for the blood draw)."),
            widgets.HBox([self.alpha, self.serious]), self.message, self.now, self.ranking, self.test, self.outcomes, self.buttons,
            widgets.HBox([self.condition, self.result]), self.nomogram,
        ])
        self.add_class("twitchbn-workup")
        for widget, name in ((self.ranking, "workup-ranking"), (self.now, "workup-now"), (self.buttons, "workup-enter"),
                             (self.nomogram, "workup-nomogram"), (self.message, "workup-message"), (self.alpha, "workup-alpha"),
                             (self.serious, "workup-serious"), (self.test, "workup-test"), (self.condition, "workup-condition"),
                             (self.result, "workup-result"), (self.outcomes, "workup-outcomes")):
            widget.add_class(name)
        self.update(evidence or {})

    # -- public ------------------------------------------------------------------------------------
    def update(self, evidence: Mapping[str, Any]) -> None:
        """Plan the workup for ``evidence`` (refused evidence shows as a one-line message)."""
        guarded(self.show_message)(self._update)(evidence)

    def _update(self, evidence: Mapping[str, Any]) -> None:
        self.evidence = self.model.check_evidence(evidence)
        self._recompute()

    def on_enter(self, callback: Callable[[str, str], None]) -> None:
        """Call ``callback(test, state)`` whenever a result is entered."""
        self._callbacks.append(callback)

    def enter(self, state: str) -> None:
        """Enter ``state`` as the selected test's result: the panel moves on to the new picture."""
        test = self.test.value
        self.update({**self.evidence, test: state})
        for callback in self._callbacks:
            callback(test, state)

    # -- views -------------------------------------------------------------------------------------
    def show_message(self, line: str) -> None:
        """Show one line (an error in the user's terms) in the panel."""
        self.message.value = message_html(line)

    def _recompute(self) -> None:
        self.message.value = ""
        self.plan = plan = next_tests(self.model, self.evidence, alpha=self.alpha.value, serious_first=self.serious.value)
        self.now.value = f"<p>Now: {picture_text(self.model, plan.now)}</p>"
        # data-evidence / data-alpha tag what the table was planned for (the browser test waits on them)
        self.ranking.value = (f"<div class='workup-table' data-evidence='{esc(evidence_key(self.evidence))}' "
                              f"data-alpha='{plan.alpha:g}' data-serious='{int(plan.serious_first)}'>"
                              f"{ranking_html(self.model, plan, self.top)}</div>")
        options = [(str(plan.table.at[t, "label"]), str(t)) for t in plan.table.index]
        keep = self.test.value if self.test.value in plan.outcomes else (options[0][1] if options else None)
        self._set(self.test, options, keep)
        self._show_test()

    def _set(self, dropdown: widgets.Dropdown, options: list[tuple[str, str]], value: str | None) -> None:
        """New options and value for a dropdown without running its observer."""
        self._syncing = True
        try:
            dropdown.options = options
            dropdown.value = value
        finally:
            self._syncing = False

    def _show_test(self) -> None:
        plan, test = self.plan, self.test.value
        if plan is None or test is None:
            self.outcomes.value, self.buttons.children, self.nomogram.value = "", (), ""
            self._set(self.condition, [], None)
            self._set(self.result, [], None)
            return
        lines = [f"<li>If {esc(state_label(o.state))} ({percent(o.probability)}): {picture_text(self.model, o.picture)}</li>"
                 for o in plan.outcomes[test]]
        self.outcomes.value = "<ul>" + "".join(lines) + "</ul>"
        buttons = []
        for o in plan.outcomes[test]:
            button = widgets.Button(description=f"Enter: {state_label(o.state)}", tooltip=f"Enter the result {state_label(o.state)}")
            button.on_click(guarded(self.show_message)(lambda _, state=o.state: self.enter(state)))
            buttons.append(button)
        self.buttons.children = tuple(buttons)
        linked = [link.condition for link in self.model.kb.finding(test).links]
        order = [*linked, *(c for c in plan.now.leading if c not in linked)]
        keep = self.condition.value if self.condition.value in order else order[0]
        self._set(self.condition, [(self.model.kb.label(c), c) for c in order], keep)
        self._show_condition()

    def _show_condition(self) -> None:
        """A new condition on the nomogram: show the result characteristic of it."""
        plan, test, condition = self.plan, self.test.value, self.condition.value
        if plan is not None and test is not None and condition is not None:
            options = [(state_label(o.state), o.state) for o in plan.outcomes[test]]
            self._set(self.result, options, characteristic_result(self.model, plan, test, condition))
        self._show_nomogram()

    def _show_nomogram(self) -> None:
        plan, test, condition, result = self.plan, self.test.value, self.condition.value, self.result.value
        if plan is None or test is None or condition is None or result is None:
            self.nomogram.value = ""
            return
        numbers = fagan_numbers(self.model, plan, test, condition, result)
        label = self.model.kb.label(condition)
        self.nomogram.value = nomogram_svg(numbers, label) + fagan_caption(numbers, label, state_label(numbers.state))
