"""Notebook widgets of twitchbn: the explorer, teaching cases and the knowledge-base browser.

Widgets import lazily so that ``twitchbn.ui.state`` and ``twitchbn.ui.render`` stay usable
without ipywidgets being imported.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Explorer": "twitchbn.ui.explorer",
    "ExplorerState": "twitchbn.ui.state",
    "LessonView": "twitchbn.ui.teaching",
    "Lessons": "twitchbn.ui.teaching",
    "Quiz": "twitchbn.ui.teaching",
    "KnowledgeBrowser": "twitchbn.ui.kb_browser",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'twitchbn.ui' has no attribute {name!r}")
