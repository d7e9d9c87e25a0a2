"""Writing the user's files safely: whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from twitchbn.errors import TwitchbnError, shorten


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory (fsync, rename).

    A crash or a full disk never leaves a half-written file, and an existing file is replaced
    only once the new one is complete. Failures raise ``TwitchbnError`` naming the file.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise TwitchbnError(f"cannot write '{shorten(str(path), keep_end=True)}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise TwitchbnError(f"cannot write '{shorten(str(path), keep_end=True)}': {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
