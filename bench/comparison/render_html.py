"""A self-contained HTML comparison report: tables, SVG charts, per-example drill-down.

One file, no network assets and no JavaScript: the charts are inline SVG drawn
here. Model outputs, references, model and task names all come from results
files and are untrusted, so every piece of text goes through `html.escape`
(`esc`) on its way into the page; a Content-Security-Policy that allows no
script is a second line of defence.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

from bench.comparison.flips import Flip, FlipPairs
from bench.comparison.paired import SectionComparison
from bench.comparison.select import SPEED, Section
from bench.comparison.wording import (REFERENCE, ci_text, fmt, fmt_p, fmt_signed, fmt_speed, header, is_best, legend,
                                      paired_metric, paired_notes, paired_wording, section_notes)
from bench.results.record import MetricResults, RunRecord
from bench.version import __version__

#: Colour-blind-safe palette (Okabe & Ito, 2008), one colour per model.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;margin:24px auto;
max-width:1240px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:20px 0 6px}
.meta,.small{color:#555;font-size:12px}
.note{background:#fff6e0;border-left:4px solid #e6a700;padding:6px 10px;margin:8px 0}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}
td .ci{color:#666;font-size:12px;display:block}
.best{font-weight:700}
.sig{font-weight:700;color:#006b3c}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px;vertical-align:baseline}
.charts{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0;align-items:flex-start}
.scroll{overflow-x:auto}td code,td .ci{white-space:nowrap}
.chart{border:1px solid #eee;padding:4px}
code{font-size:12px;word-break:break-all}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
.ex{border:1px solid #e4e4e4;border-radius:4px;padding:8px;margin:8px 0}
.ex .head{font-weight:600;margin-bottom:4px}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.text{white-space:pre-wrap;word-break:break-word;background:#fafafa;border:1px solid #eee;padding:6px;font-size:13px}
ol.refs{margin:4px 0;padding-left:22px}ol.refs li{white-space:pre-wrap;word-break:break-word}
tr.ref td{font-style:italic;background:#f7f7fb}
ul.sents{margin:4px 0;padding-left:18px;font-size:13px}ul.sents li{white-space:pre-wrap;word-break:break-word}
.unsupported{color:#a40000}
"""

#: Most summary sentences listed per prediction in the drill-down (the lowest-scoring first).
SENTENCES_SHOWN = 5


def esc(value: object) -> str:
    """Escape any text for HTML element content and attribute values."""
    return html.escape(str(value), quote=True)


def nice_step(span: float, target: int = 5) -> float:
    """A 1, 2 or 5 times a power of ten step giving about `target` ticks over `span`."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def axis_max(values: Sequence[float]) -> float:
    """The top of a 0-based axis: the largest value rounded up to a tick."""
    top = max([v for v in values if v is not None and math.isfinite(v)] or [1.0])
    if top <= 0:
        return 1.0
    step = nice_step(top)
    return math.ceil(top / step - 1e-9) * step


def axis_range(values: Sequence[float | None]) -> tuple[float, float]:
    """(low, high) of an axis that holds 0 and every value, each end rounded out to a tick."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    if lo >= 0:
        return 0.0, axis_max(finite)
    if hi <= 0:
        return -axis_max([-v for v in finite]), 0.0
    step = nice_step(hi - lo, 4)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def model_colours(sections: Sequence[Section]) -> dict[str, str]:
    names = sorted({r.model for s in sections for r in s.runs})
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def bar_chart(section: Section, metric: str, colours: Mapping[str, str], uid: str = "c") -> str:
    """Horizontal bars of `metric` per run with 95% CI whiskers, as inline SVG (`uid`: unique in the page).

    Bars start at 0 (scores below 0, such as SummaC-ZS's, go left of it); a value without a CI (a
    corpus-only value) has no whisker; the reference row's value, when the section has one, is a dashed
    line across the bars."""
    runs = section.runs
    ref = section.reference.metrics.get(metric) if section.reference is not None else None
    label_w, plot_w, right, row_h, top, bottom = 104, 122, 46, 24, 26, 24
    height = top + row_h * len(runs) + bottom + (14 if ref is not None else 0)
    width = label_w + plot_w + right
    vmin, vmax = axis_range([x for r in runs for x in (r.metrics.get(metric), *r.interval(metric))] + [ref])
    step = nice_step(vmax - vmin, 4)

    def x(v: float) -> float:
        return label_w + plot_w * (max(vmin, min(v, vmax)) - vmin) / (vmax - vmin)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{esc(metric)} per model with 95% CI">',
             f'<text x="4" y="16" font-size="13" font-weight="600">{esc(header(section, metric))}</text>',
             f'<clipPath id="{esc(uid)}"><rect x="0" y="0" width="{label_w - 6}" height="{height}"/></clipPath>']
    ticks = int(round((vmax - vmin) / step))
    axis_y = top + row_h * len(runs)
    for i in range(ticks + 1):
        v = vmin + i * step
        parts.append(f'<line x1="{x(v):.1f}" y1="{top - 4}" x2="{x(v):.1f}" y2="{axis_y + 2}" '
                     'stroke="#e5e5e5"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{axis_y + 16}" font-size="10" text-anchor="middle" '
                     f'fill="#666">{round(v, 10):g}</text>')
    for i, r in enumerate(runs):
        y = top + i * row_h
        v = r.metrics.get(metric)
        lo, hi = r.interval(metric)
        name = r.model if sum(o.model == r.model for o in runs) == 1 else f"{r.model} {r.run_id[-6:]}"
        parts.append(f'<text x="4" y="{y + row_h / 2 + 4:.1f}" font-size="12" clip-path="url(#{esc(uid)})">'
                     f'<title>{esc(r.model)} ({esc(r.run_id)})</title>{esc(_short(name, 14))}</text>')
        if v is None:
            parts.append(f'<text x="{label_w + 4}" y="{y + row_h / 2 + 4:.1f}" font-size="11" fill="#666">'
                         'no value</text>')
            continue
        x0 = min(x(0.0), x(v))
        parts.append(f'<rect x="{x0:.1f}" y="{y + 4}" width="{abs(x(v) - x(0.0)):.1f}" height="{row_h - 8}" '
                     f'fill="{colours[r.model]}" fill-opacity="0.8"><title>{esc(r.model)}: {fmt(v)} '
                     f'[{ci_text(r, metric, ", ")}]</title></rect>')
        if lo is not None and hi is not None:
            cy = y + row_h / 2
            parts.append(f'<g stroke="#222" stroke-width="1.2"><line x1="{x(lo):.1f}" y1="{cy:.1f}" x2="{x(hi):.1f}" '
                         f'y2="{cy:.1f}"/><line x1="{x(lo):.1f}" y1="{cy - 5:.1f}" x2="{x(lo):.1f}" y2="{cy + 5:.1f}"/>'
                         f'<line x1="{x(hi):.1f}" y1="{cy - 5:.1f}" x2="{x(hi):.1f}" y2="{cy + 5:.1f}"/></g>')
        end = max(v, hi if hi is not None else v, 0.0)
        weight = "700" if is_best(section, metric, v) else "400"
        parts.append(f'<text x="{x(end) + 4:.1f}" y="{y + row_h / 2 + 4:.1f}" font-size="11" '
                     f'font-weight="{weight}">{fmt(v)}</text>')
    if ref is not None:
        parts.append(f'<line class="reference" x1="{x(ref):.1f}" y1="{top - 2}" x2="{x(ref):.1f}" y2="{axis_y}" '
                     f'stroke="#444" stroke-dasharray="4 3"><title>{REFERENCE}: {fmt(ref)}</title></line>'
                     f'<text x="{label_w}" y="{height - 4}" font-size="10" fill="#444">dashed: {REFERENCE} '
                     f'{fmt(ref)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def scatter(section: Section, metric: str, colours: Mapping[str, str]) -> str:
    """Quality (`metric`, with 95% CI) against speed (examples/s, log scale) per run, as inline SVG."""
    pts = [r for r in section.runs if r.examples_per_s and r.examples_per_s > 0 and r.metrics.get(metric) is not None]
    left, plot_w, right, top, plot_h, bottom = 56, 340, 110, 28, 220, 40
    width, height = left + plot_w + right, top + plot_h + bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="{esc(metric)} against examples per second">',
             f'<text x="4" y="16" font-size="13" font-weight="600">quality vs speed: {esc(metric)} '
             'against examples/s</text>']
    if not pts:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="48" role="img" '
                f'aria-label="{esc(metric)} against examples per second">'
                f'<text x="4" y="16" font-size="13" font-weight="600">quality vs speed: {esc(metric)} '
                'against examples/s</text><text x="4" y="38" font-size="12" fill="#666">'
                "no run in this table records examples/s</text></svg>")
    xs = [math.log10(r.examples_per_s) for r in pts]  # type: ignore[arg-type]
    x0, x1 = math.floor(min(xs)), math.ceil(max(xs))
    if x1 == x0:
        x1 = x0 + 1
    ymin, ymax = axis_range([v for r in pts for v in (r.metrics[metric], *r.interval(metric))])
    ystep = nice_step(ymax - ymin, 4)

    def px(v: float) -> float:
        return left + plot_w * (math.log10(v) - x0) / (x1 - x0)

    def py(v: float) -> float:
        return top + plot_h * (1 - (max(ymin, min(v, ymax)) - ymin) / (ymax - ymin))

    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>')
    for e in range(x0, x1 + 1):
        xv = left + plot_w * (e - x0) / (x1 - x0)
        parts.append(f'<line x1="{xv:.1f}" y1="{top}" x2="{xv:.1f}" y2="{top + plot_h}" stroke="#eee"/>'
                     f'<text x="{xv:.1f}" y="{top + plot_h + 14}" font-size="10" text-anchor="middle" '
                     f'fill="#666">{10 ** e:g}</text>')
    for i in range(int(round((ymax - ymin) / ystep)) + 1):
        yv = ymin + i * ystep
        parts.append(f'<line x1="{left}" y1="{py(yv):.1f}" x2="{left + plot_w}" y2="{py(yv):.1f}" stroke="#eee"/>'
                     f'<text x="{left - 4}" y="{py(yv) + 3:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#666">{round(yv, 10):g}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" font-size="11" text-anchor="middle">'
                 'examples per second (log scale; higher is faster)</text>'
                 f'<text x="14" y="{top + plot_h / 2}" font-size="11" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + plot_h / 2})">{esc(header(section, metric))}</text>')
    placed: list[tuple[float, float]] = []
    for r in sorted(pts, key=lambda r: -r.metrics[metric]):  # type: ignore[operator]
        cx, v = px(r.examples_per_s), r.metrics[metric]  # type: ignore[arg-type]
        ly = py(v) - 6  # move a label down while it would overlap one already placed
        while any(abs(ly - y0) < 12 and abs(cx - x0) < 120 for x0, y0 in placed):
            ly += 12
        placed.append((cx, ly))
        lo, hi = r.interval(metric)
        if lo is not None and hi is not None:
            parts.append(f'<line x1="{cx:.1f}" y1="{py(lo):.1f}" x2="{cx:.1f}" y2="{py(hi):.1f}" '
                         f'stroke="{colours[r.model]}" stroke-width="1.5"/>')
        parts.append(f'<circle cx="{cx:.1f}" cy="{py(v):.1f}" r="5" fill="{colours[r.model]}">'
                     f'<title>{esc(r.model)}: {fmt(v)} at {fmt_speed(r.examples_per_s)} examples/s</title></circle>'
                     f'<text x="{cx + 7:.1f}" y="{ly:.1f}" font-size="11">{esc(_short(r.model, 24))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _value_cell(section: Section, run: RunRecord | MetricResults, metric: str, *, mark: bool = True) -> str:
    if metric not in run.metrics:
        return "<td>-</td>"
    v = run.metrics.get(metric)
    cls = ' class="best"' if mark and is_best(section, metric, v) else ""
    return f'<td><span{cls}>{fmt(v)}</span><span class="ci">[{esc(ci_text(run, metric, ", "))}]</span></td>'


def results_table(section: Section, colours: Mapping[str, str]) -> str:
    head = "".join(f"<th>{esc(header(section, m))}</th>" for m in section.metrics)
    rows = []
    for r in section.runs:
        speed_cls = ' class="best"' if SPEED in section.best and r.examples_per_s == section.best[SPEED] else ""
        rows.append(f'<tr><td class="l"><span class="swatch" style="background:{colours[r.model]}"></span>'
                    f'{esc(r.model)}</td><td class="l"><code>{esc(r.run_id)}</code></td><td>{r.n_examples}</td>'
                    + "".join(_value_cell(section, r, m) for m in section.metrics)
                    + f'<td><span{speed_cls}>{fmt_speed(r.examples_per_s)}</span></td></tr>')
    ref = section.reference
    if ref is not None:
        n = ref.counts.get("reference_examples")
        rows.append(f'<tr class="ref"><td class="l">{REFERENCE}</td><td class="l"></td>'
                    f'<td>{"" if n is None else n}</td>'
                    + "".join(_value_cell(section, ref, m, mark=False) for m in section.metrics)
                    + "<td>-</td></tr>")
    return (f'<div class="scroll"><table><thead><tr><th class="l">model</th><th class="l">run</th><th>n</th>{head}'
            f'<th>ex/s</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def paired_table(c: SectionComparison) -> str:
    if c.baseline is None:
        return '<p class="small">No run of the baseline model in this table, so no paired comparison.</p>'
    base = c.baseline.model
    alpha = c.results[0].alpha if c.results else 0.05
    out = [f"<h3>Paired comparison with {esc(base)}</h3>", f'<p class="small">{esc(paired_wording(alpha))}</p>']
    if c.results:
        out.append('<table><thead><tr><th class="l">model</th><th class="l">metric</th><th>n</th>'
                   f'<th>{esc(base)}</th><th>score</th><th>diff</th><th>95% CI</th><th>p</th>'
                   '<th>McNemar p (b/c)</th><th class="l">significant</th></tr></thead><tbody>')
        for p in c.results:
            cls = ' class="sig"' if p.significant else ""
            mc = f"{fmt_p(p.mcnemar_p)} ({p.mcnemar[0]}/{p.mcnemar[1]})" if p.mcnemar else "-"
            out.append(f'<tr><td class="l">{esc(p.model)}</td><td class="l">{esc(paired_metric(p))}</td>'
                       f"<td>{p.n}</td><td>{fmt(p.baseline_mean)}</td><td>{fmt(p.mean)}</td><td><span{cls}>{fmt_signed(p.diff)}"
                       f"</span></td><td>[{fmt_signed(p.ci[0])}, {fmt_signed(p.ci[1])}]</td><td>{esc(fmt_p(p.p_value))}</td>"
                       f'<td>{esc(mc)}</td><td class="l"><span{cls}>{"yes" if p.significant else "no"}</span></td></tr>')
        out.append("</tbody></table>")
    else:
        out.append('<p class="small">No other run in this table.</p>')
    out.extend(f'<p class="small">{esc(n)}</p>' for n in paired_notes(c))
    return "".join(out)


def _text_block(text: str) -> str:
    return f'<div class="text">{esc(text)}</div>' if text else '<div class="text"><em>(empty)</em></div>'


def _scores_line(scores: Mapping[str, float], no_answer_score: float | None = None) -> str:
    line = ", ".join(f"{esc(k)} {fmt(v)}" for k, v in scores.items())
    if no_answer_score is not None:
        line += f"{', ' if line else ''}no-answer score {no_answer_score:.4g}"
    return line


def sentence_scores(details: Mapping[str, object]) -> list[tuple[str, list[tuple[str, float]]]]:
    """(metric, [(sentence, score), ...]) for each metric that kept a score per summary sentence in a
    prediction's ``details`` (SummaC-ZS: ``[{"sentence", "score", ...}, ...]``); other details are not shown."""
    out = []
    for metric, value in details.items():
        if not isinstance(value, list):
            continue
        pairs = [(d["sentence"], float(d["score"])) for d in value if isinstance(d, dict)
                 and isinstance(d.get("sentence"), str) and isinstance(d.get("score"), (int, float))
                 and not isinstance(d.get("score"), bool) and math.isfinite(d["score"])]
        if pairs and len(pairs) == len(value):
            out.append((metric, pairs))
    return out


def sentence_list(details: Mapping[str, object]) -> str:
    """The summary sentences a metric judged least supported, lowest score first (below 0: unsupported)."""
    out = []
    for metric, pairs in sentence_scores(details):
        low = sorted(range(len(pairs)), key=lambda i: (pairs[i][1], i))[:SENTENCES_SHOWN]
        unsupported = sum(score < 0 for _, score in pairs)
        items = "".join(
            f'<li><span class="{"unsupported" if pairs[i][1] < 0 else "small"}">{fmt(pairs[i][1])}'
            f'{" unsupported" if pairs[i][1] < 0 else ""}</span> {esc(pairs[i][0])}</li>' for i in low)
        out.append(f'<div class="small">{esc(metric)} per summary sentence, lowest first '
                   f'({unsupported} of {len(pairs)} below 0: more contradicted than entailed by the document)</div>'
                   f'<ul class="sents">{items}</ul>')
    return "".join(out)


def drilldown(base: RunRecord, run: RunRecord, flips: Sequence[Flip], *, open_: bool = False) -> str:
    """A collapsible list of the examples where `run` and `base` differ most."""
    metric = flips[0].metric if flips else ""
    summary = (f"{esc(run.model)} vs {esc(base.model)}: "
               + (f"{len(flips)} example{'s' if len(flips) != 1 else ''} that differ most on {esc(metric)}"
                  if flips else "every shared example scored the same"))
    out = [f"<details{' open' if open_ else ''}><summary>{summary}</summary>"]
    for f in flips:
        q = f'<div><strong>question:</strong> {esc(f.question)}</div>' if f.question else ""
        refs = "".join(f"<li>{esc(r)}</li>" for r in f.references) or "<li><em>(none)</em></li>"
        out.append(
            f'<div class="ex"><div class="head">{esc(f.id)}: {esc(metric)} {fmt(f.baseline_scores[metric])} '
            f"&rarr; {fmt(f.scores[metric])} ({fmt_signed(f.diff)})</div>{q}"
            f'<div><strong>references</strong></div><ol class="refs">{refs}</ol><div class="pair">'
            f'<div><div><strong>{esc(base.model)}</strong> <span class="small">'
            f'{_scores_line(f.baseline_scores, f.baseline_no_answer_score)}'
            f"</span></div>{_text_block(f.baseline_prediction)}{sentence_list(f.baseline_details)}</div>"
            f'<div><div><strong>{esc(run.model)}</strong> <span class="small">'
            f'{_scores_line(f.scores, f.no_answer_score)}</span></div>'
            f"{_text_block(f.prediction)}{sentence_list(f.details)}</div></div></div>")
    out.append("</details>")
    return "".join(out)


def section_html(k: int, s: Section, colours: Mapping[str, str], comparison: SectionComparison | None,
                 pairs: FlipPairs | None) -> str:
    out = [f'<section id="t{k}"><h2>{esc(s.title)}</h2>']
    if s.note:
        out.append(f'<div class="note">{esc(s.note)}</div>')
    elif s.of > 1:
        out.append(f'<div class="note">{esc(s.task)} has runs in {s.of} tables that cannot share columns; '
                   "see below.</div>")
    out.append(f'<p class="meta">task hash <code>{esc(s.task_hash[:12])}</code>, {s.n} example'
               f'{"s" if s.n != 1 else ""}; {esc(legend(s, "bold = best in column"))}; CI in brackets.</p>')
    out.append(results_table(s, colours))
    out.extend(f'<p class="small">{esc(n)}</p>' for n in section_notes(s))
    out.append("<details><summary>metric signatures</summary><ul>"
               + "".join(f"<li><code>{esc(sig)}</code></li>" for sig in (s.signatures[m] for m in s.metrics))
               + "</ul></details>")
    out.append('<div class="charts">'
               + "".join(f'<div class="chart">{bar_chart(s, m, colours, f"clip-{k}-{j}")}</div>'
                         for j, m in enumerate(s.metrics))
               + f'<div class="chart">{scatter(s, s.ranked_by or s.metrics[0], colours)}</div></div>')
    if comparison is not None:
        out.append(paired_table(comparison))
    if pairs:
        ref = pairs[0][0]
        why = ("the baseline" if comparison is not None else f"the best run on {esc(s.ranked_by)}"
               if s.ranked_by else "the first run")
        out.append(f"<h3>Examples that differ most, against {esc(ref.model)} ({why})</h3>")
        out.extend(drilldown(base, run, items, open_=i == 0) for i, (base, run, items) in enumerate(pairs))
    out.append("</section>")
    return "".join(out)


def render_html(sections: Sequence[Section], comparisons: Mapping[int, SectionComparison] | None = None,
                flips: Mapping[int, FlipPairs] | None = None, *,
                sources: Sequence[str] = (), title: str = "Model comparison") -> str:
    """The whole report as one HTML document (no scripts, no external resources)."""
    colours = model_colours(sections)
    toc = "".join(f'<li><a href="#t{k}">{esc(s.title)}</a> ({len(s.runs)} run{"s" if len(s.runs) != 1 else ""})</li>'
                  for k, s in enumerate(sections))
    body = "".join(section_html(k, s, colours, (comparisons or {}).get(k), (flips or {}).get(k))
                   for k, s in enumerate(sections))
    src = ", ".join(f"<code>{esc(x)}</code>" for x in sources)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class=\"meta\">bench {esc(__version__)}; runs from {src or 'results'}. "
        "Each table holds runs that can share columns (same task data, size and metric signatures).</p>"
        f"<ul>{toc}</ul>{body}</body></html>\n"
    )
