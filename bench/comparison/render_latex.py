"""Comparison tables for a paper: `bench compare --format latex`, one booktabs table per section.

Models are rows and metrics columns, in the order `bench compare` shows them;
each cell is the mean with its 95% bootstrap CI in brackets (``bracket``), as a
subscript of plus or minus half its width (``pm``), or alone (``none``). A value
is bold only where bench's own rule marks it best (`Section.best`: a column with
a direction and two or more values); the reference row (statistics of the
task's references) is in italics and never bold. The caption names the task,
n, what the numbers are, and the signatures in short form (the fields every
column shares said once). Every text from the results (model, task and metric
names, signatures, notes) is escaped (`escape`), so no name can act as LaTeX.

The output needs ``\\usepackage{booktabs}``; names outside Latin scripts need
a Unicode engine (xelatex or lualatex) with a font that has them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bench.comparison.select import Section, parse_signature
from bench.comparison.wording import fmt, is_best, section_notes
from bench.errors import visible
from bench.results.record import MetricResults, RunRecord
from bench.version import __version__

#: How a cell shows the CI (`bench compare --latex-ci`).
CI_STYLES = ("bracket", "pm", "none")
#: Each ASCII character LaTeX reads as markup, as text.
SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
            ">": r"\textgreater{}", "|": r"\textbar{}"}
_SPECIAL = re.compile("[" + re.escape("".join(SPECIALS)) + "]")
#: In typewriter type (\texttt) '<', '>' and '|' are glyphs of the font: only what LaTeX reads as markup is escaped.
_SPECIAL_TT = re.compile("[" + re.escape("".join(c for c in SPECIALS if c not in "<>|")) + "]")
#: How a column header shows its score's direction.
ARROWS = {"higher": r" $\uparrow$", "lower": r" $\downarrow$", "none": ""}
CI_WORDS = {"bracket": "with the 95\\% bootstrap CI in brackets",
            "pm": "with $\\pm$ half the width of the 95\\% bootstrap CI as a subscript",
            "none": "(95\\% bootstrap CIs left out)"}


def escape(text: str, *, typewriter: bool = False) -> str:
    """`text` as LaTeX text: control characters written out (`bench.errors.visible`), then each of LaTeX's special
    characters (`SPECIALS`) as the text it stands for; `typewriter` for text set in \texttt, whose font has
    '<', '>' and '|' of its own."""
    return (_SPECIAL_TT if typewriter else _SPECIAL).sub(lambda m: SPECIALS[m.group()], visible(text))


def label(section: Section) -> str:
    """The table's ``\\label``: ``tab:bench-`` and the section's title in letters, digits and hyphens."""
    return "tab:bench-" + (re.sub(r"[^A-Za-z0-9]+", "-", section.title).strip("-").lower() or "table")


def short_signatures(section: Section) -> str:
    """The signatures of a section's columns, short: columns with the same options grouped, the options every
    column shares said once (``all: agg:mean|bench:0.1.0``)."""
    fields = {m: list(parse_signature(section.signatures[m])[1].items()) for m in section.metrics}
    common = [kv for kv in fields[section.metrics[0]] if all(kv in f for f in fields.values())] if fields else []
    groups: dict[tuple, list[str]] = {}
    for m in section.metrics:
        groups.setdefault(tuple(kv for kv in fields[m] if kv not in common), []).append(m)
    if len(groups) == 1:  # one set of options: said once, whole
        groups, common = {tuple(fields[section.metrics[0]]): list(section.metrics)}, []

    def options(kvs: Sequence[tuple[str, str]]) -> str:
        return r"\texttt{" + escape("|".join(f"{k}:{v}" for k, v in kvs), typewriter=True) + "}" if kvs \
            else "no other options"

    parts = [f"{', '.join(escape(m) for m in names)}: {options(own)}" for own, names in groups.items()]
    if common:
        parts.append(f"all: {options(common)}")
    return "; ".join(parts)


def cell(section: Section, row: RunRecord | MetricResults, metric: str, ci: str, *, mark: bool) -> str:
    """One value: bold where it is the column's best (and `mark`), with its CI in the `ci` style."""
    if metric not in row.metrics or row.metrics[metric] is None:
        return "--"
    value = row.metrics[metric]
    text = fmt(value)
    if mark and is_best(section, metric, value):
        text = r"\textbf{" + text + "}"
    lo, hi = row.interval(metric)
    if ci == "none" or lo is None or hi is None:
        return text
    if ci == "pm":
        return text + r"\textsubscript{$\pm$" + fmt((hi - lo) / 2) + "}"
    return f"{text} [{fmt(lo)}, {fmt(hi)}]"


def caption(section: Section, ci: str) -> str:
    n = section.n
    arrows = any(section.direction(m) != "higher" for m in section.metrics)
    text = (f"{escape(section.title)}, $n = {n}$ example{'s' if n != 1 else ''}. Mean over examples (rates "
            f"$\\times 100$) {CI_WORDS[ci]}; bold: best in column"
            + ("; $\\uparrow$ higher is better, $\\downarrow$ lower is better, no arrow: describes the outputs, "
               "no best" if arrows else "")
            + f". Signatures: {short_signatures(section)}.")
    notes = [escape(note) for note in ([section.note] if section.note else []) + section_notes(section)]
    return " ".join([text, *notes])


def render_latex(sections: Sequence[Section], *, ci: str = "bracket") -> str:
    """One ``table`` environment (booktabs) per section, with a comment naming what it needs."""
    if ci not in CI_STYLES:
        raise ValueError(f"ci must be one of {CI_STYLES}, got {ci!r}")
    out = [f"% bench compare --format latex (bench {__version__}); needs \\usepackage{{booktabs}}", ""]
    for s in sections:
        columns = "l" + "r" * len(s.metrics)
        out += [r"\begin{table}[t]", r"\centering", r"\caption{" + caption(s, ci) + "}",
                r"\label{" + label(s) + "}", r"\begin{tabular}{@{}" + columns + "@{}}", r"\toprule",
                " & ".join(["Model", *(escape(m) + ARROWS.get(s.direction(m), "") for m in s.metrics)]) + r" \\",
                r"\midrule"]
        for r in s.runs:
            out.append(" & ".join([escape(r.model), *(cell(s, r, m, ci, mark=True) for m in s.metrics)]) + r" \\")
        ref = s.reference
        if ref is not None:
            out.append(r"\midrule")
            cells = [r"\textit{reference}",
                     *(r"\textit{" + cell(s, ref, m, ci, mark=False) + "}" for m in s.metrics)]
            out.append(" & ".join(cells) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)
