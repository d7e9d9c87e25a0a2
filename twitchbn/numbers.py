"""A hand-set number of the knowledge base, and how one becomes a value over a variable's states.

Every probability in ``data/`` is a ``Number``: its value (a probability, or a distribution
over a variable's states), a one-line rationale (``why``), its ``source`` (a seed file with a
paraphrase, a published reference with its URL or DOI, both, or ``clinical convention``) and
optionally a plausible ``range``. The schema (``twitchbn.schema``)
has checked each number's shape; ``over_states`` checks the part that needs the vocabulary (a
dist names exactly the finding's states and sums to 1) and reports to a ``Faults`` collector, so
a load names every fault in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twitchbn.schema import DistNumber, LinkEntry, PNumber, RiskFactorEntry

SEED_FILES = ("000_0b4f9497a7fa5b7f.txt", "003_d14b87ccbcc0eca4.txt")
CONVENTION = "clinical convention"
TOLERANCE = 1e-9  # how far a distribution may sum from 1
CITATION = re.compile(r"https?://\S+|\bdoi:\s*10\.\S+", re.IGNORECASE)


def is_seeded(source: str) -> bool:
    """The source starts from one of the two seed articles."""
    return source.startswith(SEED_FILES)


def is_cited(source: str) -> bool:
    """The source names a published reference by URL or DOI."""
    return CITATION.search(source) is not None


def source_counts(numbers: list[Number]) -> dict[str, int]:
    """How the numbers are sourced: all, with a URL or DOI, from a seed, only clinical convention."""
    return {
        "numbers": len(numbers),
        "cited": sum(is_cited(n.source) for n in numbers),
        "seeded": sum(is_seeded(n.source) for n in numbers),
        "convention": sum(n.source == CONVENTION for n in numbers),
    }


def is_valid_source(source: str) -> bool:
    """A seed paraphrase, a published reference, or exactly ``clinical convention``."""
    return source == CONVENTION or is_seeded(source) or is_cited(source)


@dataclass(frozen=True)
class Number:
    """One hand-set probability (or distribution) with its rationale and source."""

    value: float | tuple[float, ...]
    why: str
    source: str
    where: str
    range: tuple[float, float] | None = None


class Faults:
    """Collects every fault of a load in one pass."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def point(raw: PNumber | RiskFactorEntry, where: str) -> Number:
    """A single probability ``p`` (already checked by the schema)."""
    return Number(raw.p, raw.why, raw.source, where, raw.range)


def over_states(raw: DistNumber | LinkEntry, where: str, states: tuple[str, ...], faults: Faults, at: str, key: str) -> Number | None:
    """A leak or link over ``states``: ``p`` of the second of two states, or a ``dist`` summing to 1.

    Faults are reported at ``at`` (file and entry) under ``key`` (e.g. ``links[2]``).
    """
    listed = ", ".join(states)
    if raw.p is not None:
        if len(states) != 2:
            faults.add(at, f"{key} must give dist over {listed} (p suits a finding of two states); got p")
            return None
        return Number((1.0 - raw.p, raw.p), raw.why, raw.source, where, raw.range)
    dist = raw.dist or {}  # the schema requires exactly one of p and dist
    if set(dist) != set(states):
        faults.add(at, f"{key}.dist must give exactly the states {listed}; got {', '.join(dist)}")
        return None
    total = sum(dist.values())
    if abs(total - 1.0) > TOLERANCE:
        faults.add(at, f"{key}.dist must sum to 1; got {total!r}")
        return None
    return Number(tuple(dist[s] for s in states), raw.why, raw.source, where, raw.range)
