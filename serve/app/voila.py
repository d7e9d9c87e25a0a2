# Voila configuration of `make app`: the explorer for one person on 127.0.0.1:8866, served from a
# small pool of preheated kernels so that the page is ready in about a second instead of the ~5 s a
# kernel needs to start, import twitchbn and build the model. It reuses the class configuration
# (serve/voila.py: a pooled kernel waits for its visitor's address; timeouts; messages) and only
# makes the pool small and refills it at once. benchmarks/browser.py measures the page with it.
from pathlib import Path

c = get_config()  # noqa: F821 (traitlets injects get_config into configuration files)
load_subconfig("voila.py", path=str(Path(__file__).resolve().parents[1]))  # noqa: F821 (injected like get_config)

c.VoilaConfiguration.default_pool_size = 2  # one page in use, one ready for the next reload
c.VoilaKernelManager.fill_delay = 0
