"""Classroom load: ``python -m benchmarks.load [--pages 30] [--client http|browser] [--pool N] [--settle 60]``.

Starts the explorer the way ``make serve`` does (``serve/voila.py``) but with a short culling
timeout, waits until the preheated pool is built and idle, then opens ``--pages`` pages at once,
each with its own findings in the address. ``--client http`` (default) loads each page with a
plain HTTP client and the kernel websocket, as students' own browsers would; ``--client browser``
opens each in its own Playwright context of one headless Chromium on this machine, whose
rendering of 30 pages then competes with the kernels for the same two cores. A page counts as
interactive when its ``.differential-summary`` carries the address's evidence in
``data-evidence``. It prints:

- pages interactive, and the median and max time from asking for the page to interactive;
- the resident memory (``/proc/<pid>/status`` VmRSS) of every kernel while all pages stay open
  and idle, and of the pooled kernels before anyone came;
- after closing every page (without ``beforeunload``, like a crashed tab or a laptop lid, so only
  culling can free the kernel), the kernels left ``--settle`` seconds later besides the refilled
  pool.

Not run by ``make test``: it takes a few minutes and most of two cores. Exit status 0 when the
goals are met (every page interactive, no kernel left, at most 150 MB per idle kernel), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.servers import CHROMIUM, CHROMIUM_ARGS, free_port, isolated_env, stop_server
from twitchbn.ui.render import evidence_key

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "01_explore.ipynb"
CASES = [  # cycled over the pages, so each kernel must honour its own address
    {"twitch_eyelid": "yes"},
    {"twitch_eyelid": "yes", "sleep_hours": "under_7"},
    {"twitch_calf": "yes", "back_injury": "yes"},
    {"twitch_arm": "yes", "muscle_weakness": "yes"},
    {"twitch_eyelid": "yes", "caffeine_intake": "high"},
    {},
]
GOAL_MB = 150


@dataclass
class PageResult:
    index: int
    evidence: dict[str, str]
    seconds: float | None  # time to interactive; None when it never became interactive
    note: str = ""


Wave = tuple[list[PageResult], float, list[float], list[float]]  # results, wall seconds, RSS with pages open, RSS after


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def kernel_rss_mb(server_pid: int) -> list[float]:
    """Resident memory in MB of each ipykernel process started by the server."""
    sizes = []
    for pid in kernel_pids(server_pid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            sizes.append(int(match.group(1)) / 1024)
    return sizes


def start_server(root: Path, port: int, pool: int | None, cull: int, interval: int) -> tuple[subprocess.Popen, Path]:
    """Voila with the committed class configuration plus a short culling timeout, in its own session."""
    log = root / "voila.log"
    args = [sys.executable, "-m", "voila", str(NOTEBOOK), "--Voila.config_file_paths=serve", f"--port={port}",
            f"--MappingKernelManager.cull_idle_timeout={cull}", f"--MappingKernelManager.cull_interval={interval}"]
    if pool is not None:
        args += [f"--VoilaConfiguration.preheat_kernel={pool > 0}", f"--VoilaConfiguration.default_pool_size={max(pool, 0)}"]
    with log.open("w") as out:
        proc = subprocess.Popen(args, cwd=REPO, env=isolated_env(root), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    return proc, log


def kernel_pids(server_pid: int) -> list[int]:
    """The ipykernel processes started by the server."""
    pids = []
    for pid in descendants(server_pid):
        try:
            if b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of ``pids`` (fields 14 and 15 of /proc/<pid>/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_ready(proc: subprocess.Popen, port: int, log: Path, pool: int, timeout: float) -> float:
    """Seconds until the port is open and the pooled kernels have built the model and gone idle."""
    start = time.monotonic()
    quiet, before = 0, None
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"voila exited with status {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            time.sleep(0.5)
            continue
        pids = kernel_pids(proc.pid)
        used = cpu_seconds(pids)
        quiet = quiet + 1 if len(pids) >= pool and before is not None and used - before < 0.05 else 0
        if quiet >= 3:
            return time.monotonic() - start
        before = used
        time.sleep(1)
    raise SystemExit(f"voila was not ready within {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def page_url(port: int, evidence: dict[str, str]) -> str:
    return f"http://127.0.0.1:{port}/" + (f"?{evidence_key(evidence)}" if evidence else "")


async def open_page(browser, port: int, index: int, evidence: dict[str, str], timeout: float):
    """Open one page in a fresh context; time until it shows the address's evidence."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = await context.new_page()
    start = time.monotonic()
    selector = f'.differential-summary[data-evidence="{evidence_key(evidence)}"]'
    try:
        await page.goto(page_url(port, evidence), timeout=timeout * 1000, wait_until="commit")
        await page.wait_for_selector(selector, state="attached", timeout=max(1.0, timeout - (time.monotonic() - start)) * 1000)
        return context, PageResult(index, evidence, time.monotonic() - start)
    except Exception as error:  # any failure is one page not interactive; say which
        note = type(error).__name__
        try:
            text = await page.inner_text("body", timeout=2000)
            shown = await page.get_attribute(".differential-summary", "data-evidence", timeout=1000)
            note += f"; page evidence {shown!r}" if shown is not None else ""
            for phrase in ("could not start", "too busy", "error"):
                if phrase in text:
                    note += f"; page says '{phrase}'"
                    break
        except Exception:  # the page may be gone; the note stays as it is
            pass
        return context, PageResult(index, evidence, None, note)


async def open_page_http(port: int, index: int, evidence: dict[str, str], timeout: float):
    """One page as a plain HTTP client plus the kernel websocket, as a student's own browser would.

    Reads the whole page (Voila streams it while the notebook runs), connects to the kernel's
    channels, asks the widget manager for every widget's state (ipywidgets' ``request_states``)
    and looks for the differential summary computed for the address's evidence.
    """
    from ipywidgets._version import __control_protocol_version__
    from tornado.httpclient import AsyncHTTPClient
    from tornado.websocket import websocket_connect

    start = time.monotonic()
    wanted = html.escape(evidence_key(evidence))
    websocket = None
    try:
        response = await AsyncHTTPClient().fetch(page_url(port, evidence), request_timeout=timeout)
        body = response.body.decode()
        match = re.search(r'"kernelId": "([0-9a-f-]+)"', body)
        if not match:
            note = next((f"page says '{p}'" for p in ("could not start", "too busy") if p in body), "no kernel id in the page")
            return websocket, PageResult(index, evidence, None, note)
        session = uuid.uuid4().hex
        websocket = await websocket_connect(f"ws://127.0.0.1:{port}/api/kernels/{match.group(1)}/channels?session_id={session}")
        comm = uuid.uuid4().hex
        await websocket.write_message(_message(session, "comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control",
                                                                      "data": {}}, {"version": __control_protocol_version__}))
        await websocket.write_message(_message(session, "comm_msg", {"comm_id": comm, "data": {"method": "request_states"}}))
        while time.monotonic() - start < timeout:
            frame = await asyncio.wait_for(websocket.read_message(), max(1.0, timeout - (time.monotonic() - start)))
            if frame is None:
                return websocket, PageResult(index, evidence, None, "kernel websocket closed")
            msg = _decode(frame)
            data = msg.get("content", {}).get("data", {})
            if msg.get("msg_type", msg.get("header", {}).get("msg_type")) == "comm_msg" and data.get("method") == "update_states":
                values = [str(w.get("state", {}).get("value", "")) for w in data.get("states", {}).values()]
                shown = re.findall(r'differential-summary[^>]*data-evidence="([^"]*)"', " ".join(values))
                if wanted in shown:
                    return websocket, PageResult(index, evidence, time.monotonic() - start)
                return websocket, PageResult(index, evidence, None, f"page shows evidence {shown!r}")
        return websocket, PageResult(index, evidence, None, "TimeoutError")
    except Exception as error:  # any failure is one page not interactive; say which
        return websocket, PageResult(index, evidence, None, f"{type(error).__name__}: {error}"[:200])


def _message(session: str, msg_type: str, content: dict, metadata: dict | None = None) -> str:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "load", "date": "",
              "version": "5.3"}
    return json.dumps({"header": header, "parent_header": {}, "metadata": metadata or {}, "content": content,
                       "channel": "shell", "buffers": []})


def _decode(frame: str | bytes) -> dict:
    """A kernel message from the websocket: JSON text, or the binary frame of a message with buffers."""
    if isinstance(frame, str):
        return json.loads(frame)
    count = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 + 4 * i:8 + 4 * i], "big") for i in range(count)]
    end = offsets[1] if count > 1 else len(frame)
    return json.loads(frame[offsets[0]:end])


async def wave_http(args: argparse.Namespace, proc: subprocess.Popen, port: int) -> Wave:
    """``wave`` with plain HTTP and websocket clients instead of Chromium (the browser's own CPU left out)."""
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=max(10, args.pages))
    started = time.monotonic()
    opened = await asyncio.gather(*(open_page_http(port, i, CASES[i % len(CASES)], args.timeout) for i in range(args.pages)))
    wall = time.monotonic() - started
    await asyncio.sleep(5)  # every page open and idle
    open_kernels = kernel_rss_mb(proc.pid)
    for websocket, _ in opened:
        if websocket is not None:
            websocket.close()
    await asyncio.sleep(args.settle)
    return [result for _, result in opened], wall, open_kernels, kernel_rss_mb(proc.pid)


async def wave(args: argparse.Namespace, proc: subprocess.Popen, port: int) -> Wave:
    """Open every page at once in one Chromium, measure, close them all, wait ``--settle`` seconds.

    Returns the page results, the wave's wall time, the kernels' RSS with every page open and idle,
    and the kernels' RSS ``--settle`` seconds after closing.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        started = time.monotonic()
        opened = await asyncio.gather(*(open_page(browser, port, i, CASES[i % len(CASES)], args.timeout)
                                        for i in range(args.pages)))
        wall = time.monotonic() - started
        await asyncio.sleep(5)  # every page open and idle
        open_kernels = kernel_rss_mb(proc.pid)
        for context, _ in opened:
            await context.close()  # Playwright skips beforeunload: Voila's own shutdown call is not sent
        await browser.close()
    await asyncio.sleep(args.settle)
    return [result for _, result in opened], wall, open_kernels, kernel_rss_mb(proc.pid)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description="Concurrent explorer pages on one Voila server.")
    p.add_argument("--pages", type=int, default=30, help="pages opened at once (default 30)")
    p.add_argument("--pool", type=int, default=None, help="preheated kernels (default: serve/voila.py's; 0 = no preheating)")
    p.add_argument("--timeout", type=float, default=300, help="seconds a page may take to become interactive (default 300)")
    p.add_argument("--cull", type=int, default=20,
                   help="cull_idle_timeout in seconds for this run (default 20; with --client browser, use more than a loaded "
                        "page takes to connect, or its kernel is culled first)")
    p.add_argument("--settle", type=float, default=60, help="seconds after closing every page before counting kernels (default 60)")
    p.add_argument("--client", choices=("http", "browser"), default="http",
                   help="http: a plain HTTP and websocket client per page, as students' own browsers would load the server "
                        "(default); browser: Playwright contexts in one headless Chromium on this machine")
    args = p.parse_args(argv)
    if args.client == "browser" and not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (run `make browser`)")

    root = Path(tempfile.mkdtemp(prefix="twitchbn-load-"))
    port = free_port()
    proc, log = start_server(root, port, args.pool, args.cull, interval=5)
    try:
        pool = args.pool if args.pool is not None else _configured_pool()
        ready = wait_until_ready(proc, port, log, pool, timeout=300)
        pooled = kernel_rss_mb(proc.pid)
        print(f"server ready in {ready:.1f} s; pool of {pool}; pooled idle kernels: {_mb(pooled)}", flush=True)
        results, wall, open_kernels, left = asyncio.run((wave if args.client == 'browser' else wave_http)(args, proc, port))
        return _report(args, proc, log, pool, pooled, results, wall, open_kernels, left)
    finally:
        stop_server(proc)
        shutil.rmtree(root, ignore_errors=True)


def _report(args, proc, log, pool, pooled, results, wall, open_kernels, left) -> int:
    ok = [r for r in results if r.seconds is not None]
    times = sorted(r.seconds for r in ok)
    print(f"pages interactive: {len(ok)} of {len(results)} ({args.client} clients, all at once; {wall:.1f} s for the wave)")
    if times:
        print(f"time to interactive: median {statistics.median(times):.1f} s, max {times[-1]:.1f} s, min {times[0]:.1f} s")
    for r in results:
        if r.seconds is None:
            print(f"  page {r.index} ({evidence_key(r.evidence) or 'no findings'}) not interactive: {r.note}")
    print(f"kernels with every page open and idle: {_mb(open_kernels)}")
    leaked = max(0, len(left) - pool)
    print(f"{args.settle:.0f} s after closing every page (cull_idle_timeout {args.cull} s): {len(left)} kernels running, "
          f"{min(pool, len(left))} of them the refilled pool, {leaked} left over")
    waited = 0
    while len(kernel_rss_mb(proc.pid)) > pool and waited < args.settle:
        time.sleep(5)
        waited += 5
    if leaked:
        now = max(0, len(kernel_rss_mb(proc.pid)) - pool)
        print(f"  {now} left over {args.settle + waited:.0f} s after closing")
    text = log.read_text()
    culled = text.count("Culling 'idle'") + text.count("Culling 'busy'")
    print(f"voila log: {text.count('Timeout waiting for IOPub')} IOPub timeouts, {text.count('ERROR')} errors, "
          f"{culled} kernels culled, {text.count('Using pre-heated kernel')} pages served from the pool")
    idle = max(open_kernels + pooled, default=0)
    met = len(ok) == len(results) and leaked == 0 and idle <= GOAL_MB
    print(f"goals (all interactive, 0 left, <= {GOAL_MB} MB per idle kernel): {'met' if met else 'NOT met'}")
    return 0 if met else 1


def _mb(sizes: list[float]) -> str:
    if not sizes:
        return "none"
    return f"{len(sizes)}, median {statistics.median(sizes):.0f} MB, max {max(sizes):.0f} MB, total {sum(sizes):.0f} MB"


def _configured_pool() -> int:
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("voila.py", path=str(REPO / "serve")).load_config()
    return config.VoilaConfiguration.default_pool_size if config.VoilaConfiguration.preheat_kernel else 0


if __name__ == "__main__":
    sys.exit(main())
