"""The worked example of docs/results.md ("Analyse your results"): its command run, its Python run, and what it
prints compared with the output the page shows."""

from __future__ import annotations

import contextlib
import io
import re
import shlex

import pytest
from conftest import REPO

from bench.results.dataset_export import EXAMPLE_COLUMN_DOCS, RUN_COLUMN_DOCS

DOC = REPO / "docs" / "results.md"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Analyse your results")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def block(kind: str, text: str) -> str:
    (found,) = re.findall(rf"```{kind}\n(.*?)```", text, re.S)[:1]
    return found


@pytest.mark.slow
def test_the_worked_example_prints_what_the_page_shows(in_tmp, cli):
    pytest.importorskip("matplotlib", reason="the example draws a scatter plot")
    text = section()
    command = block("console", text).splitlines()[0].removeprefix("$ ")  # its output: tests/docs
    args = shlex.split(command)
    assert args[0] == "bench" and "--quiet" in args
    code, _, err = cli(*args[1:])
    assert code == 0, err
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block("python", text), str(DOC), "exec"), {})
    assert out.getvalue() == block("text", text)
    assert (in_tmp / "scatter.png").stat().st_size > 0


def test_every_fixed_column_is_documented():
    text = section()
    for name in [*RUN_COLUMN_DOCS, *EXAMPLE_COLUMN_DOCS]:
        assert f"`{name}`" in text, name
