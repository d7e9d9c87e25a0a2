"""The explorer as a person meets it, measured in Debian's Chromium: page ready, change -> results,
the busy state, and axe-core's accessibility violations of the three served notebooks.

``python -m benchmarks.browser [--loads N] [--changes N] [--cold]`` (``make bench-browser``) prints:

* page ready: from navigation to the first ranked row on screen, over ``--loads`` fresh pages of
  ``make app`` (serve/app/voila.py: preheated kernels); ``--cold`` also times plain Voila, which
  starts a kernel per page;
* change -> results: from a dropdown change (dispatched in the page) to the frame that shows the
  results for the new findings (``.differential-summary[data-evidence]``), p50/p95/max, for
  everyday scenarios (up to 6 findings) and for many findings (up to all positive findings of a
  red-flag case); the busy state: from the change to the first frame that shows either the busy
  marker or the new results;
* axe-core (node_modules/axe-core, ``npm ci``): violations by impact on each notebook.

Targets (issue 11): page ready median <= 3 s, change -> results p95 <= 100 ms, busy <= 100 ms,
0 serious or critical axe violations. A MISS is printed, never an exit status.
The helpers here (``voila``, ``launch``, ``axe_violations``, ``CHANGE_JS``) serve tests/test_browser.py too.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, free_port, isolated_env, stop_server

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
EXPLORER = NOTEBOOKS / "01_explore.ipynb"
APP_CONFIG = REPO / "serve" / "app"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
READY_TARGET_S = 3.0
CHANGE_TARGET_MS = 100.0
SERIOUS = ("serious", "critical")
OUTSIDE = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")  # Voila asks a CDN for a font: refused

#: Sets a finding through its dropdown and resolves, on the next frame after the page shows the results
#: for ``key`` (or refuses the evidence in one line), with {results, busy, refused} in ms since the change
#: (busy: first frame with the busy marker or the results; refused: the page's message, or null).
CHANGE_JS = """
([fid, label, key]) => new Promise((resolve, reject) => {
  const root = document.querySelector('.twitchbn-explorer');
  const select = root.querySelector(`.finding-${fid} select`);
  let busy = null, done = false;
  const t0 = performance.now();
  const check = () => {
    if (done) return;
    const status = root.querySelector('.results-status');
    if (busy === null && status && status.dataset.state === 'busy') {
      requestAnimationFrame(() => { if (busy === null) busy = performance.now() - t0; });
    }
    const summary = root.querySelector('.differential-summary');
    const refused = root.querySelector('.ui-message .tb-message-error');
    if ((summary && summary.dataset.evidence === key) || refused) {
      done = true;
      observer.disconnect();
      requestAnimationFrame(() => {
        const results = performance.now() - t0;
        resolve({results, busy: busy === null ? results : Math.min(busy, results), refused: refused ? refused.textContent : null});
      });
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
  setTimeout(() => { if (!done) { observer.disconnect(); reject(new Error(`no results for ${key} within 120 s`)); } }, 120000);
  select.value = label;
  select.dispatchEvent(new Event('change', {bubbles: true}));
})
"""

AXE_JS = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                                       targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}
"""


@contextmanager
def voila(target: Path, *args: str, timeout: float = 120.0) -> Iterator[str]:
    """Voila serving ``target`` (a notebook or a folder) on a free local port, isolated; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="twitchbn-voila-") as tmp:
        root = Path(tmp)
        port = free_port()
        log_path = root / "voila.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "voila", str(target), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", *args],
                cwd=REPO, env=isolated_env(root), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                deadline = time.monotonic() + timeout
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"voila exited with status {proc.returncode}: {log_path.read_text()[-2000:]}")
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"voila did not open its port within {timeout:.0f} s") from None
                        time.sleep(0.2)
                yield f"http://127.0.0.1:{port}/"
            finally:
                stop_server(proc)


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless, with the flags known to work on these machines."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run `make browser`")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def new_page(browser: Any, width: int = 1366, height: int = 900) -> Any:
    """A page in a fresh context that refuses every request leaving 127.0.0.1."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route(OUTSIDE, lambda route: route.abort())
    return context.new_page()


def open_explorer(browser: Any, url: str, width: int = 1366, height: int = 900) -> tuple[Any, float]:
    """A fresh explorer page and the seconds from navigation to its first ranked row on screen."""
    page = new_page(browser, width, height)
    start = time.perf_counter()
    page.goto(url, timeout=300_000)
    page.locator(".differential-row").first.wait_for(state="visible", timeout=300_000)
    return page, time.perf_counter() - start


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (axe.min.js injected from node_modules)."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make browser` (npm ci installs axe-core)")
    page.add_script_tag(path=str(AXE))
    return page.evaluate(AXE_JS)


def change(page: Any, variable: str, label: str, key: str) -> dict[str, float]:
    """Set one finding in the page; {results, busy} in ms (see ``CHANGE_JS``)."""
    return page.evaluate(CHANGE_JS, [variable, label, key])


def scenario_steps(model: Any, evidences: Sequence[dict[str, str]]) -> list[tuple[str, str, str]]:
    """(variable, option label, expected evidence key) for entering each scenario finding by finding,
    then clearing it again finding by finding."""
    from twitchbn.ui.render import evidence_key, state_label

    steps = []
    for evidence in evidences:
        current: dict[str, str] = {}
        for variable, state in evidence.items():
            current[variable] = state
            steps.append((variable, state_label(state), evidence_key(current)))
        for variable in list(evidence):
            del current[variable]
            steps.append((variable, "unknown", evidence_key(current)))
    return steps


def _cases(model: Any) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Everyday scenarios (up to 6 findings) and one with many positive findings."""
    everyday = [
        {"twitch_eyelid": "yes", "sleep_hours": "under_7", "caffeine_intake": "high"},
        {"twitch_calf": "yes", "back_injury": "yes", "numbness_tingling": "yes", "problem_duration": "over_1_month"},
        {"twitch_arm": "yes", "muscle_weakness": "yes", "muscle_wasting": "yes", "cramps": "yes", "problem_duration": "over_1_month",
         "age_group": "over_60"},
    ]
    known = {f.id: f.states for f in model.kb.findings} | {x.id: x.states for x in model.kb.exposures}
    everyday = [{v: s for v, s in e.items() if s in known.get(v, ())} for e in everyday]
    many = {f.id: "yes" for f in model.kb.findings if f.states == ("no", "yes")}
    many = dict(list(many.items())[:19])
    return everyday, many


def _stats(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    return {"n": len(array), "p50": float(np.median(array)), "p95": float(np.percentile(array, 95)), "max": float(array.max())}


def _verdict(value: float, target: float) -> str:
    return f"{value / target:.2f}x target ({'ok' if value <= target else 'MISS'})"


def measure_changes(page: Any, steps: Sequence[tuple[str, str, str]], pause: float) -> tuple[list[float], list[float], str | None]:
    """Results and busy latencies (ms) of each step, ``pause`` seconds apart (a person's pace), up to
    the first step the page refuses (its message is returned)."""
    results, busy = [], []
    for variable, label, key in steps:
        timing = change(page, variable, label, key)
        if timing["refused"]:
            return results, busy, f"step {len(results) + 1} ({variable}) refused: {timing['refused']}"
        results.append(timing["results"])
        busy.append(timing["busy"])
        time.sleep(pause)
    return results, busy, None


def page_ready(url: str, loads: int, settle: float) -> list[float]:
    """Seconds to the first ranked row for ``loads`` fresh pages (``settle`` s apart, for the pool to refill)."""
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(loads):
            time.sleep(settle)
            page, seconds = open_explorer(browser, url)
            times.append(seconds)
            page.context.close()
        browser.close()
    return times


def run(args: argparse.Namespace) -> int:
    """Measure and print every figure against its target."""
    from playwright.sync_api import sync_playwright

    import twitchbn

    model = twitchbn.load_model()
    everyday, many = _cases(model)
    print("twitchbn explorer in Chromium (Voila; 2-core machine)")
    with voila(EXPLORER, f"--Voila.config_file_paths={APP_CONFIG}") as url:
        if args.loads:
            ready_s = _stats(page_ready(url, args.loads, args.settle))
            print(f"page ready, preheated (make app), {args.loads} loads: median {ready_s['p50']:.2f} s, max {ready_s['max']:.2f} s; "
                  f"{_verdict(ready_s['p50'], READY_TARGET_S)}")
        with sync_playwright() as playwright:
            browser = launch(playwright)
            time.sleep(args.settle)
            page, _ = open_explorer(browser, url)
            cycle = scenario_steps(model, everyday)  # whole cycles, so every scenario is cleared again
            steps = cycle * max(1, -(-args.changes // len(cycle)))
            results, busy, refused = measure_changes(page, steps, args.pause)
            if refused:
                print(f"everyday scenario {refused}")
            r, b = _stats(results), _stats(busy)
            print(f"change -> results, everyday (<= 6 findings), {r['n']} changes: p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                  f"max {r['max']:.0f} ms; {_verdict(r['p95'], CHANGE_TARGET_MS)}")
            print(f"busy state or results shown, everyday: p50 {b['p50']:.0f} ms, p95 {b['p95']:.0f} ms, max {b['max']:.0f} ms; "
                  f"{_verdict(b['max'], CHANGE_TARGET_MS)}")
            heavy_steps = scenario_steps(model, [many])[: len(many)]
            results, busy, refused = measure_changes(page, heavy_steps, args.pause)
            r, b = _stats(results), _stats(busy)
            print(f"many findings: {refused or 'every step answered'}; slowest steps: "
                  + ", ".join(f"{n + 1} findings {t:.0f} ms" for n, t in enumerate(results) if n >= len(results) - 3))
            print(f"change -> results, many findings (1 to {len(results)} positive): p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                  f"max {r['max']:.0f} ms; {_verdict(r['p95'], CHANGE_TARGET_MS)}")
            print(f"busy state or results shown, many findings: p50 {b['p50']:.0f} ms, p95 {b['p95']:.0f} ms, max {b['max']:.0f} ms; "
                  f"{_verdict(b['max'], CHANGE_TARGET_MS)}")
            page.context.close()
            browser.close()
    if args.cold:
        with voila(EXPLORER, "--VoilaExecutor.timeout=120") as url:
            cold = _stats(page_ready(url, max(args.loads // 2, 1), 1.0))
            print(f"page ready, plain Voila (a kernel started per page): median {cold['p50']:.2f} s, max {cold['max']:.2f} s")
    print(axe_report())
    return 0


def axe_report() -> str:
    """axe-core violations by impact on each served notebook (the explorer with findings set)."""
    from playwright.sync_api import sync_playwright

    lines = []
    with voila(NOTEBOOKS, "--VoilaExecutor.timeout=120") as url, sync_playwright() as playwright:
        browser = launch(playwright)
        for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
            page = new_page(browser)
            page.goto(f"{url}voila/render/{notebook.name}", timeout=300_000)
            page.locator(".twitchbn").first.wait_for(timeout=300_000)
            page.wait_for_load_state("networkidle")
            if notebook == EXPLORER:
                for variable, label in (("twitch_eyelid", "yes"), ("muscle_weakness", "yes")):
                    page.locator(f".finding-{variable} select").select_option(label=label)
                page.locator(".next-questions table").first.wait_for(timeout=60_000)
            violations = axe_violations(page)
            counts = {impact: sum(v["impact"] == impact for v in violations) for impact in ("critical", "serious", "moderate", "minor")}
            bad = [f"{v['id']} ({v['impact']}, {v['nodes']} nodes: {', '.join(v['targets'])})"
                   for v in violations if v["impact"] in SERIOUS]
            ok = "ok" if not bad else "MISS"
            lines.append(f"axe {notebook.name}: " + ", ".join(f"{k} {n}" for k, n in counts.items()) + f" ({ok})")
            lines += [f"    {line}" for line in bad]
            page.context.close()
        browser.close()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=7, help="fresh page loads for page ready (default 7; 0 skips it)")
    parser.add_argument("--changes", type=int, default=40, help="dropdown changes of everyday scenarios (default 40)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between changes (default 0.3, a quick person)")
    parser.add_argument("--settle", type=float, default=8.0, help="seconds before each page load, for the kernel pool to refill")
    parser.add_argument("--cold", action="store_true", help="also time plain Voila (no preheated kernels)")
    parser.add_argument("--axe-only", action="store_true", help="only the accessibility counts")
    args = parser.parse_args(argv)
    if args.axe_only:
        print(axe_report())
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
