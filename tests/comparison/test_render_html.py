"""The HTML report: self-contained, every untrusted string escaped, charts drawn from the numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from test_compare import make_run

from bench.comparison.flips import flipped_examples, read_predictions
from bench.comparison.select import select
from bench.comparison.paired import compare_section
from bench.comparison.render_html import axis_max, bar_chart, model_colours, nice_step, render_html

EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>"\' & done'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "ul", "ol", "li", "a", "code",
                "b", "em", "strong", "section", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "details",
                "summary", "svg", "text", "line", "rect", "circle", "g", "clippath"}


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _report(tmp_path, *, model_b: str = "b", prediction: str = EVIL, baseline: bool = True):
    make_run(tmp_path, model="a", scores={"exact_match": [100.0, 0.0, 100.0], "f1": [100.0, 20.0, 100.0]},
             predictions=["Paris", "1066", "blue"], examples_per_s=50.0)
    make_run(tmp_path, model=model_b, scores={"exact_match": [0.0, 100.0, 100.0], "f1": [0.0, 100.0, 100.0]},
             predictions=[prediction, "1066 AD", "blue"], examples_per_s=500.0, run_id="20260101T000000Z-000002")
    sections = select([tmp_path])
    comparisons = {0: compare_section(sections[0], "a")} if baseline else None
    preds = {r.path: read_predictions(r.path) for r in sections[0].runs}
    ref = sections[0].runs[-1] if sections[0].runs[-1].model == "a" else sections[0].runs[0]
    other = next(r for r in sections[0].runs if r is not ref)
    flips = {0: [(ref, other, flipped_examples(preds[ref.path], preds[other.path], "exact_match", 10))]}
    return render_html(sections, comparisons, flips, sources=[str(tmp_path)])


def test_script_in_a_prediction_stays_escaped(tmp_path):
    page = _report(tmp_path)
    parser = Tags()
    parser.feed(page)
    tags = {t for t, _ in parser.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert not [(t, a) for t, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert "<script" not in page.lower() and "<img" not in page.lower()
    # the prediction is shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#x27; &amp; done" in page
    assert EVIL in "".join(parser.text)


def test_script_in_a_model_name_stays_escaped_in_tables_charts_and_attributes(tmp_path):
    page = _report(tmp_path, model_b='<script>alert("m")</script>" onmouseover="x', prediction="Rome")
    parser = Tags()
    parser.feed(page)
    assert {t for t, _ in parser.tags} <= ALLOWED_TAGS
    assert not [(t, a) for t, attrs in parser.tags for a in attrs if a.startswith("on")]
    assert "&lt;script&gt;alert(&quot;m&quot;)&lt;/script&gt;&quot; onmouseover=&quot;x" in page
    # the name appears in the results table, the bar charts, the scatter, the paired table and the drill-down
    assert page.count("&lt;script&gt;alert(&quot;m&quot;)") >= 6


def test_report_is_self_contained_and_scriptless(tmp_path):
    page = _report(tmp_path)
    parser = Tags()
    parser.feed(page)
    urls = [v for _, attrs in parser.tags for k, v in attrs.items() if k in ("src", "href") and v]
    assert all(u.startswith("#") for u in urls), urls
    xmlns = "http://www.w3.org/2000/svg"  # an SVG namespace name, never fetched
    assert not re.findall(r"https?://", page.replace(xmlns, ""))
    csp = [a["content"] for t, a in parser.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]


def test_report_has_tables_charts_paired_stats_and_drilldown(tmp_path):
    page = _report(tmp_path)
    assert page.count('aria-label="exact_match per model with 95% CI"') == 1
    assert page.count('aria-label="f1 per model with 95% CI"') == 1
    assert 'aria-label="exact_match against examples per second"' in page
    assert "Paired comparison with a" in page and "McNemar" in page
    # drill-down: the two flipped examples, with their references and both predictions
    assert "ex0: exact_match 100.00 &rarr; 0.00 (-100.00)" in page
    assert "ex1: exact_match 0.00 &rarr; 100.00 (+100.00)" in page
    assert "reference 0" in page and "1066 AD" in page and "Paris" in page
    assert "ex2:" not in page  # same score for both: not a flip
    # the best value per column is bold
    assert '<span class="best">66.67</span>' in page


def test_report_is_deterministic(tmp_path):
    assert _report(tmp_path / "one") == _report(tmp_path / "two").replace(str(tmp_path / "two"),
                                                                          str(tmp_path / "one"))


def test_bar_lengths_and_whiskers_follow_the_numbers(tmp_path):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]})  # mean 20, CI [10, 30]
    make_run(tmp_path, model="b", scores={"rouge1": [40.0, 80.0]}, run_id="20260101T000000Z-000002")  # 60 [40, 80]
    (s,) = select([tmp_path])
    svg = bar_chart(s, "rouge1", model_colours([s]))
    assert axis_max([60.0, 80.0]) == 80.0
    rects = [float(w) for w in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="[\d.]+" fill=', svg)]
    assert len(rects) == 2 and rects[0] / rects[1] == pytest.approx(60 / 20, rel=1e-2)  # b (60) first, then a (20)
    whiskers = re.findall(r'<g stroke="#222" stroke-width="1.2"><line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', svg)
    (b_lo, b_hi), (a_lo, a_hi) = [(float(x), float(y)) for x, y in whiskers]
    assert (b_hi - b_lo) == pytest.approx(2 * (a_hi - a_lo), rel=1e-2)  # CI widths 40 and 20


@pytest.mark.parametrize("span,step", [(100, 20), (18.18, 5), (60, 20), (1.0, 0.2), (0.0, 1.0)])
def test_nice_step(span, step):
    assert nice_step(span) == pytest.approx(step)


@pytest.mark.parametrize("values,top", [([18.18], 20.0), ([75.0, 100.0], 100.0), ([29.17, 43.75], 50.0),
                                        ([0.0], 1.0), ([None], 1.0)])
def test_axis_max(values, top):
    assert axis_max(values) == pytest.approx(top)


def test_cli_html_output(tmp_path, cli):
    make_run(tmp_path, model="a", scores={"rouge1": [10.0, 30.0]}, predictions=[EVIL, "x"])
    make_run(tmp_path, model="b", scores={"rouge1": [40.0, 30.0]}, run_id="20260101T000000Z-000002")
    target = tmp_path / "report.html"
    code, out, err = cli("compare", tmp_path, "--format", "html", "--output", target)
    assert code == 0, err
    page = target.read_text()
    # without --baseline the drill-down compares against the best run on the first metric
    assert "against b (the best run on rouge1)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
