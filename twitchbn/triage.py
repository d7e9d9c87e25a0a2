"""Triage: self_care / see_doctor / urgent, with the reasons that set the level.

Rules come from ``data/triage.yaml``:

* **floors**: a red-flag finding state sets a minimum level; nothing computed can lower it;
* **likely**: a condition of the listed categories (or ids) with posterior probability at or
  above the threshold raises the level;
* **unexplained**: twitching is reported (a twitch location is "yes") and the network gives
  P(no common cause is causing it | evidence) at or above the threshold ("the common causes
  cannot easily explain it");
* **persistent**: the problem has lasted the given duration (weeks) and P(a common cause is
  causing it | evidence) is below the threshold ("weeks without a convincing benign cause").

The level is the highest any rule asks for, so adding a red flag never lowers it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

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


def _rank(level: str) -> int:
    return LEVELS.index(level)


def twitching_reported(kb: Knowledge, evidence: Mapping[str, str]) -> bool:
    """True when the evidence says the person twitches somewhere."""
    return any(f.group == "where" and evidence.get(f.id) == "yes" for f in kb.findings)


def assess(kb: Knowledge, evidence: Mapping[str, str], conditions: pd.DataFrame, p_no_common_cause: float) -> TriageResult:
    """Triage for checked ``evidence`` given the posterior frame and P(no common cause)."""
    rules = kb.triage
    found: list[tuple[str, str]] = []  # (level, reason)
    for floor in rules.floors:
        if evidence.get(floor.finding) == floor.state:
            found.append((floor.level, f"{floor.reason} ({floor.finding}={floor.state})."))

    likely = rules.likely
    if likely:
        categories = set(likely.get("categories", ()))
        ids = set(likely.get("conditions", ()))
        for cid, row in conditions.iterrows():
            if (row["category"] in categories or cid in ids) and row["probability"] >= likely["threshold"]:
                found.append(
                    (likely.get("level", "see_doctor"),
                     f"{row['label']} is likely (probability {row['probability']:.2f}): a doctor can confirm and treat it.")
                )

    reported = twitching_reported(kb, evidence)
    unexplained = rules.unexplained
    if unexplained and reported and p_no_common_cause >= unexplained["threshold"]:
        found.append(
            (unexplained.get("level", "see_doctor"),
             f"The common causes cannot easily explain this twitching (probability {p_no_common_cause:.2f} that none of them "
             "is causing it): a doctor should look for an underlying condition.")
        )
    persistent = rules.persistent
    if persistent and evidence.get(persistent["finding"]) == persistent["state"] and 1.0 - p_no_common_cause < persistent["threshold"]:
        found.append((persistent.get("level", "see_doctor"), f"{persistent['reason']} (probability {1.0 - p_no_common_cause:.2f} that a common cause explains it)."))

    if not found:
        return TriageResult("self_care", (SELF_CARE_REASON,))
    level = max((lvl for lvl, _ in found), key=_rank)
    ordered = sorted(found, key=lambda item: -_rank(item[0]))
    return TriageResult(level, tuple(reason for _, reason in ordered))
