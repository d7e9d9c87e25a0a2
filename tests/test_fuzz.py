"""Fuzz: junk from hypothesis into the CLI, the API, scenario files and knowledge-base validation.

Whatever arrives, the answer is a result or a ``TwitchbnError`` (exit status 2 at the command
line) whose message is one line without raw control characters, naming the culprit, and nothing
is written. Everything runs in-process. The default run is derandomized: the same ~1,300
examples every time, well under a minute on two cores. ``TWITCHBN_FUZZ=20`` (any factor) runs
that many times more examples, randomized, for a longer hunt.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import TINY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchbn import EvidenceError, KnowledgeBaseError, Model, QueryResult, TwitchbnError, load_knowledge
from twitchbn.cli import main, read_evidence
from twitchbn.errors import InputFileError, shorten
from twitchbn.knowledge import FILES
from twitchbn.ui.state import parse_scenario

FACTOR = int(os.environ.get("TWITCHBN_FUZZ") or 1)
FUZZ = settings(derandomize=FACTOR == 1, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
RAW = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # control, format, surrogate, line and paragraph separators
NASTY = ["", " ", "=", "==", "\x1b]0;pwned\x07", "\r", "\n", "\u2028", "\u2029", "\u202e", "\ufeff", "\udcff", "\x00",
         "x" * 300, "yes", "no", "present", "absent", "none", "null", "1", "True", "é", "\u00a0"]
JUNK_JSON = ["[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000, "9" * 5000, "-" + "1" * 4400, "1e999999", "NaN",
             "Infinity", '"\\ud800"', '"\\u0000"', "\ufeff{}", "{}", "[]", "", " ", "\x00"]


def examples(n: int) -> settings:
    return settings(FUZZ, max_examples=n * FACTOR)


def one_line(message: str) -> str:
    """The message, checked: one line, no raw control characters, junk echoed shortened."""
    assert message and not any(unicodedata.category(c) in RAW for c in message), repr(message)
    assert len(message) < 700, message
    return message


def names(message: str, *candidates: object) -> bool:
    """Whether the message names one of the candidates as it echoes them (shortened, escaped)."""
    return any(shorten(str(c).strip()) in message for c in candidates)


@contextlib.contextmanager
def nothing_written(directory: Path) -> Iterator[None]:
    before = sorted(p.name for p in directory.iterdir())
    yield
    assert sorted(p.name for p in directory.iterdir()) == before


def text_strategy(words: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(words), st.sampled_from(NASTY), st.text(max_size=12),
                     st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp", "Ll"]), max_size=8))


def pair_strategy(model: Model) -> st.SearchStrategy[str]:
    states = sorted({s for v in model.variables for s in model.states(v)})
    return st.tuples(text_strategy(sorted(model.variables)), st.sampled_from(["=", "", " = ", "=="]), text_strategy(states)).map("".join)


def json_strategy(model: Model) -> st.SearchStrategy[str]:
    """JSON-like documents: evidence objects, saved results, anything JSON, cut or spliced with junk."""
    states = sorted({s for v in model.variables for s in model.states(v)})
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text_strategy(states))
    values = st.recursive(leaf, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3),
                          max_leaves=8)
    evidence = st.dictionaries(text_strategy(sorted(model.variables)), st.one_of(text_strategy(states), values), max_size=5)
    document = st.one_of(evidence.map(json.dumps), evidence.map(lambda e: json.dumps({"evidence": e, "conditions": []})),
                         values.map(json.dumps), st.sampled_from(JUNK_JSON))
    duplicate = st.tuples(st.sampled_from(sorted(model.variables)), text_strategy(states), text_strategy(states)).map(
        lambda t: f'{{"{t[0]}": {json.dumps(t[1])}, "{t[0]}": {json.dumps(t[2])}}}')
    spliced = st.tuples(document, st.integers(0, 200), st.sampled_from(["", "\ufeff", ",", "}", "\x1b", "\"", *JUNK_JSON[:4]])).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1]:])
    return st.one_of(document, duplicate, spliced, st.sampled_from(["\ufeff", ""]).flatmap(lambda bom: document.map(bom.__add__)))


def file_bytes(model: Model) -> st.SearchStrategy[bytes]:
    return st.one_of(json_strategy(model).map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=64))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- the command line, in-process ---------------------------------------------------------------------
@examples(250)
@given(data=st.data())
def test_cli_query_answers_or_refuses_in_one_line(model: Model, workdir: Path, data):
    pairs = data.draw(st.lists(pair_strategy(model), max_size=5))
    content = data.draw(st.none() | file_bytes(model))
    argv = ["query", *(f"--evidence={pair}" for pair in pairs), *data.draw(st.sampled_from([[], ["--json"]]))]
    if content is not None:
        (workdir / "case.json").write_bytes(content)
        argv += ["--evidence-file", "case.json"]
    out, err = io.StringIO(), io.StringIO()
    with (contextlib.chdir(workdir), nothing_written(workdir), mock.patch("twitchbn.cli._model", return_value=model),
          contextlib.redirect_stdout(out), contextlib.redirect_stderr(err)):
        status = main(argv)
    assert status in (0, 2), err.getvalue()
    if status == 2:
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1 and err.getvalue().startswith("twitchbn: error: ")
        one_line(err.getvalue().rstrip("\n"))


# -- evidence files and -e pairs ----------------------------------------------------------------------------
@examples(300)
@given(data=st.data())
def test_read_evidence_and_its_check_refuse_junk_naming_the_culprit(model: Model, workdir: Path, data):
    pairs = data.draw(st.lists(pair_strategy(model), max_size=4))
    content = data.draw(st.none() | file_bytes(model))
    path = workdir / "evidence.json"
    if content is not None:
        path.write_bytes(content)
    with nothing_written(workdir):
        try:
            model.check_evidence(read_evidence(pairs, str(path) if content is not None else None))
        except InputFileError as exc:
            assert "evidence file '" in one_line(str(exc)) and "evidence.json'" in str(exc)
        except EvidenceError as exc:
            parts = [part for pair in pairs for part in pair.partition("=")]
            assert names(one_line(str(exc)), exc.variable, exc.state, *pairs, *parts), str(exc)


# -- the Python API -----------------------------------------------------------------------------------------
def api_evidence(model: Model) -> st.SearchStrategy[Any]:
    states = sorted({s for v in model.variables for s in model.states(v)})
    keys = st.one_of(text_strategy(sorted(model.variables)), st.integers(), st.none(), st.booleans(), st.tuples(st.integers()))
    values = st.one_of(text_strategy(states), st.integers(), st.sampled_from([10**5000, -(10**4400)]), st.floats(), st.none(),
                       st.booleans(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    valid = st.lists(st.sampled_from(sorted(model.variables)), unique=True, max_size=6).flatmap(
        lambda chosen: st.fixed_dictionaries({v: st.sampled_from(model.states(v)) for v in chosen}))
    return st.one_of(valid, st.dictionaries(keys, values, max_size=5), st.lists(st.text(max_size=3), max_size=2), st.text(max_size=5),
                     st.integers(), st.none())


@examples(300)
@given(data=st.data())
def test_query_answers_or_refuses_any_python_value_in_one_line(model: Model, data):
    evidence = data.draw(api_evidence(model))
    try:
        assert isinstance(model.query(evidence), QueryResult)
    except EvidenceError as exc:
        one_line(str(exc))
        if exc.variable is not None:
            assert names(str(exc), exc.variable), str(exc)
    except TwitchbnError as exc:
        one_line(str(exc))


# -- scenario files (the explorer's Load and upload) --------------------------------------------------------
@examples(300)
@given(data=st.data())
def test_parse_scenario_refuses_junk_naming_the_file(tiny: Model, data):
    content = data.draw(st.one_of(file_bytes(tiny), json_strategy(tiny)))
    try:
        evidence = parse_scenario(content, tiny, name="scenario 'fuzz.json'")
    except TwitchbnError as exc:
        assert "scenario 'fuzz.json'" in one_line(str(exc)), str(exc)
    else:
        assert tiny.check_evidence(evidence) == evidence


# -- knowledge-base validation of mutated copies ------------------------------------------------------------
TEXTS = {name: (TINY / name).read_text(encoding="utf-8") for name in FILES}
VALUES = re.compile(r"(?<=: )[^,{}\[\]\n]+|(?<=[\[,] )[^,{}\[\]\n]+")
KEYS = re.compile(r"\b\w+(?=: )")
JUNK_YAML = ["5", "-1", "1.5", "0." + "1" * 400, "9" * 400, "9" * 5000, "1e999", "[]", "{}", "null", "~", "'x'", "[1, [2]]", "yes",
             '"\\e]0;t\\a"', "&a [*a]", "*nowhere", "!!binary aGk=", "!!python/name:os.system", "2024-13-45", '"\\u2028"', "[" * 200,
             "{a: 1, a: 2}", "é", "- x"]


def mutate(text: str, op: str, at: int, junk: str) -> str:
    lines = text.splitlines(keepends=True)
    if op in ("value", "key"):
        spans = [m.span() for m in (VALUES if op == "value" else KEYS).finditer(text)]
        start, end = spans[at % len(spans)]
        return text[:start] + (junk if op == "value" else text[start:end] + junk.strip("'\"")[:3]) + text[end:]
    line = at % len(lines)
    if op == "drop":
        return "".join(lines[:line] + lines[line + 1 :])
    return "".join(lines[: line + 1] + lines[line:])  # duplicate


@examples(40)
@given(name=st.sampled_from(FILES), op=st.sampled_from(["value", "value", "key", "drop", "duplicate"]),
       at=st.integers(0, 10_000), junk=st.sampled_from(JUNK_YAML))
def test_a_mutated_knowledge_base_is_valid_or_refused_naming_the_file(name: str, op: str, at: int, junk: str):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for file, text in TEXTS.items():
            (root / file).write_text(mutate(text, op, at, junk) if file == name else text, encoding="utf-8")
        with nothing_written(root):
            try:
                Model(load_knowledge(root)).network  # noqa: B018 - what 'twitchbn validate' checks
            except KnowledgeBaseError as exc:
                one_line(str(exc))
                for fault in exc.faults:
                    assert one_line(fault).startswith(FILES), fault
            except TwitchbnError as exc:
                one_line(str(exc))
