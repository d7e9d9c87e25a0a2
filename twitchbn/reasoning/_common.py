"""Shared pieces of the reasoning layer: evidence in engine terms, entropies, weights.

Definitions live in ``docs/reasoning.md``; this module only turns them into arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from twitchbn.engine import ABSENT, CAUSING, QUIET, Sweep, Variant
from twitchbn.errors import EvidenceError, TwitchbnError, closest, shorten
from twitchbn.inference import Model

#: Weights of the "serious" variant of the next-question target, by condition category. They
#: are not probabilities: they say how much more a bit of uncertainty about a disease matters
#: than one about a lifestyle cause (docs/reasoning.md). Unknown categories weigh 1.
SERIOUSNESS: dict[str, float] = {"disease": 3.0, "deficiency": 2.0, "lifestyle": 1.0, "local": 1.0}

#: Answers less likely than this are left out of "best answer" readouts: their posterior comes
#: from a difference of two nearly equal masses and is numerically meaningless.
NEGLIGIBLE = 1e-9


@dataclass(frozen=True)
class Item:
    """One evidence item in engine terms."""

    variable: str
    state: str
    index: int  # state index
    key: tuple[str, int]  # engine key: ("x"|"c"|"k"|"f", i)

    @property
    def product_form(self) -> bool:
        """True when the item can ride in a ``Variant`` (it does not widen the frontier)."""
        return self.key[0] != "f" or self.index == 0


def evidence_items(model: Model, checked: Mapping[str, str]) -> list[Item]:
    """Checked evidence as engine items, in the order given."""
    out = []
    for variable, state in checked.items():
        out.append(Item(variable, state, model.states(variable).index(state), model.engine.key(variable)))
    return out


def variant_of(model: Model, items: list[Item]) -> Variant:
    """One variant holding every (product-form) item."""
    return model.variant({item.variable: item.state for item in items})


def index_of(items: list[Item]) -> dict[str, int]:
    """Items as the ``evidence`` argument of ``Engine.sweep``."""
    return {item.variable: item.index for item in items}


def causing(sweep: Sweep) -> np.ndarray:
    """(B, n_conditions) posterior that each condition is present and causing (``explains``)."""
    return sweep.status[:, :, CAUSING]


def not_causing(sweep: Sweep) -> np.ndarray:
    """(B, n_conditions) complement of ``causing``, summed directly (precise near 1)."""
    return sweep.status[:, :, ABSENT] + sweep.status[:, :, QUIET]


def log2_odds(yes: np.ndarray, no: np.ndarray) -> np.ndarray:
    """log2(yes / no), +-inf at the ends."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log2(yes) - np.log2(no)


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """H2(p) in bits, elementwise, with 0 log 0 = 0."""
    p = np.clip(p, 0.0, 1.0)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(q > 0, q * np.log2(q), 0.0))
    return h


def condition_weights(model: Model, serious: bool) -> np.ndarray:
    """Per-condition weights of the target, in engine order (all 1 unless ``serious``)."""
    if not serious:
        return np.ones(len(model.kb.conditions))
    return np.asarray([SERIOUSNESS.get(c.category, 1.0) for c in model.kb.conditions])


def check_condition(model: Model, condition: object) -> str:
    """A condition id, or an ``EvidenceError`` naming the closest ones."""
    ids = [c.id for c in model.kb.conditions]
    if isinstance(condition, str) and condition in ids:
        return condition
    hint = ", ".join(closest(str(condition), ids))
    raise EvidenceError(f"unknown condition '{shorten(condition)}'; closest condition ids: {hint}", variable=str(condition))


def check_count(name: str, value: object, minimum: int) -> int:
    """A whole number >= minimum for a tuning argument, or a one-line ``TwitchbnError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise TwitchbnError(f"{name} must be a whole number >= {minimum}; got {shorten(value)}")
    return int(value)
