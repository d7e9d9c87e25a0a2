"""Hardened inputs and files: bounded reads, one-line refusals, any console, safe writes (twitchbn/_files.py)."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, TINY

import twitchbn
from twitchbn import _files
from twitchbn._files import INPUT_LIMIT, atomic_write_text, parse_json, read_user_file
from twitchbn.batch import read_cases
from twitchbn.cli import main, read_evidence
from twitchbn.errors import InputFileError, TwitchbnError, shorten
from twitchbn.interop import read_network
from twitchbn.ui.explorer import Explorer
from twitchbn.ui.state import parse_scenario

DEEP = "[" * 100_000 + "]" * 100_000
HUGE = '{"twitch_eyelid": ' + "9" * 5000 + "}"


def refused(capsys, *argv: str) -> str:
    """Run the CLI in-process: exit status 2, nothing on stdout, one line on stderr; the message."""
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("twitchbn: error: ")
    return err.removeprefix("twitchbn: error: ").rstrip("\n")


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result or exception, failing the test if it blocks (a FIFO opened for reading would)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except Exception as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert box, f"blocked for more than {seconds} s"
    return box[0]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


# -- bounded reads -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "make", "message"), [
    ("pipe.json", os.mkfifo, "evidence file 'pipe.json' must be a regular file; got a FIFO (named pipe)"),
    ("adir", os.mkdir, "evidence file 'adir' must be a regular file; got a directory"),
    ("/dev/zero", None, "evidence file '/dev/zero' must be a regular file; got a character device"),
], ids=["fifo", "directory", "device"])
def test_an_evidence_file_that_is_no_regular_file_is_refused_without_reading_it(capsys, tmp_path, monkeypatch, name, make, message):
    monkeypatch.chdir(tmp_path)
    if make is not None:
        make(name)
    assert within(30, lambda: refused(capsys, "query", "--evidence-file", name)) == message


def test_an_evidence_file_over_1_mb_is_refused_before_it_is_read(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("big.json", "wb") as handle:
        handle.truncate(INPUT_LIMIT + 1)  # sparse: the size is all that is looked at
    assert refused(capsys, "query", "--evidence-file", "big.json") == (
        "evidence file 'big.json' must be at most 1 MB (1,000,000 bytes); got 1,000,001 bytes")


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc (files whose size says 0)")
def test_a_file_longer_than_its_size_says_is_still_cut_at_the_limit():
    with pytest.raises(InputFileError) as err:
        read_user_file("/proc/self/status", 100, "evidence file 'status'")
    assert str(err.value) == "evidence file 'status' must be at most 0.0001 MB (100 bytes); got more than 100 bytes"


def test_an_uploaded_scenario_over_1_mb_is_refused(tiny):
    with pytest.raises(InputFileError) as err:
        parse_scenario(b" " * (INPUT_LIMIT + 1), tiny, name="file 'big.json'")
    assert str(err.value) == "file 'big.json' must be at most 1 MB (1,000,000 bytes); got 1,000,001 bytes"


def test_a_cases_file_over_50_mb_or_not_regular_is_refused(tmp_path, fifo):
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.truncate(_files.CASES_LIMIT + 1)
    with pytest.raises(InputFileError, match=r"^cases file 'big\.csv' must be at most 50 MB \(50,000,000 bytes\); got 50,000,001 bytes$"):
        read_cases(big, ["twitch_eyelid"])
    exc = within(30, lambda: read_cases(fifo, ["twitch_eyelid"]))
    assert str(exc) == "cases file 'pipe.json' must be a regular file; got a FIFO (named pipe)"


def test_a_knowledge_base_file_that_is_a_fifo_is_a_fault_not_a_hang(tmp_path):
    root = tmp_path / "kb"
    shutil.copytree(TINY, root)
    (root / "triage.yaml").unlink()
    os.mkfifo(root / "triage.yaml")
    exc = within(30, lambda: twitchbn.load_knowledge(root))
    assert exc.faults == ["triage.yaml must be a regular file; got a FIFO (named pipe)"]


def test_a_network_file_that_is_a_fifo_is_refused(fifo):
    exc = within(30, lambda: read_network(fifo))
    assert str(exc) == f"network file '{shorten(fifo, keep_end=True)}' must be a regular file; got a FIFO (named pipe)"


@pytest.mark.parametrize("argv", [
    ("query", "--evidence-file", ""),
    ("export", "-o", ""),
    ("batch", "cases.csv", "-o", " "),
    ("validate", ""),
])
def test_an_empty_path_is_refused_not_ignored(capsys, argv):
    option = {"query": "--evidence-file", "export": "-o/--output", "batch": "-o/--output", "validate": "DIR"}[argv[0]]
    assert refused(capsys, *argv) == f"argument {option}: must be a path; got an empty string (see 'twitchbn {argv[0]} --help')"


def test_an_empty_path_is_refused_by_the_api():
    with pytest.raises(InputFileError, match=r"^output file must be a file path; got an empty string$"):
        atomic_write_text("", "x")


# -- malformed JSON: one line naming the file ------------------------------------------------------------
@pytest.mark.parametrize(("content", "message"), [
    (DEEP, "evidence file 'e.json' must be valid JSON; got arrays or objects nested too deeply to read"),
    (HUGE, "evidence file 'e.json' must be valid JSON with numbers of at most 4,300 digits; got one of 5,000 digits"),
    ('{"twitch_eyelid": "yes", "twitch_eyelid": "no"}',
     "key 'twitch_eyelid' of evidence file 'e.json' must appear once; got 'yes' and 'no'"),
    ('{"evidence": {"a": 1, "a": [2]}}', "key 'a' of evidence file 'e.json' must appear once; got 1 and [2]"),
    ('{"twitch_eyelid": "yes",}', "evidence file 'e.json' must be valid JSON; line 1: Expecting property name enclosed in double quotes"),
    ("\"twitch_eyelid\"", "evidence file 'e.json' must hold a JSON object of variable to state; got a string"),
    (b"\xff\xfe{}", "evidence file 'e.json' must be UTF-8 text; got byte 0xff at position 0"),
    (b"\xef\xbb\xbf{\"a\xff", "evidence file 'e.json' must be UTF-8 text; got byte 0xff at position 6"),
])
def test_a_malformed_evidence_file_is_one_line_naming_it(capsys, tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    Path("e.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    assert refused(capsys, "query", "--evidence-file", "e.json") == message


def test_identical_duplicate_keys_and_flags_pass():
    assert parse_json('{"a": "yes", "a": "yes"}', "x") == {"a": "yes"}
    assert read_evidence(["twitch_eyelid=yes", " twitch_eyelid = yes "], None) == {"twitch_eyelid": "yes"}


def test_conflicting_e_flags_are_refused_naming_both(capsys):
    assert refused(capsys, "query", "-e", "twitch_eyelid=yes", "-e", "twitch_eyelid=no") == (
        "variable 'twitch_eyelid' must be given one state; got 'yes' and 'no'")


def test_a_flag_still_wins_over_the_file(tmp_path):
    path = tmp_path / "e.json"
    path.write_text('{"twitch_eyelid": "no"}')
    assert read_evidence(["twitch_eyelid=yes"], str(path)) == {"twitch_eyelid": "yes"}


@pytest.mark.parametrize(("content", "message"), [
    (DEEP, "file 'bad.json' must be valid JSON; got arrays or objects nested too deeply to read"),
    (HUGE, "file 'bad.json' must be valid JSON with numbers of at most 4,300 digits; got one of 5,000 digits"),
    ('{"evidence": {"twitch_eyelid": "yes", "twitch_eyelid": "no"}}',
     "key 'twitch_eyelid' of file 'bad.json' must appear once; got 'yes' and 'no'"),
])
def test_uploading_a_malformed_scenario_shows_one_line_naming_the_file(tiny, content, message):
    explorer = Explorer(tiny)
    data = content.encode()
    explorer.upload.value = ({"name": "bad.json", "type": "application/json", "size": len(data), "content": memoryview(data),
                              "last_modified": datetime(2024, 1, 1, tzinfo=UTC)},)
    shown = html.unescape(explorer.message.value)
    assert message in shown and "unexpected error" not in shown
    assert explorer.state.evidence == {}


# -- byte-order mark: accepted everywhere ---------------------------------------------------------------
def test_a_utf8_bom_is_accepted_by_the_cli_the_explorer_and_batch(capsys, tiny, tmp_path):
    bom = "\ufeff".encode()
    evidence = tmp_path / "e.json"
    evidence.write_bytes(bom + b'{"twitch_eyelid": "yes"}')
    assert main(["query", "--kb", str(TINY), "--evidence-file", str(evidence), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evidence"] == {"twitch_eyelid": "yes"}
    assert parse_scenario("\ufeff{}", tiny) == {}
    cases = tmp_path / "c.csv"
    cases.write_bytes(bom + b"twitch_eyelid\nyes\n")
    assert read_cases(cases, ["twitch_eyelid"]).columns == ("twitch_eyelid",)


# -- control characters: escaped wherever echoed ---------------------------------------------------------
@pytest.mark.parametrize(("junk", "shown"), [
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    ("a\rb\nc", "a\\rb\\nc"),
    ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ("\u202eevil\u200b", "\\u202eevil\\u200b"),
    ("\udcff", "\\udcff"),
])
def test_control_characters_are_escaped_in_echoed_values(capsys, junk, shown):
    assert refused(capsys, "query", "-e", f"twitch_eyelid={junk}") == (
        f"state '{shown}' of twitch_eyelid is not valid; valid states: no, yes")


def test_shortening_counts_escapes_and_never_splits_one():
    assert shorten("\x1b" * 30) == "\\x1b" * 9 + "…"
    assert shorten("x\x1b" * 30, keep_end=True) == "…" + "\\x1bx" * 7 + "\\x1b"
    assert shorten(10**5000) == "a number of about 5000 digits"


def test_a_control_character_in_a_scenario_name_is_escaped(tiny):
    with pytest.raises(TwitchbnError) as err:
        parse_scenario('{"twitch_eyelid": "\\u001b[31m"}', tiny, name="scenario 'x'")
    assert str(err.value) == "scenario 'x': state '\\x1b[31m' of twitch_eyelid is not valid; valid states: no, yes"


# -- any console ------------------------------------------------------------------------------------------
def run_with(encoding: str, *argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run([sys.executable, "-m", "twitchbn.cli", *argv], capture_output=True, cwd=cwd, env=env, timeout=300, check=False)


def test_an_ascii_console_gets_plain_ascii_from_query_validate_why_and_evaluate(tmp_path):
    (tmp_path / "cases.yaml").write_text(
        '- {id: c1, story: "eyelid", evidence: {twitch_eyelid: "yes"}, target: sleep_deprivation, '
        "top1_any: [sleep_deprivation], triage: self_care, basis: test}\n")
    outputs = {}
    for argv in [("query", "-e", "twitch_eyelid=yes"), ("validate",), ("why", "-e", "twitch_eyelid=yes"), ("evaluate", "cases.yaml")]:
        done = run_with("ascii", *argv, cwd=tmp_path)
        assert done.returncode == 0, (argv, done.stderr)
        outputs[argv[0]] = done.stdout.decode("ascii")  # nothing but ASCII reached the console
    assert "...  " in outputs["query"]  # a long label cut with "..." for "…"
    assert " valid - " in outputs["validate"]  # "—" as "-"


@pytest.mark.parametrize("encoding", ["latin-1", "cp437"])
def test_a_latin1_or_cp437_console_does_not_crash_a_query(encoding):
    done = run_with(encoding, "query", "-e", "twitch_eyelid=yes")
    assert done.returncode == 0, done.stderr
    assert "...  " in done.stdout.decode(encoding)


def test_the_console_fallback_transliterates():
    from twitchbn.cli import plain_console

    plain_console()
    assert "a…b—c–d é ∑".encode("ascii", "twitchbn.ascii") == b"a...b-c-d e ?"


# -- atomic writes ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_new_file_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


def test_a_symlinked_target_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert atomic_write_text(link, "new") == real
    assert link.is_symlink() and real.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]


def test_a_target_that_is_no_regular_file_is_refused(tmp_path, fifo):
    with pytest.raises(InputFileError) as err:
        atomic_write_text(fifo, "x")
    assert str(err.value) == f"output file '{shorten(fifo, keep_end=True)}' must be a regular file; got a FIFO (named pipe)"
    assert fifo.is_fifo()


def test_stale_temporary_files_of_a_killed_run_are_swept_at_the_next_write(tmp_path):
    target = tmp_path / "out.txt"
    dead = tmp_path / ".out.txt.999999999.aaaaaaaaaaaa.tmp"  # no such process
    old = tmp_path / ".out.txt.k3j_x9q2.tmp"  # a live process's or an older twitchbn's, but two hours old
    live = tmp_path / f".out.txt.{os.getpid()}.cccccccccccc.tmp"  # being written right now
    longer = tmp_path / ".out.txt.bak.999999999.dddddddddddd.tmp"  # out.txt.bak's, not ours
    other = tmp_path / ".other.txt.999999999.eeeeeeeeeeee.tmp"  # another file's
    for path in (dead, old, live, longer, other):
        path.write_text("partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    atomic_write_text(target, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, longer.name, other.name, "out.txt"])


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc to see a zombie")
def test_the_temporary_file_of_a_killed_but_unreaped_writer_is_swept(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.kill()
    while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        time.sleep(0.01)
    (tmp_path / f".out.txt.{child.pid}.aaaaaaaaaaaa.tmp").write_text("partial")
    try:
        atomic_write_text(tmp_path / "out.txt", "x")
    finally:
        child.wait()
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize(("where", "error"), [
    ("fsync", OSError(28, "No space left on device")),
    ("replace", OSError(13, "Permission denied")),
    ("fsync", KeyboardInterrupt()),
    ("text", UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")),
])
def test_every_failure_removes_the_temporary_file_and_keeps_the_old_one(tmp_path, monkeypatch, where, error):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(*args: Any) -> None:
        raise error

    if where != "text":
        monkeypatch.setattr(os, where, fail)
    with pytest.raises(InputFileError if isinstance(error, OSError) else type(error)) as err:
        atomic_write_text(target, "\udcff" if where == "text" else "new")
    monkeypatch.undo()
    if isinstance(error, OSError):
        assert str(err.value) == f"cannot write '{shorten(target, keep_end=True)}': {error.strerror}"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_export_to_a_directory_is_refused_in_one_line(capsys, tmp_path):
    assert refused(capsys, "export", "--kb", str(TINY), "-o", str(tmp_path)) == (
        f"output file '{shorten(tmp_path, keep_end=True)}' must be a regular file; got a directory")
