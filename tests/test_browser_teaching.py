"""The teaching notebook served by Voila on 127.0.0.1 and played in Debian's headless Chromium.

One lesson step (reveal, then answer a finding "no") and one quiz case (name, ranking, advice,
flags, check) are played through the page's own widgets; what the page shows must be what the
Python API gives for the same findings. A missing browser fails the run (``make browser``).
"""

from __future__ import annotations

import base64
import io
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import twitchbn
from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, free_port, isolated_env, stop_server
from twitchbn.teaching import load_pack
from twitchbn.teaching.quiz import Answer, score_answer
from twitchbn.ui.render import evidence_key

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "02_teaching_cases.ipynb"
ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory) -> Iterator[str]:
    """Voila serving the teaching notebook on a free local port, in its own process group."""
    root = tmp_path_factory.mktemp("voila-teaching")
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
def page(voila_url):
    """The teaching page in Chromium, ready once the first lesson has rendered."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser test needs Debian's chromium (run `make browser`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        page = context.new_page()
        page.goto(voila_url, timeout=120_000)
        page.locator(".focus-table").first.wait_for(timeout=120_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture(scope="module")
def pack():
    model = twitchbn.load_model()
    return model, load_pack(None, model)


def test_a_lesson_step_and_a_no_answer_update_the_page_as_the_python_api(page, pack):
    from playwright.sync_api import expect

    model, teaching = pack
    lesson = teaching.lessons[0]
    focus = page.locator(".focus-table")
    expect(focus).to_have_attribute("data-evidence", evidence_key(lesson.evidence(1)), timeout=TIMEOUT_MS)
    page.locator(".lesson-reveal").click()
    expect(focus).to_have_attribute("data-evidence", evidence_key(lesson.evidence(2)), timeout=TIMEOUT_MS)
    variable = next(iter(lesson.steps[1].reveal))
    page.locator(f".finding-{variable} button", has_text=re.compile(r"^no$")).click()
    evidence = {**lesson.evidence(2), variable: "no"}
    expect(focus).to_have_attribute("data-evidence", evidence_key(evidence), timeout=TIMEOUT_MS)
    ranking = list(model.query(evidence).conditions.index)
    for cid in lesson.conditions:
        expect(focus.locator(f'tr[data-condition="{cid}"]')).to_have_attribute("data-rank", str(ranking.index(cid) + 1))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "teaching-lesson.png"), full_page=True)


def test_a_quiz_case_is_checked_scored_and_downloadable(page, pack):
    from playwright.sync_api import expect

    model, teaching = pack
    case = teaching.cases[0]
    quiz = page.locator(".quiz")
    expect(quiz.locator(".quiz-next")).to_be_disabled()
    quiz.locator(".student-name input").fill("Ann")
    for n, cid in enumerate(case.conditions, start=1):
        quiz.locator(f".quiz-pick-{n} select").select_option(label=model.kb.label(cid))
    quiz.locator(".quiz-advice button", has_text="self care").click()
    for n, cid in enumerate(case.conditions, start=1):
        if cid in case.expected.must_not_miss:
            quiz.locator(f".quiz-flag-{n} input").check()
    quiz.locator(".quiz-check").click()
    expected = score_answer(case, Answer(case.conditions, "self_care", case.expected.must_not_miss))
    top = next(c for c in model.query(case.evidence()).conditions.index if c in case.conditions)
    expect(quiz.locator(".quiz-reveal")).to_have_attribute("data-top", top, timeout=TIMEOUT_MS)
    expect(quiz.locator(".quiz-score")).to_have_attribute("data-score", str(expected.score))
    expect(quiz.locator(".quiz-next")).to_be_enabled()
    link = quiz.locator(".explorer-link")
    assert link.get_attribute("href").endswith(f"?{evidence_key(case.evidence())}")
    href = quiz.locator(".answers-download").get_attribute("href")
    frame = pd.read_csv(io.StringIO(base64.b64decode(href.split(",", 1)[1]).decode("utf-8")))
    assert list(frame["case"]) == [case.id] and int(frame.at[0, "score"]) == expected.score
    assert page.locator(".tb-message-error").count() == 0
    page.screenshot(path=str(ARTIFACTS / "teaching-quiz.png"), full_page=True)
