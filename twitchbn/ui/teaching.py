"""Teaching cases: lessons in differential reasoning, each a live widget, and a quiz.

A lesson is one or two ``CaseCard`` s side by side. A card lists its findings as checkboxes
(the story's findings on, the "what if" findings off); ticking one re-runs ``Model.query`` and
the card shows the short differential, the conditions the lesson is about, and triage. The
quiz asks a student to rank candidate conditions and commit before the network's ranking is
revealed. Evidence here is vocabulary ids and states only; every number comes from the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import pandas as pd

from twitchbn.errors import TwitchbnError
from twitchbn.inference import Model, QueryResult
from twitchbn.ui import render
from twitchbn.ui.explorer import guarded


@dataclass(frozen=True)
class Card:
    """One patient: ``items`` are (variable, state, ticked at start); later ticked items win."""

    title: str
    items: tuple[tuple[str, str, bool], ...]
    focus: tuple[str, ...]


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    question: str
    cards: tuple[Card, ...]


@dataclass(frozen=True)
class QuizCase:
    story: str
    evidence: Mapping[str, str]
    candidates: tuple[str, ...]


LESSONS: dict[str, Lesson] = {
    lesson.id: lesson
    for lesson in (
        Lesson(
            "explaining_away", "Explaining away: the coffee drinker who is getting weaker",
            "Tick the weakness, the muscle wasting and the months of twitching. Does the coffee stop being the explanation?",
            (Card("A 62-year-old heavy coffee drinker with twitching arms", (
                ("age_group", "older_adult", True), ("caffeine_intake", "high", True), ("twitch_arm", "yes", True),
                ("twitch_hand", "yes", True), ("muscle_weakness", "yes", False), ("muscle_wasting", "yes", False),
                ("problem_duration", "over_1_month", False),
            ), ("caffeine_excess", "als")),),
        ),
        Lesson(
            "red_flags", "Red flags change the advice",
            "Tick the red flags one at a time and watch the triage banner.",
            (Card("Eyelid twitch after short nights", (
                ("twitch_eyelid", "yes", True), ("sleep_hours", "under_7", True),
                ("muscle_weakness", "yes", False), ("speech_swallowing_difficulty", "yes", False),
                ("breathing_difficulty", "yes", False), ("problem_duration", "over_1_month", False),
            ), ("sleep_deprivation",)),),
        ),
        Lesson(
            "face_vs_eyes", "One side of the face, or both eyes forced shut?",
            "Two patients with a twitching eyelid. Untick the findings that differ and see which one carries the diagnosis.",
            (
                Card("One-sided face twitch for months", (
                    ("twitch_eyelid", "yes", True), ("twitch_face", "yes", True), ("laterality", "one_side", True),
                    ("problem_duration", "over_1_month", True),
                ), ("hemifacial_spasm", "blepharospasm")),
                Card("Both eyes forced shut, for months", (
                    ("twitch_eyelid", "yes", True), ("eyes_forced_shut", "yes", True), ("laterality", "both_sides", True),
                    ("problem_duration", "over_1_month", True),
                ), ("hemifacial_spasm", "blepharospasm")),
            ),
        ),
        Lesson(
            "calf", "A twitching calf: after a race, or with a numb foot after a back strain?",
            "Same twitch, different company. Which findings move the ranking between exercise and a pinched nerve?",
            (
                Card("Calf twitch after a race", (
                    ("twitch_calf", "yes", True), ("recent_strenuous_exercise", "yes", True), ("after_exercise", "yes", True),
                ), ("strenuous_exercise", "pinched_nerve")),
                Card("Calf twitch, numb foot, back strain", (
                    ("twitch_calf", "yes", True), ("back_injury", "yes", True), ("numbness_tingling", "yes", True),
                ), ("strenuous_exercise", "pinched_nerve")),
            ),
        ),
    )
}

QUIZ_CASES: tuple[QuizCase, ...] = (
    QuizCase("An office worker on six hours of sleep and four strong coffees a day has had a twitching eyelid for three days.",
             {"twitch_eyelid": "yes", "sleep_hours": "under_7", "caffeine_intake": "high", "problem_duration": "under_1_week"},
             ("blepharospasm", "caffeine_excess", "sleep_deprivation", "als")),
    QuizCase("A 60-year-old has had twitching in the shoulder and hand for months; the grip is weaker, the hand muscles look thinner "
             "and words come out slurred.",
             {"twitch_arm": "yes", "twitch_hand": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes",
              "speech_swallowing_difficulty": "yes", "problem_duration": "over_1_month", "age_group": "older_adult"},
             ("benign_fasciculation", "als", "strenuous_exercise", "peripheral_neuropathy")),
    QuizCase("A student breathes fast and hard during panic attacks before exams; afterwards her hands and feet twitch.",
             {"stress_level": "high", "rapid_breathing_episodes": "yes", "twitch_hand": "yes", "twitch_foot": "yes"},
             ("hypocalcemia", "stress_anxiety", "peripheral_neuropathy", "caffeine_excess")),
    QuizCase("A woman with painful stiff joints, a facial rash that flares in the sun and fingers that turn blue in the cold "
             "notices twitching in her arms.",
             {"joint_pain": "yes", "skin_rash": "yes", "fingers_blue_cold": "yes", "twitch_arm": "yes"},
             ("multiple_sclerosis", "vitamin_d_deficiency", "lupus", "stress_anxiety")),
)


def card_evidence(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Evidence of the ticked items, a later item winning over an earlier one for the same variable."""
    evidence: dict[str, str] = {}
    for variable, state in items:
        evidence[variable] = state
    return evidence


def focus_table_html(result: QueryResult, focus: Sequence[str]) -> str:
    """Rank, explains and present of the conditions a lesson is about."""
    frame = result.conditions
    rows = "".join(
        f'<tr data-condition="{render.esc(cid)}"><td>{render.esc(frame.at[cid, "label"])}</td>'
        f'<td class="tb-num">{list(frame.index).index(cid) + 1}</td>'
        f'<td class="tb-num">{render.percent(float(frame.at[cid, "explains"]))}</td>'
        f'<td class="tb-num">{render.percent(float(frame.at[cid, "probability"]))}</td></tr>'
        for cid in focus
    )
    head = '<tr><th>Watch these</th><th class="tb-num">Rank</th><th class="tb-num">Explains</th><th class="tb-num">Present</th></tr>'
    return f'<table class="tb-table focus-table">{head}{rows}</table>'


class CaseCard(widgets.VBox):
    """One patient's findings as checkboxes and the live short differential with triage."""

    def __init__(self, model: Model, card: Card, top: int = 5):
        self.model = model
        self.card = card
        self.top = top
        self.message = widgets.HTML()
        self.boxes = []
        for variable, state, ticked in card.items:
            box = widgets.Checkbox(ticked, description=f"{model.kb.label(variable)}: {render.state_label(state)}", indent=False,
                                   layout=widgets.Layout(width="auto"))
            box.add_class(f"finding-{variable}")
            self.boxes.append(box)
        self.focus = widgets.HTML()
        self.differential = widgets.HTML()
        self.triage = widgets.HTML()
        self.result: QueryResult | None = None
        left = widgets.VBox([*self.boxes, self.message, self.focus, self.triage], layout=widgets.Layout(flex="1 1 380px"))
        right = widgets.VBox([self.differential], layout=widgets.Layout(flex="1 1 440px"))
        super().__init__(
            [widgets.HTML(f'<div class="tb-heading">{render.esc(card.title)}</div>'),
             widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap", grid_gap="4px 16px"))],
            layout=widgets.Layout(flex="1 1 420px", min_width="380px"),
        )
        self.add_class("tb-panel")
        self.add_class("case-card")
        self._update = guarded(self._error)(self.update)
        for box in self.boxes:
            box.observe(lambda _: self._update(), names="value")
        self._update()

    def __repr__(self) -> str:
        return f"<twitchbn case: {self.card.title}; run the notebook to interact>"

    def evidence(self) -> dict[str, str]:
        """Evidence of the ticked findings."""
        return card_evidence([(v, s) for (v, s, _), box in zip(self.card.items, self.boxes, strict=True) if box.value])

    def _error(self, text: str) -> None:
        self.message.value = render.message_html(text)

    def update(self) -> None:
        """Query the ticked findings and redraw."""
        result = self.model.query(self.evidence())
        self.result = result
        self.message.value = ""
        self.focus.value = focus_table_html(result, self.card.focus)
        self.differential.value = render.differential_html(result.conditions, top=self.top, focus=self.card.focus, compact=True)
        self.triage.value = render.triage_html(result.triage)


class LessonView(widgets.VBox):
    """A lesson: its question and its cards side by side."""

    def __init__(self, model: Model, lesson: Lesson | str):
        lesson = LESSONS[lesson] if isinstance(lesson, str) else lesson
        self.lesson = lesson
        self.cards = [CaseCard(model, card) for card in lesson.cards]
        super().__init__(
            [widgets.HTML(render.STYLE), widgets.HTML(f'<div class="tb-note" style="font-size:14px">{render.esc(lesson.question)}</div>'),
             widgets.HBox(self.cards, layout=widgets.Layout(flex_flow="row wrap", grid_gap="10px"))],
            layout=widgets.Layout(max_width="1280px"),
        )
        self.add_class("twitchbn")
        self.add_class(f"lesson-{lesson.id}")

    def __repr__(self) -> str:
        return f"<twitchbn lesson: {self.lesson.title}; run the notebook to interact>"


def lesson_summary(model: Model, lesson: Lesson | str) -> pd.DataFrame:
    """For each card: as the story starts, and with every finding ticked; the watched conditions' numbers."""
    lesson = LESSONS[lesson] if isinstance(lesson, str) else lesson
    rows = []
    for card in lesson.cards:
        variants = [("as told", [(v, s) for v, s, on in card.items if on])]
        if not all(on for _, _, on in card.items):
            variants.append(("all ticked", [(v, s) for v, s, _ in card.items]))
        for name, items in variants:
            result = model.query(card_evidence(items))
            order = list(result.conditions.index)
            for cid in card.focus:
                rows.append({
                    "patient": card.title, "findings": name, "condition": cid, "rank": order.index(cid) + 1,
                    "explains": round(float(result.conditions.at[cid, "explains"]), 2),
                    "present": round(float(result.conditions.at[cid, "probability"]), 2),
                    "triage": result.triage.level,
                })
    return pd.DataFrame(rows)


def score_ranking(student: Sequence[str], network: Sequence[str]) -> tuple[bool, int]:
    """(student's first choice is the network's, number of positions that agree)."""
    return (bool(student) and bool(network) and student[0] == network[0],
            sum(a == b for a, b in zip(student, network, strict=False)))


class Quiz(widgets.VBox):
    """Rank the candidates, commit, then see the network's ranking and the triage."""

    def __init__(self, model: Model, cases: Sequence[QuizCase] = QUIZ_CASES):
        self.model = model
        self.cases = tuple(cases)
        self.index = 0
        self.story = widgets.HTML()
        self.picks = [widgets.Dropdown(description=f"{n}.", layout=widgets.Layout(width="420px"), style={"description_width": "30px"})
                      for n in ("1st", "2nd", "3rd", "4th", "5th", "6th")[: max(len(c.candidates) for c in self.cases)]]
        self.commit = widgets.Button(description="Commit my ranking", button_style="primary", layout=widgets.Layout(width="auto"))
        self.next_button = widgets.Button(description="Next case", layout=widgets.Layout(width="auto"))
        self.message = widgets.HTML()
        self.reveal = widgets.HTML()
        super().__init__(
            [widgets.HTML(render.STYLE), self.story, *self.picks, widgets.HBox([self.commit, self.next_button]), self.message, self.reveal],
            layout=widgets.Layout(max_width="900px"),
        )
        self.add_class("twitchbn")
        self.add_class("tb-panel")
        self.add_class("quiz")
        self.commit.on_click(guarded(self._error)(lambda _: self.submit()))
        self.next_button.on_click(guarded(self._error)(lambda _: self.show(self.index + 1)))
        self.show(0)

    def __repr__(self) -> str:
        return f"<twitchbn quiz: {len(self.cases)} cases; run the notebook to interact>"

    @property
    def case(self) -> QuizCase:
        return self.cases[self.index]

    def _error(self, text: str) -> None:
        self.message.value = render.message_html(text)

    def show(self, index: int) -> None:
        """Show case ``index`` (wrapping around) with the answer hidden."""
        self.index = index % len(self.cases)
        case = self.case
        kb = self.model.kb
        findings = "".join(f"<li>{render.esc(t)}</li>" for t in render.evidence_text(case.evidence, kb))
        self.story.value = (
            f'<div class="tb-heading">Case {self.index + 1} of {len(self.cases)}</div><div>{render.esc(case.story)}</div>'
            f'<div class="tb-note" style="margin-top:4px">Findings entered:</div><ul style="margin:2px 0">{findings}</ul>'
            '<div class="tb-note">Rank these conditions by how well they explain the twitching, then commit.</div>'
        )
        options = [("choose…", ""), *((kb.label(c), c) for c in case.candidates)]
        for n, pick in enumerate(self.picks):
            pick.options = options
            pick.value = ""
            pick.disabled = False
            pick.layout.display = None if n < len(case.candidates) else "none"
        self.commit.disabled = False
        self.message.value = ""
        self.reveal.value = ""

    def submit(self, ranking: Sequence[str] | None = None) -> tuple[bool, int]:
        """Commit a ranking (default: the dropdowns), reveal the network's and return the score."""
        case = self.case
        n = len(case.candidates)
        if ranking is not None:
            for pick, cid in zip(self.picks, ranking, strict=False):
                pick.value = cid
        chosen = [pick.value for pick in self.picks[:n]]
        if "" in chosen or len(set(chosen)) != n:
            raise TwitchbnError(f"rank all {n} conditions, each once, before committing")
        result = self.model.query(case.evidence)
        network = [cid for cid in result.conditions.index if cid in case.candidates]
        first, agree = score_ranking(chosen, network)
        for pick in self.picks:
            pick.disabled = True
        self.commit.disabled = True
        kb = self.model.kb
        rows = "".join(
            f'<tr data-condition="{render.esc(cid)}"><td class="tb-num">{i}</td><td>{render.esc(kb.label(chosen[i - 1]))}</td>'
            f'<td>{render.esc(kb.label(cid))}</td>'
            f'<td class="tb-num">{render.percent(float(result.conditions.at[cid, "explains"]))}</td></tr>'
            for i, cid in enumerate(network, start=1)
        )
        verdict = "Your first choice matches the network's." if first else "The network put a different condition first."
        self.reveal.value = (
            f'<div class="quiz-reveal" data-top="{render.esc(network[0])}"><div class="tb-heading">{verdict} '
            f'{agree} of {n} positions agree.</div><table class="tb-table"><tr><th class="tb-num">#</th><th>You</th>'
            f'<th>Network</th><th class="tb-num">Explains</th></tr>{rows}</table>{render.triage_html(result.triage)}'
            '<div class="tb-note">Try the same findings in the explorer to see why.</div></div>'
        )
        self.message.value = ""
        return first, agree
