"""Explorer state and scenario files: plain traitlets and file I/O, no widget import.

``ExplorerState`` holds the evidence and the ``QueryResult`` it gives; every change is validated
by ``Model.query`` before it is accepted, so the state never holds evidence the model refuses.
Scenarios are saved as the contract's JSON result document (which ``twitchbn query
--evidence-file`` also reads), written atomically, and validated when read back.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl

import pandas as pd
from traitlets import Dict, HasTraits, Instance

from twitchbn import uncertainty
from twitchbn._files import INPUT_LIMIT, atomic_write_text, parse_evidence_json, read_user_file, user_text
from twitchbn.errors import EvidenceError, TwitchbnError, shorten
from twitchbn.inference import Model, QueryResult

SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,59}$")
INTERVAL_DRAWS = 200  # parameter draws behind the explorer's whiskers
INTERVAL_SEED = 0  # fixed, so the same findings always give the same whiskers


def reasoning() -> ModuleType | None:
    """The optional ``twitchbn.reasoning`` module, or None while it does not exist."""
    try:
        return importlib.import_module("twitchbn.reasoning")
    except ImportError:
        return None


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

    # -- reasoning (optional module) ---------------------------------------------------------
    def why(self, condition: str | None = None, top: int = 3) -> pd.DataFrame | None:
        """Evidence weights for or against the top conditions (None while reasoning is missing)."""
        module = reasoning()
        if module is None or not hasattr(module, "why"):
            return None
        return module.why(self.model, dict(self.evidence), condition=condition, top=top)

    def next_questions(self, serious: bool = False) -> pd.DataFrame | None:
        """Unasked findings ranked by expected information (None while reasoning is missing)."""
        module = reasoning()
        if module is None or not hasattr(module, "next_questions"):
            return None
        return module.next_questions(self.model, dict(self.evidence), serious=serious)

    def explanation(self) -> Any | None:
        """The jointly most probable set of conditions (None while reasoning is missing)."""
        module = reasoning()
        if module is None or not hasattr(module, "most_probable_explanation"):
            return None
        return module.most_probable_explanation(self.model, dict(self.evidence))

    def what_if(self, changes: Mapping[str, str]) -> Any | None:
        """Differential and triage with some exposures changed (None while reasoning is missing)."""
        module = reasoning()
        if module is None or not hasattr(module, "what_if"):
            return None
        return module.what_if(self.model, dict(self.evidence), dict(changes))

    # -- uncertainty ----------------------------------------------------------------------------
    def intervals(self, draws: int = INTERVAL_DRAWS, seed: int = INTERVAL_SEED) -> pd.DataFrame:
        """Every condition's interval when the hand-set numbers are redrawn (seeded, so repeatable)."""
        return uncertainty.posterior_intervals(self.model, dict(self.evidence), draws=draws, seed=seed)

    def sensitivity(self, top: int = 8) -> pd.DataFrame:
        """The hand-set numbers that move the leading condition's explains most (a tornado)."""
        return uncertainty.sensitivity(self.model, dict(self.evidence), top=top)

    def compare(self, other: Mapping[str, Any]) -> tuple[QueryResult, pd.DataFrame | None]:
        """The result for ``other`` evidence, and reasoning's comparison table when it exists."""
        theirs = self.model.query(other)
        module = reasoning()
        table = None
        if module is not None and hasattr(module, "compare"):
            table = module.compare(self.model, dict(self.evidence), dict(theirs.evidence))
        return theirs, table


# -- scenario files ---------------------------------------------------------------------------
def scenario_path(directory: str | Path, name: str) -> Path:
    """Where scenario ``name`` lives in ``directory``; refuses names that are not plain file names."""
    name = name.strip()
    if name.endswith(".json"):
        name = name[: -len(".json")]
    if not SCENARIO_NAME.match(name):
        raise EvidenceError(
            f"scenario name '{shorten(name)}' must be 1-60 letters, digits, spaces, '.', '_' or '-' (starting with a letter or digit)"
        )
    return Path(directory) / f"{name}.json"


def save_scenario(path: str | Path, result: QueryResult) -> Path:
    """Write ``result`` as the contract's JSON document, atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(path, text)
    return path


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


def load_scenario(path: str | Path, model: Model) -> dict[str, str]:
    """Read and validate the scenario file at ``path`` (a regular file of at most 1 MB); returns its evidence."""
    name = f"scenario '{shorten(Path(path).name)}'"
    return parse_scenario(read_user_file(path, INPUT_LIMIT, name), model, name=name)


def list_scenarios(directory: str | Path) -> list[str]:
    """Names of the saved scenarios in ``directory`` (empty when it does not exist yet)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if not p.name.startswith("."))


def evidence_from_query(query: str) -> dict[str, str]:
    """Evidence from a page's query string (``?twitch_eyelid=yes&sleep_hours=under_7``); unchecked."""
    return {key: value for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=False)}
