"""Plain words for people: states, percentages and findings as the CLI, triage and views show them."""

from __future__ import annotations

import math

from twitchbn.knowledge import Knowledge


def state_label(state: str) -> str:
    """A vocabulary state as shown to people: ``1_to_4_weeks`` -> ``1 to 4 weeks``."""
    return str(state).replace("_", " ")


def percent(p: float) -> str:
    """A probability as a short percentage ('<1%' and '>99%' keep 0 and 1 for certainties).

    >>> [percent(p) for p in (0.0, 0.001, 0.934, 0.999, 1.0)]
    ['0%', '<1%', '93%', '>99%', '100%']
    """
    if not math.isfinite(p):
        return "–"
    if p <= 0.0:
        return "0%"
    if p >= 1.0:
        return "100%"
    if p < 0.005:
        return "<1%"
    if p >= 0.995:
        return ">99%"
    return f"{100 * p:.0f}%"


def finding_text(kb: Knowledge, variable: str, state: str) -> str:
    """A finding state in words: ``Muscle weakness: yes``."""
    return f"{kb.label(variable)}: {state_label(state)}"
