"""What `status` and `export --format json` compute: agreement, each system's results, pairwise statistics, worked
by hand on small studies whose answers the test gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from annotate_studies import synthetic_study

from bench.annotation.study_export import judgment_rows, rating_rows, status
from bench.annotation.storage import connect, open_study, save_answers
from bench.stats.bootstrap import bootstrap_ci
from bench.stats.bradley_terry import bradley_terry, wins_matrix
from bench.stats.preferences import sign_test, win_rate

#: (annotator, document, system) -> coherence rating.
RATINGS = {("ana", 0, 0): 4, ("ana", 0, 1): 2, ("ana", 1, 0): 5, ("ana", 1, 1): 3, ("ana", 2, 0): 3, ("ana", 2, 1): 1,
           ("ben", 0, 0): 5, ("ben", 0, 1): 2, ("ben", 1, 0): 4, ("ben", 1, 1): 3, ("ben", 2, 0): 3, ("ben", 2, 1): 2}


def rate(path, answer) -> None:
    """Answer every page of the study with answer(annotator name, item, page) (a dict, or None to skip)."""
    study = open_study(path)
    conn = connect(path)
    for a in study.annotators:
        for p in a.pages:
            values = answer(a.name, study.items[p.item], p)
            if values is not None:
                save_answers(conn, p.id, values)
    conn.close()


def test_agreement_and_means_worked_by_hand(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite", systems=("m0", "m1"), documents=["d0", "d1", "d2"],
                           names=("coherence",), repeat=1)
    repeated = {}

    def answer(name, item, page):
        value = RATINGS[(name, item.document, item.a)]
        if page.repeat:  # ana answers her repeated page one higher, ben the same
            repeated[name] = value
            value = value + 1 if name == "ana" and value < 5 else value
        return {"coherence": str(value)}

    rate(path, answer)
    data = status(path, n_resamples=200)
    # Krippendorff's alpha (interval), by hand: D_o = 2 * (1 + 0 + 1 + 0 + 0 + 1) / 12 values; D_e = the mean
    # squared difference of the 12 values over ordered pairs: 2 (12 * 131 - 37^2) / (12 * 11) = 406 / 132
    (agreement,) = data["agreement"]
    assert agreement["units"] == 6 and agreement["answers"] == 12
    assert agreement["alpha"] == pytest.approx(1 - 0.5 / (406 / 132), abs=1e-12)
    ana = [RATINGS[("ana", d, s)] for d in range(3) for s in range(2)]
    ben = [RATINGS[("ben", d, s)] for d in range(3) for s in range(2)]
    r = np.corrcoef(ana, ben)[0, 1]
    per = {x["annotator"]: x for x in data["annotators"]}
    assert per["ana"]["others"] == {"r": pytest.approx(r, abs=1e-12), "n": 6}
    assert per["ben"]["others"]["r"] == pytest.approx(r, abs=1e-12)
    assert per["ben"]["self"] == {"n": 1, "same": 1.0, "mean_abs_diff": 0.0}
    assert per["ana"]["self"]["n"] == 1
    assert per["ana"]["self"]["same"] == (0.0 if repeated["ana"] < 5 else 1.0)
    # each model's mean: each summary's ratings averaged first (m0: 4.5, 4.5, 3; m1: 2, 3, 1.5)
    means = {m["system"]: m for m in data["means"]}
    assert means["m0"]["mean"] == pytest.approx(4.0) and means["m1"]["mean"] == pytest.approx(6.5 / 3)
    assert means["m0"]["ci"] == pytest.approx(list(bootstrap_ci([4.5, 4.5, 3.0], n_resamples=200)))
    assert means["m0"]["n"] == 3
    assert [p["done"] for p in data["progress"]] == [7, 7] and data["notes"] == []
    # the export: one line per summary, each annotator's first rating (not the repeat)
    rows = rating_rows(open_study(path))
    assert [(r["id"], r["system"], r["ratings"]["coherence"], r["annotators"]) for r in rows] == \
        [(f"doc-{d}", f"m{s}", [RATINGS[("ana", d, s)], RATINGS[("ben", d, s)]], ["ana", "ben"])
         for d in range(3) for s in range(2)]
    assert rows[0]["document"] == "d0" and rows[0]["references"] == ["reference 0"]
    assert rows[0]["prediction"] == "Summary 0-0: word "


def test_a_page_counts_once_every_criterion_is_answered(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite", annotators=("ana",))
    rate(path, lambda name, item, page: {"coherence": "3"} if page.position <= 3 else None)
    data = status(path, n_resamples=10)
    assert data["progress"] == [{"annotator": "ana", "done": 0, "total": 18}]
    assert data["agreement"][0]["answers"] == 0 and rating_rows(open_study(path)) == []
    assert data["notes"] == ["one annotator: agreement between annotators needs two or more"]


def shown(preferred: str, page) -> str:
    """The button an annotator presses to prefer the item's system a ("a"), b ("b") or neither ("tie")."""
    if preferred == "tie":
        return "tie"
    left_is_a = not page.flipped
    return "A" if (preferred == "a") == left_is_a else "B"


def test_pairwise_statistics_worked_by_hand(tmp_path):
    # systems m0, m1, m2, every pair, three documents; both annotators answer alike
    path = synthetic_study(tmp_path / "p.sqlite", systems=("m0", "m1", "m2"), documents=["d0", "d1", "d2"],
                           names=("relevance",), pairwise=True)
    # (document, a, b) -> preferred: m0 beats m1 twice and loses once, beats m2 always; m1 vs m2: win, tie, loss
    prefer = {(0, 0, 1): "a", (1, 0, 1): "a", (2, 0, 1): "b", (0, 0, 2): "a", (1, 0, 2): "a", (2, 0, 2): "a",
              (0, 1, 2): "a", (1, 1, 2): "tie", (2, 1, 2): "b"}
    rate(path, lambda name, item, page: {"relevance": shown(prefer[(item.document, item.a, item.b)], page)})
    study = open_study(path)
    data = status(path, n_resamples=300)
    assert data["agreement"][0]["alpha"] == pytest.approx(1.0)
    outcome = {"a": 1.0, "b": 0.0, "tie": 0.5}
    rates = {r["system"]: r for r in data["win_rates"]}
    m0 = [outcome[prefer[k]] for k in prefer if k[1] == 0]
    assert rates["m0"]["rate"] == pytest.approx(5 / 6) and (rates["m0"]["wins"], rates["m0"]["losses"]) == (5, 1)
    assert rates["m0"]["ci"] == pytest.approx(list(win_rate(m0, n_resamples=300).ci))
    assert rates["m0"]["p"] == pytest.approx(sign_test(5, 1))
    assert rates["m1"]["rate"] == pytest.approx((1 + 1 + 0.5) / 6) and rates["m1"]["ties"] == 1
    assert rates["m2"]["rate"] == pytest.approx((0 + 0.5 + 1) / 6)
    pairs = {(p["a"], p["b"]): p for p in data["pairs"]}
    assert pairs[("m0", "m1")]["rate"] == pytest.approx(2 / 3) and pairs[("m1", "m2")]["ties"] == 1
    # Bradley-Terry on the judgments (two annotators, so every comparison twice)
    w = wins_matrix([(a, b, outcome[v]) for (_, a, b), v in prefer.items()] * 2, 3)
    expected = bradley_terry(w)
    strengths = {s["system"]: s for s in data["bradley_terry"]}
    assert [strengths[m]["strength"] for m in ("m0", "m1", "m2")] == pytest.approx(list(expected), abs=1e-9)
    assert all(s["ci"][0] <= s["strength"] <= s["ci"][1] for s in strengths.values())
    # position: the left button's share of non-tie answers, from the pages' recorded sides
    left = right = 0
    for a in study.annotators:
        for p in a.pages:
            it = study.items[p.item]
            v = shown(prefer[(it.document, it.a, it.b)], p)
            left, right = left + (v == "A"), right + (v == "B")
    (position,) = data["position"]
    assert (position["left_count"], position["right_count"], position["ties"]) == (left, right, 2)
    assert position["left"] == pytest.approx(left / (left + right)) and position["p"] == pytest.approx(
        sign_test(left, right))
    # the export: one line per judgment, the preference in terms of system_a and system_b, a's side recorded
    rows = judgment_rows(study)
    assert len(rows) == 18
    for row in rows:
        d = int(row["id"].split("-")[1])
        a, b = study.systems.index(row["system_a"]), study.systems.index(row["system_b"])
        assert row["preference"] == prefer[(d, a, b)] and row["position"] in ("left", "right")
        assert row["criterion"] == "relevance" and not row["repeat"]
    assert {r["position"] for r in rows} == {"left", "right"}


def test_no_bradley_terry_estimate_when_a_system_wins_everything(tmp_path):
    path = synthetic_study(tmp_path / "p.sqlite", systems=("m0", "m1"), documents=["d0", "d1"],
                           names=("relevance",), pairwise=True, annotators=("ana",))
    rate(path, lambda name, item, page: {"relevance": shown("a", page)})
    data = status(path, n_resamples=50)
    assert all(s["strength"] is None for s in data["bradley_terry"])
    assert any("no Bradley-Terry strengths" in n for n in data["notes"])
    assert {r["system"]: r["rate"] for r in data["win_rates"]} == {"m0": 1.0, "m1": 0.0}
    assert not math.isnan(data["win_rates"][0]["p"])
