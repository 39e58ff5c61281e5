"""``python -m bench.evaluate_modules [NAME ...]``: the path of each of bench's evaluate modules (all by default)."""

from __future__ import annotations

import sys

from bench.errors import BenchError
from bench.evaluate_modules import NAMES, path


def main(argv: list[str]) -> int:
    names = argv or list(NAMES)
    try:
        paths = [path(n) for n in names]
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    for name, p in zip(names, paths):
        print(p if argv else f"{name}\t{p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
