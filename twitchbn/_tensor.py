"""Small tensor helpers of the engine: labelled contraction, rescaling.

Every array carries a leading batch axis (variants or parameter draws), matched by ``...`` in
``einsum`` subscripts; letters name the other axes.
"""

from __future__ import annotations

import numpy as np


def total(arr: np.ndarray, B: int) -> np.ndarray:
    """Sum over every axis but the batch axis, broadcast to B rows."""
    return np.broadcast_to(arr.reshape(arr.shape[0], -1).sum(axis=1), (B,))

def contract(operands: list[tuple[np.ndarray, str]], out: str) -> np.ndarray:
    """Contract (array, letters) operands to ``out``; every array has a leading batch axis.

    Pairwise, starting from the largest operand (the frontier message) and summing a letter out
    as soon as no later operand needs it: no path search, intermediates stay clique-sized.
    """
    start = max(range(len(operands)), key=lambda i: operands[i][0].size)
    rest = operands[:start] + operands[start + 1 :]
    result, have = operands[start]
    later = [set(out)]  # later[j]: letters needed once rest[:len(rest)-j] are folded in
    for _, lt in reversed(rest[1:]):
        later.append(later[-1].union(lt))
    for i, (arr, letters) in enumerate(rest):
        needed = later[len(rest) - 1 - i]
        keep = "".join(ch for ch in dict.fromkeys(have + letters) if ch in needed)
        result = np.einsum(f"...{have},...{letters}->...{keep}", result, arr)
        have = keep
    return np.einsum(f"...{have}->...{out}", result) if have != out else result

def scale(arr: np.ndarray, B: int) -> np.ndarray:
    """Per-batch-row maximum of a message (1 where the row is all zero), for rescaling."""
    flat = np.broadcast_to(arr, (B, *arr.shape[1:])).reshape(B, -1)
    m = flat.max(axis=1) if flat.shape[1] else np.ones(B)
    return np.where(m > 0, m, 1.0)

def normalise(m: np.ndarray) -> np.ndarray:
    total = m.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, m / np.where(total > 0, total, 1.0), 0.0)
