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
        self.message = clip(message)
        self.where = clip(str(where)) if where is not None else None
        self.hint = clip(hint) if hint is not None else None
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


def relpath(path: str | Path) -> str:
    """`path` relative to the working directory when it is below it, for messages."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return str(p)


class BenchWarning(UserWarning):
    """Something the user should know that does not stop the command (printed as 'warning: ...')."""

