"""Triage: self_care / see_doctor / urgent, with the reasons that set the level.

Rules come from ``data/triage.yaml``:

* **floors**: a red-flag finding state sets a minimum level; nothing computed can lower it;
* **likely**: a condition of the listed categories (or ids) with posterior probability at or
  above the threshold raises the level;
* **unexplained**: twitching is reported (a twitch location is "yes") and the network gives
  P(no everyday cause is causing it | evidence) at or above the threshold ("the common causes
  cannot easily explain it"); the everyday causes are listed in ``everyday_causes``;
* **persistent**: the problem has lasted the given duration (weeks) and no single everyday cause
  explains it with at least the threshold probability ("weeks without a convincing benign
  cause": an everyday cause is convincing when the evidence makes it, by itself, likely).

The level is the highest any rule asks for, so adding a red flag never lowers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twitchbn.knowledge import LEVELS, Knowledge

SELF_CARE_REASON = (
    "No red flag and no likely serious cause: everyday measures (sleep, less caffeine, fluids, "
    "stress management) usually settle twitching; see a doctor if it persists or new symptoms appear."
)


@dataclass(frozen=True)
class TriageResult:
    """The advice: ``level`` in self_care / see_doctor / urgent, and why."""

    level: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.level}: " + " ".join(self.reasons)


def everyday_ids(kb: Knowledge) -> list[str]:
    """Ids of the everyday causes (``everyday_causes`` in triage.yaml)."""
    rules = kb.triage
    return [c.id for c in kb.conditions if c.category in rules.everyday_categories or c.id in rules.everyday_conditions]


def _rank(level: str) -> int:
    return LEVELS.index(level)


def twitching_reported(kb: Knowledge, evidence: Mapping[str, str]) -> bool:
    """True when the evidence says the person twitches somewhere."""
    return any(f.group == "where" and evidence.get(f.id) == "yes" for f in kb.findings)


def assess(kb: Knowledge, evidence: Mapping[str, str], probability: np.ndarray, explains: np.ndarray,
           ranked: Sequence[int], p_no_everyday: float) -> TriageResult:
    """Triage for checked ``evidence``.

    ``probability`` and ``explains`` are the posteriors in knowledge-base order, ``ranked`` the
    differential's order (reasons about likely conditions follow it), ``p_no_everyday`` is
    P(no everyday cause is causing | evidence).
    """
    rules = kb.triage
    found: list[tuple[str, str]] = []  # (level, reason)
    for floor in rules.floors:
        if evidence.get(floor.finding) == floor.state:
            found.append((floor.level, f"{floor.reason} ({floor.finding}={floor.state})."))

    likely = rules.likely
    if likely:
        categories = set(likely.get("categories", ()))
        ids = set(likely.get("conditions", ()))
        for i in ranked:
            condition = kb.conditions[i]
            if (condition.category in categories or condition.id in ids) and probability[i] >= likely["threshold"]:
                found.append(
                    (likely.get("level", "see_doctor"),
                     f"{condition.label} is likely (probability {probability[i]:.2f}): a doctor can confirm and treat it.")
                )

    reported = twitching_reported(kb, evidence)
    unexplained = rules.unexplained
    if unexplained and reported and p_no_everyday >= unexplained["threshold"]:
        found.append(
            (unexplained.get("level", "see_doctor"),
             f"The everyday causes cannot easily explain this twitching (probability {p_no_everyday:.2f} that none of them "
             "is causing it): a doctor should look for an underlying condition.")
        )
    persistent = rules.persistent
    if persistent and evidence.get(persistent["finding"]) == persistent["state"]:
        everyday = set(everyday_ids(kb))
        best = max((float(explains[i]) for i, c in enumerate(kb.conditions) if c.id in everyday), default=0.0)
        if best < persistent["threshold"]:
            found.append((persistent.get("level", "see_doctor"),
                          f"{persistent['reason']} (the likeliest everyday cause explains it with probability {best:.2f})."))

    if not found:
        return TriageResult("self_care", (SELF_CARE_REASON,))
    level = max((lvl for lvl, _ in found), key=_rank)
    ordered = sorted(found, key=lambda item: -_rank(item[0]))
    return TriageResult(level, tuple(reason for _, reason in ordered))
