"""Triage: self_care / see_doctor / urgent, with the reasons that set the level, in plain words.

Rules come from ``triage.yaml``:

* **floors**: a red-flag finding state sets a minimum level; nothing computed can lower it;
* **likely**: a condition of the listed categories (or ids) with posterior probability at or
  above the threshold raises the level; with ``leading: true`` so does one that leads the
  differential (the likeliest explanation is a deficiency, a disease or a medicine);
* **dont_miss**: a serious condition on the can't-miss list (``twitchbn.dont_miss``) raises the
  level, naming it;
* **unexplained**: twitching is reported (a twitch location is "yes") and the network gives
  P(no everyday cause is causing it | evidence) at or above the threshold ("the common causes
  cannot easily explain it"); the everyday causes are listed in ``everyday_causes``;
* **persistent**: the problem has lasted the given duration (weeks) and no everyday cause that is
  known to be present (``present``) explains it with at least the threshold probability ("weeks
  without a convincing everyday cause": a habit nobody reported does not count).

The level is the highest any rule asks for, so adding a red flag never lowers it. Reasons use
labels and percentages, never ids. With nothing the person notices entered, there is no verdict
yet (``decided`` is False and the level stays at its lowest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twitchbn.knowledge import LEVELS, Knowledge
from twitchbn.wording import finding_text, percent

SELF_CARE_REASON = (
    "No red flag and no likely serious cause: everyday measures (sleep, less caffeine, fluids, "
    "stress management) usually settle twitching; see a doctor if it persists or new symptoms appear."
)
UNDECIDED_REASON = "Nothing the person notices is entered yet: set where it twitches, how it behaves and what comes with it."


@dataclass(frozen=True)
class TriageResult:
    """The advice: ``level`` in self_care / see_doctor / urgent, and why.

    ``decided`` is False when no finding of the presentation was entered: the level is then not
    advice, and views show "no verdict yet" instead.
    """

    level: str
    reasons: tuple[str, ...]
    decided: bool = True

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


def named(kb: Knowledge) -> set[int]:
    """Conditions the ``likely`` rule covers (its categories and ids): those a doctor should confirm."""
    rule = kb.triage.likely
    if not rule:
        return set()
    categories, ids = set(rule.get("categories", ())), set(rule.get("conditions", ()))
    return {i for i, c in enumerate(kb.conditions) if c.category in categories or c.id in ids}


def likely(kb: Knowledge, probability: np.ndarray, ranked: Sequence[int]) -> list[int]:
    """Conditions the ``likely`` rule covers with probability at or above its threshold, in the
    order of ``ranked``."""
    covered = named(kb)
    return [i for i in ranked if i in covered and probability[i] >= kb.triage.likely["threshold"]]


def presentation_entered(kb: Knowledge, evidence: Mapping[str, str]) -> bool:
    """True when the evidence holds anything beyond habits and history (a finding or a condition)."""
    exposures = {x.id for x in kb.exposures}
    return any(variable not in exposures for variable in evidence)


def assess(kb: Knowledge, evidence: Mapping[str, str], probability: np.ndarray, explains: np.ndarray,
           ranked: Sequence[int], p_no_everyday: float, probable: Sequence[int], dont_miss: Sequence[int] = ()) -> TriageResult:
    """Triage for checked ``evidence``.

    ``probability`` and ``explains`` are the posteriors in knowledge-base order, ``ranked`` the
    differential's order (reasons about likely conditions follow it), ``p_no_everyday`` is
    P(no everyday cause is causing | evidence), ``probable`` the conditions the ``likely`` rule
    covers (``likely``, computed once per query) and ``dont_miss`` the can't-miss list (indices).
    """
    rules = kb.triage
    found: list[tuple[str, str]] = []  # (level, reason)
    for floor in rules.floors:
        if evidence.get(floor.finding) == floor.state:
            found.append((floor.level, f"{floor.reason.rstrip('.')} ({finding_text(kb, floor.finding, floor.state)})."))

    for i in probable:
        found.append((rules.likely.get("level", "see_doctor"),
                      f"{kb.conditions[i].label} is likely ({percent(probability[i])}): a doctor can confirm and treat it."))
    if rules.likely.get("leading") and presentation_entered(kb, evidence) and ranked[0] in named(kb) and ranked[0] not in probable:
        found.append((rules.likely.get("level", "see_doctor"),
                      f"{kb.conditions[ranked[0]].label} is the likeliest explanation ({percent(explains[ranked[0]])}): "
                      "a doctor can confirm and treat it."))
    rule = rules.dont_miss
    for i in dont_miss:
        found.append((rule.level, f"{kb.conditions[i].label} ({percent(probability[i])}) {rule.reason}."))

    reported = twitching_reported(kb, evidence)
    unexplained = rules.unexplained
    if unexplained and reported and p_no_everyday >= unexplained["threshold"]:
        found.append(
            (unexplained.get("level", "see_doctor"),
             f"The everyday causes cannot easily explain this twitching ({percent(p_no_everyday)} likely that none of them "
             "is causing it): a doctor should look for an underlying condition.")
        )
    persistent = rules.persistent
    if persistent and evidence.get(persistent["finding"]) == persistent["state"]:
        everyday = set(everyday_ids(kb))
        best = max((float(explains[i]) for i, c in enumerate(kb.conditions)
                    if c.id in everyday and probability[i] >= persistent.get("present", 0.0)), default=0.0)
        if best < persistent["threshold"]:
            found.append((persistent.get("level", "see_doctor"),
                          f"{persistent['reason']} (the likeliest known everyday cause explains it at {percent(best)})."))

    if not found:
        if not presentation_entered(kb, evidence):
            return TriageResult(LEVELS[0], (UNDECIDED_REASON,), decided=False)
        return TriageResult("self_care", (SELF_CARE_REASON,))
    level = max((lvl for lvl, _ in found), key=_rank)
    ordered = sorted(found, key=lambda item: -_rank(item[0]))
    return TriageResult(level, tuple(reason for _, reason in ordered))
