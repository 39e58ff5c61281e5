"""File plumbing, each job done once: JSON and JSONL reading, JSON lines out, atomic writes.

Every file bench reads follows the same rules: UTF-8 (a bad byte is reported
with its line), a leading byte-order mark is a problem of its own (the rest is
still read), JSON has no NaN or Infinity (bench never writes them; it writes
null), nests at most `MAX_JSON_DEPTH` levels and has no integer longer than
Python reads, only regular files are opened (a FIFO would block, /dev/zero
never ends), and every problem names ``file:line``. Every file bench writes appears
whole or not at all: it is written next to its final name and moved into place
with one rename.

Imports nothing from bench but `bench.errors`.
"""

from __future__ import annotations

import errno
import gc
import json
import math
import os
import re
import shutil
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath

BOM = b"\xef\xbb\xbf"
NONFINITE_HINT = "JSON has no NaN or Infinity; write a finite number, or null"


class NonFiniteNumber(ValueError):
    """A NaN, Infinity or -Infinity constant in JSON text (its text is the message)."""


def _refuse_constant(name: str) -> Any:
    raise NonFiniteNumber(name)


#: Deepest nesting of lists and objects read from JSON (bench's own files nest four levels; a fixture row three).
MAX_JSON_DEPTH = 100


def loads(text: str | bytes) -> Any:
    """`json.loads` that refuses NaN, Infinity and -Infinity (raises `NonFiniteNumber`), deep nesting and
    integers too long to read.

    Lists and objects nested more than `MAX_JSON_DEPTH` levels deep, and integers of
    more than `MAX_INT_DIGITS` digits, raise a `json.JSONDecodeError` at the place
    of the problem (not a RecursionError or a ValueError, here or in any code that
    walks the value later), so every reader reports it as the invalid JSON of its
    file:line.
    """
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            value = _DECODER.decode(text)  # what json.loads does with these hooks, without a decoder per call
        else:
            value = json.loads(text, parse_constant=_refuse_constant, parse_int=_parse_int)
    except RecursionError:
        raise _too_deep(text) from None
    except _TooLong as e:
        doc = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        found = re.search(rf"\d{{{MAX_INT_DIGITS + 1}}}", doc)
        raise json.JSONDecodeError(f"an integer of {len(str(e))} digits (at most {MAX_INT_DIGITS})", doc,
                                   found.start() if found else 0) from None
    if _openers(text) > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise _too_deep(text)
    return value


#: Longest integer read from JSON (Python's own limit for turning digits into an int).
MAX_INT_DIGITS = 4300


class _TooLong(ValueError):
    """An integer literal longer than `MAX_INT_DIGITS` digits (its digits are the message)."""


def _parse_int(digits: str) -> int:
    if len(digits) > MAX_INT_DIGITS and len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _TooLong(digits.lstrip("-"))
    return int(digits)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_parse_int)


def _openers(text: str | bytes) -> int:
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a parsed JSON value (without recursion)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            d += 1
            if d > MAX_JSON_DEPTH:
                return d
            deepest = max(deepest, d)
            stack.extend((x, d) for x in v if isinstance(x, (list, dict)))
    return deepest


def _too_deep(text: str | bytes) -> json.JSONDecodeError:
    """The error for JSON nested too deeply, at the bracket that passes `MAX_JSON_DEPTH`."""
    doc = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    depth, pos, in_string, escaped = 0, 0, False, False
    for i, c in enumerate(doc):
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                pos = i
                break
        elif c in "]}":
            depth -= 1
    return json.JSONDecodeError(f"lists and objects nested more than {MAX_JSON_DEPTH} levels deep", doc, pos)


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for messages ("a string", "null", ...)."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def has_nonfinite(value: Any) -> bool:
    """Whether a parsed JSON value holds a non-finite float anywhere."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(has_nonfinite(v) for v in value.values())
    if isinstance(value, list):
        return any(has_nonfinite(v) for v in value)
    return False


def where(path: Path, line: int | None = None, fieldname: str | None = None) -> str:
    """``path:line (field 'name')`` for messages, the path relative to the working directory."""
    w = _shown_path(path)
    if line is not None:
        w += f":{line}"
    if fieldname:
        w += f" (field {fieldname!r})"
    return w


def _shown_path(path: Path) -> str:
    """`relpath(path)`, remembered for the last path and working directory: readers name one file on every
    line, and resolving it on disk each time cost more than parsing the line."""
    global _last_shown
    key = (os.fspath(path), os.getcwd())
    if _last_shown is None or _last_shown[0] != key:
        _last_shown = (key, relpath(path))
    return _last_shown[1]


_last_shown: tuple[tuple[str, str], str] | None = None


def decode_utf8(data: bytes, where: str) -> str:
    """`data` as UTF-8 text; a bad byte is one error with its line number."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise BenchError(f"not valid UTF-8 (byte {data[e.start]:#04x})", where=f"{where}:{line}",
                         hint="re-encode the file as UTF-8") from None


def read_bytes(path: Path, what: str = "file", hint: str | None = None, limit: int | None = None) -> bytes:
    """The bytes of a regular file; anything else (unreadable, a directory, a FIFO, a device such as
    /dev/zero, a symbolic link loop) is one `BenchError` naming it, raised before anything is read. With
    `limit`, a file of more bytes is refused too (and no more than that is ever read)."""
    problem = not_a_regular_file(path)
    if problem:
        raise BenchError(f"cannot read {what}: {problem}", where=relpath(path), hint=hint)
    try:
        if limit is None:
            return path.read_bytes()
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise BenchError(f"cannot read {what}: {e.strerror}", where=relpath(path), hint=hint) from None
    if len(data) > limit:
        raise BenchError(f"cannot read {what}: it is larger than {limit} bytes", where=relpath(path), hint=hint)
    return data


#: What `not_a_regular_file` says of a path where nothing is, and of a directory.
NO_SUCH_FILE = os.strerror(errno.ENOENT)
IS_A_DIRECTORY = os.strerror(errno.EISDIR)


def not_a_regular_file(path: Path) -> str:
    """Why `path` cannot be read as a file (`NO_SUCH_FILE`, "a FIFO (named pipe)", ...); "" when it can.

    A FIFO would block the reader and a device such as /dev/zero never ends, so
    only regular files (or links to them) are read. Never raises: a name the
    system cannot take (too long, a NUL character, not Unicode) is a reason too.
    """
    try:
        mode = path.stat().st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link loop (the link points back to itself)"
        return e.strerror or str(e)
    except UnicodeEncodeError:
        return "not a valid file name (it is not valid Unicode text)"
    except ValueError:  # "embedded null byte"
        return "not a valid file name (it holds a NUL character)"
    if stat.S_ISREG(mode):
        return ""
    kinds = ((stat.S_ISDIR, IS_A_DIRECTORY), (stat.S_ISFIFO, "a FIFO (named pipe), not a regular file"),
             (stat.S_ISCHR, "a character device, not a regular file"),
             (stat.S_ISBLK, "a block device, not a regular file"), (stat.S_ISSOCK, "a socket, not a regular file"))
    return next((text for test, text in kinds if test(mode)), "not a regular file")


def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing parent of `path` when it is a file (nothing can be written below it), else None."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def resolved(path: Path) -> Path:
    """`path` made absolute with its symbolic links resolved; a link loop stays as it is (made absolute),
    for `not_a_regular_file` to report, instead of raising."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return Path(os.path.abspath(path))


def lone_surrogate(value: Any) -> tuple[str, int] | None:
    """(the string, the index) of the first unpaired surrogate (an escaped ``"\\ud800"``) in a parsed JSON value.

    JSON lets a file escape half of a UTF-16 surrogate pair alone; the result is
    not Unicode text (it cannot be written as UTF-8), and Arrow refuses it.
    """
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as e:
                return v, e.start
        elif isinstance(v, dict):
            stack.extend(reversed([*v.keys(), *v.values()]))
        elif isinstance(v, list):
            stack.extend(reversed(v))
    return None


#: A JSON escape of half a surrogate pair (``\\ud800``-``\\udfff``, either case): the only way a parsed value can
#: hold an unpaired surrogate (a raw one is not valid UTF-8, and is reported as such). It also matches an
#: escaped backslash before such letters, and both halves of a valid pair: a line it matches is walked
#: (`lone_surrogate`), one it does not cannot hold one.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE_ESCAPE_TEXT = re.compile(_SURROGATE_ESCAPE.pattern.decode("ascii"))


def surrogate_escape_lines(data: bytes | str) -> frozenset[int]:
    """The numbers of the lines of `data` (from 1) that may hold an unpaired surrogate once parsed.

    One search over the whole data: a file with no surrogate escape (the usual
    case) gives an empty set, and its parsed values need no `lone_surrogate`
    walk; a line in the set still does (the escape may be half of a valid pair).
    """
    pattern = _SURROGATE_ESCAPE if isinstance(data, bytes) else _SURROGATE_ESCAPE_TEXT
    newline = b"\n" if isinstance(data, bytes) else "\n"
    found: set[int] = set()
    line, counted = 1, 0
    for m in pattern.finditer(data):
        line += data.count(newline, counted, m.start())
        counted = m.start()
        found.add(line)
    return frozenset(found)


#: How to fix an unpaired surrogate escape in a file a user wrote.
SURROGATE_HINT = "write the character itself, or both halves of its surrogate pair (e.g. \\ud83d\\ude00)"


def surrogate_name(found: tuple[str, int]) -> str:
    """``unpaired surrogate \\ud800``: what `lone_surrogate` found, for a message."""
    text, i = found
    return f"unpaired surrogate \\u{ord(text[i]):04x}"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (as it was after).

    For blocks that build many acyclic containers (parsed JSON, per-example
    dicts): collections there find nothing to free, but each full one walks
    every object in the process. Reading 20,000 score lines, and merging their
    scores, set off two full collections and 200 partial ones, 0.1 s of a
    0.7 s `bench score`.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def parse_jsonl(path: Path, *, data: bytes | None = None,
                hint: str | None = None) -> tuple[list[tuple[int, Any]], list[tuple[int, BenchError]]]:
    """Every line of a JSONL file: ((line, object) for good lines, (line, problem) for bad ones).

    Bad lines (invalid UTF-8 or JSON, not an object, NaN or Infinity) do not stop
    the good ones from being parsed, so their fields can be checked too. Empty
    lines are skipped; an empty file is an error. `hint`, when given, replaces
    each problem's own hint (e.g. "the file is damaged; ..." for files bench wrote).
    """
    with collector_paused():  # JSON values cannot form reference cycles
        return _parse_jsonl(path, data, hint)


def _parse_jsonl(path: Path, data: bytes | None,
                 hint: str | None) -> tuple[list[tuple[int, Any]], list[tuple[int, BenchError]]]:
    if data is None:
        data = read_bytes(path)
    errors: list[tuple[int, BenchError]] = []
    rows: list[tuple[int, Any]] = []
    if data.startswith(BOM):
        errors.append((1, BenchError("file starts with a UTF-8 byte-order mark", where=where(path, 1),
                                     hint=hint or "save the file as UTF-8 without BOM")))
        data = data[len(BOM):]
    if not data or data.isspace():  # `not data.strip()`, without copying the data
        raise BenchError("file is empty", where=relpath(path), hint=hint or "write one JSON object per line")
    lines: list[str] | list[bytes]
    try:
        # Valid UTF-8 throughout (the usual case): decoded at once, each line then the same text as decoded alone.
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        lines = data.split(b"\n")
    scan = _DECODER.scan_once
    for lineno, raw in enumerate(lines, start=1):
        if raw[:1] == "{":
            # The usual line, one object: what `loads` does, without its layers (same scanner, same checks);
            # anything else (an error, text after the object, deep nesting) goes the long way below.
            try:
                obj, end = scan(raw, 0)
            except Exception:  # a JSONDecodeError, NonFiniteNumber, StopIteration, RecursionError: reported below
                pass
            else:
                if ((end == len(raw) or not raw[end:].strip(_JSON_SPACE))
                        and not (raw.count("[") + raw.count("{") > MAX_JSON_DEPTH and _depth(obj) > MAX_JSON_DEPTH)):
                    rows.append((lineno, obj))
                    continue
        if not raw.strip(_ASCII_SPACE if isinstance(raw, str) else None):
            continue
        try:
            text = raw if isinstance(raw, str) else raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append((lineno, BenchError(
                f"not valid UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})",
                where=where(path, lineno), hint=hint or "re-encode the file as UTF-8",
            )))
            continue
        try:
            obj = loads(text)
        except NonFiniteNumber as e:
            errors.append((lineno, BenchError(f"{e} is not a valid number", where=where(path, lineno),
                                              hint=hint or NONFINITE_HINT)))
            continue
        except json.JSONDecodeError as e:
            errors.append((lineno, BenchError(
                f"invalid JSON: {e.msg} (column {e.colno})", where=where(path, lineno),
                hint=hint or "each line must be one complete JSON object",
            )))
            continue
        if not isinstance(obj, dict):
            errors.append((lineno, BenchError(
                f"expected a JSON object, got {json_type(obj)}", where=where(path, lineno),
                hint=hint or 'each line is one example, a JSON object such as {"id": "a1", ...}',
            )))
            continue
        rows.append((lineno, obj))
    return rows, errors


#: What `bytes.strip()` strips: ASCII whitespace only (a line of U+00A0 is not blank).
_ASCII_SPACE = " \t\n\r\x0b\x0c"
#: JSON's whitespace (what `json` skips around a value).
_JSON_SPACE = " \t\n\r"


def read_jsonl(path: Path, *, data: bytes | None = None,
               hint: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-empty line; raises `BenchErrors` listing every bad line.

    `data`, when given, is the file's bytes, already read (`read_bytes`)."""
    rows, errors = parse_jsonl(path, data=data, hint=hint)
    if errors:
        raise BenchErrors([e for _, e in errors])
    return rows


# ------------------------------------------------------------------ writing


def json_safe(value: Any) -> Any:
    """JSON-safe copy: tuples to lists, paths to strings, non-finite floats to None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def json_line(obj: Any) -> str:
    """One line of JSON (no newline), UTF-8 kept as is, non-finite floats written as null."""
    return json.dumps(json_safe(obj), ensure_ascii=False, allow_nan=False)


def json_text(obj: Any) -> str:
    """Indented JSON with a final newline, non-finite floats written as null (results.json, metadata)."""
    return json.dumps(json_safe(obj), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def temporary_name(path: Path) -> Path:
    """A hidden name beside `path`, unique to this process: where `path` is written before its rename."""
    return path.parent / f".{path.name}.tmp-{os.getpid()}"


@contextmanager
def atomic_path(path: Path, *, what: str = "file", hint: str | None = None,
                exit_code: int | None = None) -> Iterator[Path]:
    """A temporary path beside `path` to write; moved onto `path` with one rename when the block succeeds.

    On any failure the temporary file (or directory) is removed and `path` is
    left as it was; an `OSError` becomes one `BenchError` naming `path`.
    """
    tmp = temporary_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if tmp.is_file():
            with tmp.open("rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        kwargs = {"exit_code": exit_code} if exit_code is not None else {}
        raise BenchError(f"cannot write {what}: {e.strerror or e}", where=relpath(path), hint=hint,
                         **kwargs) from e
    except BaseException:
        _remove(tmp)
        raise


def atomic_write(path: Path, data: str | bytes, *, what: str = "file", hint: str | None = None,
                 exit_code: int | None = None) -> None:
    """Write `data` to `path` whole or not at all (temporary file, fsync, one rename)."""
    with atomic_path(path, what=what, hint=hint, exit_code=exit_code) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


def _remove(path: Path) -> None:
    """Remove a temporary file or directory if it is there (a parent that is not a directory holds none)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink(missing_ok=True)
        except NotADirectoryError:
            pass
