"""Errors raised by twitchbn, all in the user's terms.

Every error is a ``TwitchbnError`` (a ``ValueError``) whose message is one line that names the
culprit and what would be valid. The offending values ride along as attributes so that callers
(the CLI, the widgets, tests) never have to parse the message.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable


class TwitchbnError(ValueError):
    """Base class of every error twitchbn raises on purpose."""


class EvidenceError(TwitchbnError):
    """Evidence names an unknown variable, an unknown state, or is malformed."""

    def __init__(self, message: str, *, variable: str | None = None, state: str | None = None):
        super().__init__(message)
        self.variable = variable
        self.state = state


class ImpossibleEvidenceError(TwitchbnError):
    """Evidence has probability zero under the model."""

    def __init__(self, message: str, *, conflicting: tuple[str, ...] = ()):
        super().__init__(message)
        self.conflicting = conflicting


class EvidenceTooComplexError(TwitchbnError):
    """Exact inference for this evidence would need more memory than twitchbn allows itself."""


class CaseFileError(TwitchbnError):
    """A clinical case file is malformed (names file, case and key)."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


class InputFileError(TwitchbnError):
    """A user's file cannot be read or written as asked: missing, not a regular file, too big, malformed."""

    def __init__(self, message: str, *, path: str | None = None):
        super().__init__(message)
        self.path = path


class KnowledgeBaseError(TwitchbnError):
    """The knowledge base on disk is malformed or inconsistent.

    ``faults`` holds every fault found, one line each (validation collects them all in one pass);
    the message shows the first, counts the rest and names the command that lists them all.
    """

    def __init__(self, faults: list[str], *, path: str | None = None):
        self.faults = list(faults)
        self.path = path
        more = f" (and {len(faults) - 1} more fault(s); 'twitchbn validate {path or 'DIR'}' lists them all)" if len(faults) > 1 else ""
        super().__init__(f"{faults[0]}{more}" if faults else "broken knowledge base")


def printable(text: str) -> str:
    """``text`` with every control, format and line-separator character escaped (``\\x1b``, ``\\u2028``).

    An echoed value can then neither steer a terminal (ESC, BEL) nor break a one-line message
    (CR, LF, U+2028/U+2029); everything else is kept as it is.
    """
    if text.isprintable():
        return text
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if char.isprintable() or unicodedata.category(char) in ("Zs", "Co"):
        return char
    return char.encode("unicode_escape").decode("ascii")


def shorten(value: object, limit: int = 40, keep_end: bool = False) -> str:
    """Echo a user's junk value shortened, never in full, control characters escaped (``keep_end`` for file paths).

    >>> shorten("twitch_eyelid=\\x1b]0;title\\x07")
    'twitch_eyelid=\\\\x1b]0;title\\\\x07'
    """
    try:
        text = str(value)
    except ValueError:  # an integer too long to print (Python refuses more than 4,300 digits)
        text = f"a number of about {int(value.bit_length() * 0.30103)} digits" if isinstance(value, int) else type(value).__name__
    pieces = [_escaped(char) for char in (reversed(text) if keep_end else text)]
    if sum(map(len, pieces)) <= limit:
        return "".join(reversed(pieces) if keep_end else pieces)
    kept: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "…" + "".join(reversed(kept)) if keep_end else "".join(kept) + "…"


def closest(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` valid ids closest to ``name`` (for 'did you mean' hints)."""
    valid = list(valid)
    hits = difflib.get_close_matches(str(name), valid, n=n, cutoff=0.5)
    if len(hits) < n:
        extra = [v for v in valid if str(name).lower() in v.lower() and v not in hits]
        hits.extend(extra[: n - len(hits)])
    return hits or valid[:n]
