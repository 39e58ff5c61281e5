"""`bench compare --format latex`: booktabs tables whose bold cells are bench's best, names escaped, compiled by
a real LaTeX (Debian's texlive-latex-base and texlive-latex-recommended, installed by .ci/run)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from hand_made_runs import make_run

from bench.comparison.render_latex import SPECIALS, escape, render_latex, short_signatures
from bench.comparison.select import select

#: A model name made of every character LaTeX reads as markup, a control character and an accented letter.
HOSTILE = "a_b&c%d$e#f{g}h~i^j\\k<l>m|n\x1bo Cristóbal"


@pytest.fixture
def sections(tmp_path):
    make_run(tmp_path, model="lead-3", scores={"rouge1": [10.0, 20.0, 30.0], "rouge_2": [0.0, 0.0, 30.0]})
    make_run(tmp_path, model=HOSTILE, scores={"rouge1": [40.0, 50.0, 60.0], "rouge_2": [0.0, 0.0, 0.0]},
             run_id="20260101T000000Z-000002")
    return select([tmp_path])


def table_rows(tex: str) -> list[list[str]]:
    """The rows of each tabular between \\toprule and \\bottomrule, split at unescaped '&'."""
    rows = []
    for body in re.findall(r"\\toprule\n(.*?)\\bottomrule", tex, re.S):
        for line in body.splitlines():
            if line in (r"\midrule",):
                continue
            assert line.endswith(r" \\"), line
            rows.append(re.split(r"(?<!\\) & ", line[:-3]))
    return rows


def balanced(text: str) -> bool:
    depth = 0
    for m in re.finditer(r"(?<!\\)[{}]|\\\\[{}]", text):
        if m.group() in ("{", "}"):
            depth += 1 if m.group() == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def test_escape_writes_every_special_character_as_text():
    assert escape("a|b<c>_", typewriter=True) == r"a|b<c>\_"  # the typewriter font has these glyphs
    assert escape("a_b") == r"a\_b"
    assert escape(r"\input{x}") == r"\textbackslash{}input\{x\}"
    assert escape("50% & $5 #1 ~ ^ <> |") == (r"50\% \& \$5 \#1 \textasciitilde{} \textasciicircum{} "
                                              r"\textless{}\textgreater{} \textbar{}")
    assert escape("esc\x1b") == r"esc\textbackslash{}x1b"  # a control character, written out
    escaped = escape(HOSTILE)
    stripped = re.sub(r"\\(textbackslash|textasciitilde|textasciicircum|textless|textgreater|textbar)\{\}", "",
                      escaped)
    stripped = re.sub(r"\\[&%$#_{}]", "", stripped)
    assert not set(stripped) & set(SPECIALS)  # nothing left that LaTeX would read as markup


def test_table_shape_bold_only_for_bench_s_best_and_a_caption(sections):
    tex = render_latex(sections)
    s = sections[0]
    assert tex.count(r"\begin{table}") == 1 and tex.count(r"\toprule") == 1 and balanced(tex)
    rows = table_rows(tex)
    header, *body = rows
    assert header == ["Model", r"rouge1 $\uparrow$", r"rouge\_2 $\uparrow$"]
    assert all(len(r) == 3 for r in rows)
    assert [r[0] for r in body] == [escape(HOSTILE), "lead-3"]  # bench compare's order, best first
    assert body[0][1] == r"\textbf{50.00} [40.00, 60.00]" and body[1][1] == "20.00 [10.00, 30.00]"
    assert s.best == {"rouge1": 50.0, "rouge_2": 10.0, "examples_per_s": 10.0}
    assert body[1][2] == r"\textbf{10.00} [0.00, 30.00]" and body[0][2] == "0.00 [0.00, 0.00]"
    assert tex.count(r"\textbf{") == 2
    caption = re.search(r"\\caption\{(.*)\}\n\\label", tex).group(1)
    assert caption.startswith("news, $n = 3$ examples. Mean over examples")
    assert r"rouge1, rouge\_2: \texttt{nrefs:1|stem:porter|agg:mean|bench:0.1.0}" in caption
    assert r"\label{tab:bench-news}" in tex


def test_ci_styles_and_a_column_without_a_best(sections):
    pm = table_rows(render_latex(sections, ci="pm"))
    assert pm[1][1] == r"\textbf{50.00}\textsubscript{$\pm$10.00}"
    none = table_rows(render_latex(sections, ci="none"))
    assert none[1][1] == r"\textbf{50.00}" and none[2][1] == "20.00"
    single = select([sections[0].runs[0].path])  # one run: no best anywhere
    assert r"\textbf" not in render_latex(single)
    with pytest.raises(ValueError):
        render_latex(sections, ci="sd")


@pytest.mark.slow
def test_reference_row_in_italics_never_bold_and_short_signatures(tmp_path):
    from bench.api import run

    run(models=["lead-3", "textrank"], tasks=["seed-summarization"], output_dir=tmp_path)
    sections = select([tmp_path], metrics=["rouge1", "rougeLsum", "coverage", "repeated_1gram"])
    tex = render_latex(sections)
    rows = table_rows(tex)
    reference = rows[-1]
    assert reference[0] == r"\textit{reference}"
    assert reference[1:3] == [r"\textit{--}", r"\textit{--}"]  # ROUGE has no reference statistic
    assert reference[3].startswith(r"\textit{89.11 [") and "textbf" not in reference[3]
    assert r"repeated\_1gram $\downarrow$" in rows[0] and "coverage" in rows[0]  # no arrow: describes
    short = short_signatures(sections[0])
    assert short.startswith(r"rouge1: \texttt{nrefs:4|tok:rouge-ascii|stem:porter}; rougeLsum: ")
    assert short.endswith(r"all: \texttt{agg:mean|bench:0.1.0}")


def test_compare_command_writes_latex_and_refuses_what_does_not_apply(sections, tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = str(sections[0].runs[0].path.parent.parent.parent)
    code, out, err = cli("compare", root, "--format", "latex", "--latex-ci", "pm")
    assert code == 0, err
    assert out == render_latex(sections, ci="pm")
    code, _, err = cli("compare", root, "--latex-ci", "pm")
    assert code == 2 and "--latex-ci applies to --format latex, not table" in err
    code, _, err = cli("compare", root, "--format", "latex", "--baseline", "lead-3")
    assert code == 2 and "paired tests of --baseline" in err
    code, _, err = cli("compare", root, "--format", "latex", "--examples", "2")
    assert code == 2 and "not latex" in err


def test_a_real_latex_compiles_the_tables(sections, tmp_path):
    """pdflatex, halting on the first error, on every CI style, the hostile name and a reference row."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing: .ci/run installs texlive-latex-base and texlive-latex-recommended")
        pytest.skip("needs pdflatex (apt-get install texlive-latex-base texlive-latex-recommended)")
    tables = "\n".join(render_latex(sections, ci=ci) for ci in ("bracket", "pm", "none"))
    (tmp_path / "tables.tex").write_text(tables, encoding="utf-8")
    (tmp_path / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                                      "\\input{tables.tex}\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run([pdflatex, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", "doc.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 0
    assert "Missing character" not in log and "Undefined control sequence" not in log
    assert "Font Warning" not in log, re.findall(r"LaTeX Font Warning: .*", log)  # every glyph from its own font
