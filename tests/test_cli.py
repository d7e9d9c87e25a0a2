"""The ``twitchbn`` command line, run as a user runs it (a fresh interpreter per call)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATA, run_cli

from twitchbn import Model
from twitchbn.cli import DISCLAIMER
from twitchbn.model import export_network
from twitchbn.numbers import source_counts

EYELID = ("-e", "twitch_eyelid=yes", "-e", "sleep_hours=under_7")


def shipped_sha256() -> str:
    """sha256 of the shipped knowledge-base files, sorted by path, bytes concatenated."""
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(DATA.glob("*.yaml")))).hexdigest()


def assert_refused(done, message: str | re.Pattern) -> str:
    """Exit status 2, nothing on stdout, exactly one line on stderr matching ``message``; no traceback."""
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr
    line = done.stderr.rstrip("\n")
    assert line.startswith("twitchbn: error: ")
    text = line.removeprefix("twitchbn: error: ")
    if isinstance(message, str):
        assert text == message
    else:
        assert message.fullmatch(text), text
    return text


# -- query ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def eyelid_doc() -> dict:
    done = run_cli("query", *EYELID, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # exactly one JSON document, nothing else


def test_query_json_is_the_contract_document_with_every_condition(eyelid_doc: dict, model: Model):
    assert set(eyelid_doc) == {"evidence", "conditions", "dont_miss", "also_present", "triage", "model"}
    assert eyelid_doc["evidence"] == {"twitch_eyelid": "yes", "sleep_hours": "under_7"}
    rows = eyelid_doc["conditions"]
    assert {r["id"] for r in rows} == {c.id for c in model.kb.conditions} and len(rows) == len(model.kb.conditions)
    assert rows == sorted(rows, key=lambda r: (-r["explains"], r["id"]))
    for row in rows:
        assert set(row) == {"id", "label", "category", "prior", "probability", "explains"}
        assert 0.0 <= row["explains"] <= row["probability"] <= 1.0
    assert eyelid_doc["triage"]["level"] in {"self_care", "see_doctor", "urgent"} and eyelid_doc["triage"]["reasons"]
    assert eyelid_doc["triage"]["decided"] is True and eyelid_doc["dont_miss"] == []


def test_query_json_names_the_model_and_the_sha256_of_the_knowledge_base_files(eyelid_doc: dict):
    assert eyelid_doc["model"] == {"name": "twitchbn", "version": "0.1.0", "knowledge_base_sha256": shipped_sha256()}


def test_query_json_numbers_are_the_unrounded_python_results(eyelid_doc: dict, model: Model):
    assert eyelid_doc == model.query({"twitch_eyelid": "yes", "sleep_hours": "under_7"}).to_dict()


def test_query_json_ranks_sleep_deprivation_first_for_an_eyelid_after_short_nights(eyelid_doc: dict):
    assert eyelid_doc["conditions"][0]["id"] == "sleep_deprivation"


def test_query_without_evidence_gives_the_priors(model: Model):
    done = run_cli("query", "--json")
    doc = json.loads(done.stdout)
    assert doc["evidence"] == {}
    assert all(row["probability"] == pytest.approx(row["prior"], abs=1e-12) for row in doc["conditions"])


def test_query_table_shows_evidence_every_ranked_row_triage_and_disclaimer(model: Model):
    done = run_cli("query", *EYELID)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "Evidence: twitch_eyelid=yes, sleep_hours=under_7"
    ranked = [line for line in lines if re.match(r"^\s*\d+  ", line)]
    assert [int(line.split()[0]) for line in ranked] == list(range(1, len(model.kb.conditions) + 1))
    result = model.query({"twitch_eyelid": "yes", "sleep_hours": "under_7"})
    top = result.conditions.iloc[0]
    assert "(sleep_deprivation)" in ranked[0] and f"{top['explains']:.3f}" in ranked[0]
    assert f"Triage: {result.triage.level.replace('_', ' ').upper()}" in lines
    assert lines[-1] == DISCLAIMER


def test_evidence_file_is_read_and_e_wins_over_it(tmp_path: Path, model: Model):
    (tmp_path / "case.json").write_text(json.dumps({"twitch_eyelid": "yes", "caffeine_intake": "none"}), encoding="utf-8")
    done = run_cli("query", "--evidence-file", "case.json", "-e", "caffeine_intake=high", "--json", cwd=tmp_path)
    doc = json.loads(done.stdout)
    assert doc["evidence"] == {"twitch_eyelid": "yes", "caffeine_intake": "high"}
    assert doc == model.query({"twitch_eyelid": "yes", "caffeine_intake": "high"}).to_dict()


def test_a_saved_result_document_works_as_an_evidence_file(tmp_path: Path, eyelid_doc: dict):
    (tmp_path / "saved.json").write_text(json.dumps(eyelid_doc), encoding="utf-8")
    done = run_cli("query", "--evidence-file", "saved.json", "--json", cwd=tmp_path)
    assert json.loads(done.stdout) == eyelid_doc


# -- validate and export -----------------------------------------------------------------------------------
def test_validate_accepts_the_shipped_knowledge_base(model: Model):
    done = run_cli("validate")
    assert done.returncode == 0 and done.stderr == ""
    kb = model.kb
    counts = source_counts(kb.numbers())
    assert re.fullmatch(
        rf".+: valid — {len(kb.conditions)} conditions, {len(kb.exposures)} exposures, {len(kb.findings)} findings, \d+ links; "
        rf"{counts['numbers']} numbers, {counts['cited']} citing a URL or DOI, {counts['convention']} clinical convention only; "
        r"sha256 [0-9a-f]{12}\n", done.stdout)
    assert shipped_sha256().startswith(done.stdout.split()[-1])


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_export_writes_the_library_export_to_the_file(tmp_path: Path, model: Model, fmt: str):
    """The file holds every node with vocabulary states; reading it back is checked in test_pyagrum."""
    out = tmp_path / f"twitchbn.{fmt}"
    done = run_cli("export", "--format", fmt, "-o", out)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    text = out.read_text(encoding="utf-8")
    assert text == export_network(model.network, fmt)
    for variable, states in model.variables.items():
        if fmt == "bif":
            assert f"variable {variable} {{\n    type discrete [ {len(states)} ] {{ {', '.join(states)} }};" in text, variable
        else:
            assert f"<NAME>{variable}</NAME>" + "".join(f"<OUTCOME>{s}</OUTCOME>" for s in states) in re.sub(r"\s+", "", text), variable


# -- bad input ----------------------------------------------------------------------------------------------
def test_unknown_variable_is_refused_with_up_to_three_closest_ids(model: Model):
    text = assert_refused(run_cli("query", "-e", "twitch_eyelids=yes"),
                          re.compile(r"unknown variable 'twitch_eyelids'; closest valid ids: (.+)"))
    hint = text.split("closest valid ids: ")[1].split(", ")
    assert hint[0] == "twitch_eyelid" and len(hint) <= 3 and set(hint) <= set(model.variables)


def test_unknown_state_is_refused_listing_the_valid_states():
    assert_refused(run_cli("query", "-e", "problem_duration=forever"),
                   "state 'forever' of problem_duration is not valid; valid states: under_1_week, 1_to_4_weeks, over_1_month")


def test_a_pair_without_equals_sign_is_refused():
    assert_refused(run_cli("query", "-e", "twitch_eyelid"), "evidence 'twitch_eyelid' must be written VAR=STATE, e.g. -e twitch_eyelid=yes")


def test_malformed_json_evidence_file_is_refused(tmp_path: Path):
    (tmp_path / "bad.json").write_text('{"twitch_eyelid": "yes",}', encoding="utf-8")
    assert_refused(run_cli("query", "--evidence-file", "bad.json", cwd=tmp_path),
                   re.compile(r"evidence file 'bad\.json' must be valid JSON; line 1: .+"))


def test_json_evidence_file_that_is_not_an_object_is_refused(tmp_path: Path):
    (tmp_path / "list.json").write_text('["twitch_eyelid", "yes"]', encoding="utf-8")
    assert_refused(run_cli("query", "--evidence-file", "list.json", cwd=tmp_path),
                   "evidence file 'list.json' must hold a JSON object of variable to state; got an array")


def test_missing_evidence_file_is_refused(tmp_path: Path):
    assert_refused(run_cli("query", "--evidence-file", "nowhere.json", cwd=tmp_path), "evidence file 'nowhere.json' does not exist")


def test_bad_state_inside_an_evidence_file_is_refused(tmp_path: Path):
    (tmp_path / "case.json").write_text(json.dumps({"twitch_eyelid": 3}), encoding="utf-8")
    assert_refused(run_cli("query", "--evidence-file", "case.json", cwd=tmp_path),
                   "state '3' of twitch_eyelid is not valid; valid states: no, yes")


@pytest.mark.parametrize("pair", ["twitch_eyelid=" + "y" * 5000, "z" * 5000 + "=yes"], ids=["long state", "long variable"])
def test_a_long_junk_value_is_echoed_shortened(pair: str):
    text = assert_refused(run_cli("query", "-e", pair), re.compile(r"(unknown variable|state) '[yz]{10,40}…'.+"))
    assert len(text) < 300


def test_impossible_evidence_is_refused_naming_the_conflict():
    assert_refused(run_cli("query", "-e", "als=absent", "-e", "cause_als=yes", "-e", "twitch_eyelid=yes"),
                   "evidence is impossible under the model: als=absent, cause_als=yes cannot all hold; remove or change one of them")


def test_a_broken_knowledge_base_given_with_kb_is_refused(tmp_path: Path):
    root = tmp_path / "kb"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    (root / "triage.yaml").unlink()
    assert_refused(run_cli("query", "--kb", root, *EYELID), "triage.yaml: file is missing")


def test_an_unknown_export_format_is_refused():
    assert_refused(run_cli("export", "--format", "png"), re.compile(r"argument --format: invalid choice: 'png'.*"))


def test_an_output_file_that_cannot_be_written_exits_2_naming_it(tmp_path):
    done = run_cli("export", "--format", "bif", "-o", tmp_path / "missing-dir" / "net.bif")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot write" in done.stderr and "net.bif" in done.stderr
    assert not (tmp_path / "missing-dir").exists()
