"""The teaching kit: packs of YAML lessons and cases, their faults, the model's agreement, the quiz, class CSVs, handouts."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_cli
from twitchbn.evaluation import grade
from twitchbn.teaching.handout import handout_html
from twitchbn.teaching.pack import PackError, agreement, check_claims, claims_table, default_pack_path, load_pack
from twitchbn.teaching.quiz import COLUMNS, Answer, answers_csv, class_summary, read_answers, record, score_answer
from twitchbn.ui.render import evidence_key
from twitchbn.ui.teaching import UNKNOWN, Lessons, LessonView, Quiz, finding_options

SHIPPED = default_pack_path()
ITEMS = sorted(p.relative_to(SHIPPED).as_posix() for p in SHIPPED.rglob("*.yaml"))


@pytest.fixture(scope="module")
def pack(model):
    return load_pack(None, model)


def text(markup: str) -> str:
    """What a person reads in some HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def lesson_yaml(**changes) -> dict:
    """The shipped explaining-away lesson as plain YAML data, with changes."""
    raw = yaml.safe_load((SHIPPED / "lessons" / "01_explaining_away.yaml").read_text(encoding="utf-8"))
    return {**raw, **changes}


def write_pack(root: Path, files: dict[str, object]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (root / name).write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return root


def faults(root: Path, model) -> list[str]:
    with pytest.raises(PackError) as caught:
        load_pack(root, model)
    return caught.value.faults


# -- the shipped pack --------------------------------------------------------------------------
def test_shipped_pack_has_enough_lessons_and_cases_covering_the_topics(pack):
    assert len(pack.lessons) >= 8 and len(pack.cases) >= 20
    assert {"explaining_away", "red_flags", "base_rates", "cant_miss", "no_findings"} <= {lesson.id for lesson in pack.lessons}
    assert len(pack.items) == len(ITEMS)


@pytest.mark.parametrize("name", ITEMS)
def test_every_shipped_item_agrees_with_the_model_or_says_why_not(pack, model, name):
    item = next(i for i in pack.items if i.file == name)
    check = agreement(item, model)
    assert check.ok, check.line()
    if item.disagreement is None:
        assert not grade(model, item.as_case()).problems()


@pytest.mark.parametrize("name", [n for n in ITEMS if n.startswith("lessons/")])
def test_every_lesson_claim_holds_on_the_current_model(pack, model, name):
    lesson = next(i for i in pack.lessons if i.file == name)
    checks = check_claims(lesson, model)
    assert checks and all(c.holds for c in checks), [(c.claim.says, c.before, c.after) for c in checks if not c.holds]


def test_explaining_away_shows_on_raw_posteriors(pack, model):
    lesson = pack.lesson("explaining_away")
    told, everything = model.query(lesson.evidence(1)).conditions, model.query(lesson.evidence()).conditions
    assert told.index[0] == "caffeine_excess" and everything.index[0] == "als"
    assert everything.at["caffeine_excess", "explains"] < told.at["caffeine_excess", "explains"] / 2
    assert abs(everything.at["caffeine_excess", "probability"] - told.at["caffeine_excess", "probability"]) < 0.05


def test_a_no_finding_is_entered_and_lowers_the_disease(pack, model):
    lesson = pack.lesson("no_findings")
    assert "no" in lesson.steps[1].reveal.values()
    before, after = model.query(lesson.evidence(1)), model.query(lesson.evidence(2))
    assert after.conditions.at["als", "explains"] < before.conditions.at["als", "explains"] / 2
    assert "als" in before.dont_miss and "als" not in after.dont_miss


def test_claims_table_lists_every_claim(pack, model):
    table = claims_table(pack, model)
    assert len(table) == sum(len(lesson.claims) for lesson in pack.lessons)
    assert table["holds"].all()


# -- an educator's own pack ----------------------------------------------------------------------
def test_an_educator_adds_a_lesson_with_one_yaml_file(tmp_path, model):
    root = tmp_path / "pack"
    shutil.copytree(SHIPPED, root)
    write_pack(root, {"my_lesson.yaml": """
kind: lesson
id: my_eyelid
title: "A tired eyelid"
story: "A student sleeps five hours a night."
steps:
  - reveal: {twitch_eyelid: yes}
  - reveal: {sleep_hours: under_7, muscle_weakness: no}
question: "What explains it?"
conditions: [sleep_deprivation]
expected: {first: [sleep_deprivation], triage: self_care}
teaching_point: "Short sleep is a common cause of eyelid twitching."
sources: ["clinical convention"]
claims:
  - {says: "Short sleep explains more once it is known.", measure: explains, condition: sleep_deprivation, change: rises}
"""})
    pack = load_pack(root, model)
    lesson = pack.lesson("my_eyelid")
    assert lesson.evidence() == {"twitch_eyelid": "yes", "sleep_hours": "under_7", "muscle_weakness": "no"}  # bare yes/no read as states
    assert agreement(lesson, model).status == "agrees"
    view = LessonView(model, lesson)
    view.reveal_button.click()
    assert view.result.evidence == lesson.evidence() and "Teaching point" in view.point.value


def test_every_fault_is_one_line_naming_file_item_and_field(tmp_path, model):
    bad_state = lesson_yaml(id="a", steps=[{"reveal": {"muscle_weaknes": "yes", "caffeine_intake": "lots"}}])
    bad_answer = lesson_yaml(id="b", expected={"first": ["alss"], "triage": "soon"}, colour="red")
    bad_claim = lesson_yaml(id="c", claims=[{"says": "x", "measure": "rank", "condition": "als", "change": "halves", "from_step": 3,
                                                "to_step": 2}])
    case = yaml.safe_load((SHIPPED / "cases" / "q01_night_owl.yaml").read_text(encoding="utf-8"))
    bad_case = {**case, "id": "d", "expected": {**case["expected"], "must_not_miss": ["lupus"]}}
    root = write_pack(tmp_path / "bad", {"a.yaml": bad_state, "b.yaml": bad_answer, "c.yaml": bad_claim, "d.yaml": bad_case,
                                         "e.yaml": "kind: case\nid: [oops\n", "f.yaml": lesson_yaml(id="a")})
    found = faults(root, model)
    assert all("\n" not in f for f in found)
    expected = [
        "a.yaml: lesson 'a': steps[0].reveal key must be a finding, exposure or condition id of the model (closest: muscle_weakness",
        "a.yaml: lesson 'a': steps[0].reveal.caffeine_intake must be one of none, moderate, high; got 'lots'",
        "b.yaml: lesson 'b': unknown key 'colour'; valid keys: kind, id, title",
        "b.yaml: lesson 'b': expected.triage must be one of self_care, see_doctor, urgent; got 'soon'",
        "c.yaml: lesson 'c': claims[0].from_step, to_step must satisfy 1 <= from_step < to_step <= 4",
        "c.yaml: lesson 'c': claims[0].change must be rises, falls or holds for measure rank; got halves",
        "d.yaml: case 'd': expected.must_not_miss must be among the conditions the student ranks; got lupus",
        "e.yaml: cannot be read as YAML",
        "f.yaml: lesson 'a': id must be unique in the pack; got 'a', also used by a.yaml",
    ]
    for start in expected:
        assert any(f.startswith(start) for f in found), (start, found)
    bad_answer_ids = lesson_yaml(id="g", expected={"first": ["alss"], "triage": "urgent"})
    found = faults(write_pack(tmp_path / "ids", {"g.yaml": bad_answer_ids}), model)
    assert found == ["g.yaml: lesson 'g': expected.first must list condition ids (closest: als); got 'alss'"]


def test_an_empty_or_missing_folder_is_refused(tmp_path, model):
    [fault] = faults(tmp_path, model)
    assert fault.endswith(f"{tmp_path.name}: holds no .yaml lesson or case files")
    assert faults(tmp_path / "nope", model)[0].endswith("a teaching pack must be a folder of .yaml files")


# -- scoring and the class -----------------------------------------------------------------------
def test_scoring_marks_first_choice_advice_and_exact_flags(pack):
    case = next(c for c in pack.cases if c.expected.must_not_miss)
    first = case.expected.first[0]
    ranking = (first, *(c for c in case.conditions if c != first))
    right = score_answer(case, Answer(ranking, case.expected.triage, case.expected.must_not_miss))
    assert right.marks == {"first": True, "triage": True, "must_not_miss": True} and right.score == right.out_of == 3
    extra = tuple(case.conditions)
    wrong = score_answer(case, Answer(tuple(reversed(ranking)), "self_care", extra))
    assert wrong.marks["first"] is (ranking[-1] in case.expected.first)
    assert not wrong.marks["must_not_miss"] and wrong.under_call is (case.expected.triage != "self_care")
    with pytest.raises(ValueError, match=f"rank all {len(case.conditions)} conditions, each once"):
        score_answer(case, Answer(ranking[:1], "self_care"))


def test_answers_csv_opens_in_pandas_and_merges_into_a_class_summary(pack, model):
    case_a, case_b = pack.cases[0], pack.cases[1]
    wrong_first = next(c for c in case_b.conditions if c not in case_b.expected.first)
    rows_a = [record("Ann", case_a, Answer(case_a.conditions, case_a.expected.triage, case_a.expected.must_not_miss), 12.5),
              record("Ann", case_b, Answer((wrong_first, *(c for c in case_b.conditions if c != wrong_first)), "self_care"), 20.0)]
    rows_b = [record("Bo", case_b, Answer((case_b.expected.first[0], *(c for c in case_b.conditions if c != case_b.expected.first[0])),
                                          case_b.expected.triage, case_b.expected.must_not_miss), 31.0)]
    frame = pd.read_csv(io.StringIO(answers_csv(rows_a)))
    assert tuple(frame.columns) == COLUMNS and list(frame["seconds"]) == [12.5, 20.0]
    summary = class_summary([frame, pd.read_csv(io.StringIO(answers_csv(rows_b)))], pack.cases, model)
    assert summary.cases.at[case_b.id, "students"] == 2 and summary.cases.at[case_b.id, "first_right"] == 0.5
    assert summary.cases.index[0] == case_b.id  # worst first
    assert summary.findings["times"].sum() == 1 and summary.findings.at[0, "cases"] == case_b.id
    assert read_answers([frame])["first"].dtype == bool


def test_a_file_without_the_quiz_columns_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"answers file 'x\.csv' must have the quiz's columns; missing student"):
        read_answers([path])


# -- widgets --------------------------------------------------------------------------------------
def test_lesson_reveals_step_by_step_and_no_can_be_entered(pack, model):
    lesson = pack.lesson("explaining_away")
    view = LessonView(model, lesson)
    assert view.result.evidence == lesson.evidence(1) and view.point.value == ""
    assert [v for _, v in finding_options(model, "muscle_weakness")] == ["yes", "no", UNKNOWN]
    view.reveal_button.click()
    assert view.result.evidence == lesson.evidence(2)
    view.toggles["muscle_weakness"].value = "no"
    assert view.result.evidence == {**lesson.evidence(2), "muscle_weakness": "no"}
    assert f'data-evidence="{html.escape(evidence_key(view.result.evidence))}"' in view.focus.value
    while not view.reveal_button.disabled:
        view.reveal_button.click()
    assert "Teaching point" in view.point.value and view.point.value.count('data-holds="true"') == len(lesson.claims)
    view.toggles["twitch_arm"].value = UNKNOWN
    assert "twitch_arm" not in view.result.evidence
    view.restart.click()
    assert view.result.evidence == lesson.evidence(1) and view.step == 1


def test_lessons_menu_opens_each_lesson(pack, model):
    menu = Lessons(model, pack)
    menu.menu.value = pack.lessons[-1].id
    assert menu.view.lesson is pack.lessons[-1] and menu.children[1] is menu.view


def test_quiz_round_checks_before_next_scores_and_ends_without_wrapping(pack, model):
    ticks = iter([0.0, 42.0, 100.0, 107.5])
    cases = pack.cases[:2]
    quiz = Quiz(model, cases, explorer_url="http://example.test/", clock=lambda: next(ticks))
    assert quiz.next_button.disabled and quiz.reveal.value == ""
    quiz.next_button.click()
    assert quiz.index == 0
    quiz.check_button.click()
    assert "type your name first" in text(quiz.message.value) and quiz.reveal.value == ""
    quiz.name.value = "Ann Lee"
    quiz.picks[0].value = cases[0].conditions[0]
    quiz.check_button.click()
    assert f"rank all {len(cases[0].conditions)} conditions" in text(quiz.message.value) and quiz.next_button.disabled
    quiz.fill(Answer(cases[0].conditions, cases[0].expected.triage, cases[0].expected.must_not_miss))
    row = quiz.check()
    assert row.seconds == 42.0 and not quiz.next_button.disabled and quiz.check_button.disabled
    evidence = cases[0].evidence()
    top = next(c for c in model.query(evidence).conditions.index if c in cases[0].conditions)
    assert f'data-top="{top}"' in quiz.reveal.value
    assert f'href="http://example.test/?{html.escape(evidence_key(evidence))}"' in quiz.reveal.value
    assert "What each finding did" in quiz.reveal.value and "bits" in quiz.reveal.value and "Teaching point" in quiz.reveal.value
    assert f'data-score="{row.score}" data-out-of="3"' in quiz.score.value
    quiz.next_button.click()
    assert quiz.index == 1 and quiz.reveal.value == "" and quiz.next_button.disabled
    quiz.fill(Answer(tuple(reversed(cases[1].conditions)), "urgent", ()))
    last = quiz.check()
    assert quiz.finished and quiz.next_button.disabled and last.seconds == 7.5
    assert "Round over." in quiz.score.value and f'data-score="{row.score + last.score}" data-out-of="6"' in quiz.score.value
    quiz.next_button.click()  # disabled in the page; a click from Python is refused, never wraps
    assert quiz.index == 1 and "the round is over" in text(quiz.message.value)
    href = re.search(r'download="([^"]+)" href="data:text/csv;base64,([^"]+)"', quiz.download.value)
    assert href.group(1) == "twitchbn-answers-ann-lee.csv"
    frame = pd.read_csv(io.StringIO(base64.b64decode(href.group(2)).decode("utf-8")))
    assert list(frame["case"]) == [c.id for c in cases] and list(frame["student"]) == ["Ann Lee", "Ann Lee"]


# -- handout and CLI ------------------------------------------------------------------------------
def test_handout_has_one_print_page_per_item_and_is_deterministic(pack, model):
    page = handout_html(pack, model)
    assert page == handout_html(pack, model)
    assert page.count('<section class="page"') == len(pack.items) and "@media print" in page and "page-break-after: always" in page
    case = pack.cases[0]
    top = model.query(case.evidence()).conditions.iloc[0]["label"]
    section = page.split(f'data-id="{case.id}"')[1].split("</section>")[0]
    assert html.escape(top) in section and html.escape(case.teaching_point) in section


def test_cli_cases_check_reports_each_item_and_refuses_a_broken_pack(tmp_path, pack):
    done = run_cli("cases", "check")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == len(pack.items) + 1 and all(": agrees with the model" in line or "as intended" in line for line in lines[:-1])
    document = json.loads(run_cli("cases", "check", "--json").stdout)
    assert set(document) == {i.id for i in pack.items} and {d["status"] for d in document.values()} <= {"agrees", "intended"}
    root = write_pack(tmp_path / "bad", {"a.yaml": lesson_yaml(id="a", expected={"first": ["alss"], "triage": "soon"})})
    broken = run_cli("cases", "check", root)
    assert broken.returncode == 2 and broken.stdout == "" and "Traceback" not in broken.stderr
    assert broken.stderr.splitlines() == [
        "twitchbn: error: a.yaml: lesson 'a': expected.triage must be one of self_care, see_doctor, urgent; got 'soon'"]
    disagree = write_pack(tmp_path / "dis", {"a.yaml": lesson_yaml(id="a", expected={"first": ["caffeine_excess"], "triage": "urgent"})})
    done = run_cli("cases", "check", disagree)
    assert done.returncode == 1 and "DISAGREES with the model: first is als, expected one of ['caffeine_excess']" in done.stdout
    out = tmp_path / "handout.html"
    assert run_cli("cases", "handout", "-o", out).returncode == 0
    assert out.read_text(encoding="utf-8").count('class="page"') == len(pack.items)
