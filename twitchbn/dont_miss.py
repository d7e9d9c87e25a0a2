"""The can't-miss list: serious conditions the evidence keeps in play.

Clinicians are taught to ask two questions of every presentation: what is most likely, and what
serious disorder must not be missed (Murtagh's diagnostic strategy). The ranked differential
answers the first; this module answers the second. A condition listed under ``dont_miss`` in
``triage.yaml`` is kept in view when the evidence holds its posterior probability at or above
``threshold`` *and* at least ``lift`` times what the person's risk factors alone predict (the
findings, not its base rate, put it there); a rare disease the findings raised at least
``rare_lift`` times stays in view down to ``rare_threshold``; and one at ``probable`` or above
stays whatever its prior. At
most ``max`` are listed, those the findings raised most (posterior over risk-factor prior) first,
so that a rare disease the evidence singles out is not crowded out by a common one. An everyday
presentation lifts no serious condition that far, so its list is empty.
"""

from __future__ import annotations

import numpy as np

from twitchbn.knowledge import Knowledge


def dont_miss(kb: Knowledge, probability: np.ndarray, prior: np.ndarray) -> tuple[int, ...]:
    """Indices (knowledge-base order) of the serious conditions to keep in view, most raised first.

    ``probability`` is the posterior probability of each condition being present and ``prior`` what
    the risk factors alone predict; a condition given as evidence (probability exactly 1) is known,
    not a risk to rule out.
    """
    rule = kb.triage.dont_miss
    if rule is None:
        return ()
    serious = set(rule.conditions)

    def in_play(i: int) -> bool:
        p, lift = probability[i], probability[i] / prior[i]
        raised = p >= rule.threshold and lift >= rule.lift
        rare = p >= rule.rare_threshold and lift >= rule.rare_lift
        return p < 1.0 and (raised or rare or p >= rule.probable)

    kept = [i for i, c in enumerate(kb.conditions) if c.id in serious and in_play(i)]
    kept.sort(key=lambda i: (-probability[i] / prior[i], kb.conditions[i].id))
    return tuple(kept[: rule.max])
