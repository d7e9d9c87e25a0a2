"""The notebook widgets, driven from Python: set .value / click, then read what the outputs hold."""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest

import twitchbn
from twitchbn import uncertainty
from twitchbn.engine import Variant
from twitchbn.errors import TwitchbnError
from twitchbn.ui import render, render_sources
from twitchbn.ui.explorer import Explorer
from twitchbn.ui.findings_panel import GROUPS, finding_groups
from twitchbn.ui.kb_browser import KnowledgeBrowser, filter_table, number_table
from twitchbn.ui.panels import MODIFIABLE, Runner
from twitchbn.ui.state import ExplorerState, evidence_from_query


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


def upload(widget, content: bytes | str, name: str = "mine.json") -> None:
    """What the browser sends when a visitor picks a file in a FileUpload."""
    data = content.encode() if isinstance(content, str) else content
    widget.value = ({"name": name, "type": "application/json", "size": len(data), "content": memoryview(data), "last_modified": NOW},)


def hidden(widget) -> bool:
    """The page hides the widget (by its CSS class)."""
    return "tb-hidden" in widget._dom_classes


def downloaded(markup: str) -> tuple[str, str]:
    """(file name, text) that a download link of the page saves."""
    match = re.search(r'download="([^"]+)" href="data:[^;]+;charset=utf-8;base64,([^"]+)"', markup)
    assert match, markup
    return match.group(1), base64.b64decode(match.group(2)).decode("utf-8")


@pytest.fixture
def explorer(tiny) -> Explorer:
    view = Explorer(tiny)
    yield view
    view.wait()


# -- explorer: evidence panel ------------------------------------------------------------------
def test_every_observable_finding_has_one_control_grouped_as_a_clinician_asks(tiny, explorer):
    observable = {f.id for f in tiny.kb.findings} | {x.id for x in tiny.kb.exposures}
    assert set(explorer.controls) == observable
    titles = [title for title, _ in finding_groups(tiny)]
    assert titles == [title for key, title in GROUPS if key != "test"]  # the tiny network has no tests: no empty group
    assert [fid for fid, _, _ in dict(finding_groups(tiny))["Where it twitches"]] == ["twitch_eyelid", "twitch_calf"]


def test_test_results_are_a_group_of_their_own_after_the_symptoms(model):
    groups = dict(finding_groups(model))
    assert list(groups)[-1] == "Test and examination results"
    assert {fid for fid, _, _ in groups["Test and examination results"]} == {t.id for t in model.kb.tests}


def test_controls_start_unknown_show_labels_and_set_vocabulary_states(tiny, explorer):
    control = explorer.controls["sleep_hours"]
    assert control.value == ""
    assert control.label == "unknown"
    assert control.description == "Sleep per night"
    assert control.options == (("unknown", ""), ("7 or more", "7_or_more"), ("under 7", "under_7"))
    control.value = "under_7"
    assert explorer.state.evidence == {"sleep_hours": "under_7"}


def test_the_search_box_shows_only_matching_questions_and_their_groups(tiny, explorer):
    explorer.search.value = "sleep"
    shown = [fid for fid, control in explorer.controls.items() if not hidden(control)]
    assert shown == [fid for fid in explorer.controls if "sleep" in tiny.kb.label(fid).lower()] == ["sleep_hours"]
    assert [hidden(section) for section, fids in explorer.sections] == ["sleep_hours" not in fids for _, fids in explorer.sections]
    explorer.search.value = "zzz"
    assert "No question matches “zzz”" in text(explorer.no_match.value)
    explorer.search.value = ""
    assert not any(hidden(control) for control in explorer.controls.values()) and explorer.no_match.value == ""


def test_setting_controls_updates_differential_and_triage_like_the_python_api(tiny, explorer):
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["muscle_weakness"].value = "yes"
    expected = tiny.query({"twitch_calf": "yes", "muscle_weakness": "yes"})
    assert rows(explorer.differential.value) == list(expected.conditions.index)
    assert f'data-top="{expected.top}"' in explorer.summary.value
    assert level(explorer.triage.value) == expected.triage.level == "see_doctor"
    for reason in expected.triage.reasons:
        assert render.esc(reason) in explorer.triage.value


def test_results_are_announced_to_screen_readers(explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    assert re.search(r'class="differential-summary"[^>]*role="status" aria-live="polite"', explorer.summary.value)


def test_the_entered_findings_are_listed_by_label_next_to_the_results_and_each_removes_its_finding(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    shown = {fid: chip.description for fid, chip in explorer.chips.items() if not hidden(chip)}
    assert shown == {"twitch_eyelid": "✕ Eyelid twitch: yes", "sleep_hours": "✕ Sleep per night: under 7"}
    assert list(explorer.entered.children) == [explorer.chips[f] for f in explorer.controls if f in shown]  # in the questions' order
    explorer.chips["sleep_hours"].click()
    assert explorer.state.evidence == {"twitch_eyelid": "yes"}
    assert explorer.controls["sleep_hours"].value == "" and hidden(explorer.chips["sleep_hours"])


def test_the_busy_state_is_on_while_the_query_runs_and_off_once_results_are_drawn(tiny, explorer, monkeypatch):
    seen = []
    query = tiny.query
    monkeypatch.setattr(tiny, "query", lambda evidence: seen.append(explorer.status.value) or query(evidence))
    explorer.controls["twitch_eyelid"].value = "yes"
    assert 'data-state="busy"' in seen[0]
    assert 'data-state="ready"' in explorer.status.value and "Results for 1 finding entered." in text(explorer.status.value)


def test_the_headline_pinned_on_narrow_pages_names_the_leader_and_the_advice(tiny, explorer):
    assert text(explorer.headline.value) == "No findings set yet · Advice: NO VERDICT YET"
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["muscle_weakness"].value = "yes"
    expected = tiny.query({"twitch_calf": "yes", "muscle_weakness": "yes"})
    top = expected.conditions.iloc[0]
    assert text(explorer.headline.value) == (f"Most likely: {top['label']} (explains {render.percent(top['explains'])}) · "
                                             f"Advice: {render.LEVELS[expected.triage.level][0]}")
    assert 'aria-hidden="true"' in explorer.headline.value


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


def test_the_must_not_miss_panel_sits_beside_the_ranking_and_shows_the_api_list(model):
    view = Explorer(model)
    assert 'data-dont-miss=""' in view.dont_miss.value and "No serious condition" in view.dont_miss.value
    evidence = {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes"}
    for fid, state in evidence.items():
        view.controls[fid].value = state
    view.wait()
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


def test_a_further_panel_goes_right_after_the_ranking(explorer):
    import ipywidgets as widgets

    panel = widgets.HTML("tests ordered")
    explorer.add_panel(panel)
    assert explorer.slot.children == (panel,)


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
    assert 'data-state="ready"' in explorer.status.value


def test_starting_evidence_the_model_refuses_is_a_message_not_a_traceback(tiny):
    explorer = Explorer(tiny, evidence={"twitch_eyelid": "maybe"})
    assert "state 'maybe' of twitch_eyelid is not valid; valid states: no, yes" in text(explorer.message.value)
    assert explorer.state.evidence == {}


def test_page_query_string_sets_the_starting_evidence(tiny):
    evidence = evidence_from_query("?twitch_eyelid=yes&sleep_hours=under_7")
    assert evidence == {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    explorer = Explorer(tiny, evidence=evidence)
    assert explorer.controls["sleep_hours"].value == "under_7"
    assert rows(explorer.differential.value)[0] == tiny.query(evidence).top


def test_a_broken_reasoning_import_is_an_error_not_a_hidden_panel():
    code = "import sys; sys.modules['twitchbn.reasoning'] = None\nimport twitchbn.ui.state"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 1 and "ModuleNotFoundError: import of twitchbn.reasoning halted" in out.stderr


# -- explorer: scenarios are the visitor's own files --------------------------------------------
def test_the_download_link_saves_the_contract_result_document_of_the_current_findings(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    name, saved = downloaded(explorer.download.value)
    assert name == "twitchbn-scenario.json"
    assert json.loads(saved) == tiny.query({"twitch_eyelid": "yes"}).to_dict()


def test_nothing_is_written_on_the_server(tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    explorer = Explorer(tiny)
    explorer.controls["twitch_eyelid"].value = "yes"
    upload(explorer.upload, json.dumps({"twitch_calf": "yes"}))
    explorer.wait()
    assert list(tmp_path.iterdir()) == []


def test_a_downloaded_scenario_uploads_back_into_the_controls(explorer):
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["problem_duration"].value = "over_1_month"
    _, saved = downloaded(explorer.download.value)
    explorer.reset_button.click()
    upload(explorer.upload, saved, "calf.json")
    assert explorer.state.evidence == {"twitch_calf": "yes", "problem_duration": "over_1_month"}
    assert explorer.controls["problem_duration"].value == "over_1_month"
    assert "Loaded file 'calf.json'." in text(explorer.message.value)
    assert explorer.upload.value == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "file 'bad.json' must be valid JSON; line 1: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "file 'bad.json' must hold a JSON object of variable to state; got an array"),
        ('{"twitch_eyelid": "maybe"}', "file 'bad.json': state 'maybe' of twitch_eyelid is not valid; valid states: no, yes"),
        ('{"evidence": {"twitch_eyelidd": "yes"}}', "file 'bad.json': unknown variable 'twitch_eyelidd'; closest valid ids: twitch_eyelid"),
        ('{"als": "absent", "cause_als": "yes"}', "file 'bad.json': evidence is impossible under the model"),
        (b"\x80{}", "file 'bad.json' must be UTF-8 text; got byte 0x80 at position 0"),
    ],
)
def test_uploading_a_bad_file_shows_one_clear_line_and_changes_nothing(explorer, content, message):
    explorer.controls["twitch_eyelid"].value = "yes"
    before = (explorer.differential.value, explorer.download.value)
    upload(explorer.upload, content, "bad.json")
    shown = text(explorer.message.value)
    assert message in shown
    assert "Traceback" not in shown and shown.count("\n") == 0
    assert explorer.state.evidence == {"twitch_eyelid": "yes"}
    assert (explorer.differential.value, explorer.download.value) == before


def test_compare_shows_the_current_and_an_uploaded_scenario_side_by_side(tiny, explorer):
    from twitchbn.reasoning import compare

    explorer.controls["muscle_weakness"].value = "yes"
    upload(explorer.compare_upload, json.dumps({"twitch_eyelid": "yes"}), "eyelid.json")
    assert explorer.compare_box.layout.display == "flex"
    html = explorer.compare_view.value
    columns = html.split('class="compare-column"')[1:]
    assert len(columns) == 2
    assert "Current" in columns[0] and "From file &#x27;eyelid.json&#x27;" in columns[1]
    mine, theirs = tiny.query({"muscle_weakness": "yes"}), tiny.query({"twitch_eyelid": "yes"})
    assert f'data-condition="{mine.top}"' in columns[0] and f'data-level="{mine.triage.level}"' in columns[0]
    assert f'data-condition="{theirs.top}"' in columns[1] and f'data-level="{theirs.triage.level}"' in columns[1]
    moved = compare(tiny, {"muscle_weakness": "yes"}, {"twitch_eyelid": "yes"}).index[0]
    assert re.search(rf'class="tb-table compare-changes">.*?data-condition="{moved}"', html)
    assert explorer.state.evidence == {"muscle_weakness": "yes"}
    explorer.close_compare.click()
    assert explorer.compare_box.layout.display == "none"


def test_the_printable_summary_link_holds_the_report_for_the_current_findings(tiny, explorer):
    from twitchbn.reasoning import next_questions
    from twitchbn.report import case_summary_html

    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.wait()
    name, saved = downloaded(explorer.report.value)
    evidence = {"twitch_eyelid": "yes"}
    assert name == "twitchbn-case-summary.html"
    assert saved == case_summary_html(tiny.kb, tiny.query(evidence), next_questions(tiny, evidence))


# -- explorer: the heavy panels run in the background, newest evidence first -----------------
def test_a_panel_result_for_superseded_evidence_is_never_shown():
    import threading

    runner = Runner()
    release, shown = threading.Event(), []
    runner.submit("p", lambda: release.wait(5) and "old", shown.append, shown.append)
    runner.submit("p", lambda: "skipped", shown.append, shown.append)  # superseded before it starts
    runner.submit("p", lambda: "newest", shown.append, shown.append)
    release.set()
    runner.wait()
    assert shown == ["newest"]


def test_a_cancelled_panel_shows_nothing_and_an_error_is_one_line():
    runner = Runner()
    shown = []
    runner.submit("p", lambda: "value", shown.append, shown.append)
    runner.cancel("p")
    runner.submit("q", lambda: 1 / 0, shown.append, shown.append)
    runner.wait()
    assert shown in (["unexpected error (ZeroDivisionError): division by zero"],
                     ["value", "unexpected error (ZeroDivisionError): division by zero"])  # "value" only if it ran before cancel


def test_the_ranking_is_drawn_before_any_heavy_panel_is_computed(tiny, explorer, monkeypatch):
    seen = []
    why = explorer.state.why
    monkeypatch.setattr(explorer.state, "why", lambda evidence, **kw: seen.append(explorer.differential.value) or why(evidence, **kw))
    explorer.controls["twitch_calf"].value = "yes"
    explorer.wait()
    assert rows(seen[-1])[0] == tiny.query({"twitch_calf": "yes"}).top


def test_why_panel_shows_the_reasoning_for_the_top_conditions(tiny, explorer):
    from twitchbn.reasoning import why

    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    explorer.wait()
    table = why(tiny, explorer.state.evidence)
    shown = re.findall(r'<div data-condition="([^"]+)">', explorer.why.value)
    assert shown == list(dict.fromkeys(table["condition"]))
    assert "+0.0 bits" not in explorer.why.value and "-0.0 bits" not in explorer.why.value
    explorer.why_choice.value = "als"
    explorer.wait()
    assert re.findall(r'<div data-condition="([^"]+)">', explorer.why.value) == ["als"]


def test_next_panel_lists_the_most_informative_unknown_findings(tiny, explorer):
    from twitchbn.reasoning import next_questions

    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.wait()
    expected = list(next_questions(tiny, {"twitch_eyelid": "yes"}).index[:5])
    assert re.findall(r'data-finding="([^"]+)"', explorer.next.value) == expected
    explorer.serious.value = True
    explorer.wait()
    serious = list(next_questions(tiny, {"twitch_eyelid": "yes"}, serious=True).index[:5])
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
    explorer.wait()
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


def test_intervals_are_recomputed_on_evidence_change_only_while_ticked_and_never_shown_stale(tiny, explorer, monkeypatch):
    calls = []
    original = explorer.state.intervals
    monkeypatch.setattr(explorer.state, "intervals", lambda evidence: calls.append(dict(evidence)) or original(evidence))
    explorer.controls["twitch_eyelid"].value = "yes"
    assert calls == []
    explorer.show_intervals.value = True
    explorer.wait()
    explorer.controls["sleep_hours"].value = "under_7"
    assert "tb-whisker" not in explorer.differential.value  # the old whiskers go at once
    explorer.wait()
    assert calls == [{"twitch_eyelid": "yes"}, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}]
    top = uncertainty.posterior_intervals(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}).iloc[0]
    assert render.interval_text(top["explains_low"], top["explains_high"]) in text(explorer.differential.value)
    explorer.show_intervals.value = False
    explorer.controls["sleep_hours"].value = ""
    explorer.wait()
    assert len(calls) == 2


def test_sensitivity_computes_on_demand_in_plain_words_and_matches_the_api(tiny, explorer):
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    assert "Which hand-set numbers matter here?" in explorer.sensitivity.children[0].value
    assert "tornado-row" not in explorer.sensitivity.view.value
    explorer.sensitivity.compute.click()
    explorer.wait()
    expected = uncertainty.sensitivity(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, top=8)
    markup = explorer.sensitivity.view.value
    assert attrs(markup, "where") == list(expected["where"]) and attrs(markup, "state") == list(expected["state"])
    first = markup.split('class="tornado-row"')[1].split('class="tornado-row"')[0]
    top = expected.iloc[0]
    assert attrs(first, "swing") == [repr(float(top["swing"]))]
    low, high = (render.esc(render.percent(top[f"explains_{end}"])) for end in ("low", "high"))
    assert f'tornado-low">{low}</td><td class="tb-num tornado-high">{high}</td>' in first
    assert render.esc(render_sources.number_meaning(tiny.kb, top["where"], top["state"])) in first
    assert render.esc(top["why"]) in first and ".yaml" not in text(markup)
    assert attrs(markup, "condition") == [expected.attrs["condition"]]
    explorer.controls["sleep_hours"].value = ""
    assert "tornado-row" not in explorer.sensitivity.view.value
    assert "The findings changed: press Compute" in text(explorer.sensitivity.view.value)


def test_a_tornado_cut_short_by_its_work_budget_says_what_was_left_out(tiny, monkeypatch):
    from twitchbn.ui.render_panels import tornado_html

    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    per_pass = 2 * tiny.cost(evidence, [Variant()])
    monkeypatch.setattr(uncertainty, "SENSITIVITY_ENTRIES", 3 * per_pass)
    frame = uncertainty.sensitivity(tiny, evidence, top=8)
    assert frame.attrs["not_assessed"] == ["twitch_eyelid"] and frame["top_at_low"].isna().all()
    shown = text(tornado_html(frame, tiny.kb))
    assert f"not assessed within the time allowed: the numbers of {tiny.kb.label('twitch_eyelid')}" in shown
    assert "ranking changes at each end was not computed" in shown and "None" not in shown


def test_intervals_from_fewer_draws_than_asked_say_so(tiny, monkeypatch):
    from twitchbn.ui.render_panels import intervals_note_html

    evidence = {"twitch_eyelid": "yes"}
    monkeypatch.setattr(uncertainty, "INTERVAL_ENTRIES", 60 * tiny.cost(evidence, [Variant()]))  # 30 draws of two passes
    frame = uncertainty.posterior_intervals(tiny, evidence)
    assert "30 parameter draws (fewer than the 200 asked" in text(intervals_note_html(frame))
    assert "fewer than" not in text(intervals_note_html(uncertainty.posterior_intervals(tiny, evidence, draws=30)))


def test_sensitivity_can_be_cancelled_and_a_change_of_findings_cancels_it(explorer, monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setattr(explorer.state, "sensitivity", lambda evidence, top: release.wait(5) and None)
    explorer.sensitivity.compute.click()
    assert explorer.sensitivity.compute.disabled and explorer.sensitivity.stop.layout.display == ""
    explorer.sensitivity.stop.click()
    assert "Cancelled" in text(explorer.sensitivity.view.value) and not explorer.sensitivity.compute.disabled
    explorer.sensitivity.compute.click()
    explorer.controls["twitch_eyelid"].value = "yes"
    release.set()
    explorer.wait()
    assert "The findings changed while computing" in text(explorer.sensitivity.view.value)


def test_most_probable_explanation_line_lists_the_api_conditions_and_probability(tiny, explorer):
    from twitchbn.reasoning import most_probable_explanation

    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    assert explorer.explanation.view.value == ""
    explorer.explanation.show.value = True
    explorer.wait()
    mpe = most_probable_explanation(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    shown = text(explorer.explanation.view.value)
    labels = " + ".join(tiny.kb.label(c) for c in mpe.present)
    assert f"Jointly most likely: {labels} (probability {render.fine_percent(mpe.probability)};" in shown
    assert attrs(explorer.explanation.view.value, "present") == [",".join(mpe.present)] == ["sleep_deprivation"]
    assert "Not the top of the ranking" not in shown


def test_most_probable_explanation_says_when_it_is_not_the_top_of_the_ranking(tiny, explorer):
    from twitchbn.reasoning import most_probable_explanation

    explorer.explanation.show.value = True
    explorer.controls["twitch_calf"].value = "yes"
    explorer.controls["muscle_weakness"].value = "yes"
    explorer.wait()
    mpe = most_probable_explanation(tiny, {"twitch_calf": "yes", "muscle_weakness": "yes"})
    assert mpe.present == ("vitamin_d_deficiency",) and explorer.state.result.top == "als"
    shown = text(explorer.explanation.view.value)
    assert "Jointly most likely: Vitamin D deficiency" in shown
    assert "Not the top of the ranking (ALS): the ranking scores each condition on its own" in shown


def test_what_if_offers_the_modifiable_exposures_and_shows_the_api_new_top_and_triage(tiny, explorer):
    from twitchbn.reasoning import what_if

    assert [v for _, v in explorer.what_if.variable.options] == [v for v in MODIFIABLE if v in {"caffeine_intake", "sleep_hours"}]
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.controls["sleep_hours"].value = "under_7"
    explorer.what_if.variable.value = "sleep_hours"
    assert explorer.what_if.new_state.value == "7_or_more"  # the first state that differs from the answer given
    explorer.wait()
    change = what_if(tiny, {"twitch_eyelid": "yes", "sleep_hours": "under_7"}, {"sleep_hours": "7_or_more"})
    markup = explorer.what_if.view.value
    assert attrs(markup, "top-after") == [change.after.top] == ["caffeine_excess"]
    assert attrs(markup, "level-before") == [change.before.triage.level] and attrs(markup, "level-after") == [change.after.triage.level]
    assert re.findall(r'class="what-if-row" data-condition="([^"]+)"', markup) == list(change.after.conditions.index[:5])
    cid = change.after.top
    before, after = change.before.conditions.at[cid, "explains"], change.after.conditions.at[cid, "explains"]
    assert f"{render.percent(before)} → {render.percent(after)}" in text(markup)
    assert "The top changes from Not enough sleep to Too much caffeine." in text(markup)
    assert "The same findings, with the answer about sleep per night changed to “7 or more”." in text(markup)
    assert "do(" not in text(markup)


def test_errors_in_the_background_panels_land_in_each_panel_as_one_line(explorer, monkeypatch):
    def broken(*args, **kwargs):
        raise TwitchbnError("engine out of order")

    for name in ("intervals", "sensitivity", "explanation", "what_if", "why", "next_questions"):
        monkeypatch.setattr(explorer.state, name, broken)
    explorer.show_intervals.value = True
    explorer.explanation.show.value = True
    explorer.sensitivity.compute.click()
    explorer.wait()
    explorer.controls["twitch_eyelid"].value = "yes"
    explorer.sensitivity.compute.click()
    explorer.wait()
    for view in (explorer.intervals_message, explorer.explanation.view, explorer.sensitivity.view, explorer.what_if.view,
                 explorer.why, explorer.next):
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


# -- knowledge base browser --------------------------------------------------------------------
def test_number_table_lists_every_number_with_rationale_and_source(tiny):
    kb = tiny.kb
    table = number_table(kb)
    expected = (sum(len(x.states) for x in kb.exposures) + 2 * len(kb.conditions) + sum(len(c.risk_factors) for c in kb.conditions)
                + len(kb.findings) + sum(len(f.links) for f in kb.findings))
    assert len(table) == expected == 36
    assert table["why"].str.len().gt(0).all() and table["source"].str.len().gt(0).all()
    duration = table[(table["kind"] == "link") & (table["from_id"] == "als") & (table["to_id"] == "problem_duration")].iloc[0]
    assert duration["number"] == "under 1 week 5%, 1 to 4 weeks 15%, over 1 month 80%"


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
    markup = render_sources.source_html("000_0b4f9497a7fa5b7f.txt: a paraphrase; ALS review (Lancet 2017) https://doi.org/10.1016/S0140-6736(16)31946-X.")
    assert '<a href="https://doi.org/10.1016/S0140-6736(16)31946-X" target="_blank" rel="noopener">' in markup
    assert markup.endswith("</a>.") and "Seed article: muscle twitching" in markup
    assert render_sources.source_html("clinical convention") == "clinical convention"


def test_the_knowledge_base_table_links_every_cited_number(model):
    from twitchbn.numbers import source_counts
    from twitchbn.ui.kb_browser import table_html

    markup = table_html(number_table(model.kb))
    assert markup.count('<a href="http') >= source_counts(model.kb.numbers())["cited"]


def test_the_workup_panel_follows_the_findings_and_a_result_entered_there_becomes_a_finding(model):
    explorer = Explorer(model)
    story = {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes", "age_group": "adult"}  # dev case w03
    for fid, state in story.items():
        explorer.controls[fid].value = state
    explorer.wait()
    panel = explorer.workup
    assert panel.evidence == story
    assert panel.plan.table.index[0] == "serum_calcium"
    assert model.kb.label("serum_calcium") in text(panel.ranking.value)
    panel.test.value = "serum_calcium"
    [low] = [b for b in panel.buttons.children if b.description == f"Enter: {render.state_label('low')}"]
    low.click()
    explorer.wait()
    assert explorer.state.evidence["serum_calcium"] == "low"
    assert explorer.controls["serum_calcium"].value == "low"  # test results are findings like any other
    assert "serum_calcium" not in panel.plan.table.index  # an observed test is no longer proposed
    assert explorer.state.result.top == "hypocalcemia"
