"""twitchbn: a Bayesian network for exploring the causes of muscle twitching.

An educational and exploratory aid, not a diagnosis. The public API::

    import twitchbn
    model = twitchbn.load_model()
    result = model.query({"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    result.conditions, result.triage, result.to_dict()
"""

__version__ = "0.1.0"

from twitchbn.errors import (
    EvidenceError,
    EvidenceTooComplexError,
    ImpossibleEvidenceError,
    InputFileError,
    KnowledgeBaseError,
    TwitchbnError,
)
from twitchbn.inference import Model, QueryResult, load_model
from twitchbn.knowledge import Knowledge, load_knowledge

__all__ = [
    "EvidenceError",
    "EvidenceTooComplexError",
    "ImpossibleEvidenceError",
    "InputFileError",
    "Knowledge",
    "KnowledgeBaseError",
    "Model",
    "QueryResult",
    "TwitchbnError",
    "__version__",
    "load_knowledge",
    "load_model",
]
