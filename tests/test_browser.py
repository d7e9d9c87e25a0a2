"""The explorer served by Voila on 127.0.0.1, driven in Debian's headless Chromium via Playwright.

Findings are set through the page's own dropdowns (``.finding-<id> select``, option text = the
state with underscores as spaces); the ranked list and the triage banner must show what the
Python API and the CLI give for the same evidence. A missing browser fails the run (``make
browser`` installs it); it is never skipped. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import html
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import twitchbn
from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, free_port, isolated_env, stop_server
from twitchbn.ui.render import LEVELS, evidence_key, source_html, state_label

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "01_explore.ipynb"
ARTIFACTS = REPO / "test-artifacts"
CASES = [
    {"twitch_eyelid": "yes", "sleep_hours": "under_7", "caffeine_intake": "high"},
    {"twitch_calf": "yes", "back_injury": "yes", "numbness_tingling": "yes"},
    {"twitch_arm": "yes", "muscle_weakness": "yes", "breathing_difficulty": "yes"},
]
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory) -> Iterator[str]:
    """Voila serving the explorer notebook on a free local port, in its own process group."""
    root = tmp_path_factory.mktemp("voila")
    port = free_port()
    log = (root / "voila.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--VoilaExecutor.timeout=60"],
        cwd=REPO, env=isolated_env(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"voila exited with status {proc.returncode}:\n{(root / 'voila.log').read_text()[-2000:]}", pytrace=False)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("voila did not open its port within 60 s", pytrace=False)
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_server(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright; its absence fails the run loudly."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser test needs Debian's chromium (run `make browser`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, voila_url):
    """A fresh explorer page, ready once the differential has rendered."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    page.goto(voila_url, timeout=120_000)
    page.locator(".differential-row").first.wait_for(timeout=120_000)
    yield page
    context.close()


def set_finding(page, variable: str, state: str) -> None:
    """Choose a state in the page's dropdown for ``variable``."""
    page.locator(f".finding-{variable} select").select_option(label=state_label(state))


def screenshot(page, name: str) -> Path:
    """A full-page screenshot in test-artifacts/ (the Voila page scrolls inside its own container)."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = page.evaluate(
        "(() => { let h = 0; for (let e = document.querySelector('.twitchbn'); e; e = e.parentElement) h = Math.max(h, e.scrollHeight);"
        " return h; })()"
    )
    page.set_viewport_size({"width": 1366, "height": min(int(height) + 40, 8000)})
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    return path


def cli_json(evidence: dict[str, str]) -> dict:
    args = [a for var, state in evidence.items() for a in ("-e", f"{var}={state}")]
    out = subprocess.run([sys.executable, "-m", "twitchbn.cli", "query", *args, "--json"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_explorer_page_shows_the_ranking_and_triage_the_python_api_gives(page):
    from playwright.sync_api import expect

    expect(page.get_by_text("an educational and exploratory aid, not a diagnosis")).to_be_visible()
    for n, evidence in enumerate(CASES, start=1):
        model = twitchbn.load_model()
        expected = model.query(evidence)
        cli = cli_json(evidence)
        assert (cli["conditions"][0]["id"], cli["triage"]["level"]) == (expected.top, expected.triage.level)
        for variable, state in evidence.items():
            set_finding(page, variable, state)
        summary = page.locator(".differential-summary")
        expect(summary).to_have_attribute("data-evidence", evidence_key(evidence), timeout=TIMEOUT_MS)
        expect(summary).to_have_attribute("data-top", expected.top)
        expect(page.locator(".triage-banner")).to_have_attribute("data-level", expected.triage.level)
        expect(page.locator(".top-condition")).to_have_text(expected.conditions.iloc[0]["label"])
        shown = page.locator(".differential-row").evaluate_all("rows => rows.map(r => r.dataset.condition)")
        assert shown == list(expected.conditions.index[:10])
        banner = page.locator(".triage-banner")
        expect(banner).to_contain_text(f"Triage: {LEVELS[expected.triage.level][0]}")
        for reason in expected.triage.reasons:
            expect(banner).to_contain_text(reason)
        assert page.locator(".ui-message").inner_text().strip() == ""
        screenshot(page, f"explorer-case-{n}.png")
        page.get_by_role("button", name="Reset").click()
        expect(summary).to_have_attribute("data-evidence", "", timeout=TIMEOUT_MS)
        expect(summary).to_have_attribute("data-top", model.query({}).top)
        expect(page.locator(".finding-twitch_eyelid select")).to_have_value("unknown")


def test_a_bad_scenario_file_shows_a_message_in_the_page_not_a_traceback(page, tmp_path):
    from playwright.sync_api import expect

    bad = tmp_path / "broken.json"
    bad.write_text('{"twitch_eyelid": "maybe"}')
    with page.expect_file_chooser() as chooser:
        page.locator(".widget-upload").click()
    chooser.value.set_files(str(bad))
    message = page.locator(".ui-message")
    expect(message).to_contain_text("file 'broken.json': state 'maybe' of twitch_eyelid is not valid; valid states: no, yes",
                                    timeout=TIMEOUT_MS)
    assert "Traceback" not in page.content()
    screenshot(page, "explorer-bad-file.png")


def test_explorer_panels_show_intervals_sensitivity_mpe_and_what_if_as_the_python_api(page):
    from playwright.sync_api import expect

    from twitchbn.reasoning import most_probable_explanation, what_if
    from twitchbn.uncertainty import posterior_intervals, sensitivity

    model = twitchbn.load_model()
    evidence = CASES[0]
    key = evidence_key(evidence)
    for variable, state in evidence.items():
        set_finding(page, variable, state)
    expect(page.locator(".differential-summary")).to_have_attribute("data-evidence", key, timeout=TIMEOUT_MS)

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

    page.get_by_text("Which hand-set numbers matter here?").click()
    page.locator(".sensitivity-compute").click()
    tornado = page.locator(f'.tornado[data-evidence="{key}"]')
    expect(tornado).to_be_visible(timeout=TIMEOUT_MS)
    expected = sensitivity(model, evidence, top=8)
    assert tornado.locator(".tornado-row").evaluate_all("rows => rows.map(r => r.dataset.where)") == list(expected["where"])
    shown = html.unescape(re.sub(r"<[^>]+>", "", source_html(expected["source"].iloc[0])))  # seed titles, links as text
    expect(tornado.locator(".tornado-source").first).to_have_text(shown)

    page.locator(".what-if-variable select").select_option(label=model.kb.label("sleep_hours"))
    page.locator(".what-if-state select").select_option(label=state_label("7_or_more"))
    change = what_if(model, evidence, {"sleep_hours": "7_or_more"})
    panel = page.locator(f'.what-if[data-evidence="{key}"][data-variable="sleep_hours"][data-state="7_or_more"]')
    expect(panel).to_have_attribute("data-top-after", change.after.top, timeout=TIMEOUT_MS)
    expect(panel).to_have_attribute("data-level-after", change.after.triage.level)
    assert panel.locator(".what-if-row").evaluate_all("rows => rows.map(r => r.dataset.condition)") == list(
        change.after.conditions.index[:5])
    assert page.locator(".ui-message").inner_text().strip() == ""
    assert page.locator(".tb-message-error").count() == 0
    screenshot(page, "explorer-panels.png")
