"""The printable case summary (twitchbn/report.py) and ``twitchbn report``."""

from __future__ import annotations

import html
import re

from conftest import TINY, run_cli

from twitchbn.reasoning import next_questions
from twitchbn.report import EXPLAINED, QUESTIONS, RANKED, case_summary, case_summary_html, references
from twitchbn.ui.render import DISCLAIMER, LEVELS
from twitchbn.ui.render_sources import source_html
from twitchbn.wording import finding_text

EVIDENCE = {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes"}


def text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_the_summary_holds_findings_ranking_cant_miss_triage_questions_sources_and_disclaimer(model):
    result = model.query(EVIDENCE)
    questions = next_questions(model, EVIDENCE)
    page = case_summary_html(model.kb, result, questions)
    shown = text(page)
    assert DISCLAIMER in shown
    for variable, state in EVIDENCE.items():
        assert finding_text(model.kb, variable, state) in shown
    assert re.findall(r'<tr data-condition="([^"]+)"', page) == list(result.conditions.index[:RANKED])
    assert re.findall(r'<li data-condition="([^"]+)"', page) == result.dont_miss and result.dont_miss
    assert f'data-level="{result.triage.level}"' in page and LEVELS[result.triage.level][0] in shown
    for reason in result.triage.reasons:
        assert reason in shown
    assert re.findall(r'<li data-finding="([^"]+)"', page) == list(questions.index[:QUESTIONS])
    assert '<ul class="sources">' in page and "@media print" in page
    assert "_" not in re.sub(r"<[^>]+>", "", page.split("</style>")[1]).replace("twitchbn_", "")  # no raw ids in the text


def test_the_summary_is_deterministic_and_the_cli_writes_the_same_bytes(model, tmp_path):
    out = tmp_path / "case.html"
    args = [a for variable, state in EVIDENCE.items() for a in ("-e", f"{variable}={state}")]
    done = run_cli("report", *args, "-o", out)
    assert done.returncode == 0 and done.stdout == ""
    assert "case summary written to" in done.stderr
    assert out.read_text(encoding="utf-8") == case_summary(model, EVIDENCE) == case_summary(model, dict(reversed(EVIDENCE.items())))


def test_sources_cite_the_numbers_linking_the_findings_to_the_leading_conditions(tiny):
    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    result = tiny.query(evidence)
    page = case_summary_html(tiny.kb, result, None)
    sources = page.split('<ul class="sources">')[1].split("</ul>")[0]
    for cid in result.conditions.index[:EXPLAINED]:
        condition = next(c for c in tiny.kb.conditions if c.id == cid)
        for work in references(condition.causes_twitching.source):
            assert f"<li>{source_html(work)}</li>" in sources
    assert ".txt" not in text(sources)  # seed articles by title, never by file name
    assert "Best next questions" not in page  # left out when not given


def test_a_bad_evidence_file_is_one_line_and_no_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"twitch_eyelid": "maybe"}')
    out = tmp_path / "case.html"
    done = run_cli("report", "--kb", TINY, "--evidence-file", bad, "-o", out)
    assert done.returncode == 2 and not out.exists()
    assert done.stderr == "twitchbn: error: state 'maybe' of twitch_eyelid is not valid; valid states: no, yes\n"


def test_a_source_names_its_works_with_seed_titles_and_without_the_paraphrase():
    assert references("000_0b4f9497a7fa5b7f.txt: a paraphrase; ALS review (Lancet 2017) https://doi.org/10.1/x") == [
        "Seed article: muscle twitching, everyday causes and diseases", "ALS review (Lancet 2017) https://doi.org/10.1/x"]
    assert references("clinical convention") == ["clinical convention"]
