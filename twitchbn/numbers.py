"""A hand-set number of the knowledge base, and how one is read and checked.

Every probability in ``data/`` is a ``Number``: its value (a probability, or a distribution
over a variable's states), a one-line rationale (``why``), its ``source`` (a seed file, or
``clinical convention``) and optionally a plausible ``range``. ``read_number`` checks all of that
and reports each fault to a ``Faults`` collector, so a load names every fault in one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SEED_FILES = ("000_0b4f9497a7fa5b7f.txt", "003_d14b87ccbcc0eca4.txt")
CONVENTION = "clinical convention"
TOLERANCE = 1e-9  # how far a distribution may sum from 1


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


def is_prob(x: Any) -> bool:
    """A finite real number in [0, 1] (booleans are not numbers here)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and 0.0 <= x <= 1.0


def read_number(raw: Any, where: str, faults: Faults, states: tuple[str, ...] | None = None) -> Number | None:
    """Parse ``{p|dist, why, source, range?}``; ``states`` set means a distribution over them."""
    if not isinstance(raw, dict):
        faults.add(where, f"must be a mapping with p, why and source; got {type(raw).__name__}")
        return None
    ok = True
    why, source = raw.get("why"), raw.get("source")
    if not isinstance(why, str) or not why.strip():
        faults.add(where, "must have a one-line rationale in 'why'")
        ok = False
    if not isinstance(source, str) or not (
        source.strip() == CONVENTION or any(source.startswith(s) for s in SEED_FILES)
    ):
        faults.add(where, f"source must name a seed file ({', '.join(SEED_FILES)}) or be '{CONVENTION}'; got {source!r}")
        ok = False
    value: float | tuple[float, ...] | None = None
    if states is None or (len(states) == 2 and "p" in raw):
        p = raw.get("p")
        if not is_prob(p):
            faults.add(where, f"p must be a probability in [0, 1]; got {p!r}")
            ok = False
        else:
            value = float(p) if states is None else (1.0 - float(p), float(p))
    else:
        dist = raw.get("dist")
        if not isinstance(dist, dict) or set(map(str, dist)) != set(states):
            got = sorted(map(str, dist)) if isinstance(dist, dict) else dist
            faults.add(where, f"dist must give a probability for each of {list(states)}; got {got!r}")
            ok = False
        elif not all(is_prob(dist[s]) for s in states):
            faults.add(where, f"dist values must be probabilities in [0, 1]; got {dist!r}")
            ok = False
        elif abs(sum(dist[s] for s in states) - 1.0) > TOLERANCE:
            faults.add(where, f"dist must sum to 1; got {sum(dist[s] for s in states)!r}")
            ok = False
        else:
            value = tuple(float(dist[s]) for s in states)
    rng = raw.get("range")
    parsed_range = None
    if rng is not None:
        if "p" not in raw:
            faults.add(where, f"range applies to a single probability p, not to a dist; got range {rng!r}")
            ok = False
        elif not (isinstance(rng, list) and len(rng) == 2 and all(is_prob(r) for r in rng) and rng[0] <= rng[1]):
            faults.add(where, f"range must be [low, high] with 0 <= low <= high <= 1; got {rng!r}")
            ok = False
        else:
            parsed_range = (float(rng[0]), float(rng[1]))
            point = raw.get("p")
            if is_prob(point) and not parsed_range[0] <= point <= parsed_range[1]:
                faults.add(where, f"p must lie in its range {rng}; got {point!r}")
                ok = False
    if not ok or value is None:
        return None
    return Number(value, why.strip(), source.strip(), where, parsed_range)
