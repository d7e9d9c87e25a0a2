"""Teaching widgets: a lesson revealed step by step, and a quiz that scores and teaches.

Lessons and cases come from a teaching pack (``twitchbn.teaching.pack``: YAML files, no content
here). A ``LessonView`` reveals a lesson's findings one step at a time; each revealed finding is
a row of buttons (yes / no / unknown, or the variable's states) so that "no" can be entered, and
every change re-runs ``Model.query``. A ``Quiz`` asks for a ranking, an advice level and the
must-not-miss flags before it reveals the network's answer, what each finding did (bits), the
teaching point and a link to the explorer with the case's findings in its address; it keeps a
running score, ends the round after the last case (no wrap-around) and offers the answers as a
CSV download (``twitchbn.teaching.quiz``). Every number comes from the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import pandas as pd

from twitchbn.errors import TwitchbnError
from twitchbn.inference import Model, QueryResult
from twitchbn.reasoning import why
from twitchbn.teaching.pack import MAX_CANDIDATES, Pack, TeachingFile, check_claims
from twitchbn.teaching.quiz import Answer, Record, answers_csv, check_answer, csv_name, download_html, expected_first, record
from twitchbn.ui import render, render_reasoning, render_sources
from twitchbn.ui.panels import guarded

UNKNOWN = "unknown"
ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th")[:MAX_CANDIDATES]
ADVICE = (("self care", "self_care"), ("see a doctor", "see_doctor"), ("urgent", "urgent"))
EXPLORER_URL = "01_explore.ipynb"  # the explorer beside this notebook (Voila serving the notebooks folder)


def finding_options(model: Model, variable: str) -> list[tuple[str, str]]:
    """Buttons of a finding: yes and no first for a yes/no finding, else its states; then unknown."""
    states = model.states(variable)
    ordered = ("yes", "no") if set(states) == {"yes", "no"} else states
    return [(render.state_label(s), s) for s in ordered] + [(UNKNOWN, UNKNOWN)]


def focus_table_html(result: QueryResult, focus: Sequence[str]) -> str:
    """Rank, explains and present of the conditions a lesson watches."""
    frame = result.conditions
    order = list(frame.index)
    rows = "".join(
        f'<tr data-condition="{render.esc(cid)}" data-rank="{order.index(cid) + 1}"><td>{render.esc(frame.at[cid, "label"])}</td>'
        f'<td class="tb-num">{order.index(cid) + 1}</td>'
        f'<td class="tb-num">{render.percent(float(frame.at[cid, "explains"]))}</td>'
        f'<td class="tb-num">{render.percent(float(frame.at[cid, "probability"]))}</td></tr>'
        for cid in focus
    )
    head = '<tr><th>Watch these</th><th class="tb-num">Rank</th><th class="tb-num">Explains</th><th class="tb-num">Present</th></tr>'
    return f'<table class="tb-table focus-table" data-evidence="{render.esc(render.evidence_key(result.evidence))}">{head}{rows}</table>'


def point_html(item: TeachingFile, model: Model | None = None) -> str:
    """The teaching point, the claims (checked on ``model`` when given) and the sources."""
    claims = ""
    if model is not None and item.claims:
        marks = "".join(f'<li data-holds="{str(c.holds).lower()}">{"✓" if c.holds else "✗"} {render.esc(c.claim.says)}</li>'
                        for c in check_claims(item, model))
        claims = f'<div class="tb-note">What the numbers show:</div><ul class="tb-list">{marks}</ul>'
    sources = "; ".join(render_sources.source_html(s) for s in item.sources)
    return (f'<div class="teaching-point"><div class="tb-heading">Teaching point</div><div>{render.esc(item.teaching_point)}</div>'
            f'{claims}<div class="tb-note">Sources: {sources}</div></div>')


class LessonView(widgets.VBox):
    """A lesson: the story, findings revealed step by step (each editable), and the live differential."""

    def __init__(self, model: Model, lesson: TeachingFile, top: int = 5):
        self.model = model
        self.lesson = lesson
        self.top = top
        self.step = 0
        self.revealing = False  # while a step sets several buttons, query once at the end
        self.toggles: dict[str, widgets.ToggleButtons] = {}
        self.rows = widgets.VBox()
        self.say = widgets.HTML()
        self.reveal_button = widgets.Button(description="Reveal the next finding", button_style="primary",
                                            layout=widgets.Layout(width="auto"))
        self.reveal_button.add_class("lesson-reveal")
        self.restart = widgets.Button(description="Start over", layout=widgets.Layout(width="auto"))
        self.message = widgets.HTML()
        self.focus = widgets.HTML()
        self.differential = widgets.HTML()
        self.triage = widgets.HTML()
        self.dont_miss = widgets.HTML()
        self.point = widgets.HTML()
        self.result: QueryResult | None = None
        header = (f'<div class="tb-heading">{render.esc(lesson.title)}</div><div>{render.esc(lesson.story)}</div>'
                  f'<div class="tb-note" style="font-size:14px;margin-top:4px">{render.esc(lesson.question)}</div>')
        left = widgets.VBox([self.rows, self.say, widgets.HBox([self.reveal_button, self.restart]), self.message, self.focus, self.triage],
                            layout=widgets.Layout(flex="1 1 420px"))
        right = widgets.VBox([self.differential, self.dont_miss], layout=widgets.Layout(flex="1 1 440px"))
        super().__init__([widgets.HTML(render.STYLE), widgets.HTML(header),
                          widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap", grid_gap="4px 16px")), self.point],
                         layout=widgets.Layout(max_width="1280px"))
        self.add_class("twitchbn")
        self.add_class("tb-panel")
        self.add_class(f"lesson-{lesson.id}")
        self._update = guarded(self._error)(self.update)
        self.reveal_button.on_click(guarded(self._error)(lambda _: self.reveal()))
        self.restart.on_click(guarded(self._error)(lambda _: self.start_over()))
        self.reveal()

    def __repr__(self) -> str:
        return f"<twitchbn lesson: {self.lesson.title}; run the notebook to interact>"

    def _error(self, text: str) -> None:
        self.message.value = render.message_html(text)

    def _toggle(self, variable: str) -> widgets.ToggleButtons:
        if variable not in self.toggles:
            toggle = widgets.ToggleButtons(options=finding_options(self.model, variable), value=UNKNOWN,
                                           style={"button_width": "auto"}, layout=widgets.Layout(width="auto"))
            toggle.observe(lambda _: None if self.revealing else self._update(), names="value")
            self.toggles[variable] = toggle
            row = widgets.HBox([widgets.HTML(f"<b>{render.esc(self.model.kb.label(variable))}</b>", layout=widgets.Layout(width="260px")),
                                toggle])
            row.add_class(f"finding-{variable}")
            self.rows.children = (*self.rows.children, row)
        return self.toggles[variable]

    def reveal(self) -> None:
        """Reveal the next step's findings (a step may change a finding an earlier one set)."""
        if self.step >= len(self.lesson.steps):
            raise TwitchbnError("every finding of this lesson is revealed; press 'Start over' to begin again")
        step = self.lesson.steps[self.step]
        self.step += 1
        self.revealing = True
        try:
            for variable, state in step.reveal.items():
                self._toggle(variable).value = state
        finally:
            self.revealing = False
        self.say.value = f'<div class="lesson-step" data-step="{self.step}">Step {self.step} of {len(self.lesson.steps)}' + (
            f": {render.esc(step.say)}</div>" if step.say else "</div>")
        self.reveal_button.disabled = self.step == len(self.lesson.steps)
        self.update()

    def start_over(self) -> None:
        """Back to the story's first step."""
        self.step = 0
        self.toggles = {}
        self.rows.children = ()
        self.reveal()

    def evidence(self) -> dict[str, str]:
        """The findings as the buttons stand (unknown ones left out)."""
        return {v: t.value for v, t in self.toggles.items() if t.value != UNKNOWN}

    def update(self) -> None:
        """Query the findings and redraw; the teaching point shows once every step is revealed."""
        result = self.model.query(self.evidence())
        self.result = result
        self.message.value = ""
        self.focus.value = focus_table_html(result, self.lesson.conditions)
        self.differential.value = render.differential_html(result.conditions, top=self.top, focus=self.lesson.conditions, compact=True)
        self.triage.value = render.triage_html(result.triage)
        self.dont_miss.value = render.dont_miss_html(result.conditions, result.dont_miss)
        self.point.value = point_html(self.lesson, self.model) if self.step == len(self.lesson.steps) else ""


class Lessons(widgets.VBox):
    """Every lesson of a pack behind one menu."""

    def __init__(self, model: Model, pack: Pack):
        if not pack.lessons:
            raise TwitchbnError("the pack has no lessons: add a file with 'kind: lesson'")
        self.model = model
        self.pack = pack
        self.menu = widgets.Dropdown(options=[(lesson.title, lesson.id) for lesson in pack.lessons], description="Lesson",
                                     layout=widgets.Layout(width="640px"))
        self.menu.add_class("lesson-menu")
        self.view = LessonView(model, pack.lessons[0])
        super().__init__([self.menu, self.view])
        self.menu.observe(lambda change: self.show_lesson(change["new"]), names="value")

    def __repr__(self) -> str:
        return f"<twitchbn lessons: {len(self.pack.lessons)}; run the notebook to interact>"

    def show_lesson(self, lesson_id: str) -> None:
        """Show the lesson with this id from its first step."""
        self.view = LessonView(self.model, self.pack.lesson(lesson_id))
        self.children = (self.menu, self.view)


class Quiz(widgets.VBox):
    """Commit a ranking, an advice level and must-not-miss flags; then see the network's answer and why."""

    def __init__(self, model: Model, cases: Sequence[TeachingFile], explorer_url: str = EXPLORER_URL,
                 clock: Callable[[], float] = time.monotonic):
        if not cases:
            raise TwitchbnError("a quiz needs at least one case; the pack has none")
        self.model = model
        self.cases = tuple(cases)
        self.explorer_url = explorer_url
        self.clock = clock
        self.index = 0
        self.started = 0.0
        self.records: list[Record] = []
        self.checked = False
        self.name = widgets.Text(placeholder="your name", description="Name", layout=widgets.Layout(width="320px"))
        self.name.add_class("student-name")
        self.story = widgets.HTML()
        self.picks = [widgets.Dropdown(description=f"{n}.", layout=widgets.Layout(width="440px"), style={"description_width": "34px"})
                      for n in ORDINALS]
        for n, pick in enumerate(self.picks, start=1):
            pick.add_class(f"quiz-pick-{n}")
        self.advice = widgets.ToggleButtons(options=ADVICE, value=None, description="Advice", style={"button_width": "auto"})
        self.advice.add_class("quiz-advice")
        self.flags = [widgets.Checkbox(indent=False, layout=widgets.Layout(width="auto")) for _ in ORDINALS]
        for n, flag in enumerate(self.flags, start=1):
            flag.add_class(f"quiz-flag-{n}")
        self.check_button = widgets.Button(description="Check my answer", button_style="primary", layout=widgets.Layout(width="auto"))
        self.check_button.add_class("quiz-check")
        self.next_button = widgets.Button(description="Next case", layout=widgets.Layout(width="auto"))
        self.next_button.add_class("quiz-next")
        self.message = widgets.HTML()
        self.reveal = widgets.HTML()
        self.score = widgets.HTML()
        self.download = widgets.HTML()
        flags = widgets.VBox([widgets.HTML('<div class="tb-note">Must not miss (tick any the doctor must rule out):</div>'), *self.flags])
        super().__init__(
            [widgets.HTML(render.STYLE), self.name, self.story, *self.picks, self.advice, flags,
             widgets.HBox([self.check_button, self.next_button]), self.message, self.score, self.reveal, self.download],
            layout=widgets.Layout(max_width="960px"),
        )
        self.add_class("twitchbn")
        self.add_class("tb-panel")
        self.add_class("quiz")
        self.check_button.on_click(guarded(self._error)(lambda _: self.check()))
        self.next_button.on_click(guarded(self._error)(lambda _: self.next_case()))
        self.show(0)

    def __repr__(self) -> str:
        return f"<twitchbn quiz: {len(self.cases)} cases; run the notebook to interact>"

    @property
    def case(self) -> TeachingFile:
        return self.cases[self.index]

    @property
    def finished(self) -> bool:
        """True once the last case is checked: the round is over."""
        return self.checked and self.index == len(self.cases) - 1

    def _error(self, text: str) -> None:
        self.message.value = render.message_html(text)

    def show(self, index: int) -> None:
        """Show case ``index`` with the answer hidden and the clock started."""
        if not 0 <= index < len(self.cases):
            raise TwitchbnError(f"case number must be 1 to {len(self.cases)}; got {index + 1}")
        self.index = index
        self.checked = False
        case, kb = self.case, self.model.kb
        findings = "".join(f"<li>{render.esc(t)}</li>" for t in render.evidence_text(case.evidence(), kb))
        self.story.value = (
            f'<div class="tb-heading quiz-case" data-case="{render.esc(case.id)}">Case {index + 1} of {len(self.cases)}: '
            f'{render.esc(case.title)}</div><div>{render.esc(case.story)}</div>'
            f'<div class="tb-note" style="margin-top:4px">Findings:</div><ul style="margin:2px 0">{findings}</ul>'
            f'<div class="tb-note">{render.esc(case.question)}</div>'
        )
        options = [("choose…", ""), *((kb.label(c), c) for c in case.conditions)]
        for n, (pick, flag) in enumerate(zip(self.picks, self.flags, strict=True)):
            shown = n < len(case.conditions)
            pick.options = options
            pick.value = ""
            pick.disabled = False
            pick.layout.display = None if shown else "none"
            flag.value = False
            flag.disabled = False
            flag.description = kb.label(case.conditions[n]) if shown else ""
            flag.layout.display = None if shown else "none"
        self.advice.value = None
        self.advice.disabled = False
        self.check_button.disabled = False
        self.next_button.disabled = True
        self.message.value = ""
        self.reveal.value = ""
        self.started = self.clock()

    def answer(self) -> Answer:
        """The answer as the widgets stand."""
        n = len(self.case.conditions)
        flagged = tuple(c for c, flag in zip(self.case.conditions, self.flags, strict=False) if flag.value)
        return Answer(tuple(p.value for p in self.picks[:n] if p.value), self.advice.value or "", flagged)

    def fill(self, answer: Answer) -> None:
        """Set the widgets to an answer (for tests and demonstrations)."""
        for pick, cid in zip(self.picks, answer.ranking, strict=False):
            pick.value = cid
        self.advice.value = answer.triage or None
        for cid, flag in zip(self.case.conditions, self.flags, strict=False):
            flag.value = cid in answer.must_not_miss

    def check(self) -> Record:
        """Score the committed answer, reveal the network's answer and the teaching; return the CSV row kept."""
        if self.checked:
            raise TwitchbnError("this case is already checked; press 'Next case'")
        student = self.name.value.strip()
        if not student:
            raise TwitchbnError("type your name first: it goes into your answers file")
        answer = self.answer()
        check_answer(self.case, answer)
        row = record(student, self.case, answer, self.clock() - self.started)
        self.records.append(row)
        self.checked = True
        for widget in (*self.picks, *self.flags, self.advice):
            widget.disabled = True
        self.check_button.disabled = True
        self.next_button.disabled = self.finished
        self.message.value = ""
        marks = {"first": row.first, "triage": row.triage, "must_not_miss": row.must_not_miss}
        self.reveal.value = self.reveal_html(answer, marks)
        self.score.value = self.score_html()
        self.download.value = download_html(answers_csv(self.records), csv_name(student),
                                            "Download my answers (CSV)" if self.finished else "Download my answers so far (CSV)")
        return row

    def next_case(self) -> None:
        """The next case; refused before the current one is checked, and after the last (no wrap-around)."""
        if not self.checked:
            raise TwitchbnError("check your answer before moving on")
        if self.finished:
            raise TwitchbnError("that was the last case: the round is over")
        self.show(self.index + 1)

    def score_html(self) -> str:
        """The running score, or the final one once the round is over."""
        got = sum(r.score for r in self.records)
        out_of = sum(r.out_of for r in self.records)
        if self.finished:
            return (f'<div class="quiz-score quiz-final" data-score="{got}" data-out-of="{out_of}"><b>Round over.</b> '
                    f"Your score: {got} of {out_of} over {len(self.records)} cases.</div>")
        return (f'<div class="quiz-score" data-score="{got}" data-out-of="{out_of}">Score so far: {got} of {out_of} '
                f"({len(self.records)} of {len(self.cases)} cases).</div>")

    def reveal_html(self, answer: Answer, marks: dict[str, bool]) -> str:
        """The network's ranking beside the student's, the marks, what each finding did, the must-not-miss
        list, the advice, the teaching point and a link to the explorer with these findings."""
        case, kb = self.case, self.model.kb
        evidence = case.evidence()
        result = self.model.query(evidence)
        frame = result.conditions
        network = [cid for cid in frame.index if cid in case.conditions]
        rows = "".join(
            f'<tr data-condition="{render.esc(cid)}"><td class="tb-num">{i}</td><td>{render.esc(kb.label(answer.ranking[i - 1]))}</td>'
            f'<td>{render.esc(kb.label(cid))}</td><td class="tb-num">{render.percent(float(frame.at[cid, "explains"]))}</td></tr>'
            for i, cid in enumerate(network, start=1)
        )
        overall = "" if frame.index[0] in case.conditions else (
            f'<div class="tb-note">Of all conditions the network puts {render.esc(frame.iloc[0]["label"])} first.</div>')
        ticks = [("first", f"First choice (acceptable: {', '.join(kb.label(c) for c in case.expected.first)})"),
                 ("triage", f"Advice (expected: {dict((v, k) for k, v in ADVICE)[case.expected.triage]})"),
                 ("must_not_miss", "Must-not-miss flags (expected: "
                  f"{', '.join(kb.label(c) for c in case.expected.must_not_miss) or 'none'})")]
        marks_html = "".join(f'<li data-mark="{key}" data-right="{str(marks[key]).lower()}">{"✓" if marks[key] else "✗"} '
                             f"{render.esc(text)}</li>" for key, text in ticks)
        focus = [expected_first(case, self.model)]
        if answer.ranking[0] != focus[0]:
            focus.append(answer.ranking[0])
        weights = pd.concat([why(self.model, evidence, condition=cid) for cid in focus], ignore_index=True)
        disagreement = (f'<div class="tb-note"><b>Where the network differs from the expected answer:</b> '
                        f"{render.esc(case.disagreement)}</div>") if case.disagreement else ""
        link = (f'<a class="explorer-link" href="{render.esc(self.explorer_url)}?{render.esc(render.evidence_key(evidence))}" '
                'target="_blank" rel="noopener">Open these findings in the explorer</a>')
        return (
            f'<div class="quiz-reveal" data-top="{render.esc(network[0])}" data-score="{sum(marks.values())}">'
            f'<ul class="tb-list quiz-marks">{marks_html}</ul>'
            f'<table class="tb-table"><tr><th class="tb-num">#</th><th>You</th><th>Network</th><th class="tb-num">Explains</th></tr>'
            f"{rows}</table>{overall}{render.triage_html(result.triage)}{render.dont_miss_html(frame, result.dont_miss)}"
            f'<div class="tb-heading">What each finding did</div>{render_reasoning.why_html(weights, kb)}'
            f"{disagreement}{point_html(case)}<div>{link}</div></div>"
        )
