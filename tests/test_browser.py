"""The served notebooks driven in Debian's headless Chromium via Playwright (Voila on 127.0.0.1).

The explorer is served as ``make app`` serves it (preheated kernels, serve/app/voila.py).
Findings are set through the page's own dropdowns (``.finding-<id> select``, option text = the
state with underscores as spaces); the page must show what the Python API and the CLI give.
Also: the layout at 768 and 1366 px, the busy state, saving and loading through a download and
an upload, the printable summary, keyboard use and axe-core's accessibility check of all three
notebooks. A missing browser or axe-core fails the run (``make browser`` installs both); it is
never skipped. Screenshots go to ``test-artifacts/``. Timings are printed by
``benchmarks/browser.py``, not asserted here.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import twitchbn
from benchmarks.browser import APP_CONFIG, EXPLORER, NOTEBOOKS, SERIOUS, axe_violations, change, launch, new_page, scenario_steps, voila
from twitchbn.report import case_summary
from twitchbn.ui.render import LEVELS, evidence_key, state_label
from twitchbn.ui.render_sources import source_html

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CASES = [
    {"twitch_eyelid": "yes", "sleep_hours": "under_7", "caffeine_intake": "high"},
    {"twitch_calf": "yes", "back_injury": "yes", "numbness_tingling": "yes"},
    {"twitch_arm": "yes", "muscle_weakness": "yes", "breathing_difficulty": "yes"},
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The explorer as ``make app`` serves it, on a free local port."""
    with voila(EXPLORER, f"--Voila.config_file_paths={APP_CONFIG}") as url:
        yield url


@pytest.fixture(scope="module")
def notebooks_url() -> Iterator[str]:
    """Every notebook of notebooks/, served by plain Voila."""
    with voila(NOTEBOOKS, "--VoilaExecutor.timeout=120") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright; its absence fails the run loudly."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            chromium = launch(playwright)
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield chromium
        chromium.close()


def open_page(browser, url: str, width: int = 1366, height: int = 900):
    page = new_page(browser, width, height)
    page.goto(url, timeout=300_000)
    page.locator(".differential-row").first.wait_for(timeout=300_000)
    return page


@pytest.fixture
def page(browser, app_url):
    """A fresh explorer page at 1366 x 900, ready once the differential has rendered."""
    page = open_page(browser, app_url)
    yield page
    page.context.close()


def set_finding(page, variable: str, state: str) -> None:
    """Choose a state in the page's dropdown for ``variable``."""
    page.locator(f".finding-{variable} select").select_option(label=state_label(state))


def enter(page, evidence: dict[str, str]) -> None:
    """Set every finding of ``evidence`` and wait until the results on screen are for it."""
    from playwright.sync_api import expect

    for variable, state in evidence.items():
        set_finding(page, variable, state)
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", evidence_key(evidence), timeout=TIMEOUT_MS)


def screenshot(page, name: str, full: bool = True) -> Path:
    """A screenshot in test-artifacts/ (full: the whole page; the Voila page scrolls inside its own container)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    if full:
        height = page.evaluate(
            "(() => { let h = 0; for (let e = document.querySelector('.twitchbn'); e; e = e.parentElement) h = Math.max(h, e.scrollHeight);"
            " return h; })()"
        )
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full)
    page.set_viewport_size(size)
    return path


def box(page, selector: str) -> dict[str, float]:
    """The bounding box of the first element matching ``selector``, in viewport pixels."""
    return page.locator(selector).first.evaluate("e => { const r = e.getBoundingClientRect(); "
                                                 "return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }")


def cli_json(evidence: dict[str, str]) -> dict:
    args = [a for var, state in evidence.items() for a in ("-e", f"{var}={state}")]
    out = subprocess.run([sys.executable, "-m", "twitchbn.cli", "query", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


# -- the results ---------------------------------------------------------------------------------
def test_explorer_page_shows_the_ranking_and_triage_the_python_api_gives(page):
    from playwright.sync_api import expect

    expect(page.get_by_text("an educational and exploratory aid, not a diagnosis")).to_be_visible()
    model = twitchbn.load_model()
    for n, evidence in enumerate(CASES, start=1):
        expected = model.query(evidence)
        cli = cli_json(evidence)
        assert (cli["conditions"][0]["id"], cli["triage"]["level"]) == (expected.top, expected.triage.level)
        enter(page, evidence)
        summary = page.locator(".differential-summary")
        expect(summary).to_have_attribute("data-top", expected.top)
        expect(summary).to_have_attribute("aria-live", "polite")
        expect(page.locator(".triage-banner")).to_have_attribute("data-level", expected.triage.level)
        expect(page.locator(".top-condition")).to_have_text(expected.conditions.iloc[0]["label"])
        shown = page.locator(".differential-row").evaluate_all("rows => rows.map(r => r.dataset.condition)")
        assert shown == list(expected.conditions.index[:10])
        banner = page.locator(".triage-banner")
        expect(banner).to_contain_text(f"Triage: {LEVELS[expected.triage.level][0]}")
        for reason in expected.triage.reasons:
            expect(banner).to_contain_text(reason)
        for variable, state in evidence.items():  # what was entered, in words, next to the results
            expect(page.locator(f".entered-{variable}")).to_have_text(f"✕ {model.kb.label(variable)}: {state_label(state)}")
        assert page.locator(".ui-message").inner_text().strip() == ""
        screenshot(page, f"explorer-case-{n}.png")
        page.get_by_role("button", name="Reset").click()
        expect(summary).to_have_attribute("data-evidence", "", timeout=TIMEOUT_MS)
        expect(summary).to_have_attribute("data-top", model.query({}).top)
        expect(page.locator(".finding-twitch_eyelid select")).to_have_value("unknown")


def test_the_findings_in_the_address_reach_a_preheated_page(browser, app_url):
    from playwright.sync_api import expect

    evidence = {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    page = open_page(browser, f"{app_url}?{evidence_key(evidence)}")
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", evidence_key(evidence), timeout=TIMEOUT_MS)
    expect(page.locator(".finding-sleep_hours select")).to_have_value("under 7")
    page.context.close()


def test_an_entered_finding_is_removed_from_the_list_beside_the_results(page):
    from playwright.sync_api import expect

    enter(page, CASES[0])
    page.locator(".entered-sleep_hours").click()
    rest = {k: v for k, v in CASES[0].items() if k != "sleep_hours"}
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", evidence_key(rest), timeout=TIMEOUT_MS)
    expect(page.locator(".finding-sleep_hours select")).to_have_value("unknown")
    expect(page.locator(".entered-sleep_hours")).to_be_hidden()


def test_every_change_shows_the_busy_state_or_the_new_results_and_ends_with_the_results(page):
    steps = scenario_steps(twitchbn.load_model(), CASES[:2])
    for variable, label, key in steps:
        timing = change(page, variable, label, key)  # resolves once the results for `key` are on screen
        assert 0 <= timing["busy"] <= timing["results"]
    assert page.locator(".results-status").get_attribute("data-state") == "ready"


# -- layout ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [768, 1366])
def test_triage_and_ranking_are_in_view_without_scrolling_past_the_findings(browser, app_url, width):
    page = open_page(browser, app_url, width=width, height=900)
    enter(page, CASES[1])
    triage, first_row, findings = box(page, ".triage-banner"), box(page, ".differential-row"), box(page, ".evidence-group")
    assert triage["top"] >= 0 and triage["bottom"] <= 900 and first_row["bottom"] <= 900, (triage, first_row)
    if width < 900:  # one column: the results come first, and the leader and advice stay pinned over the findings
        assert first_row["bottom"] <= findings["top"]
        page.locator(".evidence-group").last.evaluate("e => e.scrollIntoView({block: 'end'})")
        page.wait_for_timeout(300)
        headline = box(page, ".tb-headline")
        assert 0 <= headline["top"] < 100, headline
        expected = twitchbn.load_model().query(CASES[1])
        assert expected.conditions.iloc[0]["label"] in page.locator(".tb-headline").inner_text()
    else:  # two columns: the results beside the findings, and still in view once the findings are scrolled
        assert box(page, ".results-panel")["left"] >= box(page, ".evidence-panel")["right"]
        page.locator(".evidence-group").last.evaluate("e => e.scrollIntoView({block: 'end'})")  # down to the last question
        page.wait_for_timeout(300)
        assert box(page, ".evidence-group")["top"] < 0  # the page did scroll
        triage = box(page, ".triage-banner")
        assert 0 <= triage["top"] < 900, triage
    screenshot(page, f"explorer-{width}px.png", full=False)
    page.context.close()


# -- scenarios: download and upload ------------------------------------------------------------------
def test_a_scenario_saves_as_a_download_and_loads_back_from_an_upload(page, tmp_path):
    from playwright.sync_api import expect

    model = twitchbn.load_model()
    evidence = CASES[1]
    enter(page, evidence)
    with page.expect_download() as download:
        page.locator("a.scenario-download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "twitchbn-scenario.json"
    assert json.loads(saved.read_text()) == model.query(evidence).to_dict()
    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", "", timeout=TIMEOUT_MS)
    with page.expect_file_chooser() as chooser:
        page.locator(".scenario-upload").click()
    chooser.value.set_files(str(saved))
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", evidence_key(evidence), timeout=TIMEOUT_MS)
    expect(page.locator(".ui-message")).to_contain_text("Loaded file 'twitchbn-scenario.json'.")


def test_a_bad_scenario_file_shows_a_message_in_the_page_not_a_traceback(page, tmp_path):
    from playwright.sync_api import expect

    enter(page, {"twitch_calf": "yes"})
    bad = tmp_path / "broken.json"
    bad.write_text('{"twitch_eyelid": "maybe"}')
    with page.expect_file_chooser() as chooser:
        page.locator(".scenario-upload").click()
    chooser.value.set_files(str(bad))
    message = page.locator(".ui-message")
    expect(message).to_contain_text("file 'broken.json': state 'maybe' of twitch_eyelid is not valid; valid states: no, yes",
                                    timeout=TIMEOUT_MS)
    assert "Traceback" not in page.content()
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", "twitch_calf=yes")
    screenshot(page, "explorer-bad-file.png")


# -- the printable summary ---------------------------------------------------------------------------
def test_the_printable_case_summary_downloads_the_report_of_the_findings_on_one_page(browser, page, tmp_path):
    model = twitchbn.load_model()
    evidence = CASES[0]
    enter(page, evidence)
    link = page.locator("a.report-download")
    link.wait_for(timeout=TIMEOUT_MS)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "summary.html"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "twitchbn-case-summary.html"
    assert saved.read_text(encoding="utf-8") == case_summary(model, evidence)
    printed = new_page(browser, 900, 1200)
    printed.goto(saved.as_uri())
    printed.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    printed.screenshot(path=str(ARTIFACTS / "case-summary-print.png"), full_page=True)
    pdf = printed.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    printed.context.close()


# -- deeper panels ---------------------------------------------------------------------------------
def test_explorer_panels_show_intervals_sensitivity_mpe_and_what_if_as_the_python_api(page):
    from playwright.sync_api import expect

    from twitchbn.reasoning import most_probable_explanation, what_if
    from twitchbn.uncertainty import posterior_intervals, sensitivity

    model = twitchbn.load_model()
    evidence = CASES[0]
    key = evidence_key(evidence)
    enter(page, evidence)

    page.locator(".intervals-toggle input").check()
    differential = page.locator(f'.differential[data-intervals="{key}"]')
    expect(differential).to_be_visible(timeout=TIMEOUT_MS)
    intervals = posterior_intervals(model, evidence, draws=200, seed=0)
    first = page.locator(".differential-row").first
    for name in ("explains_low", "explains_high", "probability_low", "probability_high"):
        shown = float(first.get_attribute(f"data-{name.replace('_', '-')}"))
        assert shown == pytest.approx(float(intervals[name].iloc[0]), abs=1e-9)
    expect(page.locator(".intervals-note")).to_contain_text("200 parameter draws (seed 0)")
    assert page.locator(".tb-whisker").count() == 2 * 10

    page.locator(".mpe-toggle input").check()
    mpe = most_probable_explanation(model, evidence)
    expect(page.locator(f'.mpe[data-evidence="{key}"]')).to_have_attribute("data-present", ",".join(mpe.present), timeout=TIMEOUT_MS)
    expect(page.locator(".mpe-present")).to_have_text(" + ".join(model.kb.label(c) for c in mpe.present))

    page.locator(".sensitivity-compute").click()
    tornado = page.locator(f'.tornado[data-evidence="{key}"]')
    expect(tornado).to_be_visible(timeout=TIMEOUT_MS)
    expected = sensitivity(model, evidence, top=8)
    assert tornado.locator(".tornado-row").evaluate_all("rows => rows.map(r => r.dataset.where)") == list(expected["where"])
    shown = html.unescape(re.sub(r"<[^>]+>", "", source_html(expected["source"].iloc[0])))  # seed titles, links as text
    expect(tornado.locator(".tornado-source").first).to_have_text(shown)
    assert ".yaml" not in tornado.inner_text()

    page.locator(".what-if-variable select").select_option(label=model.kb.label("sleep_hours"))
    page.locator(".what-if-state select").select_option(label=state_label("7_or_more"))
    change_ = what_if(model, evidence, {"sleep_hours": "7_or_more"})
    panel = page.locator(f'.what-if[data-evidence="{key}"][data-variable="sleep_hours"][data-state="7_or_more"]')
    expect(panel).to_have_attribute("data-top-after", change_.after.top, timeout=TIMEOUT_MS)
    expect(panel).to_have_attribute("data-level-after", change_.after.triage.level)
    assert panel.locator(".what-if-row").evaluate_all("rows => rows.map(r => r.dataset.condition)") == list(
        change_.after.conditions.index[:5])
    assert page.locator(".ui-message").inner_text().strip() == ""
    assert page.locator(".tb-message-error").count() == 0
    screenshot(page, "explorer-panels.png")


def test_the_workup_panel_ranks_tests_as_the_planner_and_an_entered_result_becomes_a_finding(page):
    """Which test next: the ranking for the page's findings and cost weight is the planner's, the
    nomogram shows Fagan's numbers, and "Enter" puts the result among the findings."""
    from playwright.sync_api import expect

    from twitchbn.wording import percent
    from twitchbn.workup import ALPHA, fagan_numbers, next_tests

    model = twitchbn.load_model()
    evidence = {"perioral_tingling": "yes", "muscle_cramps": "yes", "twitch_hand": "yes"}
    key = evidence_key(evidence)
    enter(page, evidence)

    def ranked(alpha: float) -> list[str]:
        table = page.locator(f'.workup-table[data-evidence="{key}"][data-alpha="{alpha:g}"]')
        table.wait_for(state="attached", timeout=TIMEOUT_MS)
        return table.locator("tr[data-test]").evaluate_all("rows => rows.map(r => r.dataset.test)")

    plan = next_tests(model, evidence, alpha=ALPHA)
    assert ranked(ALPHA) == list(plan.table.index[:8])
    assert plan.table.index[0] == "serum_calcium"
    page.locator(".workup-alpha input").fill("0.1")
    page.locator(".workup-alpha input").press("Enter")
    assert ranked(0.1) == list(next_tests(model, evidence, alpha=0.1).table.index[:8])

    page.locator(".workup-test select").select_option(label=model.kb.label("serum_calcium"))
    page.locator(".workup-condition select").select_option(label=model.kb.label("hypocalcemia"))
    numbers = fagan_numbers(model, next_tests(model, evidence, alpha=0.1), "serum_calcium", "hypocalcemia")
    assert numbers.state == "low"
    nomogram = page.locator(".workup-nomogram")
    expect(nomogram).to_contain_text(f"{percent(numbers.posttest)} after the result 'low'", timeout=TIMEOUT_MS)
    assert nomogram.locator("svg line.person").count() == 1

    page.locator(".workup-enter button", has_text="Enter: low").click()
    after = {**evidence, "serum_calcium": "low"}
    summary = page.locator(".differential-summary")
    expect(summary).to_have_attribute("data-evidence", evidence_key(after), timeout=TIMEOUT_MS)
    expect(summary).to_have_attribute("data-top", model.query(after).top)
    expect(page.locator(f'.workup-table[data-evidence="{evidence_key(after)}"]')).to_be_attached(timeout=TIMEOUT_MS)
    assert "serum_calcium" not in page.locator(".workup-table tr[data-test]").evaluate_all("rows => rows.map(r => r.dataset.test)")
    assert page.locator(".tb-message-error").count() == 0
    screenshot(page, "explorer-workup.png")


# -- keyboard and accessibility ---------------------------------------------------------------------
def test_the_controls_are_reached_and_operated_by_keyboard_with_a_visible_focus_ring(page):
    from playwright.sync_api import expect

    page.locator(".finding-search input").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('.tb-control') ? [...document.activeElement.closest('.tb-control')"
                            ".classList].find(c => c.startsWith('finding-')) : null")
    assert focused is not None and focused.startswith("finding-")
    ring = page.evaluate("(() => { const s = getComputedStyle(document.activeElement); "
                         "return [s.outlineStyle, parseFloat(s.outlineWidth)]; })()")
    assert ring[0] != "none" and ring[1] >= 2, ring
    page.keyboard.press("ArrowDown")  # a closed select takes the next option from the keyboard
    expect(page.locator(".differential-summary")).not_to_have_attribute("data-evidence", "", timeout=TIMEOUT_MS)
    for _ in range(400):  # Tab on until the Compute button: every control on the way is reachable
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.sensitivity-compute') !== null"):
            break
    else:
        pytest.fail("Tab never reached the Compute button of the hand-set numbers")
    page.keyboard.press("Enter")
    expect(page.locator(".tornado")).to_be_visible(timeout=TIMEOUT_MS)


@pytest.mark.parametrize("notebook", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_no_serious_or_critical_accessibility_violation(browser, notebooks_url, notebook):
    page = new_page(browser)
    page.goto(f"{notebooks_url}voila/render/{notebook}", timeout=300_000)
    page.locator(".twitchbn").first.wait_for(timeout=300_000)
    page.wait_for_load_state("networkidle")
    if notebook == EXPLORER.name:
        enter(page, CASES[2])
        page.locator(".next-questions table").first.wait_for(timeout=TIMEOUT_MS)
    violations = axe_violations(page)
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets']}" for v in violations if v["impact"] in SERIOUS]
    page.context.close()
    assert bad == []
