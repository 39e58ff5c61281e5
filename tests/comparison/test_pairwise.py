"""`bench compare --judge`: pairwise judging in both orders against a small OpenAI-style server on 127.0.0.1
whose scripted judges each show one diagnostic doing its job (tests/helpers/pairwise_runs.py: one always prefers
the summary shown first, one the longer summary, one answers garbage); Bradley-Terry against choix, win-rate
intervals and the sign test against scipy; the cache, by counting the server's requests.

The task has six articles and three models whose summaries have 3, 6 and 10 words, so every expected number
below is worked out from the judges' rules.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import choix
import numpy as np
import pytest
import scipy.stats

from bench.stats.bootstrap import bootstrap_ci

from cache_kinds import rows
from judge_server import JudgeServer
from pairwise_runs import (TASK, first_position, garbage, garbage_on_d0, longer, make_runs, make_task, model_of,
                           mostly_longer, pair_in)

L = math.log


@pytest.fixture
def pair(in_tmp):
    tasks, task_hash = make_task(in_tmp)
    make_runs(in_tmp / "results", task_hash)
    server = JudgeServer(longer)

    class Setup:
        hash = task_hash

        @staticmethod
        def args(*extra: str, scoring: str = "first-number", criterion: str = "consistency") -> list[str]:
            return ["compare", "results", "-t", TASK, "--tasks-dir", "tasks", "--judge", "openai:judge-x",
                    "--judge-opt", f"base_url={server.url}", "--judge-opt", f"scoring={scoring}",
                    "--criterion", criterion, *extra]

        @staticmethod
        def json(cli, *extra: str, **kw) -> dict:
            code, out, err = cli(*Setup.args("--format", "json", *extra, **kw))
            assert code == 0, err
            return json.loads(out)

    Setup.server = server
    yield Setup
    server.close()


def pair_root() -> Path:
    """The test's working directory (`in_tmp`)."""
    return Path.cwd()


def pair_cache() -> Path:
    """The results directory's metric cache, where the judge's replies are kept."""
    return pair_root() / "results" / ".cache" / "metrics"


def by_pair(data: dict, source: str = "judge") -> dict:
    return {(r["model"], r["opponent"]): r for r in data["pairwise"] if r["source"] == source}


# ------------------------------------------------------------------ each judge's diagnostic


def test_a_judge_that_always_prefers_the_first_position_is_seen_at_once(pair, cli):
    pair.server.reply = first_position
    data = pair.json(cli)
    d = data["judge"]["consistency"]
    # every pair gets A in both orders: the two verdicts never agree, every pair is a tie
    assert d["position_consistency"] == 0.0 and d["consistency_n"] == 18
    assert d["first_position_share"] == 1.0 and (d["first_position_wins"], d["second_position_wins"]) == (36, 0)
    assert d["first_position_p"] == pytest.approx(scipy.stats.binomtest(36, 36, 0.5).pvalue, rel=1e-9)
    assert all(v["outcome"] == 0.5 and v["consistent"] is False for v in data["verdicts"])
    assert all(r["ties"] == r["n"] == 6 and r["win_rate"] == 0.5 and r["p"] == 1.0 for r in data["pairwise"])
    assert all(abs(r["strength"]) < 1e-9 for r in data["bradley_terry"])
    code, out, err = cli(*pair.args())
    assert code == 0, err
    assert "position consistency 0.000" in out and "first position won 1.000 of 36 decisive verdicts" in out


def test_a_judge_that_prefers_the_longer_summary_shows_it_beside_each_win_rate(pair, cli):
    pair.server.reply = longer
    data = pair.json(cli)
    d = data["judge"]["consistency"]
    assert d["position_consistency"] == 1.0 and d["first_position_share"] == 0.5 and d["first_position_p"] == 1.0
    assert d["longer_share"] == 1.0 and d["longer_n"] == 36
    rows_ = by_pair(data)
    assert rows_[("long", "short")] | {"ci": None} == {
        "criterion": "consistency", "model": "long", "opponent": "short", "n": 6, "wins": 6, "losses": 0, "ties": 0,
        "win_rate": 1.0, "ci": None, "p": pytest.approx(scipy.stats.binomtest(6, 6).pvalue), "longer_share": 1.0,
        "length_diff": 7.0, "source": "judge"}
    assert rows_[("short", "long")]["win_rate"] == 0.0 and rows_[("short", "long")]["length_diff"] == -7.0
    assert rows_[("medium", "short")]["length_diff"] == 3.0
    # a model that wins every comparison has no maximum-likelihood strength: none is made up
    bt = data["bradley_terry"]
    assert [r["model"] for r in bt] == ["long", "medium", "short"] and [r["win_rate"] for r in bt] == [1.0, 0.5, 0.0]
    assert all(r["strength"] is None for r in bt)
    assert any("no Bradley-Terry strengths" in n for n in data["notes"])


def test_garbage_replies_are_counted_never_guessed(pair, cli):
    pair.server.reply = garbage_on_d0  # no verdict when the medium summary is shown first on d0
    data = pair.json(cli)
    d = data["judge"]["consistency"]
    assert (d["pairs"], d["judged"], d["unjudged"]) == (18, 16, 2)
    assert data["counts"]["unparsable"] == 2 and data["counts"]["replies"] == 36
    unjudged = {(v["model"], v["opponent"], v["id"]) for v in data["verdicts"] if v["outcome"] is None}
    assert unjudged == {("long", "medium", "d0"), ("medium", "short", "d0")}
    rows_ = by_pair(data)
    assert rows_[("long", "medium")]["n"] == 5 and rows_[("long", "short")]["n"] == 6
    assert any("2 of 36 replies name no better summary" in n and "2 of 18 pairs" in n for n in data["notes"])
    # a judge that never names a summary is an error, not a table of ties
    pair.server.reply = garbage
    code, out, err = cli(*pair.args("--format", "json", criterion="relevance"))
    assert code == 3 and out == "" and "Traceback" not in err
    assert "no reply of the judge names a better summary (A, B, or C for a tie) on relevance" in err
    assert "I would rather not say" in err


# ------------------------------------------------------------------ the numbers, against choix and scipy


def test_strengths_are_choixs_and_win_rates_and_sign_tests_scipys(pair, cli):
    pair.server.reply = mostly_longer  # the longer summary, except on d0 and d1: 4 wins to 2 in every pair
    data = pair.json(cli)
    models = data["models"]
    comparisons = []
    for v in data["verdicts"]:
        winner, loser = (v["model"], v["opponent"]) if v["outcome"] == 1.0 else (v["opponent"], v["model"])
        assert v["outcome"] in (0.0, 1.0) and v["consistent"]
        comparisons.append((models.index(winner), models.index(loser)))
    expected = choix.opt_pairwise(len(models), comparisons, alpha=0.0, tol=1e-12)
    expected -= expected.mean()
    got = {r["model"]: r["strength"] for r in data["bradley_terry"]}
    np.testing.assert_allclose([got[m] for m in models], expected, atol=1e-6)
    assert got["long"] > 0 > got["short"]
    for r in data["pairwise"]:
        outcomes = [v["outcome"] if v["model"] == r["model"] else 1 - v["outcome"] for v in data["verdicts"]
                    if {v["model"], v["opponent"]} == {r["model"], r["opponent"]}]
        assert r["win_rate"] == pytest.approx(np.mean(outcomes))
        assert r["p"] == pytest.approx(scipy.stats.binomtest(r["wins"], r["wins"] + r["losses"]).pvalue, rel=1e-9)
        assert r["ci"] == list(bootstrap_ci(outcomes))  # bench's one bootstrap, over examples
        theirs = scipy.stats.bootstrap((np.array(outcomes),), np.mean, method="percentile", n_resamples=1000,
                                       random_state=0).confidence_interval
        # another draw of the same percentile interval: apart by one example's share at most
        assert abs(r["ci"][0] - theirs.low) <= 1 / 6 + 1e-9 and abs(r["ci"][1] - theirs.high) <= 1 / 6 + 1e-9


def test_weighted_verdicts_are_the_judges_probabilities_over_both_orders(pair, cli):
    def weighted(prompt, body):
        a, b = pair_in(prompt)
        if model_of(a) == "long":
            return "A", [("A", [("A", L(.7)), ("B", L(.2)), ("C", L(.1))])]
        if model_of(b) == "long":  # " A" writes A too; "x" writes no verdict (renormalised away)
            return "B", [("B", [("B", L(.6)), (" A", L(.3)), ("tie", L(.05)), ("x", L(.05))])]
        return "C", [("C", [("C", L(.5)), ("A", L(.25)), ("B", L(.25))])]

    pair.server.reply = weighted
    data = pair.json(cli, scoring="weighted")
    expected = ((.7 + .1 / 2) + (.6 + .05 / 2) / .95) / 2
    rows_ = by_pair(data)
    for opponent in ("medium", "short"):
        r = rows_[("long", opponent)]
        assert r["win_rate"] == pytest.approx(expected) and (r["wins"], r["losses"], r["ties"]) == (6, 0, 0)
    assert rows_[("medium", "short")]["win_rate"] == 0.5 and rows_[("medium", "short")]["ties"] == 6
    v = next(v for v in data["verdicts"] if (v["model"], v["opponent"]) == ("long", "short"))
    assert v["orders"][1]["p"] == pytest.approx({"A": .3 / .95, "B": .6 / .95, "tie": .05 / .95})
    assert "|scoring:weighted|" in data["signatures"]["consistency"]
    assert not any("log-probabilities" in n for n in data["notes"])


# ------------------------------------------------------------------ the cache


def test_a_rerun_or_an_added_model_asks_only_for_new_pairs(pair, cli):
    first = pair.json(cli)
    assert len(pair.server.requests) == 3 * 6 * 2  # three pairs, six examples, both orders
    assert len(rows(pair_cache(), "judge")) == 36 and (first["counts"]["asked"], first["counts"]["cached"]) == (36, 0)
    again = pair.json(cli)
    assert len(pair.server.requests) == 36 and (again["counts"]["asked"], again["counts"]["cached"]) == (0, 36)
    assert {**again, "counts": None} == {**first, "counts": None}
    make_runs(pair_root() / "results", pair.hash, models=("extra",), run_id="20260102T000000Z-000001")
    more = pair.json(cli)
    assert len(pair.server.requests) == 36 + 3 * 6 * 2  # extra against each of the three
    assert {m for r in more["bradley_terry"] for m in [r["model"]]} == {"extra", "long", "medium", "short"}
    # --baseline: each model against the baseline only, all of it cached already
    based = pair.json(cli, "--baseline", "medium")
    assert len(pair.server.requests) == 72
    assert {(r["model"], r["opponent"]) for r in based["pairwise"]} == {
        (a, b) for m in ("extra", "long", "short") for a, b in (("medium", m), (m, "medium"))}


def test_an_interrupted_judging_resumes_paying_only_for_the_rest(pair, cli):
    pair.server.refuse_after = 10
    code, out, err = cli(*pair.args("--judge-opt", "concurrency=1"))
    assert code == 3 and "quota exceeded" in err and "Traceback" not in err and out == ""
    assert len(pair.server.requests) == 11 and len(rows(pair_cache(), "judge")) == 10
    pair.server.refuse_after = None
    data = pair.json(cli, "--judge-opt", "concurrency=1")
    assert len(pair.server.requests) == 11 + 26 and data["counts"]["replies"] == 36
    assert by_pair(data)[("long", "short")]["win_rate"] == 1.0


# ------------------------------------------------------------------ formats


def test_every_format_shows_the_ranked_table(pair, cli):
    pair.server.reply = mostly_longer
    code, out, err = cli(*pair.args("--format", "md"))
    assert code == 0, err
    assert "## pair-news: pairwise preferences of judge openai:judge-x on consistency" in out
    lines = out.splitlines()
    at = lines.index("| model | strength | 95% CI | win rate | n |")
    assert [line.split(" | ")[0] for line in lines[at + 2:at + 5]] == ["| long", "| medium", "| short"]
    assert "| long | medium | 6 | 4/2/0 | 0.667 |" in out
    code, out, err = cli(*pair.args("--format", "csv"))
    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(out)))
    bt = [r for r in lines if r["kind"] == "bradley_terry"]
    assert [r["model"] for r in bt] == ["long", "medium", "short"] and len(lines) == 3 + 3
    assert bt[0]["metric"] == "bradley_terry:consistency" and bt[0]["signature"].startswith("pairwise_consistency|")
    assert float(bt[0]["value"]) > 0 and bt[0]["run"] == "20260101T000000Z-000003"
    code, out, err = cli(*pair.args("--format", "latex"))
    assert code == 0, err
    assert out.count(r"\begin{table}") == 2 and "Model & Strength & 95\\% CI & Win rate" in out
    code, out, err = cli(*pair.args())
    assert code == 0, err
    assert "pair-news: pairwise preferences of judge openai:judge-x on consistency" in out


def test_the_html_report_shows_where_the_judge_and_rouge_disagree_most(pair, cli):
    pair.server.reply = lambda prompt, body: longer(prompt, body) + " <script>window.x = 1</script>"
    code, out, err = cli(*pair.args("--format", "html", "--examples", "2"))
    assert code == 0, err
    section = out[out.index('<section id="pairwise">'):]
    assert "<h3>Where the judge and rouge1 disagree most</h3>" in section
    heads = [part.split("</div>")[0] for part in section.split('<div class="head">')[1:]]
    # long beats short by the judge on every example; rouge1 prefers short by 50 on d0 and 40 on d1
    assert heads == ["d0 (consistency): the judge prefers long over short; rouge1 10.00 (long) vs 60.00 (short)",
                     "d1 (consistency): the judge prefers long over short; rouge1 15.00 (long) vs 55.00 (short)"]
    assert "<script>window" not in out and "&lt;script&gt;window.x = 1&lt;/script&gt;" in out
    assert out.rstrip().endswith("</section></body></html>")


# ------------------------------------------------------------------ refusals


def test_a_prompt_of_ones_own_needs_both_summaries(pair, cli):
    pair.server.reply = first_position
    code, out, err = cli(*pair.args("--judge-opt", "prompt=Which is better? {summary_a} {document}"))
    assert code == 2 and "the prompt has no {summary_b} placeholder" in err and not pair.server.requests
    code, out, err = cli(*pair.args("--judge-opt", "prompt=Is A ({summary_a}) or B ({summary_b}) better? A, B or C.",
                                    "--format", "json"))
    assert code == 2 and "the prompt has no {document} placeholder; consistency is judged against the article" in err
    code, out, err = cli(*pair.args("--judge-opt", "prompt=A: {summary_a} B: {summary_b}. A, B or C?", "--format",
                                    "json", criterion="fluency"))
    assert code == 0, err
    assert json.loads(out)["signatures"]["fluency"] != pair.json(cli, criterion="fluency")["signatures"]["fluency"]


def test_runs_of_another_version_of_the_task_are_refused(pair, cli):
    make_runs(pair_root() / "results", "0" * 64, models=("extra",), run_id="20260102T000000Z-000001")
    code, out, err = cli(*pair.args())
    assert code == 2 and "the runs of 'extra' were made on another version of task 'pair-news'" in err
    assert "leave it out (--model)" in err
    code, out, err = cli(*pair.args("-m", "long", "-m", "short", "--format", "json"))
    assert code == 0, err
    assert json.loads(out)["models"] == ["long", "short"]


@pytest.mark.slow
def test_a_real_latex_compiles_the_strength_tables(pair, cli):
    import os
    import shutil
    import subprocess

    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex is missing: .ci/run installs texlive-latex-base and texlive-latex-recommended")
        pytest.skip("needs pdflatex (apt-get install texlive-latex-base texlive-latex-recommended)")
    pair.server.reply = mostly_longer
    code, out, err = cli(*pair.args("--format", "latex", "-o", "tables.tex"))
    assert code == 0, err
    root = pair_root()
    (root / "doc.tex").write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                                  "\\input{tables.tex}\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run([pdflatex, "-halt-on-error", "-interaction=nonstopmode", "-no-shell-escape", "doc.tex"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    log = (root / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "Undefined control sequence" not in log and "Font Warning" not in log
