"""`bench correlate`'s output: terminal tables, Markdown, CSV, JSON and a standalone HTML page.

Criteria are columns and metrics rows, one table per level and coefficient; a criterion rated 0 or 1 has a
detection table of its own (`render_detection.py`).
A value is marked best (``*``, bold in Markdown and HTML) only when it is the
highest of its column and the paired bootstrap interval of its difference with
every other metric of the column lies above 0. Metric, criterion and system
names come from files and are shown inert (`bench.errors.visible` on the
terminal, escaped in Markdown and HTML).
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Sequence
from typing import Any

from bench.correlation import render_detection as det
from bench.correlation.levels import COEFFICIENTS, Correlations, Paired, Row
from bench.correlation.render_detection import fmt
from bench.errors import visible
from bench.io import json_text

NAMES = {"kendall": "Kendall tau-b", "spearman": "Spearman rho", "pearson": "Pearson r"}
BEST_CLASS = ' class="best"'
BEST_WORDING = "best in column, above every other metric by a paired bootstrap interval that excludes 0"


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


def level_wording(level: str, result: Correlations) -> str:
    if level == "summary":
        return ("summary level: per document, across the systems' summaries; mean over the documents "
                "(documents with constant scores or ratings skipped)")
    if level == "sample":
        return f"sample level: every rated summary pooled ({result.summaries}), one coefficient across them"
    return f"system level: per-system means over the documents, across {result.systems} systems"


def ci_wording(result: Correlations) -> str:
    parts = []
    if "summary" in result.levels or "system" in result.levels:
        parts.append("of the documents" + (", and of the systems at system level" if "system" in result.levels
                                            else ""))
    pooled = [w for w, on in (("sample level", "sample" in result.levels and result.rows),
                              ("detection", bool(result.detection))) if on]
    if pooled:
        parts.append("of the summaries" + (f" at {' and for '.join(pooled)}" if parts else ""))
    return (f"{round(result.confidence * 100)}% bootstrap interval in brackets ({result.resamples} resamples "
            f"{'; '.join(parts)}; seed {result.seed}); none where a level has fewer than {result.min_units} units")


def _rows(result: Correlations, level: str) -> list[Row]:
    return [r for r in result.rows if r.level == level]


def _levels(result: Correlations) -> list[str]:
    """The levels with a table: those computed, when some criterion is correlated."""
    return [level for level in result.levels if _rows(result, level)]


def _metrics(result: Correlations) -> list[str]:
    return list(dict.fromkeys([*(r.metric for r in result.rows), *(d.metric for d in result.detection)]))


def _criteria(result: Correlations) -> list[str]:
    return list(dict.fromkeys(r.criterion for r in result.rows))


def _cell(row: Row, coefficient: str, full_n: int) -> tuple[str, str, bool]:
    """(value, interval, marked best) of a row for one coefficient, with its n when it falls short."""
    if row.withheld:
        return fmt(row.values[coefficient]), f"n={row.n}: too few for a CI", False
    lo, hi = row.ci[coefficient]
    n = f" n={row.n}" if row.n != full_n else ""
    return fmt(row.values[coefficient]), f"[{fmt(lo, 2)}, {fmt(hi, 2)}]{n}", coefficient in row.best


def runner_up(result: Correlations, level: str, criterion: str, coefficient: str) -> Paired | None:
    """The paired test of the column's best metric against its second best (a detection column: "roc_auc" or
    "balanced_accuracy" of a criterion rated 0 or 1)."""
    if coefficient in ("roc_auc", "balanced_accuracy"):
        values = [(d.metric, d.values[coefficient]) for d in result.detection if d.criterion == criterion]
    else:
        values = [(r.metric, r.values[coefficient]) for r in _rows(result, level) if r.criterion == criterion]
    ranked = sorted(((m, v) for m, v in values if math.isfinite(v)), key=lambda mv: -mv[1])
    if len(ranked) < 2:
        return None
    a, b = ranked[0][0], ranked[1][0]
    for p in result.paired:
        if (p.level, p.criterion, p.coefficient) == (level, criterion, coefficient) and {p.a, p.b} == {a, b}:
            if p.a == a:
                return p
            return Paired(p.level, p.criterion, p.coefficient, a, b, -p.diff, (-p.ci[1], -p.ci[0]), p.p)
    return None


def paired_line(p: Paired) -> str:
    return (f"{p.criterion}: {p.a} - {p.b} = {p.diff:+.3f} [{p.ci[0]:+.3f}, {p.ci[1]:+.3f}], "
            f"bootstrap p = {p.p:.3g}")


def agreement_lines(result: Correlations) -> list[str]:
    return [f"{a.criterion}: alpha = {fmt(a.alpha)} ({a.units} summaries rated by 2 or more annotators, "
            f"up to {a.annotators})" for a in result.agreement]


AGREEMENT_WORDING = ("Annotator agreement, Krippendorff's alpha (interval): how far the annotators agree with each "
                     "other, the ceiling a metric's agreement with their mean rating cannot be expected to pass")


def _full_n(result: Correlations, level: str) -> int:
    return {"summary": result.documents, "system": result.systems, "sample": result.summaries}[level]


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def all_notes(result: Correlations, notes: Sequence[str]) -> list[str]:
    """The reader's notes, then the statistics' own."""
    return [*notes, *result.notes]


def _summary(result: Correlations, source: str, notes: Sequence[str]) -> list[str]:
    labelled = det.criteria(result)
    n = len(dict.fromkeys([*_criteria(result), *labelled]))
    what = _count(n, 'criterion', 'criteria')
    if labelled:
        what += " rated 0 or 1" if len(labelled) == n else f" ({len(labelled)} rated 0 or 1)"
    lines = [(f"{source}: {_count(result.documents, 'document')} x {_count(result.systems, 'system')} "
              f"({_count(result.summaries, 'rated summary', 'rated summaries')}), "
              f"{what}, {_count(len(_metrics(result)), 'metric')}")]
    lines += [f"note: {n}" for n in all_notes(result, notes)]
    if "system" in result.levels and result.systems < 3:
        lines.append(f"note: with {result.systems} system{'s' if result.systems != 1 else ''} a correlation across "
                     "systems is 1, -1 or undefined; rate more systems for meaningful numbers")
    skipped = {r.skipped for r in _rows(result, "summary")}
    if skipped and max(skipped) > 0:
        lines.append(f"note: summary level skips up to {max(skipped)} of {result.documents} documents for a "
                     "metric and criterion (fewer than two rated summaries, or constant scores or ratings); "
                     "n after a value says how many were averaged")
    return lines


# ------------------------------------------------------------------ terminal


def _paired_over(level: str) -> str:
    return {"summary": "documents", "system": "documents and systems", "sample": "summaries"}[level]


def render_table(result: Correlations, *, source: str, notes: Sequence[str] = (), to_terminal: bool) -> str:
    """Terminal tables (rich), one per level and coefficient, and one per criterion rated 0 or 1."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = (Console(file=buf, width=None if sys.stdout.isatty() else 120, force_terminal=sys.stdout.isatty())
               if to_terminal else Console(file=buf, width=120, no_color=True, force_terminal=False))

    def t(s: str, style: str = "") -> Text:
        return Text(visible(s, multiline=True), style=style)

    for line in _summary(result, source, notes):
        console.print(t(line))
    console.print(t(f"{ci_wording(result)}; * {BEST_WORDING}"))
    criteria = _criteria(result)
    for level in _levels(result):
        rows = _rows(result, level)
        for c in COEFFICIENTS:
            console.print()
            console.print(t(f"{NAMES[c]}, {level_wording(level, result)}", "bold"))
            table = Table()
            table.add_column("metric", no_wrap=True)
            for criterion in criteria:
                table.add_column(t(criterion), justify="right", min_width=12)
            for metric in _metrics(result):
                cells = [t(metric)]
                for criterion in criteria:
                    row = next(r for r in rows if r.metric == metric and r.criterion == criterion)
                    value, interval, best = _cell(row, c, _full_n(result, level))
                    cells.append(t(f"{value}{'*' if best else ' '}\n{interval}"))
                table.add_row(*cells)
            console.print(table)
            tests = [p for criterion in criteria if (p := runner_up(result, level, criterion, c)) is not None]
            if tests:
                console.print(t(f"best against second best (paired bootstrap over {_paired_over(level)}):"))
                for p in tests:
                    console.print(t(f"  {paired_line(p)}"))
    if result.detection:
        console.print()
        console.print(t(det.DETECTION_WORDING + ".", "bold"))
        console.print(t(det.threshold_wording(result)))
    for criterion in det.criteria(result):
        console.print()
        console.print(t(det.heading(result, criterion), "bold"))
        table = Table()
        table.add_column("metric", no_wrap=True)
        for column in det.columns(result):
            table.add_column(t(column), justify="right", min_width=10)
        for d in det.rows(result, criterion):
            table.add_row(t(d.metric), *[t(f"{v}{'*' if best else ''}" + (f"\n{ci}" if ci else ""))
                                         for v, ci, best in det.cells(d, result)])
        console.print(table)
        tests = [p for m in ("roc_auc", "balanced_accuracy") if (p := runner_up(result, "sample", criterion, m))]
        if tests:
            console.print(t("best against second best (paired bootstrap over summaries):"))
            for p in tests:
                console.print(t(f"  {p.coefficient}, {paired_line(p)}"))
    if result.agreement:
        console.print()
        console.print(t(AGREEMENT_WORDING, "bold"))
        for line in agreement_lines(result):
            console.print(t(f"  {line}"))
    return buf.getvalue()


# ------------------------------------------------------------------ Markdown


def md_cell(text: str) -> str:
    import html

    return html.escape(text, quote=False).replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def render_markdown(result: Correlations, *, source: str, notes: Sequence[str] = ()) -> str:
    out = ["# Correlation with human ratings\n"]
    out += [md_cell(line) + "\n" for line in _summary(result, source, notes)]
    out.append(f"{md_cell(ci_wording(result))}; **bold**: {BEST_WORDING}.\n")
    criteria = _criteria(result)
    for level in _levels(result):
        rows = _rows(result, level)
        for c in COEFFICIENTS:
            out.append(f"## {NAMES[c]}, {level} level\n")
            out.append(f"{md_cell(level_wording(level, result))}.\n")
            out.append("| metric | " + " | ".join(md_cell(x) for x in criteria) + " |")
            out.append("|---|" + "--:|" * len(criteria))
            for metric in _metrics(result):
                cells = [md_cell(metric)]
                for criterion in criteria:
                    row = next(r for r in rows if r.metric == metric and r.criterion == criterion)
                    value, interval, best = _cell(row, c, _full_n(result, level))
                    cells.append(f"{'**' + value + '**' if best else value} {interval}")
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
            tests = [p for criterion in criteria if (p := runner_up(result, level, criterion, c)) is not None]
            if tests:
                out.append("Best against second best (paired bootstrap):\n")
                out += [f"- {md_cell(paired_line(p))}" for p in tests]
                out.append("")
    if result.detection:
        out.append("## Detection\n")
        out.append(f"{md_cell(det.DETECTION_WORDING)}. {md_cell(det.threshold_wording(result))}\n")
    for criterion in det.criteria(result):
        out.append(f"### {md_cell(det.heading(result, criterion))}\n")
        out.append("| metric | " + " | ".join(md_cell(x) for x in det.columns(result)) + " |")
        out.append("|---|" + "--:|" * len(det.columns(result)))
        for d in det.rows(result, criterion):
            out.append("| " + " | ".join([md_cell(d.metric), *[
                (f"**{v}**" if best else v) + (f" {ci}" if ci else "") for v, ci, best in det.cells(d, result)]]) + " |")
        out.append("")
    if result.agreement:
        out.append("## Annotator agreement\n")
        out.append(f"{AGREEMENT_WORDING}.\n")
        out += [f"- {md_cell(line)}" for line in agreement_lines(result)]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# ------------------------------------------------------------------ CSV and JSON

#: The detection columns of the CSV form, after the correlation columns (empty on a correlation row).
DETECTION_CSV = ["roc_auc", "roc_auc_lo", "roc_auc_hi", "balanced_accuracy", "balanced_accuracy_lo",
                 "balanced_accuracy_hi", "threshold", "balanced_accuracy_tuned_on_test_data",
                 "threshold_tuned_on_test_data"]


def render_csv(result: Correlations) -> str:
    """One line per metric, criterion and level; a criterion rated 0 or 1 has level "detection"."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["metric", "criterion", "level", "n", "skipped",
                *[f"{c}{part}" for c in COEFFICIENTS for part in ("", "_lo", "_hi")], "best", "withheld",
                *DETECTION_CSV])
    for r in result.rows:
        values = []
        for c in COEFFICIENTS:
            values += [_csv(r.values[c]), _csv(r.ci[c][0]), _csv(r.ci[c][1])]
        w.writerow([r.metric, r.criterion, r.level, r.n, r.skipped, *values, " ".join(r.best),
                    "yes" if r.withheld else "", *[""] * len(DETECTION_CSV)])
    for d in result.detection:
        values = []
        for m in ("roc_auc", "balanced_accuracy"):
            values += [_csv(d.values[m]), _csv(d.ci[m][0]), _csv(d.ci[m][1])]
        tuned = d.tuned or (math.nan, math.nan)
        w.writerow([d.metric, d.criterion, "detection", d.n, d.skipped, *[""] * (3 * len(COEFFICIENTS)),
                    " ".join(d.best), "yes" if d.withheld else "", *values, _csv(d.threshold), _csv(tuned[1]),
                    _csv(tuned[0])])
    return buf.getvalue()


def _csv(x: float) -> str:
    return "" if not math.isfinite(x) else repr(float(x))


def json_data(result: Correlations, *, source: str, layout: str, notes: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON form scripts read: {"rows": [...], "detection": [...], "paired": [...], "agreement": [...], ...}."""
    def interval(ci: tuple[float, float]) -> list[float | None] | None:
        return None if not all(math.isfinite(x) for x in ci) else [ci[0], ci[1]]

    rows = []
    for r in result.rows:
        row: dict[str, Any] = {"metric": r.metric, "criterion": r.criterion, "level": r.level, "n": r.n}
        row.update({c: _num(r.values[c]) for c in COEFFICIENTS})
        row["ci"] = {c: interval(r.ci[c]) for c in COEFFICIENTS}
        row["skipped"] = r.skipped
        row["best"] = list(r.best)
        row["withheld"] = r.withheld
        rows.append(row)
    detection = []
    for d in result.detection:
        item: dict[str, Any] = {"metric": d.metric, "criterion": d.criterion, "n": d.n, "positives": d.positives,
                                "negatives": d.negatives, "skipped": d.skipped}
        item.update({m: _num(d.values[m]) for m in ("roc_auc", "balanced_accuracy")})
        item["threshold"] = _num(d.threshold)
        item["ci"] = {m: interval(d.ci[m]) for m in ("roc_auc", "balanced_accuracy")}
        if d.tuned is not None:
            item["balanced_accuracy_tuned_on_test_data"] = _num(d.tuned[1])
            item["threshold_tuned_on_test_data"] = _num(d.tuned[0])
        item["best"] = list(d.best)
        item["withheld"] = d.withheld
        detection.append(item)
    return {
        "source": source, "layout": layout, "documents": result.documents, "systems": result.systems,
        "summaries": result.summaries, "levels": list(result.levels), "seed": result.seed,
        "resamples": result.resamples, "confidence": result.confidence, "min_units": result.min_units,
        "rows": rows, "detection": detection, "threshold_source": result.threshold_source,
        "paired": [{"level": p.level, "criterion": p.criterion, "coefficient": p.coefficient, "a": p.a, "b": p.b,
                    "diff": p.diff, "ci": list(p.ci), "p": p.p} for p in result.paired],
        "agreement": [{"criterion": a.criterion, "alpha": _num(a.alpha), "units": a.units,
                       "annotators": a.annotators} for a in result.agreement],
        "notes": all_notes(result, notes),
    }


def render_json(result: Correlations, *, source: str, layout: str, notes: Sequence[str] = ()) -> str:
    return json_text(json_data(result, source=source, layout=layout, notes=notes))


# ------------------------------------------------------------------ HTML


def render_html(result: Correlations, *, source: str, notes: Sequence[str] = (),
                title: str = "Correlation with human ratings") -> str:
    """A standalone page in the look of `bench compare`'s report (no scripts, no external resources)."""
    from bench.comparison.render_html import CSP, CSS, esc
    from bench.version import __version__

    criteria = _criteria(result)
    body = [f"<h1>{esc(title)}</h1>"]
    body += [f'<p class="meta">{esc(line)}</p>' for line in _summary(result, source, notes)]
    body.append(f'<p class="meta">bench {esc(__version__)}; {esc(ci_wording(result))}; '
                f"<b>bold</b>: {esc(BEST_WORDING)}.</p>")
    for level in _levels(result):
        rows = _rows(result, level)
        body.append(f"<h2>{esc(level.capitalize())} level</h2>"
                    f"<p class=\"small\">{esc(level_wording(level, result))}</p>")
        for c in COEFFICIENTS:
            body.append(f"<h3>{esc(NAMES[c])}</h3><div class=\"scroll\"><table><tr><th class=\"l\">metric</th>"
                        + "".join(f"<th>{esc(x)}</th>" for x in criteria) + "</tr>")
            for metric in _metrics(result):
                cells = []
                for criterion in criteria:
                    row = next(r for r in rows if r.metric == metric and r.criterion == criterion)
                    value, interval, best = _cell(row, c, _full_n(result, level))
                    cls = ' class="best"' if best else ""
                    cells.append(f"<td><span{cls}>{esc(value)}</span><span class=\"ci\">{esc(interval)}</span></td>")
                body.append(f'<tr><td class="l">{esc(metric)}</td>{"".join(cells)}</tr>')
            body.append("</table></div>")
            tests = [p for criterion in criteria if (p := runner_up(result, level, criterion, c)) is not None]
            if tests:
                body.append('<p class="small">Best against second best (paired bootstrap):</p><ul class="small">'
                            + "".join(f"<li>{esc(paired_line(p))}</li>" for p in tests) + "</ul>")
    if result.detection:
        body.append(f"<h2>Detection</h2><p class=\"small\">{esc(det.DETECTION_WORDING)}. "
                    f"{esc(det.threshold_wording(result))}</p>")
    for criterion in det.criteria(result):
        body.append(f"<h3>{esc(det.heading(result, criterion))}</h3><div class=\"scroll\"><table><tr>"
                    "<th class=\"l\">metric</th>" + "".join(f"<th>{esc(x)}</th>" for x in det.columns(result)) + "</tr>")
        for d in det.rows(result, criterion):
            cells = "".join(f"<td><span{BEST_CLASS if best else ''}>{esc(v)}</span>"
                            f'<span class="ci">{esc(ci)}</span></td>' for v, ci, best in det.cells(d, result))
            body.append(f'<tr><td class="l">{esc(d.metric)}</td>{cells}</tr>')
        body.append("</table></div>")
    if result.agreement:
        body.append(f"<h2>Annotator agreement</h2><p class=\"small\">{esc(AGREEMENT_WORDING)}.</p><ul>"
                    + "".join(f"<li>{esc(line)}</li>" for line in agreement_lines(result)) + "</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
