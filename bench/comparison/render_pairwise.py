"""The pairwise comparison (`bench.comparison.pairwise.PairwiseReport`) in every `bench compare` format, put after
the results tables (`attach`): a ranked Bradley-Terry table, the win rates of each pair with the length beside
them, what the verdicts say about who gave them, and the judge's agreement with annotators; in JSON the numbers
and every verdict; in the HTML report also the examples where the judge and ROUGE disagree most."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from bench.comparison.pairwise import PairwiseReport
from bench.comparison.pairwise_aggregate import JUDGE, Aggregate
from bench.comparison.wording import fmt_p
from bench.errors import visible

BT_WORDING = ("Bradley-Terry strength: log scale, mean 0 over the models, 95% bootstrap CI over examples; win rate: "
              "against every other model, ties half")
PAIR_WORDING = ("win rate of model over opponent, ties half, 95% bootstrap CI over examples; p: two-sided sign test "
                "of wins against losses; longer wins: share of the decisive verdicts won by the longer summary; "
                "length diff: mean words of model's summary less opponent's")
SWAP_WORDING = ("each pair judged in both orders; a pair whose two verdicts disagree counts as a tie")


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.000"


def fmt_ci(ci: Sequence[float | None]) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def fmt_signed(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:+.1f}"


def who(a: Aggregate, report: PairwiseReport) -> str:
    return f"judge {a.label}" if a.source == JUDGE else f"annotators ({a.label})"


def criteria(a: Aggregate) -> list[str]:
    return list(a.diagnostics)


def ranked(a: Aggregate, criterion: str) -> list[dict[str, Any]]:
    return [r for r in a.bradley_terry if r["criterion"] == criterion]


def pair_rows(a: Aggregate, criterion: str) -> list[dict[str, Any]]:
    """One row per pair, the higher-ranked model first."""
    order = {r["model"]: k for k, r in enumerate(ranked(a, criterion))}
    return [r for r in a.pairwise if r["criterion"] == criterion
            and order.get(r["model"], math.inf) < order.get(r["opponent"], math.inf)]


def diagnostics_lines(a: Aggregate, criterion: str) -> list[str]:
    """What the verdicts as shown say about who gave them, in words."""
    d = a.diagnostics[criterion]
    lines = []
    if a.source == JUDGE:
        lines.append(f"position consistency {fmt(d['position_consistency'])}: share of the {d['consistency_n']} "
                     f"pairs judged whose two verdicts (both orders) agree")
    elif d["consistency_n"]:
        lines.append(f"position consistency {fmt(d['position_consistency'])}: share of the {d['consistency_n']} "
                     f"repeated pages (shown the other way round) answered as the first time")
    decisive = d["first_position_wins"] + d["second_position_wins"]
    lines.append(f"first position won {fmt(d['first_position_share'])} of {decisive} decisive verdicts (sign test "
                 f"against one half: p = {fmt_p(d['first_position_p'])})")
    lines.append(f"the longer summary won {fmt(d['longer_share'])} of {d['longer_n']} decisive verdicts between "
                 f"summaries of different lengths")
    if d["unjudged"]:
        lines.append(f"{d['unjudged']} of {d['pairs']} pairs unjudged (no verdict read in an order)")
    return lines


AGREEMENT_ROWS = (("judge_human", "judge vs each annotator"), ("judge_majority", "judge vs annotators' majority"),
                  ("human_human", "annotator vs annotator"))
AGREEMENT_WORDING = ("share of verdicts that agree on the pairs both judged (MT-Bench's agreement): with ties, and "
                     "without (both verdicts decisive); annotator vs annotator is the ceiling")


def agreement_cells(row: dict[str, Any]) -> list[str]:
    return [fmt(row["agreement"]), str(row["n"]), fmt(row["agreement_without_ties"]), str(row["n_without_ties"])]


# ------------------------------------------------------------------ terminal and Markdown


def render_pairwise_table(report: PairwiseReport, *, to_terminal: bool) -> str:
    """The terminal tables (rich)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def t(s: str, style: str = "") -> Text:
        return Text(visible(s), style=style)

    buf = io.StringIO()
    console = (Console(file=buf, width=None if sys.stdout.isatty() else 120, force_terminal=sys.stdout.isatty())
               if to_terminal else Console(file=buf, width=120, no_color=True, force_terminal=False))
    for a in report.aggregates:
        for c in criteria(a):
            console.print(t(f"{report.task}: pairwise preferences of {who(a, report)} on {c}", "bold"))
            console.print(t(BT_WORDING + ("; " + SWAP_WORDING if a.source == JUDGE else "")))
            table = Table()
            for col in ("model", "strength", "95% CI", "win rate", "n"):
                table.add_column(col, justify="left" if col == "model" else "right", no_wrap=col == "95% CI")
            for r in ranked(a, c):
                table.add_row(t(r["model"]), fmt(r["strength"]), fmt_ci(r["ci"]), fmt(r["win_rate"]), str(r["n"]))
            console.print(table)
            table = Table()
            for col in ("model", "opponent", "n", "W/L/T", "win rate", "95% CI", "p", "longer wins", "length diff"):
                table.add_column(col, justify="left" if col in ("model", "opponent") else "right",
                                 no_wrap=col == "95% CI")
            for r in pair_rows(a, c):
                table.add_row(t(r["model"]), t(r["opponent"]), str(r["n"]), f"{r['wins']}/{r['losses']}/{r['ties']}",
                              fmt(r["win_rate"]), fmt_ci(r["ci"]), fmt_p(r["p"]), fmt(r["longer_share"]),
                              fmt_signed(r["length_diff"]))
            console.print(table)
            console.print(t(PAIR_WORDING))
            for line in diagnostics_lines(a, c):
                console.print(t(f"  {line}"))
            if a.source == JUDGE and c in report.signatures:
                console.print(t(f"  signature: {report.signatures[c]}"))
            console.print()
    for row in report.agreement or []:
        console.print(t(f"{report.task}: the judge and the annotators on {row['criterion']} ({row['items']} pairs "
                        "judged by both)", "bold"))
        table = Table()
        for col in ("", "agreement", "n", "without ties", "n "):
            table.add_column(col, justify="left" if not col else "right")
        for key, name in AGREEMENT_ROWS:
            table.add_row(name, *agreement_cells(row[key]))
        console.print(table)
        console.print(t(AGREEMENT_WORDING + f"; {row['judge_majority']['split']} pairs without a majority left out"))
        console.print()
    for note in report.notes:
        console.print(t(f"note: {note}"))
    return buf.getvalue()


def md_cell(text: str) -> str:
    """Text for a Markdown table cell: HTML-escaped, pipes and newlines inert, control characters written out."""
    return html.escape(visible(text), quote=False).replace("|", "\\|")


def render_pairwise_markdown(report: PairwiseReport) -> str:
    out: list[str] = []
    for a in report.aggregates:
        for c in criteria(a):
            out += [f"## {md_cell(report.task)}: pairwise preferences of {md_cell(who(a, report))} on {md_cell(c)}",
                    "", BT_WORDING + ("; " + SWAP_WORDING if a.source == JUDGE else "") + ".", "",
                    "| model | strength | 95% CI | win rate | n |", "|---|--:|--:|--:|--:|"]
            out += [f"| {md_cell(r['model'])} | {fmt(r['strength'])} | {fmt_ci(r['ci'])} | {fmt(r['win_rate'])} | "
                    f"{r['n']} |" for r in ranked(a, c)]
            out += ["", "| model | opponent | n | W/L/T | win rate | 95% CI | p | longer wins | length diff |",
                    "|---|---|--:|--:|--:|--:|--:|--:|--:|"]
            out += [f"| {md_cell(r['model'])} | {md_cell(r['opponent'])} | {r['n']} | {r['wins']}/{r['losses']}/"
                    f"{r['ties']} | {fmt(r['win_rate'])} | {fmt_ci(r['ci'])} | {fmt_p(r['p'])} | "
                    f"{fmt(r['longer_share'])} | {fmt_signed(r['length_diff'])} |" for r in pair_rows(a, c)]
            out += ["", PAIR_WORDING + ".", ""]
            out += [f"- {md_cell(line)}" for line in diagnostics_lines(a, c)]
            if a.source == JUDGE and c in report.signatures:
                out.append(f"- signature: `{report.signatures[c].replace('`', chr(39))}`")
            out.append("")
    for row in report.agreement or []:
        out += [f"## {md_cell(report.task)}: the judge and the annotators on {md_cell(row['criterion'])}", "",
                f"{row['items']} pairs judged by both; {AGREEMENT_WORDING}; {row['judge_majority']['split']} pairs "
                "without a majority left out.", "", "| | agreement | n | without ties | n |", "|---|--:|--:|--:|--:|"]
        out += [f"| {name} | " + " | ".join(agreement_cells(row[key])) + " |" for key, name in AGREEMENT_ROWS]
        out.append("")
    out += [md_cell(f"note: {n}") + "\n" for n in report.notes]
    return "\n".join(out)


# ------------------------------------------------------------------ CSV and LaTeX

#: The `kind` of the Bradley-Terry lines in `bench compare --format csv`.
CSV_KIND = "bradley_terry"


def render_pairwise_csv(report: PairwiseReport, columns: Sequence[str]) -> str:
    """The Bradley-Terry strengths as lines of the CSV whose header is `columns` (kind "bradley_terry", metric
    "bradley_terry:CRITERION", the run of each model, the signature of the judge or the annotations' file)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for a in report.aggregates:
        for r in a.bradley_terry:
            run = report.runs.get(r["model"])
            values = {"task": report.task, "model": r["model"], "run": run or "", "n": str(r["n"]),
                      "metric": f"bradley_terry:{r['criterion']}",
                      "value": "" if r["strength"] is None else repr(r["strength"]),
                      "ci_lo": "" if r["ci"][0] is None else repr(r["ci"][0]),
                      "ci_hi": "" if r["ci"][1] is None else repr(r["ci"][1]),
                      "signature": report.signatures.get(r["criterion"], "") if a.source == JUDGE
                      else f"human|file:{a.label}", "direction": "higher", "kind": CSV_KIND}
            w.writerow([values.get(col, "") for col in columns])
    return buf.getvalue()


def render_pairwise_latex(report: PairwiseReport) -> str:
    """One booktabs table per source and criterion: the models ranked by strength, with CIs and win rates."""
    from bench.comparison.render_latex import escape

    out = []
    for a in report.aggregates:
        for c in criteria(a):
            caption = (f"{escape(report.task)}: pairwise preferences of {escape(who(a, report))} on {escape(c)}. "
                       f"{escape(BT_WORDING)}" + (f"; {escape(SWAP_WORDING)}" if a.source == JUDGE else "") + ".")
            out += [r"\begin{table}[t]", r"\centering", r"\caption{" + caption + "}",
                    r"\begin{tabular}{@{}lrrr@{}}", r"\toprule", r"Model & Strength & 95\% CI & Win rate \\",
                    r"\midrule"]
            out += [f"{escape(r['model'])} & {fmt(r['strength'])} & {fmt_ci(r['ci'])} & {fmt(r['win_rate'])} \\\\"
                    for r in ranked(a, c)]
            out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)


# ------------------------------------------------------------------ HTML


def render_pairwise_html(report: PairwiseReport) -> str:
    """The report's section: the tables, the diagnostics, and the examples where the judge and ROUGE disagree."""
    from bench.comparison.render_html import esc

    out = ['<section id="pairwise"><h2>Pairwise preferences</h2>']
    for a in report.aggregates:
        for c in criteria(a):
            out.append(f"<h3>{esc(report.task)}: {esc(who(a, report))} on {esc(c)}</h3>"
                       f'<p class="small">{esc(BT_WORDING)}{"; " + esc(SWAP_WORDING) if a.source == JUDGE else ""}.</p>'
                       '<table><thead><tr><th class="l">model</th><th>strength</th><th>95% CI</th><th>win rate</th>'
                       "<th>n</th></tr></thead><tbody>")
            out += [f'<tr><td class="l">{esc(r["model"])}</td><td>{fmt(r["strength"])}</td><td>{fmt_ci(r["ci"])}</td>'
                    f'<td>{fmt(r["win_rate"])}</td><td>{r["n"]}</td></tr>' for r in ranked(a, c)]
            out.append('</tbody></table><table><thead><tr><th class="l">model</th><th class="l">opponent</th>'
                       "<th>n</th><th>W/L/T</th><th>win rate</th><th>95% CI</th><th>p</th><th>longer wins</th>"
                       "<th>length diff</th></tr></thead><tbody>")
            out += [f'<tr><td class="l">{esc(r["model"])}</td><td class="l">{esc(r["opponent"])}</td><td>{r["n"]}</td>'
                    f'<td>{r["wins"]}/{r["losses"]}/{r["ties"]}</td><td>{fmt(r["win_rate"])}</td>'
                    f'<td>{fmt_ci(r["ci"])}</td><td>{fmt_p(r["p"])}</td><td>{fmt(r["longer_share"])}</td>'
                    f'<td>{fmt_signed(r["length_diff"])}</td></tr>' for r in pair_rows(a, c)]
            out.append(f'</tbody></table><p class="small">{esc(PAIR_WORDING)}.</p><ul>')
            out += [f'<li class="small">{esc(line)}</li>' for line in diagnostics_lines(a, c)]
            out.append("</ul>")
            if a.source == JUDGE and c in report.signatures:
                out.append(f'<p class="small">signature: <code>{esc(report.signatures[c])}</code></p>')
    for row in report.agreement or []:
        out.append(f"<h3>The judge and the annotators on {esc(row['criterion'])}</h3>"
                   f'<p class="small">{row["items"]} pairs judged by both; {esc(AGREEMENT_WORDING)}; '
                   f'{row["judge_majority"]["split"]} pairs without a majority left out.</p>'
                   '<table><thead><tr><th class="l"></th><th>agreement</th><th>n</th><th>without ties</th><th>n</th>'
                   "</tr></thead><tbody>")
        out += ['<tr><td class="l">' + esc(name) + "</td>" + "".join(f"<td>{v}</td>" for v in agreement_cells(row[key]))
                + "</tr>" for key, name in AGREEMENT_ROWS]
        out.append("</tbody></table>")
    if report.disagreements:
        metric = report.disagreement_metric or ""
        out.append(f"<h3>Where the judge and {esc(metric)} disagree most</h3>"
                   f'<p class="small">Pairs the judge decided one way and {esc(metric)} ranks the other, the widest '
                   f"{esc(metric)} differences first.</p>")
        out += [_disagreement(d) for d in report.disagreements]
    elif report.disagreement_metric is None and any(a.source == JUDGE for a in report.aggregates):
        out.append('<p class="small">No per-example ROUGE score in the runs to set the judge against.</p>')
    out += [f'<div class="note">{esc(n)}</div>' for n in report.notes]
    out.append("</section>")
    return "".join(out)


def _disagreement(d: dict[str, Any]) -> str:
    from bench.comparison.render_html import esc

    winner, loser = (d["model"], d["opponent"]) if d["outcome"] > 0.5 else (d["opponent"], d["model"])
    orders = "; ".join(f"{esc(o['first'])} shown first: {esc(o['verdict'] or 'no verdict')}" for o in d["orders"])
    replies = "".join(f"<li>{esc(r['reply'])}</li>" for o in d["orders"] for r in o["replies"])
    return (f'<div class="ex"><div class="head">{esc(d["id"])} ({esc(d["criterion"])}): the judge prefers '
            f'{esc(winner)} over {esc(loser)}; {esc(d["metric"])} {fmt(d["score"], 2)} ({esc(d["model"])}) vs '
            f'{fmt(d["opponent_score"], 2)} ({esc(d["opponent"])})</div><div class="small">{orders}</div>'
            f'<div class="pair"><div><strong>{esc(d["model"])}</strong>'
            f'<div class="text">{esc(d["summary"])}</div></div>'
            f'<div><strong>{esc(d["opponent"])}</strong><div class="text">{esc(d["opponent_summary"])}</div></div>'
            f'</div><details><summary>the judge\'s replies</summary><ol class="refs">{replies}</ol></details></div>')


# ------------------------------------------------------------------ the hook


def attach(text: str, fmt_name: str, report: PairwiseReport, *, to_terminal: bool = False) -> str:
    """`bench compare`'s text in `fmt_name` with the pairwise comparison put in: after the tables (table, md,
    latex), as lines of the CSV, the JSON as an object (the runs' rows under "runs"), a section of the HTML."""
    if fmt_name == "table":
        return text + render_pairwise_table(report, to_terminal=to_terminal)
    if fmt_name == "md":
        return text.rstrip("\n") + "\n\n" + render_pairwise_markdown(report)
    if fmt_name == "latex":
        return text.rstrip("\n") + "\n\n" + render_pairwise_latex(report)
    if fmt_name == "csv":
        header = next(csv.reader([text.partition("\n")[0]]))
        return text + render_pairwise_csv(report, header)
    if fmt_name == "json":
        data = {"runs": json.loads(text), **report.as_json()}
        return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    end = "</body></html>"
    assert end in text, "the HTML report ends with </body></html>"
    at = text.rindex(end)
    return text[:at] + render_pairwise_html(report) + text[at:]
