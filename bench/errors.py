"""The one user-facing error type.

A `BenchError` is caused by the user's input or environment (a typo in a
fixture, an unknown model, a missing dependency). The command line prints its
message without a traceback and exits with its `exit_code`.
"""

from __future__ import annotations

from pathlib import Path

#: Bad input or usage: a malformed file, an unknown name, a wrong option.
EXIT_USAGE = 2
#: The environment cannot do what was asked: a missing package, a model that
#: is neither cached nor downloadable.
EXIT_ENVIRONMENT = 3
#: The run was interrupted (Ctrl-C).
EXIT_INTERRUPTED = 130


class BenchError(Exception):
    """An error with a message meant for the user.

    `where` is a location such as ``fixtures/x.jsonl:12`` or
    ``tasks/x.yaml (field 'metrics')``; `hint` says how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        where: str | Path | None = None,
        hint: str | None = None,
        exit_code: int = EXIT_USAGE,
    ) -> None:
        self.message = visible(clip(message), multiline=True)
        self.where = visible(clip(str(where))) if where is not None else None
        self.hint = visible(clip(hint), multiline=True) if hint is not None else None
        self.exit_code = exit_code
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class BenchErrors(BenchError):
    """Several input problems reported at once (e.g. every bad line of a fixture)."""

    def __init__(self, errors: list[BenchError], *, exit_code: int = EXIT_USAGE) -> None:
        self.errors = list(errors)
        n = len(self.errors)
        lines = [f"{n} problem{'s' if n != 1 else ''} found:"]
        lines += [f"  {e}".replace("\n", "\n  ") for e in self.errors[:MAX_LISTED]]
        if n > MAX_LISTED:
            lines.append(f"  ... and {n - MAX_LISTED} more (fix these first, then check again)")
        super().__init__("\n".join(lines), exit_code=exit_code)
        self.message = "\n".join(lines)  # already made of clipped parts

    def __str__(self) -> str:
        return self.message


#: Most problems a `BenchErrors` lists (a wrong file can have a problem on every line).
MAX_LISTED = 50
#: Longest part of a message (a 10 MB line quoted in a message is cut in the middle).
MAX_TEXT = 1000


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, cut in the middle when longer than `limit` characters."""
    if len(text) <= limit:
        return text
    keep = limit // 2
    return f"{text[:keep]}...[{len(text) - 2 * keep} characters cut]...{text[-keep:]}"


def _visible_table(multiline: bool) -> dict[int, str]:
    codes = [*range(0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
             *range(0xD800, 0xE000)]
    keep = {ord("\t"), ord("\n")} if multiline else {ord("\t")}
    return {c: (f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in codes if c not in keep}


_VISIBLE = _visible_table(multiline=False)
_VISIBLE_MULTILINE = _visible_table(multiline=True)


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` from data made safe to show on a terminal: every character a terminal would act on, written out.

    C0 controls (but tab), ESC and DEL, C1 controls (U+0080-U+009F, e.g. the one-byte CSI U+009B), the bidi
    embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and lone surrogates (which cannot be
    encoded) are shown as Python writes them in a string: ``\\x1b``, ``\\u202e``. A newline is kept only
    when `multiline` (a prediction, a reference, a message of several lines); otherwise it is shown as ``\\x0a``.
    Backslashes are left as they are, so the result is for reading, not for parsing back.
    Everything bench prints that comes from a file, a model or a command line goes through here once.
    """
    return text.translate(_VISIBLE_MULTILINE if multiline else _VISIBLE)


def relpath(path: str | Path) -> str:
    """`path` relative to the working directory when it is below it, for messages."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return str(p)


class BenchWarning(UserWarning):
    """Something the user should know that does not stop the command (printed as 'warning: ...')."""

