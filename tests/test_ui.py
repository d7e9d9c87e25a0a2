"""The notebook widgets, driven from Python: set .value / click, then read what the outputs hold."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

import twitchbn
from twitchbn import uncertainty
from twitchbn.errors import TwitchbnError
from twitchbn.ui import render
from twitchbn.ui.explorer import GROUPS, Explorer, finding_groups
from twitchbn.ui.kb_browser import KnowledgeBrowser, filter_table, number_table
from twitchbn.ui.panels import MODIFIABLE
from twitchbn.ui.state import ExplorerState, evidence_from_query, reasoning, save_scenario, scenario_path
from twitchbn.ui.teaching import LESSONS, QUIZ_CASES, CaseCard, LessonView, Quiz, card_evidence, lesson_summary, score_ranking


def rows(markup: str) -> list[str]:
    """Condition ids of the differential rows, in displayed order."""
    return re.findall(r'class="differential-row[^"]*" data-condition="([^"]+)"', markup)


def text(markup: str) -> str:
    """What a person reads in some HTML: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def level(markup: str) -> str:
    """The triage level a banner shows."""
    match = re.search(r'class="triage-banner[^"]*" data-level="([^"]+)"', markup)
    assert match, markup
    return match.group(1)


NOW = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def explorer(tiny, tmp_path) -> Explorer:
    return Explorer(tiny, scenario_dir=tmp_path / "scenarios")


# -- explorer: evidence panel ------------------------------------------------------------------
def test_every_observable_finding_has_one_control_grouped_as_a_clinician_asks(tiny, explorer):
    observable = {f.id for f in tiny.kb.findings} | {x.id for x in tiny.kb.exposures}
    assert set(explorer.controls) == observable
    titles = [title for title, _ in finding_groups(tiny)]
    assert titles == [title for _, title in GROUPS]
    assert [fid for fid, _, _ in dict(finding_groups(tiny))["Where it twitches"]] == ["twitch_eyelid", "twitch_calf"]


def test_controls_start_unknown_show_labels_and_set_vocabulary_states(tiny, explorer):
    control = explorer.controls["sleep_hours"]
    assert control.value == ""
    assert control.label == "unknown"
    assert control.description == "Sleep per night"
    assert control.options == (("unknown", ""), ("7 or more", "7_or_more"), ("under 7", "under_7"))
    control.value = "under_7"
    assert explorer.state.evidence == {"sleep_hours": "under_7"}


def test_setting_controls_updates_differential_and_triage_like_the_python_api(tiny, explorer):
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["muscle_weakness"].value = "yes"
    expected = tiny.query({"twitch_calf": "yes", "muscle_weakness": "yes"})
    assert rows(explorer.differential.value) == list(expected.conditions.index)
    assert f'data-top="{expected.top}"' in explorer.summary.value
    assert level(explorer.triage.value) == expected.triage.level == "see_doctor"
    for reason in expected.triage.reasons:
        assert render.esc(reason) in explorer.triage.value


def test_a_red_flag_turns_the_banner_urgent(explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    assert level(explorer.triage.value) == "self_care"
    explorer.controls["breathing_difficulty"].value = "yes"
    assert level(explorer.triage.value) == "urgent"
    assert "Triage: <span class=\"triage-level\">URGENT</span>" in explorer.triage.value


def test_an_empty_page_shows_no_verdict_until_a_finding_is_set(explorer):
    assert level(explorer.triage.value) == "none" and "NO VERDICT YET" in explorer.triage.value
    explorer.controls["twitch_eyelid"].value = "yes"
    assert level(explorer.triage.value) == "self_care"


def test_the_must_not_miss_panel_sits_beside_the_ranking_and_shows_the_api_list(model, tmp_path):
    view = Explorer(model, scenario_dir=tmp_path / "scenarios")
    assert 'data-dont-miss=""' in view.dont_miss.value and "No serious condition" in view.dont_miss.value
    evidence = {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes"}
    for fid, state in evidence.items():
        view.controls[fid].value = state
    expected = model.query(evidence)
    assert expected.dont_miss
    assert f'data-dont-miss="{" ".join(expected.dont_miss)}"' in view.dont_miss.value
    assert level(view.triage.value) == expected.triage.level
    for cid in expected.dont_miss:
        assert render.esc(expected.conditions.at[cid, "label"]) in view.dont_miss.value


def test_differential_shows_top_rows_until_show_all_is_ticked(tiny, explorer):
    explorer.top = 2
    explorer.controls["twitch_eyelid"].value = "yes"
    assert len(rows(explorer.differential.value)) == 2
    explorer.show_all.value = True
    assert len(rows(explorer.differential.value)) == len(tiny.kb.conditions)


def test_differential_rows_carry_explains_probability_and_prior(tiny):
    frame = tiny.query({"twitch_eyelid": "yes"}).conditions
    html = render.differential_html(frame, top=None)
    cid = frame.index[0]
    row = re.search(rf'data-condition="{cid}".*?</tr>', html).group(0)
    assert render.percent(frame.at[cid, "explains"]) in row
    assert render.percent(frame.at[cid, "probability"]) in row
    assert f"left:calc({100 * frame.at[cid, 'prior']:.1f}% - 1px)" in row


def test_percent_keeps_certainties_apart_from_rounding():
    assert [render.percent(p) for p in (0.0, 0.001, 0.5, 0.999, 1.0)] == ["0%", "<1%", "50%", ">99%", "100%"]


def test_reset_puts_every_control_back_to_unknown(explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["caffeine_intake"].value = "high"
    explorer.reset_button.click()
    assert explorer.state.evidence == {}
    assert all(control.value == "" for control in explorer.controls.values())
    assert "back to unknown" in text(explorer.message.value)


def test_variables_without_a_control_are_listed_in_the_panel(tiny, explorer):
    explorer.state.replace({"als": "present", "twitch_calf": "yes"})
    assert "Also in this scenario: ALS: present" in explorer.extra.value
    assert explorer.controls["twitch_calf"].value == "yes"


# -- explorer: errors land in the page ---------------------------------------------------------
def test_a_failing_callback_shows_one_line_and_keeps_the_last_good_state(explorer, monkeypatch):
    explorer.controls["twitch_eyelid"].value = "yes"

    def broken(evidence):
        raise RuntimeError("engine on fire")

    monkeypatch.setattr(explorer.model, "query", broken)
    explorer.controls["twitch_calf"].value = "yes"
    assert "unexpected error (RuntimeError): engine on fire" in text(explorer.message.value)
    assert "Traceback" not in text(explorer.message.value)
    assert explorer.state.evidence == {"twitch_eyelid": "yes"}
    assert explorer.controls["twitch_calf"].value == ""


def test_starting_evidence_the_model_refuses_is_a_message_not_a_traceback(tiny, tmp_path):
    explorer = Explorer(tiny, evidence={"twitch_eyelid": "maybe"}, scenario_dir=tmp_path)
    assert "state 'maybe' of twitch_eyelid is not valid; valid states: no, yes" in text(explorer.message.value)
    assert explorer.state.evidence == {}


def test_page_query_string_sets_the_starting_evidence(tiny, tmp_path):
    evidence = evidence_from_query("?twitch_eyelid=yes&sleep_hours=under_7")
    assert evidence == {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    explorer = Explorer(tiny, evidence=evidence, scenario_dir=tmp_path)
    assert explorer.controls["sleep_hours"].value == "under_7"
    assert rows(explorer.differential.value)[0] == tiny.query(evidence).top


# -- explorer: save, load, compare -------------------------------------------------------------
def test_save_writes_the_contract_result_document(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.name.value = "eyelid case"
    explorer.save_button.click()
    path = explorer.scenario_dir / "eyelid case.json"
    assert json.loads(path.read_text()) == tiny.query({"twitch_eyelid": "yes"}).to_dict()
    assert explorer.saved.value == "eyelid case"
    assert "Saved scenario 'eyelid case'" in text(explorer.message.value)
    assert sorted(p.name for p in explorer.scenario_dir.iterdir()) == ["eyelid case.json"]


def test_save_without_a_name_or_with_a_path_is_refused(explorer):
    explorer.save_button.click()
    assert "type a name for the scenario before saving" in text(explorer.message.value)
    explorer.name.value = "../escape"
    explorer.save_button.click()
    assert "must be 1-60 letters, digits" in text(explorer.message.value)
    assert not explorer.scenario_dir.exists()


def test_a_crash_while_saving_leaves_the_old_file_whole_and_no_temporary_file(tiny, tmp_path, monkeypatch):
    target = tmp_path / "case.json"
    save_scenario(target, tiny.query({"twitch_eyelid": "yes"}))
    before = target.read_text()

    def crash(src, dst):
        raise OSError("disk unplugged")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TwitchbnError, match=r"cannot write '.*case\.json': disk unplugged"):
        save_scenario(target, tiny.query({"twitch_calf": "yes"}))
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["case.json"]


def test_load_restores_a_saved_scenario_into_the_controls(explorer):
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["problem_duration"].value = "over_1_month"
    explorer.save("calf")
    explorer.reset_button.click()
    explorer.saved.value = "calf"
    explorer.load_button.click()
    assert explorer.state.evidence == {"twitch_calf": "yes", "problem_duration": "over_1_month"}
    assert explorer.controls["problem_duration"].value == "over_1_month"
    assert "Loaded scenario 'calf'" in text(explorer.message.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "scenario 'bad.json' must be valid JSON; line 1: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "scenario 'bad.json' must hold a JSON object of variable to state; got an array"),
        ('{"twitch_eyelid": "maybe"}', "scenario 'bad.json': state 'maybe' of twitch_eyelid is not valid; valid states: no, yes"),
        ('{"evidence": {"twitch_eyelidd": "yes"}}',
         "scenario 'bad.json': unknown variable 'twitch_eyelidd'; closest valid ids: twitch_eyelid"),
        ('{"als": "absent", "cause_als": "yes"}', "scenario 'bad.json': evidence is impossible under the model"),
    ],
)
def test_loading_a_bad_file_shows_a_clear_message_and_changes_nothing(explorer, content, message):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.scenario_dir.mkdir()
    (explorer.scenario_dir / "bad.json").write_text(content)
    explorer.refresh_saved("bad")
    explorer.load_button.click()
    shown = text(explorer.message.value)
    assert message in shown
    assert "Traceback" not in shown and shown.count("\n") == 0
    assert explorer.state.evidence == {"twitch_eyelid": "yes"}


def test_load_with_nothing_saved_says_so(explorer):
    explorer.load_button.click()
    assert "no saved scenario to choose yet" in text(explorer.message.value)


def test_uploading_a_scenario_file_loads_it_and_a_bad_one_is_refused(explorer):
    good = json.dumps({"evidence": {"twitch_calf": "yes"}}).encode()
    explorer.upload.value = ({"name": "mine.json", "type": "application/json", "size": len(good), "content": memoryview(good),
                              "last_modified": NOW},)
    assert explorer.state.evidence == {"twitch_calf": "yes"}
    bad = b"\x80{}"
    explorer.upload.value = ({"name": "x.json", "type": "", "size": 3, "content": memoryview(bad), "last_modified": NOW},)
    assert "file 'x.json' must be UTF-8 text; got byte 0x80 at position 0" in text(explorer.message.value)
    assert explorer.state.evidence == {"twitch_calf": "yes"}


def test_compare_shows_the_current_and_a_saved_scenario_side_by_side(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.save("eyelid")
    explorer.controls["twitch_eyelid"].value = ""
    explorer.controls["muscle_weakness"].value = "yes"
    explorer.compare_button.click()
    assert explorer.compare_box.layout.display == "flex"
    html = explorer.compare_view.value
    columns = html.split('class="compare-column"')[1:]
    assert len(columns) == 2
    assert "Current" in columns[0] and "Saved: eyelid" in columns[1]
    mine, theirs = tiny.query({"muscle_weakness": "yes"}), tiny.query({"twitch_eyelid": "yes"})
    assert f'data-condition="{mine.top}"' in columns[0] and f'data-level="{mine.triage.level}"' in columns[0]
    assert f'data-condition="{theirs.top}"' in columns[1] and f'data-level="{theirs.triage.level}"' in columns[1]
    if reasoning() is not None and hasattr(reasoning(), "compare"):
        moved = reasoning().compare(tiny, {"muscle_weakness": "yes"}, {"twitch_eyelid": "yes"}).index[0]
        assert re.search(rf'class="tb-table compare-changes">.*?data-condition="{moved}"', html)
    explorer.close_compare.click()
    assert explorer.compare_box.layout.display == "none"


# -- explorer: why and next questions ----------------------------------------------------------
def test_why_and_next_panels_say_not_available_when_reasoning_is_missing(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "twitchbn.reasoning", None)  # import now raises ImportError
    explorer = Explorer(tiny, evidence={"twitch_eyelid": "yes"}, scenario_dir=tmp_path)
    assert "not available yet" in explorer.why.value
    assert "not available yet" in explorer.next.value
    explorer.explanation.show.value = True
    assert "not available yet" in explorer.explanation.view.value
    assert "not available yet" in explorer.what_if.view.value
    assert explorer.message.value == ""


def test_why_panel_shows_the_reasoning_for_the_top_conditions(tiny, explorer):
    reasoning = pytest.importorskip("twitchbn.reasoning")
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    table = reasoning.why(tiny, explorer.state.evidence)
    shown = re.findall(r'<div data-condition="([^"]+)">', explorer.why.value)
    assert shown == list(dict.fromkeys(table["condition"]))
    explorer.why_choice.value = "als"
    assert re.findall(r'<div data-condition="([^"]+)">', explorer.why.value) == ["als"]


def test_next_panel_lists_the_most_informative_unknown_findings(tiny, explorer):
    reasoning = pytest.importorskip("twitchbn.reasoning")
    explorer.controls["twitch_eyelid"].value = "yes"
    expected = list(reasoning.next_questions(tiny, {"twitch_eyelid": "yes"}).index[:5])
    assert re.findall(r'data-finding="([^"]+)"', explorer.next.value) == expected
    explorer.serious.value = True
    serious = list(reasoning.next_questions(tiny, {"twitch_eyelid": "yes"}, serious=True).index[:5])
    assert re.findall(r'data-finding="([^"]+)"', explorer.next.value) == serious


# -- explorer: intervals, sensitivity, most probable explanation, what-if ----------------------
def attrs(markup: str, name: str) -> list[str]:
    """Values of one data-* attribute, in document order."""
    return re.findall(rf'data-{name}="([^"]*)"', markup)


def test_intervals_are_off_until_ticked_then_show_the_api_bounds_seed_and_draws(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    assert "tb-whisker" not in explorer.differential.value
    assert explorer.show_intervals.description == "Show 90% intervals (200 parameter draws)"
    explorer.show_intervals.value = True
    frame = uncertainty.posterior_intervals(tiny, {"twitch_eyelid": "yes"}, draws=200, seed=0)
    markup = explorer.differential.value
    assert markup.count('class="tb-whisker"') == 2 * len(tiny.kb.conditions)
    for cid, r in frame.iterrows():
        row = re.search(rf'<tr class="differential-row[^"]*" data-condition="{cid}".*?</tr>', markup).group(0)
        assert attrs(row, "explains-low") == [repr(float(r["explains_low"]))]
        assert attrs(row, "probability-high") == [repr(float(r["probability_high"]))]
        assert render.interval_text(r["explains_low"], r["explains_high"]) in text(row)
        assert render.interval_text(r["probability_low"], r["probability_high"]) in text(row)
    assert "central 90% intervals over 200 parameter draws (seed 0)" in text(markup)
    explorer.show_intervals.value = False
    assert "tb-whisker" not in explorer.differential.value and "seed 0" not in explorer.differential.value


def test_intervals_are_recomputed_on_evidence_change_only_while_ticked(tiny, explorer, monkeypatch):
    calls = []
    original = explorer.state.intervals
    monkeypatch.setattr(explorer.state, "intervals", lambda: calls.append(dict(explorer.state.evidence)) or original())
    explorer.controls["twitch_eyelid"].value = "yes"
    assert calls == []
    explorer.show_intervals.value = True
    explorer.controls["sleep_hours"].value = "under_7"
    assert calls == [{"twitch_eyelid": "yes"}, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}]
    top = uncertainty.posterior_intervals(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}).iloc[0]
    assert render.interval_text(top["explains_low"], top["explains_high"]) in text(explorer.differential.value)
    explorer.show_intervals.value = False
    explorer.controls["sleep_hours"].value = ""
    assert len(calls) == 2


def test_sensitivity_panel_is_collapsed_computes_on_demand_and_matches_the_api(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    assert explorer.sensitivity.selected_index is None
    assert explorer.sensitivity.get_title(0) == "Which hand-set numbers matter here?"
    assert "tornado-row" not in explorer.sensitivity.view.value
    explorer.sensitivity.selected_index = 0
    explorer.sensitivity.compute.click()
    expected = uncertainty.sensitivity(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, top=8)
    markup = explorer.sensitivity.view.value
    assert attrs(markup, "where") == list(expected["where"]) and attrs(markup, "state") == list(expected["state"])
    first = markup.split('class="tornado-row"')[1].split('class="tornado-row"')[0]
    top = expected.iloc[0]
    assert attrs(first, "swing") == [repr(float(top["swing"]))]
    low, high = (render.esc(render.percent(top[f"explains_{end}"])) for end in ("low", "high"))
    assert f'tornado-low">{low}</td><td class="tb-num tornado-high">{high}</td>' in first
    assert render.esc(top["why"]) in first and render.esc(top["source"]) in first
    assert attrs(markup, "condition") == [expected.attrs["condition"]]
    explorer.controls["sleep_hours"].value = ""
    assert "tornado-row" not in explorer.sensitivity.view.value
    assert "The findings changed: press Compute" in text(explorer.sensitivity.view.value)


def test_most_probable_explanation_line_lists_the_api_conditions_and_probability(tiny, explorer):
    reasoning = pytest.importorskip("twitchbn.reasoning")
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    assert explorer.explanation.view.value == ""
    explorer.explanation.show.value = True
    mpe = reasoning.most_probable_explanation(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    shown = text(explorer.explanation.view.value)
    labels = " + ".join(tiny.kb.label(c) for c in mpe.present)
    assert f"Jointly most likely: {labels} (probability {render.fine_percent(mpe.probability)};" in shown
    assert attrs(explorer.explanation.view.value, "present") == [",".join(mpe.present)] == ["sleep_deprivation"]
    assert "Not the top of the ranking" not in shown


def test_most_probable_explanation_says_when_it_is_not_the_top_of_the_ranking(tiny, explorer):
    reasoning = pytest.importorskip("twitchbn.reasoning")
    explorer.explanation.show.value = True
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["muscle_weakness"].value = "yes"
    mpe = reasoning.most_probable_explanation(tiny, {"twitch_calf": "yes", "muscle_weakness": "yes"})
    assert mpe.present == ("vitamin_d_deficiency",) and explorer.state.result.top == "als"
    shown = text(explorer.explanation.view.value)
    assert "Jointly most likely: Vitamin D deficiency" in shown
    assert "Not the top of the ranking (ALS): the ranking scores each condition on its own" in shown


def test_what_if_offers_the_modifiable_exposures_and_shows_the_api_new_top_and_triage(tiny, explorer):
    reasoning = pytest.importorskip("twitchbn.reasoning")
    assert [v for _, v in explorer.what_if.variable.options] == [v for v in MODIFIABLE if v in {"caffeine_intake", "sleep_hours"}]
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    explorer.what_if.variable.value = "sleep_hours"
    assert explorer.what_if.new_state.value == "7_or_more"  # the first state that differs from the answer given
    change = reasoning.what_if(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, {"sleep_hours": "7_or_more"})
    markup = explorer.what_if.view.value
    assert attrs(markup, "top-after") == [change.after.top] == ["caffeine_excess"]
    assert attrs(markup, "level-before") == [change.before.triage.level] and attrs(markup, "level-after") == [change.after.triage.level]
    assert re.findall(r'class="what-if-row" data-condition="([^"]+)"', markup) == list(change.after.conditions.index[:5])
    cid = change.after.top
    before, after = change.before.conditions.at[cid, "explains"], change.after.conditions.at[cid, "explains"]
    assert f"{render.percent(before)} → {render.percent(after)}" in text(markup)
    assert "The top changes from Not enough sleep to Too much caffeine." in text(markup)
    assert "do(sleep_hours = 7_or_more) equals conditioning on it" in text(markup)


def test_errors_in_the_new_panels_land_in_each_panel_as_one_line(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise TwitchbnError("engine out of order")

    for name in ("intervals", "sensitivity", "explanation", "what_if"):
        monkeypatch.setattr(explorer.state, name, broken)
    explorer.show_intervals.value = True
    explorer.explanation.show.value = True
    explorer.sensitivity.compute.click()
    explorer.controls["twitch_eyelid"].value = "yes"
    for view in (explorer.intervals_message, explorer.explanation.view, explorer.sensitivity.view, explorer.what_if.view):
        assert text(view.value) == "engine out of order"
    assert rows(explorer.differential.value)[0] == explorer.state.result.top
    assert "tb-whisker" not in explorer.differential.value
    assert explorer.message.value == "" and not explorer.sensitivity.compute.disabled


def test_state_module_imports_no_widget_library():
    code = "import sys, twitchbn.ui.state, twitchbn.ui.render; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_state_refuses_bad_evidence_without_changing(tiny):
    state = ExplorerState(tiny, {"twitch_eyelid": "yes"})
    with pytest.raises(twitchbn.EvidenceError):
        state.set("twitch_eyelid", "maybe")
    assert state.evidence == {"twitch_eyelid": "yes"}
    assert state.result.evidence == {"twitch_eyelid": "yes"}


def test_scenario_path_accepts_a_trailing_json_suffix(tmp_path):
    assert scenario_path(tmp_path, "case 1.json") == tmp_path / "case 1.json"


# -- teaching ----------------------------------------------------------------------------------
def test_every_lesson_and_quiz_case_uses_vocabulary_ids_and_states(model):
    conditions = {c.id for c in model.kb.conditions}
    for lesson in LESSONS.values():
        for card in lesson.cards:
            model.check_evidence(card_evidence([(v, s) for v, s, _ in card.items]))
            assert set(card.focus) <= conditions
    for case in QUIZ_CASES:
        model.check_evidence(case.evidence)
        assert set(case.candidates) <= conditions and len(set(case.candidates)) == len(case.candidates)


def test_ticking_a_finding_on_a_card_reruns_the_query(model):
    card = CaseCard(model, LESSONS["explaining_away"].cards[0])
    told = {"age_group": "older_adult", "caffeine_intake": "high", "twitch_arm": "yes", "twitch_hand": "yes"}
    assert card.result.evidence == told
    card.boxes[4].value = True  # muscle weakness
    expected = model.query({**told, "muscle_weakness": "yes"})
    assert rows(card.differential.value) == list(expected.conditions.index[:5])
    assert level(card.triage.value) == expected.triage.level
    assert re.findall(r'data-condition="([^"]+)"', card.focus.value) == ["caffeine_excess", "als"]


def test_later_ticked_items_win_for_the_same_variable():
    assert card_evidence([("problem_duration", "under_1_week"), ("problem_duration", "over_1_month")]) == {
        "problem_duration": "over_1_month"
    }


def test_lesson_view_puts_two_patients_side_by_side(model):
    view = LessonView(model, "calf")
    assert [card.card.title for card in view.cards] == ["Calf twitch after a race", "Calf twitch, numb foot, back strain"]
    assert all(card.message.value == "" for card in view.cards)


def test_lesson_summary_holds_the_query_numbers(model):
    table = lesson_summary(model, "explaining_away")
    assert list(table["findings"].unique()) == ["as told", "all ticked"]
    card = LESSONS["explaining_away"].cards[0]
    full = model.query(card_evidence([(v, s) for v, s, _ in card.items]))
    row = table[(table["findings"] == "all ticked") & (table["condition"] == "caffeine_excess")].iloc[0]
    assert row["explains"] == round(float(full.conditions.at["caffeine_excess", "explains"]), 2)
    assert row["triage"] == full.triage.level


def test_quiz_hides_the_answer_until_a_complete_ranking_is_committed(model):
    quiz = Quiz(model)
    case = quiz.case
    assert quiz.reveal.value == ""
    quiz.picks[0].value = case.candidates[0]
    quiz.commit.click()
    assert "rank all 4 conditions, each once, before committing" in text(quiz.message.value)
    assert quiz.reveal.value == ""
    first, agree = quiz.submit(list(case.candidates))
    network = [c for c in model.query(case.evidence).conditions.index if c in case.candidates]
    assert f'data-top="{network[0]}"' in quiz.reveal.value
    assert (first, agree) == score_ranking(list(case.candidates), network)
    assert quiz.commit.disabled and all(pick.disabled for pick in quiz.picks)


def test_quiz_next_case_hides_the_answer_again(model):
    quiz = Quiz(model)
    quiz.submit(list(quiz.case.candidates))
    quiz.next_button.click()
    assert quiz.index == 1 and quiz.reveal.value == "" and not quiz.commit.disabled
    assert all(pick.value == "" for pick in quiz.picks)


def test_score_ranking_counts_agreeing_positions():
    assert score_ranking(["a", "b", "c"], ["a", "c", "b"]) == (True, 1)
    assert score_ranking(["b", "a", "c"], ["a", "b", "c"]) == (False, 1)


# -- knowledge base browser --------------------------------------------------------------------
def test_number_table_lists_every_number_with_rationale_and_source(tiny):
    kb = tiny.kb
    table = number_table(kb)
    expected = (sum(len(x.states) for x in kb.exposures) + 2 * len(kb.conditions) + sum(len(c.risk_factors) for c in kb.conditions)
                + len(kb.findings) + sum(len(f.links) for f in kb.findings))
    assert len(table) == expected == 36
    assert table["why"].str.len().gt(0).all() and table["source"].str.len().gt(0).all()
    duration = table[(table["kind"] == "link") & (table["from_id"] == "als") & (table["to_id"] == "problem_duration")].iloc[0]
    assert duration["number"] == "under 1 week 0.05, 1 to 4 weeks 0.15, over 1 month 0.8"


def test_filters_keep_the_rows_that_touch_a_condition_and_a_finding(tiny):
    table = number_table(tiny.kb)
    als = filter_table(table, condition="als")
    assert set(als["kind"]) == {"condition baseline", "causes twitching", "link"} and len(als) == 6
    both = filter_table(table, condition="als", finding="muscle_weakness")
    assert list(zip(both["from_id"], both["to_id"], strict=True)) == [("als", "muscle_weakness")]


def test_browser_filter_redraws_picture_and_table(tiny):
    browser = KnowledgeBrowser(tiny.kb)
    assert "36 of 36 numbers" in browser.count.value
    browser.condition.value = "als"
    assert "6 of 36 numbers" in browser.count.value
    assert browser.rows.value.count('class="kb-row"') == 6
    assert 'stroke="#2563eb"' in browser.picture.value  # the ALS links are drawn strong
    browser.clear.click()
    assert "36 of 36 numbers" in browser.count.value


def test_sources_show_seed_titles_and_links_with_sentence_punctuation_outside():
    markup = render.source_html("000_0b4f9497a7fa5b7f.txt: a paraphrase; ALS review (Lancet 2017) https://doi.org/10.1016/S0140-6736(16)31946-X.")
    assert '<a href="https://doi.org/10.1016/S0140-6736(16)31946-X" target="_blank" rel="noopener">' in markup
    assert markup.endswith("</a>.") and "Seed article: muscle twitching" in markup
    assert render.source_html("clinical convention") == "clinical convention"


def test_the_knowledge_base_table_links_every_cited_number(model):
    from twitchbn.numbers import source_counts
    from twitchbn.ui.kb_browser import table_html

    markup = table_html(number_table(model.kb))
    assert markup.count('<a href="http') >= source_counts(model.kb.numbers())["cited"]
