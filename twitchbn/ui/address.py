"""The query string of the Voila page a kernel serves, with and without preheated kernels.

Voila puts the page's address in the kernel's environment (``QUERY_STRING``, CGI style) when it
starts a kernel for a request. With ``--preheat_kernel=True`` the kernel is started and the
notebook run *before* anyone asks for the page, so the environment holds no address yet. Voila's
documented answer is ``voila.utils.get_query_string()``: the kernel opens the websocket
``<base>voila/query/<kernel id>`` and Voila sends it the request's CGI variables once a visitor
takes that kernel. ``page_query_string`` speaks that same protocol with the light
``websockets`` client, because importing ``voila.utils`` pulls Jupyter Server, nbconvert and
Jinja into every kernel: about 40 MB each, a quarter of an idle kernel.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping

CONNECT_TIMEOUT = 10  # seconds to reach Voila's websocket; the wait for a visitor itself is unbounded


class PageAddressError(RuntimeError):
    """Voila did not hand this preheated kernel its page's address."""


def request_info_url(env: Mapping[str, str]) -> str:
    """The websocket where Voila sends a preheated kernel its request (as ``voila.utils.wait_for_request``).

    Examples
    --------
    >>> request_info_url({"VOILA_APP_PORT": "8866", "VOILA_SERVER_URL": "/", "VOILA_KERNEL_ID": "k1"})
    'ws://127.0.0.1:8866/voila/query/k1'
    """
    protocol = env.get("VOILA_WS_PROTOCOL", "ws")
    ip = env.get("VOILA_APP_IP", "127.0.0.1")
    port = env.get("VOILA_APP_PORT", "8866")
    base = env.get("VOILA_WS_BASE_URL", env.get("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{ip}:{port}{base}voila/query/{env.get('VOILA_KERNEL_ID', '')}"


def page_query_string(env: MutableMapping[str, str] | None = None) -> str:
    """The query string of this kernel's Voila page (``twitch_eyelid=yes``); ``""`` outside Voila.

    In a preheated kernel (``VOILA_PREHEAT=True``) this blocks until a visitor takes the kernel,
    then copies the request's variables into ``env`` (``os.environ`` by default), as Voila's own
    helper does. The notebook cell calling it must have no execution timeout: ``serve/voila.py``
    exempts the cell that contains ``page_query_string()``.

    Raises
    ------
    PageAddressError
        When the kernel is preheated but Voila's request websocket cannot be reached or sends
        something other than a JSON object; the page then says its explorer could not start
        rather than silently ignoring the findings in its address.
    """
    env = os.environ if env is None else env
    if env.get("VOILA_PREHEAT") == "True":
        _receive_request_info(env)
    return env.get("QUERY_STRING", "")


def _receive_request_info(env: MutableMapping[str, str]) -> None:
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    url = request_info_url(env)
    try:
        with connect(url, open_timeout=CONNECT_TIMEOUT, max_size=2**20) as websocket:
            message = websocket.recv()
        info = json.loads(message)
    except (OSError, TimeoutError, ValueError, WebSocketException) as error:
        raise PageAddressError(f"the page address of this preheated kernel could not be read from {url}: {error}") from error
    if not isinstance(info, dict):
        raise PageAddressError(f"the request info from {url} must be a JSON object; got {type(info).__name__}")
    env.update({str(key): str(value) for key, value in info.items()})
