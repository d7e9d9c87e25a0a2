"""Differential reasoning on top of a ranked list: why, next question, MPE, what-if, compare.

Every function is pure: it takes a ``Model`` and evidence and returns a DataFrame or a frozen
dataclass. Definitions (weight of evidence, information-gain target, MPE, interventions) are in
``docs/reasoning.md``.
"""

from twitchbn.reasoning._common import SERIOUSNESS
from twitchbn.reasoning._mpe import MostProbableExplanation, most_probable_explanation
from twitchbn.reasoning._next import next_questions
from twitchbn.reasoning._whatif import WhatIf, compare, compare_results, what_if
from twitchbn.reasoning._why import why

__all__ = [
    "SERIOUSNESS",
    "MostProbableExplanation",
    "WhatIf",
    "compare",
    "compare_results",
    "most_probable_explanation",
    "next_questions",
    "what_if",
    "why",
]
