"""`bench compare --human`: annotators' pairwise judgments (`bench annotate export` of a pairwise study) read by
the same aggregation as the judge's, and the judge's agreement with them (MT-Bench's table), worked out by hand.

Two annotators judge every pair of the three models of tests/helpers/pairwise_runs.py on the six articles: ana
always prefers the longer summary; ben does on d0-d3, prefers the shorter on d4 and calls d5 a tie. The judge
prefers the longer summary everywhere.
"""

from __future__ import annotations

import json

import pytest

from judge_server import JudgeServer
from pairwise_runs import DOCS, TASK, longer, make_runs, make_task

PAIRS = [("long", "medium"), ("long", "short"), ("medium", "short")]


def export_lines() -> list[dict]:
    lines = []
    for k, d in enumerate(DOCS):
        for a, b in PAIRS:  # a is the longer summary
            for annotator in ("ana", "ben"):
                preference = "a" if annotator == "ana" or k < 4 else "b" if k == 4 else "tie"
                lines.append({"id": d, "system_a": a, "system_b": b, "position": "left" if k % 2 == 0 else "right",
                              "criterion": "consistency", "preference": preference, "annotator": annotator,
                              "repeat": False})
    # repeated pages, shown the other way round: ana answers as the first time, ben does not
    lines.append({"id": "d0", "system_a": "long", "system_b": "short", "position": "right", "criterion": "consistency",
                  "preference": "a", "annotator": "ana", "repeat": True})
    lines.append({"id": "d1", "system_a": "long", "system_b": "medium", "position": "left", "criterion": "consistency",
                  "preference": "b", "annotator": "ben", "repeat": True})
    return lines


@pytest.fixture
def study(in_tmp):
    tasks, task_hash = make_task(in_tmp)
    make_runs(in_tmp / "results", task_hash)
    (in_tmp / "prefs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in export_lines()), encoding="utf-8")
    return in_tmp


def test_human_judgments_alone_give_win_rates_strengths_and_position_diagnostics(study, cli):
    code, out, err = cli("compare", "results", "-t", TASK, "--human", "prefs.jsonl", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["judge"] is None and data["agreement"] is None and data["verdicts"] == []
    rows = {(r["model"], r["opponent"]): r for r in data["pairwise"]}
    assert all(r["source"] == "human" for r in data["pairwise"] + data["bradley_terry"])
    # each item is its annotators' mean: d4 split (0.5), d5 one for long and one tie (0.75)
    r = rows[("long", "short")]
    assert r["win_rate"] == pytest.approx((4 + 0.5 + 0.75) / 6) and (r["wins"], r["losses"], r["ties"]) == (5, 0, 1)
    assert rows[("short", "long")]["win_rate"] == pytest.approx(1 - r["win_rate"])
    assert rows[("long", "short")]["length_diff"] == 7.0
    assert [b["model"] for b in data["bradley_terry"]] == ["long", "medium", "short"]
    d = data["human"]["consistency"]
    answers = export_lines()
    left = sum((x["preference"] == "a") == (x["position"] == "left") for x in answers if x["preference"] != "tie")
    decisive = sum(x["preference"] != "tie" for x in answers)
    assert d["first_position_wins"] == left and d["first_position_share"] == pytest.approx(left / decisive)
    assert d["position_consistency"] == 0.5 and d["consistency_n"] == 2  # ana's repeat agrees, ben's does not
    # every answer, repeats too: system_a is the longer summary
    assert d["longer_share"] == pytest.approx(sum(x["preference"] == "a" for x in answers) / decisive)
    assert data["human"]["source"] == "prefs.jsonl"
    code, out, err = cli("compare", "results", "-t", TASK, "--human", "prefs.jsonl")
    assert code == 0, err
    assert "pairwise preferences of annotators (prefs.jsonl) on consistency" in out
    assert "repeated pages (shown the other way round)" in out


def test_the_judges_agreement_with_each_annotator_their_majority_and_each_other(study, cli):
    server = JudgeServer(longer)
    try:
        code, out, err = cli("compare", "results", "-t", TASK, "--tasks-dir", "tasks", "--human", "prefs.jsonl",
                             "--judge", "openai:judge-x", "--judge-opt", f"base_url={server.url}", "--judge-opt",
                             "scoring=first-number", "--format", "json")  # --criterion: the annotators'
    finally:
        server.close()
    assert code == 0, err
    data = json.loads(out)
    assert {r["source"] for r in data["pairwise"]} == {"judge", "human"} and set(data["judge"]) == {"model",
                                                                                                   "consistency"}
    (row,) = data["agreement"]
    assert row["criterion"] == "consistency" and row["items"] == 18
    # ana agrees on all 18 pairs, ben on d0-d3 (12); ben's 3 ties are left out without ties
    assert row["judge_human"] == {"n": 36, "agreement": pytest.approx(30 / 36), "n_without_ties": 33,
                                  "agreement_without_ties": pytest.approx(30 / 33)}
    # d4 and d5 have no majority (one each way; one for long and one tie)
    assert row["judge_majority"] == {"n": 12, "agreement": 1.0, "n_without_ties": 12, "agreement_without_ties": 1.0,
                                     "split": 6}
    assert row["human_human"] == {"n": 18, "agreement": pytest.approx(12 / 18), "n_without_ties": 15,
                                  "agreement_without_ties": pytest.approx(12 / 15)}


def test_judgments_of_models_or_examples_not_compared_are_refused_with_their_line(study, cli):
    lines = export_lines()
    lines[3] = {**lines[3], "system_b": "shrot"}
    lines[5] = {**lines[5], "id": "d9"}
    (study / "bad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    code, out, err = cli("compare", "results", "-t", TASK, "--human", "bad.jsonl")
    assert code == 2 and "Traceback" not in err
    assert "bad.jsonl:4: model 'shrot' has no run in the selection. Did you mean 'short'?" in err
    assert "bad.jsonl:6: example 'd9' is not among the predictions of the run of 'medium'" in err
    assert "2 problems found" in err
    code, out, err = cli("compare", "results", "-t", TASK, "--human", "prefs.jsonl", "--criterion", "relevance")
    assert code == 2 and "no human judgment on criterion 'relevance'" in err
    assert "criteria judged there: consistency" in err


def test_the_study_itself_reads_as_its_export(in_tmp, cli):
    from annotate_studies import synthetic_study
    from hand_made_runs import make_run

    from bench.annotation.storage import connect, open_study, save_answers
    from bench.annotation.study_export import export_text

    systems = ("sys-alpha", "sys-beta", "sys-gamma")
    for k, s in enumerate(systems):
        make_run(in_tmp / "results", model=s, task="synthetic", run_id=f"20260101T000000Z-00000{k + 1}",
                 scores={"rouge1": [10.0 * k] * 6}, ids=[f"doc-{d}" for d in range(6)],
                 predictions=[f"Summary {d}-{k}: " + "word " * (k + 1) for d in range(6)])
    path = synthetic_study(in_tmp / "duel.sqlite", systems=systems, names=("coherence",), pairwise=True, repeat=2)
    study = open_study(path)
    conn = connect(path)
    for a in study.annotators:  # ana prefers the summary on the left, ben always calls a tie
        for p in a.pages:
            save_answers(conn, p.id, {"coherence": "A" if a.name == "ana" else "tie"})
    conn.close()
    text, n = export_text(path)
    (in_tmp / "duel.jsonl").write_text(text, encoding="utf-8")
    results = {}
    for source in ("duel.sqlite", "duel.jsonl"):
        code, out, err = cli("compare", "results", "-t", "synthetic", "--human", source, "--format", "json")
        assert code == 0, err
        results[source] = json.loads(out)
    a, b = results["duel.sqlite"], results["duel.jsonl"]
    assert a["human"].pop("source") == "duel.sqlite" and b["human"].pop("source") == "duel.jsonl"
    assert a["pairwise"] == b["pairwise"] and a["bradley_terry"] == b["bradley_terry"] and a["human"] == b["human"]
    d = a["human"]["coherence"]
    # ana's decisive answers all went to the left summary; her repeats (shown the other way) disagree with her
    # first answers, ben's ties agree with his
    assert d["first_position_share"] == 1.0 and d["first_position_wins"] == n // 2
    assert d["consistency_n"] == 4 and d["position_consistency"] == 0.5


def test_strengths_are_over_the_models_the_annotators_compared(study, cli):
    lines = [x for x in export_lines() if x["system_b"] != "short" and x["system_a"] != "short"]
    (study / "two.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    code, out, err = cli("compare", "results", "-t", TASK, "--human", "two.jsonl", "--format", "json")
    assert code == 0, err
    bt = {r["model"]: r["strength"] for r in json.loads(out)["bradley_terry"]}
    assert set(bt) == {"long", "medium"}  # short has a run, and no judgment: out of the model
    assert bt["long"] == pytest.approx(-bt["medium"]) and bt["long"] > 0
