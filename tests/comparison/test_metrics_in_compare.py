"""`bench compare` with the metrics beyond ROUGE: the reference row, score directions, corpus-only values
without a CI, per-sentence details in the HTML report, and the leaderboard and plot that show them."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from test_compare import make_run

from bench.comparison.flips import flip_metric, read_predictions, section_flips
from bench.comparison.leaderboard import MARKDOWN, update_leaderboard
from bench.comparison.render_html import bar_chart, model_colours, render_html
from bench.comparison.render_data import json_rows, render_csv
from bench.comparison.render_markdown import render_markdown
from bench.comparison.render_text import render_table
from bench.comparison.select import select
from bench.comparison.paired import compare_section
from bench.metrics import METRICS, MetricInputs
from bench.metrics.extractiveness.extractiveness_metric import SCORES
from bench.results.store import write_run

EXTRACTIVE_CONFIG = {"metrics": [{"name": "rouge", "settings": {}}, {"name": "extractiveness", "settings": {}}]}


# ------------------------------------------------------------------ real runs of the summarization baselines


@pytest.fixture(scope="module")
def summaries(tmp_path_factory) -> Path:
    """`bench run -m lead-3 -m textrank -t seed-summarization`: ROUGE, extractiveness and a reference block."""
    root = tmp_path_factory.mktemp("summaries")
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "-q", "-m", "lead-3", "-m", "textrank", "-t",
                           "seed-summarization", "-o", str(root / "results")], capture_output=True, text=True,
                          cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    return root / "results"


def _records(results: Path) -> dict[str, dict]:
    return {r["model"]: r for r in (json.loads(p.read_text()) for p in results.glob("*/*/*/results.json"))}


@pytest.mark.slow
def test_the_reference_row_is_the_runs_reference_block_in_every_format(summaries):
    records = _records(summaries)
    reference = records["lead-3"]["reference"]
    assert reference == records["textrank"]["reference"]  # the same references and documents
    (s,) = select([summaries])
    assert s.reference is not None and s.reference_note is None
    assert dict(s.reference.metrics) == reference["metrics"] and list(s.reference.metrics) == list(SCORES)
    # JSON: the section's own entry, with the reference's own signatures (of:reference)
    rows = json_rows([s])
    assert rows[0]["section"]["reference"] == {**{k: reference[k] for k in ("metrics", "ci", "signatures", "counts")},
                                               "note": None}
    assert all("|of:reference|" in sig for sig in reference["signatures"].values())
    assert [r["model"] for r in rows] == ["lead-3", "textrank"]  # rows are runs only
    # CSV: one "reference" line per statistic, after the runs, at full precision
    lines = list(csv.DictReader(io.StringIO(render_csv([s]))))
    ref_lines = [x for x in lines if x["kind"] == "reference"]
    assert [x["metric"] for x in ref_lines] == list(SCORES) and lines[-len(SCORES):] == ref_lines
    assert all(x["model"] == "reference" and x["run"] == "" and float(x["value"]) == reference["metrics"][x["metric"]]
               for x in ref_lines)
    assert {x["kind"] for x in lines[:-len(SCORES)]} == {"run"}
    # Markdown: an italic reference row, never bold, "-" where it has no value (ROUGE)
    md = render_markdown([s])
    row = next(line for line in md.splitlines() if line.startswith("| *reference* |"))
    assert "**" not in row and row.count("| - |") >= 1
    assert f"{reference['metrics']['density']:.2f} [" in row


@pytest.mark.slow
def test_directions_decide_the_best_marks_on_real_runs(summaries):
    records = _records(summaries)
    (s,) = select([summaries])
    lead, textrank = records["lead-3"]["metrics"], records["textrank"]["metrics"]
    assert s.direction("rouge1") == "higher" and s.direction("repeated_1gram") == "lower"
    assert {m for m in SCORES if s.direction(m) == "none"} == {
        "coverage", "density", "compression", "novel_1gram", "novel_2gram", "novel_3gram", "summary_length"}
    assert s.best["rouge1"] == max(lead["rouge1"], textrank["rouge1"])
    assert s.best["repeated_1gram"] == min(lead["repeated_1gram"], textrank["repeated_1gram"])
    assert not {"coverage", "density", "compression", "summary_length"} & set(s.best)
    assert [r.model for r in s.runs][0] == max(records, key=lambda m: records[m]["metrics"]["rouge1"])


@pytest.mark.slow
def test_the_terminal_table_fits_120_columns_and_keeps_each_metric_together(summaries):
    (s,) = select([summaries])
    out = render_table([s], to_terminal=False)
    assert max(len(line) for line in out.splitlines() if line.startswith(("┏", "│", "└"))) <= 120
    tables = out.split("┏")[1:]
    assert len(tables) >= 2
    rouge = next(t for t in tables if "rouge1" in t)
    assert all(m in rouge for m in ("rouge2", "rougeL", "rougeLsum")) and "coverage" not in rouge
    assert "reference" not in rouge  # no ROUGE for the references: no row
    assert "ex/s" in rouge
    extractive = [t for t in tables if "coverage" in t or "repeated_" in t]
    assert extractive and all("reference" in t for t in extractive)
    assert "rouge1 ↑" in out and "1gram ↓" in out
    assert "not a model: never best, never compared" in out


@pytest.mark.slow
def test_paired_tests_carry_directions_and_skip_the_reference(summaries, cli):
    (s,) = select([summaries])
    c = compare_section(s, "lead-3")
    assert {p.model for p in c.results} == {"textrank"}
    by_metric = {p.metric: p for p in c.results}
    assert set(by_metric) == set(s.metrics)
    assert by_metric["repeated_2gram"].direction == "lower" and by_metric["coverage"].direction == "none"
    code, out, err = cli("compare", summaries, "--baseline", "lead-3", "--format", "json")
    assert code == 0, err
    (row,) = [r for r in json.loads(out) if r["model"] == "textrank"]
    assert row["paired"]["repeated_2gram"]["direction"] == "lower"
    code, out, err = cli("compare", summaries, "--baseline", "reference")
    assert code != 0 and "no run of baseline model 'reference'" in err  # the reference row is no model


@pytest.mark.slow
def test_html_report_leaderboard_and_plot_show_the_reference(summaries, tmp_path):
    (s,) = select([summaries])
    page = render_html([s], sources=["results"])
    assert page.count('<tr class="ref">') == 1
    assert page.count('<line class="reference"') == len(SCORES)  # a dashed line on each statistic's chart
    md = (summaries / MARKDOWN).read_text()
    assert "| *reference* |" in md and "repeated_1gram ↓" in md and "| rouge1 ↑ |" in md
    pytest.importorskip("matplotlib")
    from bench.comparison.plot import layout, write_png

    target = tmp_path / "charts.png"
    write_png([s], target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [len(cells) for _, cells in layout([s])] == [5, 5, 5]  # 14 metrics and the scatter, 5 a row


# ------------------------------------------------------------------ hand-made runs


def _extractive_run(root: Path, model: str, scores: dict[str, list[float]], reference: dict | None, **kw) -> Path:
    """A run whose record names its metrics (rouge, extractiveness) and carries a reference block."""
    path = make_run(root, model=model, scores=scores, **kw)
    record = json.loads((path / "results.json").read_text())
    record.update(schema_version=2, config=EXTRACTIVE_CONFIG)
    for m in scores:
        if m in SCORES:
            record["signatures"][m] = f"{m}|tok:t|of:prediction|agg:mean|bench:0.1.0"
    if reference is not None:
        record["reference"] = {"metrics": reference, "ci": {m: [v, v] for m, v in reference.items()},
                               "signatures": {m: f"{m}|tok:t|of:reference|refs:mean|agg:mean|bench:0.1.0"
                                              for m in reference},
                               "counts": {"reference_examples": 2}}
    (path / "results.json").write_text(json.dumps(record))
    return path


def test_lower_is_better_and_describing_statistics_have_no_best(tmp_path):
    ref = {"coverage": 80.0, "repeated_1gram": 5.0}
    _extractive_run(tmp_path, "a", {"rouge1": [10, 20], "coverage": [90, 100], "repeated_1gram": [0, 10]}, ref)
    _extractive_run(tmp_path, "b", {"rouge1": [30, 40], "coverage": [50, 70], "repeated_1gram": [20, 30]}, ref,
                    run_id="20260101T000000Z-000002")
    (s,) = select([tmp_path])
    assert s.best == {"rouge1": 35.0, "repeated_1gram": 5.0, "examples_per_s": 10.0}  # no coverage
    md = render_markdown([s])
    a = next(line for line in md.splitlines() if line.startswith("| a |"))
    b = next(line for line in md.splitlines() if line.startswith("| b |"))
    assert "**5.00** [0.00, 10.00]" in a and "| 95.00 [90.00, 100.00] |" in a  # lowest repeated; coverage unmarked
    assert "**35.00**" in b and "| 60.00 [50.00, 70.00] |" in b
    assert "| *reference* |  | 2 | - | 80.00 [80.00, 80.00] | 5.00 [5.00, 5.00] | - |" in md
    # ordered by the first column with a direction; a table of describing statistics only, by model name
    assert [r.model for r in s.runs] == ["b", "a"]
    (only,) = select([tmp_path], metrics=["coverage"])
    assert only.ranked_by is None and only.best == {"examples_per_s": 10.0}
    assert [r.model for r in only.runs] == ["a", "b"]


def test_flips_are_ranked_by_a_score_with_a_direction(tmp_path):
    _extractive_run(tmp_path, "a", {"coverage": [90, 100], "rouge1": [10, 20]}, None)
    _extractive_run(tmp_path, "b", {"coverage": [50, 70], "rouge1": [30, 40]}, None, run_id="20260101T000000Z-000002")
    (s,) = select([tmp_path])
    assert s.metrics[0] == "coverage" and s.ranked_by == "rouge1"
    preds = read_predictions(s.runs[0].path)
    assert flip_metric(s, [], preds) == "rouge1"
    assert flip_metric(s, ["coverage"], preds) == "coverage"  # asked for: used
    flips = section_flips([s], None, [], 2)
    assert flips[0][0][2][0].metric == "rouge1"


def test_reference_blocks_that_disagree_are_named(tmp_path):
    _extractive_run(tmp_path, "a", {"coverage": [90, 100]}, {"coverage": 80.0})
    _extractive_run(tmp_path, "b", {"coverage": [50, 70]}, {"coverage": 80.0}, run_id="20260101T000000Z-000002")
    _extractive_run(tmp_path, "c", {"coverage": [60, 70]}, {"coverage": 81.5}, run_id="20260101T000000Z-000003")
    _extractive_run(tmp_path, "d", {"coverage": [60, 70]}, None, run_id="20260101T000000Z-000004")
    (s,) = select([tmp_path])
    assert s.reference is not None and s.reference.metrics == {"coverage": 80.0}  # what most runs have
    assert s.reference_note is not None
    assert "c (20260101T000000Z-000003) has other values of coverage" in s.reference_note
    assert "d (20260101T000000Z-000004) has no reference statistics" in s.reference_note
    assert s.reference_note in render_markdown([s]) and json_rows([s])[0]["section"]["reference"]["note"]


def test_a_reference_statistic_computed_otherwise_than_its_column_is_left_out(tmp_path):
    path = _extractive_run(tmp_path, "a", {"coverage": [90, 100], "density": [1, 2]},
                           {"coverage": 80.0, "density": 3.0})
    record = json.loads((path / "results.json").read_text())
    record["reference"]["signatures"]["density"] = "density|tok:other|of:reference|refs:mean|agg:mean|bench:0.1.0"
    (path / "results.json").write_text(json.dumps(record))
    (s,) = select([tmp_path])
    assert s.reference is not None and list(s.reference.metrics) == ["coverage"]
    assert "Left out of the reference row: density" in (s.reference_note or "")


# ------------------------------------------------------------------ SQuAD 2.0's best thresholds: corpus-only values


QUESTIONS = [("Paris", ["Paris"]), ("", [""]), ("1066", ["1066 AD"]), ("blue", [""]), ("", ["red"])]


def _squad_run(root: Path, model: str, predictions: list[str], no_answer: list[float], run_id: str) -> Path:
    """A QA run scored by bench's own Squad metric with no-answer scores (so it has best thresholds)."""
    refs = [r for _, r in QUESTIONS]
    result = METRICS.get("squad")().score(MetricInputs.of(predictions, refs, no_answer_scores=no_answer))
    assert result.ci["best_f1"] is None and "best_f1_thresh" in result.metrics
    record = {
        "schema_version": 2, "run_id": run_id, "model": model, "task": "qa2", "task_type": "qa", "task_version": 1,
        "task_hash": "h", "n_examples": len(predictions), "metrics": result.metrics,
        "ci": {k: list(v) if v is not None else None for k, v in result.ci.items()},
        "signatures": result.signatures, "counts": result.counts, "reference": None,
        "config": {"metrics": [{"name": "squad", "settings": {}}]}, "provenance": {},
        "timing": {"examples_per_s": 5.0}, "warnings": [],
    }
    rows = [{"id": f"q{i}", "prediction": p, "references": refs[i], "no_answer_score": no_answer[i],
             "scores": {k: v[i] for k, v in result.per_example.items()}} for i, p in enumerate(predictions)]
    return write_run(root, record, rows)


@pytest.fixture
def squad_runs(tmp_path):
    _squad_run(tmp_path, "a", ["Paris", "", "1066", "blue", "rose"], [0.1, 0.9, 0.2, 0.3, 0.4],
               "20260101T000000Z-00000a")
    _squad_run(tmp_path, "b", ["Lyon", "x", "1066 AD", "", ""], [0.5, 0.2, 0.1, 0.8, 0.9],
               "20260101T000000Z-00000b")
    return tmp_path


BEST = ("best_exact_match", "best_exact_match_thresh", "best_f1", "best_f1_thresh")


def test_corpus_only_values_have_no_ci_and_no_paired_test(squad_runs, cli):
    (s,) = select([squad_runs])
    assert s.corpus_only_metrics == BEST
    assert "best_f1" in s.best and "best_exact_match" in s.best  # best by value, as every score with a direction
    assert not {"best_f1_thresh", "best_exact_match_thresh"} & set(s.best)  # thresholds: never best
    c = compare_section(s, "a")
    assert not {p.metric for p in c.results} & set(BEST) and c.corpus_only == BEST
    assert {p.metric for p in c.results} == {"exact_match", "f1"}
    code, out, err = cli("compare", squad_runs, "--baseline", "a", "--format", "md")
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("| a |"))
    assert re.search(r"\| (\*\*)?-?\d+\.\d\d(\*\*)? \[-\] \|", row)
    assert out.count("one value over the whole set (agg:best-threshold)") == 1
    assert "thresholds chosen on this set, not scores; never marked best" in out
    assert "No paired test for best_exact_match, best_exact_match_thresh, best_f1, best_f1_thresh" in out
    lines = list(csv.DictReader(io.StringIO(cli("compare", squad_runs, "--format", "csv")[1])))
    best = [x for x in lines if x["metric"] in BEST]
    assert len(best) == 8 and all(x["ci_lo"] == x["ci_hi"] == "" for x in best)
    assert {x["direction"] for x in best if x["metric"].endswith("_thresh")} == {"none"}
    rows = json.loads(cli("compare", squad_runs, "--format", "json")[1])
    assert all(r["ci"]["best_f1"] == [None, None] for r in rows)
    code, out, err = cli("compare", squad_runs)
    assert code == 0, err
    assert "best_f1" in out and "agg:best-threshold" in out


def test_corpus_only_values_in_the_html_report_and_the_plot(squad_runs, tmp_path):
    sections = select([squad_runs])
    page = render_html(sections, {0: compare_section(sections[0], "a")}, section_flips(sections, "a", [], 5))
    assert "[-]" in page and "no-answer score" in page
    svg = bar_chart(sections[0], "best_f1", model_colours(sections))
    assert svg.count('<g stroke="#222"') == 0  # no CI, no whisker
    pytest.importorskip("matplotlib")
    from bench.comparison.plot import write_png

    write_png(sections, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0


def test_leaderboard_shows_every_metric_with_its_direction(squad_runs):
    update_leaderboard(squad_runs)
    md = (squad_runs / MARKDOWN).read_text()
    head = next(line for line in md.splitlines() if line.startswith("| model |"))
    assert "| exact_match ↑ |" in head and "| best_f1_thresh |" in head and "| best_f1 ↑ |" in head


# ------------------------------------------------------------------ per-sentence details in the HTML report


def test_the_drilldown_shows_the_sentences_summac_judged_unsupported(tmp_path):
    def details(scores):
        return [{"sentence": f"Sentence {i} <b>{s}</b>.", "score": s, "document_sentence": 0}
                for i, s in enumerate(scores)]

    for model, run_id, summac, per in (("a", "20260101T000000Z-00000a", [60.0, 40.0], [[70.0, 50.0], [40.0]]),
                                       ("b", "20260101T000000Z-00000b", [-20.0, 40.0], [[30.0, -70.0], [40.0]])):
        path = make_run(tmp_path, model=model, scores={"summac_zs": summac}, run_id=run_id)
        record = json.loads((path / "results.json").read_text())
        record.update(schema_version=2, config={"metrics": [{"name": "summac_zs", "settings": {}}]})
        (path / "results.json").write_text(json.dumps(record))
        lines = [json.loads(x) for x in (path / "predictions.jsonl").read_text().splitlines()]
        for line, sentences in zip(lines, per):
            line["details"] = {"summac_zs": details(sentences)}
        (path / "predictions.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    sections = select([tmp_path])
    assert sections[0].best["summac_zs"] == 50.0 and [r.model for r in sections[0].runs] == ["a", "b"]
    page = render_html(sections, None, section_flips(sections, None, [], 5))
    assert "summac_zs per summary sentence, lowest first (1 of 2 below 0" in page
    low = page.index("-70.00 unsupported")
    assert low < page.index("Sentence 0 &lt;b&gt;30.0&lt;/b&gt;.", low)  # lowest first, escaped
    assert "<b>30.0</b>" not in page
    svg = bar_chart(sections[0], "summac_zs", model_colours(sections))
    assert 'fill="#666">-20</text>' in svg  # the axis reaches below 0 (b's CI is [-20, 40])


@pytest.mark.slow
def test_a_real_summac_run_shows_its_lowest_sentences_in_the_report(in_tmp, cli):
    from conftest import skip_without_hf

    skip_without_hf()
    from tiny_metric_models import build_nli

    nli = build_nli(in_tmp / "nli")
    code, _, err = cli("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", "seed-summarization", "--metric",
                       "summac_zs", "--metric-opt", f"summac_zs.model={nli}", "--metric-opt", "summac_zs.device=cpu")
    assert code == 0, err
    (s,) = select([in_tmp / "results"], metrics=["rouge1", "summac_zs"])
    assert s.direction("summac_zs") == "higher" and "summac_zs" in s.best
    run = next(r for r in s.runs if r.model == "textrank")
    (pred,) = read_predictions(run.path).values()
    sentences = pred.details["summac_zs"]
    assert sentences and all({"sentence", "score"} <= set(d) for d in sentences)
    code, _, err = cli("compare", "--metric", "rouge1", "--metric", "summac_zs", "--baseline", "lead-3",
                       "--examples", "1", "--format", "html", "--output", "report.html")
    assert code == 0, err
    page = (in_tmp / "report.html").read_text()
    assert page.count("summac_zs per summary sentence, lowest first") == 2  # both predictions of the example
    lowest = min(sentences, key=lambda d: d["score"])
    shown = f"{lowest['score']:.2f}{' unsupported' if lowest['score'] < 0 else ''}</span> "
    assert shown in page
    unsupported = sum(d["score"] < 0 for d in sentences)
    assert f"({unsupported} of {len(sentences)} below 0" in page


def test_runs_whose_statistics_were_computed_otherwise_get_tables_and_reference_rows_of_their_own(tmp_path):
    _extractive_run(tmp_path, "a", {"rouge1": [10, 20], "coverage": [90, 100]}, {"coverage": 80.0})
    other = _extractive_run(tmp_path, "b", {"rouge1": [30, 40], "coverage": [50, 70]}, {"coverage": 60.0},
                            run_id="20260101T000000Z-000002")
    record = json.loads((other / "results.json").read_text())
    record["signatures"]["coverage"] = record["signatures"]["coverage"].replace("tok:t", "tok:u")
    record["reference"]["signatures"]["coverage"] = record["reference"]["signatures"]["coverage"].replace("tok:t",
                                                                                                          "tok:u")
    (other / "results.json").write_text(json.dumps(record))
    first, second = select([tmp_path])
    assert [[r.model for r in s.runs] for s in (first, second)] == [["b"], ["a"]]  # newest first among equals
    refs = {s.runs[0].model: s.reference.metrics["coverage"] for s in (first, second) if s.reference}
    assert refs == {"a": 80.0, "b": 60.0}  # each table its own runs' reference statistics
    assert "tok:t (first table: tok:u) in the signature of coverage" in (second.note or "")
    assert all(s.reference_note is None for s in (first, second))
