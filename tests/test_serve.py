"""The class configuration (serve/voila.py, `make serve`) and how a page's kernel reads its address."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

from twitchbn.ui.address import PageAddressError, page_query_string, request_info_url

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "01_explore.ipynb"


@pytest.fixture(scope="module")
def config():
    return PyFileConfigLoader("voila.py", path=str(REPO / "serve")).load_config()


def code_cells() -> list[dict]:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return [{**cell, "source": "".join(cell["source"])} for cell in cells if cell["cell_type"] == "code"]


def test_make_serve_passes_the_committed_configuration_to_voila():
    makefile = (REPO / "Makefile").read_text()
    assert "voila notebooks/01_explore.ipynb --Voila.config_file_paths=serve --port=$(PORT)" in makefile
    assert "PORT ?= 8866" in makefile


def test_serve_config_preheats_a_pool_of_kernels_on_localhost(config):
    assert config.Voila.ip == "127.0.0.1"
    assert config.VoilaConfiguration.preheat_kernel is True
    assert config.VoilaConfiguration.default_pool_size == 30


def test_serve_config_culls_idle_kernels_of_closed_pages_only(config):
    kernels = config.MappingKernelManager
    assert (kernels.cull_idle_timeout, kernels.cull_interval) == (600, 60)
    assert kernels.cull_connected is False
    assert kernels.cull_busy is False


def test_serve_config_waits_for_iopub_and_reports_a_lost_output(config):
    executor = config.VoilaExecutor
    assert executor.timeout == executor.iopub_timeout == executor.startup_timeout == 300
    assert executor.raise_on_iopub_timeout is True
    assert "could not start" in executor.cell_error_instruction
    assert "too busy" in executor.cell_timeout_instruction


def test_only_the_cell_that_waits_for_a_visitor_runs_without_a_time_limit(config):
    limits = [config.VoilaExecutor.timeout_func(cell) for cell in code_cells()]
    waiting = [i for i, cell in enumerate(code_cells()) if "page_query_string()" in cell["source"]]
    assert len(waiting) == 1
    assert limits == [None if i in waiting else 300 for i in range(len(limits))]


def test_the_waiting_cell_does_nothing_else_so_the_explorer_cell_keeps_its_limit():
    (waiting,) = [cell for cell in code_cells() if "page_query_string()" in cell["source"]]
    code = [line for line in waiting["source"].splitlines() if not line.startswith("#")]
    assert code == ["query = page_query_string()"]


def test_voila_itself_reads_the_configuration_as_make_serve_passes_it():
    from voila.app import Voila

    handler = signal.getsignal(signal.SIGTERM)
    try:
        app = Voila()
        app.initialize([str(NOTEBOOK), "--Voila.config_file_paths=serve", "--port=8899"])
    finally:
        signal.signal(signal.SIGTERM, handler)
    assert app.config_file_paths == ["serve"]
    assert (app.voila_configuration.preheat_kernel, app.voila_configuration.default_pool_size) == (True, 30)
    assert app.config.MappingKernelManager.cull_idle_timeout == 600
    assert app.port == 8899


def test_request_info_url_follows_voila_environment():
    env = {"VOILA_APP_IP": "10.0.0.1", "VOILA_APP_PORT": "9000", "VOILA_SERVER_URL": "/class/", "VOILA_KERNEL_ID": "abc"}
    assert request_info_url(env) == "ws://10.0.0.1:9000/class/voila/query/abc"
    assert request_info_url({**env, "VOILA_WS_BASE_URL": "/ws/", "VOILA_WS_PROTOCOL": "wss"}) == "wss://10.0.0.1:9000/ws/voila/query/abc"


def test_page_query_string_reads_the_environment_without_preheating():
    assert page_query_string({"VOILA_PREHEAT": "False", "QUERY_STRING": "twitch_eyelid=yes"}) == "twitch_eyelid=yes"
    assert page_query_string({}) == ""


def test_a_preheated_kernel_waits_for_voila_to_send_its_request():
    from websockets.sync.server import serve

    paths = []

    def handler(websocket):
        paths.append(websocket.request.path)
        websocket.send(json.dumps({"QUERY_STRING": "twitch_eyelid=yes&sleep_hours=under_7", "SERVER_PORT": "9"}))

    with serve(handler, "127.0.0.1", 0) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.socket.getsockname()[1]
        env = {"VOILA_PREHEAT": "True", "VOILA_APP_PORT": str(port), "VOILA_SERVER_URL": "/", "VOILA_KERNEL_ID": "k-1"}
        assert page_query_string(env) == "twitch_eyelid=yes&sleep_hours=under_7"
        server.shutdown()
    assert paths == ["/voila/query/k-1"]
    assert env["SERVER_PORT"] == "9"


def test_a_preheated_kernel_that_cannot_reach_voila_says_so():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    env = {"VOILA_PREHEAT": "True", "VOILA_APP_PORT": str(port), "VOILA_KERNEL_ID": "k-2"}
    with pytest.raises(PageAddressError, match=rf"could not be read from ws://127\.0\.0\.1:{port}/voila/query/k-2"):
        page_query_string(env)
