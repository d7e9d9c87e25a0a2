"""The user's files: read bounded and checked, written whole or not at all.

Every file a user hands twitchbn (evidence, scenarios, cases, knowledge-base YAML, networks) is
read by ``read_user_file``: it must be a regular file of at most a documented size, so a FIFO, a
device such as ``/dev/zero`` or a directory is refused in one line before anything is read. Text
is UTF-8, a leading byte-order mark accepted. JSON is read by ``parse_json``, which refuses what
``json`` would crash on or silently accept: nesting too deep, numbers too long to convert, and
one key given twice with different values.
"""

from __future__ import annotations

import codecs
import glob
import json
import os
import re
import secrets
import stat
import sys
import time
from pathlib import Path
from typing import Any

from twitchbn.errors import InputFileError, shorten

MB = 1_000_000
INPUT_LIMIT = 1 * MB  # evidence files (--evidence-file, --against) and scenario files
CASES_LIMIT = 50 * MB  # a batch cases CSV: about half a million cases of 100 bytes
KNOWLEDGE_LIMIT = 10 * MB  # one knowledge-base YAML file, or an exported network
STALE_AFTER = 3600.0  # seconds after which a temporary file of a write is stale whoever made it
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_user_file(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file at ``path``, refused in one line unless it has at most ``limit`` bytes.

    ``what`` names the file as the user knows it (``"evidence file 'case.json'"``); every
    refusal is an ``InputFileError`` starting with it. Anything but a regular file is refused
    without being opened for reading.
    """
    if not str(path).strip():
        raise InputFileError(f"{what} must be a file path; got an empty string", path=str(path))
    try:
        _check(os.stat(path), limit, what, path)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as handle:
            _check(os.fstat(handle.fileno()), limit, what, path)  # the same file still (not swapped since the stat)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise InputFileError(f"{what} does not exist", path=str(path)) from None
    except OSError as exc:
        raise InputFileError(f"{what} cannot be read ({exc.strerror or exc.__class__.__name__})", path=str(path)) from None
    _check_size(len(data), limit, what, path, cut=True)  # longer than its size said (growing, or in /proc)
    return data


def user_text(data: bytes | str, limit: int, what: str) -> str:
    """``data`` as text: UTF-8 with or without a byte-order mark, at most ``limit`` bytes (or characters)."""
    _check_size(len(data), limit, what, None)
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + len(data) - len(body)
        raise InputFileError(f"{what} must be UTF-8 text; got byte 0x{data[at]:02x} at position {at:,}") from None


def read_user_text(path: str | Path, limit: int, what: str) -> str:
    """``read_user_file`` decoded by ``user_text``."""
    return user_text(read_user_file(path, limit, what), limit, what)


def parse_json(text: str, what: str) -> Any:
    """``text`` parsed as JSON; every malformed document is one ``InputFileError`` naming ``what``.

    A key given twice with different values is refused naming both (the same value twice passes).

    >>> parse_json('{"twitch_eyelid": "yes", "twitch_eyelid": "no"}', "evidence file 'case.json'")
    Traceback (most recent call last):
    ...
    twitchbn.errors.InputFileError: key 'twitch_eyelid' of evidence file 'case.json' must appear once; got 'yes' and 'no'
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out and (out[key] != value or type(out[key]) is not type(value)):
                raise InputFileError(f"key '{shorten(key)}' of {what} must appear once; got {_echo(out[key])} and {_echo(value)}")
            out[key] = value
        return out

    def integer(digits: str) -> int:
        try:
            return int(digits)
        except ValueError:  # more digits than Python converts
            raise InputFileError(f"{what} must be valid JSON with numbers of at most {sys.get_int_max_str_digits():,} digits; "
                                 f"got one of {len(digits.lstrip('-')):,} digits") from None

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_int=integer)
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{what} must be valid JSON; line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise InputFileError(f"{what} must be valid JSON; got arrays or objects nested too deeply to read") from None


def parse_evidence_json(text: str, what: str) -> dict[str, Any]:
    """The evidence of a JSON document: an object of variable to state, or one under ``evidence`` (a saved result)."""
    data = parse_json(text, what)
    if isinstance(data, dict) and isinstance(data.get("evidence"), dict):
        data = data["evidence"]
    if not isinstance(data, dict):
        raise InputFileError(f"{what} must hold a JSON object of variable to state; got {_json_type(data)}")
    return data


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it (fsync, rename); return the path written.

    A crash or a full disk never leaves a half-written file, and an existing file is replaced
    only once the new one is complete; the temporary file is removed on every failure, and those
    a killed run left behind (``.NAME.PID.RANDOM.tmp`` of a process that is gone, or older than
    an hour) are swept at the next write of the same file. A new file follows the umask; a
    replaced file keeps its mode. A symbolic link is written through: the file it points to is
    replaced and the link stays. Anything but a regular file (a directory, a device, a FIFO) is
    refused. Failures raise ``InputFileError`` naming the file.
    """
    if not str(path).strip():
        raise InputFileError("output file must be a file path; got an empty string", path=str(path))
    target = Path(os.path.realpath(path))
    name = shorten(str(path), keep_end=True)
    try:
        mode = _existing_mode(target, f"output file '{name}'")
        _sweep(target)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)  # the umask applies
    except OSError as exc:
        raise InputFileError(f"cannot write '{name}': {exc.strerror or exc}", path=str(path)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if mode is not None:
                os.chmod(tmp, mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputFileError(f"cannot write '{name}': {exc.strerror or exc}", path=str(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _check(info: os.stat_result, limit: int, what: str, path: str | Path) -> None:
    _check_regular(info, what, path)
    _check_size(info.st_size, limit, what, path)


def _check_regular(info: os.stat_result, what: str, path: str | Path) -> None:
    for test, kind in _KINDS:
        if test(info.st_mode):
            raise InputFileError(f"{what} must be a regular file; got {kind}", path=str(path))


def _check_size(size: int, limit: int, what: str, path: str | Path | None, cut: bool = False) -> None:
    """Refuse ``size`` bytes over ``limit`` (``cut``: reading stopped there, the file holds more)."""
    if size > limit:
        got = f"more than {limit:,} bytes" if cut else f"{size:,} bytes"
        raise InputFileError(f"{what} must be at most {limit / MB:g} MB ({limit:,} bytes); got {got}",
                             path=None if path is None else str(path))


def _existing_mode(target: Path, what: str) -> int | None:
    """The permission bits of the file being replaced (None for a new file); refuses a non-regular target."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    _check_regular(info, what, target)
    return stat.S_IMODE(info.st_mode)


def _sweep(target: Path) -> None:
    """Remove the temporary files of ``target`` that a killed run left behind."""
    prefix = f".{target.name}."
    ours = re.compile(rf"{re.escape(prefix)}(\d+)\.[0-9a-f]{{12}}\.tmp")  # as atomic_write_text names them
    now = time.time()
    for tmp in target.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        match = ours.fullmatch(tmp.name)
        try:
            if now - tmp.lstat().st_mtime > STALE_AFTER or (match and not _alive(int(match[1]))):
                tmp.unlink()
        except OSError:  # gone already, or not ours to remove: the write goes on
            continue


def _alive(pid: int) -> bool:
    if os.name != "posix":  # no cheap, harmless liveness test: age alone decides
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    try:  # killed but not yet reaped by its parent (a zombie): gone too
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc: alive as far as we can tell
        return True


def _echo(value: Any) -> str:
    return f"'{shorten(value)}'" if isinstance(value, str) else shorten(json.dumps(value))


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
