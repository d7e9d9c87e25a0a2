# Voila configuration for serving the explorer to a class: `make serve` (README, "Serving a class").
# Voila reads it because the command passes --Voila.config_file_paths=serve; command-line flags win.
# Figures measured on a 2-core machine with benchmarks/load.py; see the README.
c = get_config()  # noqa: F821 (traitlets injects get_config into configuration files)

c.Voila.ip = "127.0.0.1"
c.Voila.open_browser = False

# A pool of kernels that have already imported twitchbn and built the model (the slow part of a
# page: about 5 s of CPU each). Each waits in page_query_string() until a visitor takes it. One per
# student, because 30 kernels starting from scratch at once take minutes on 2 cores; an idle pooled
# kernel holds about 110 MB, so the full pool about 3.3 GB. Voila refills the pool a minute after a
# kernel is taken, so that refilling does not compete with the pages of the same wave.
c.VoilaConfiguration.preheat_kernel = True
c.VoilaConfiguration.default_pool_size = 30
c.VoilaKernelManager.fill_delay = 60

# Culling: a kernel whose page is closed (no websocket left) and that has been idle for 10 minutes
# is shut down. A page that is still open keeps its kernel however long the student reads it.
# Pooled kernels are never culled (Voila's VoilaKernelManager.cull_kernel_if_idle skips them).
c.MappingKernelManager.cull_idle_timeout = 600
c.MappingKernelManager.cull_interval = 60
c.MappingKernelManager.cull_connected = False
c.MappingKernelManager.cull_busy = False

# Timeouts sized for a loaded server: 30 pages starting at once on 2 cores take minutes, not
# seconds, so a page waits rather than losing its outputs. The default IOPub timeout (4 s) is what
# made a loaded server show pages without the explorer; raising on it turns a lost output into a
# visible message instead of an empty page.
CELL_TIMEOUT = 300
WAIT_FOR_VISITOR = "page_query_string()"

c.VoilaExecutor.timeout = CELL_TIMEOUT
c.VoilaExecutor.iopub_timeout = CELL_TIMEOUT
c.VoilaExecutor.raise_on_iopub_timeout = True
c.VoilaExecutor.startup_timeout = CELL_TIMEOUT


def cell_timeout(cell, limit=CELL_TIMEOUT, marker=WAIT_FOR_VISITOR):
    """No limit for the cell where a preheated kernel waits for its visitor; ``limit`` elsewhere."""
    return None if marker in cell.get("source", "") else limit


c.VoilaExecutor.timeout_func = cell_timeout

# What a page says when its explorer cannot start (Voila shows it in place of the cell's output).
c.VoilaExecutor.cell_error_instruction = (
    "The explorer could not start on this page. Reload the page; if this happens again, tell whoever runs the server "
    "(the server's log has the details)."
)
c.VoilaExecutor.cell_timeout_instruction = (
    "The server is too busy to start the explorer on this page. Reload the page in a minute; if this happens again, "
    "tell whoever runs the server."
)
