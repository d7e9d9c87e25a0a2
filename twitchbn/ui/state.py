"""Explorer state and scenario documents: plain traitlets, no widget import.

``ExplorerState`` holds the evidence and the ``QueryResult`` it gives; every change is validated
by ``Model.query`` before it is accepted, so the state never holds evidence the model refuses.
A scenario is the contract's JSON result document (which ``twitchbn query --evidence-file`` also
reads): the page offers it as a download and reads it back from an upload, validated like the
CLI's evidence files. Nothing is stored on the server, so no visitor sees another's scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import pandas as pd
from traitlets import Dict, HasTraits, Instance

from twitchbn import reasoning, uncertainty
from twitchbn._files import INPUT_LIMIT, parse_evidence_json, user_text
from twitchbn.errors import EvidenceError, TwitchbnError
from twitchbn.inference import Model, QueryResult

INTERVAL_DRAWS = 200  # parameter draws behind the explorer's whiskers
INTERVAL_SEED = 0  # fixed, so the same findings always give the same whiskers
class ExplorerState(HasTraits):
    """Evidence and its query result; views observe ``result``.

    >>> import twitchbn
    >>> state = ExplorerState(twitchbn.load_model("tests/fixtures/tiny"))
    >>> state.set("twitch_eyelid", "yes")
    >>> state.result.top
    'sleep_deprivation'
    """

    evidence = Dict()
    result = Instance(QueryResult)

    def __init__(self, model: Model, evidence: Mapping[str, Any] | None = None):
        super().__init__()
        self.model = model
        self.replace(evidence or {})

    def replace(self, evidence: Mapping[str, Any]) -> None:
        """Make ``evidence`` the whole evidence; raises (and changes nothing) if the model refuses it."""
        result = self.model.query(evidence)
        with self.hold_trait_notifications():
            self.evidence = dict(result.evidence)
            self.result = result

    def set(self, variable: str, state: str | None) -> None:
        """Set one variable to a state, or back to unknown with ``None``."""
        evidence = dict(self.evidence)
        if state is None:
            evidence.pop(variable, None)
        else:
            evidence[variable] = state
        self.replace(evidence)

    def reset(self) -> None:
        """Every variable back to unknown."""
        self.replace({})

    # -- reasoning ------------------------------------------------------------------------------
    # Each takes the evidence explicitly, so a panel computed in the background uses the evidence
    # it was asked for even if the state has moved on meanwhile.
    def why(self, evidence: Mapping[str, str], condition: str | None = None, top: int = 3) -> pd.DataFrame:
        """Evidence weights for or against the top conditions."""
        return reasoning.why(self.model, dict(evidence), condition=condition, top=top)

    def next_questions(self, evidence: Mapping[str, str], serious: bool = False) -> pd.DataFrame:
        """Unasked findings ranked by expected information."""
        return reasoning.next_questions(self.model, dict(evidence), serious=serious)

    def explanation(self, evidence: Mapping[str, str]) -> reasoning.MostProbableExplanation:
        """The jointly most probable set of conditions."""
        return reasoning.most_probable_explanation(self.model, dict(evidence))

    def what_if(self, evidence: Mapping[str, str], changes: Mapping[str, str]) -> reasoning.WhatIf:
        """Differential and triage with some exposures changed."""
        return reasoning.what_if(self.model, dict(evidence), dict(changes))

    # -- uncertainty ----------------------------------------------------------------------------
    def intervals(self, evidence: Mapping[str, str], draws: int = INTERVAL_DRAWS, seed: int = INTERVAL_SEED) -> pd.DataFrame:
        """Every condition's interval when the hand-set numbers are redrawn (seeded, so repeatable)."""
        return uncertainty.posterior_intervals(self.model, dict(evidence), draws=draws, seed=seed)

    def sensitivity(self, evidence: Mapping[str, str], top: int = 8) -> pd.DataFrame:
        """The hand-set numbers that move the leading condition's explains most (a tornado)."""
        return uncertainty.sensitivity(self.model, dict(evidence), top=top)

    def compare(self, other: Mapping[str, Any]) -> tuple[QueryResult, pd.DataFrame]:
        """The result for ``other`` evidence, and reasoning's table of what moves most."""
        theirs = self.model.query(other)
        return theirs, reasoning.compare(self.model, dict(self.evidence), dict(theirs.evidence))


# -- scenario documents -------------------------------------------------------------------------
def scenario_json(result: QueryResult) -> str:
    """The scenario a visitor downloads: the contract's JSON result document."""
    return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"


def parse_scenario(text: str | bytes, model: Model, name: str = "scenario") -> dict[str, str]:
    """Evidence of a scenario file's text (a result document or a plain object, at most 1 MB); validated."""
    data = parse_evidence_json(user_text(text, INPUT_LIMIT, name), name)
    try:
        checked = model.check_evidence(data)
        model.query(checked)
    except EvidenceError as exc:
        raise EvidenceError(f"{name}: {exc}", variable=exc.variable, state=exc.state) from None
    except TwitchbnError as exc:
        raise EvidenceError(f"{name}: {exc}") from None
    return checked


def evidence_from_query(query: str) -> dict[str, str]:
    """Evidence from a page's query string (``?twitch_eyelid=yes&sleep_hours=under_7``); unchecked."""
    return {key: value for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=False)}
