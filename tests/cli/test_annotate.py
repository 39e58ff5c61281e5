"""`bench annotate new | status | export` on real runs, and `bench correlate` on what comes out."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from annotate_studies import DATA, SYSTEMS, TASK, make_runs
from conftest import REPO

from bench.annotation.storage import connect, open_study, save_answers, summary
from bench.tasks.examples import select_indices


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return make_runs(tmp_path_factory.mktemp("runs") / "results")


@pytest.fixture
def results(runs, in_tmp) -> Path:
    shutil.copytree(runs, in_tmp / "results")
    return in_tmp / "results"


def new(cli, *args: str) -> tuple[int, str, str]:
    return cli("annotate", "new", *args, "--tasks-dir", str(DATA))


def rate_by_length(path: Path) -> dict[tuple[str, str, str], int]:
    """Every page answered: coherence from the summary's length in words, fluency 3 for ana and 2 for ben.
    Returns (annotator, example id, system) -> coherence of the first showing."""
    study = open_study(path)
    conn = connect(path)
    given = {}
    for a in study.annotators:
        for p in a.pages:
            it = study.items[p.item]
            words = len(summary(conn, it.document, it.a).split())
            value = min(5, 1 + words // 8)
            save_answers(conn, p.id, {"coherence": str(value), "fluency": "3" if a.name == "ana" else "2"})
            if not p.repeat:
                given[(a.name, study.documents[it.document], study.systems[it.a])] = value
    conn.close()
    return given


def test_new_status_export_and_correlate(results, cli):
    code, out, err = new(cli, "pilot", "results", "--task", TASK, "--criterion", "coherence", "--criterion",
                         "fluency", "--sample", "4", "--seed", "1", "--annotator", "ana", "--annotator", "ben",
                         "--repeat", "1")
    assert code == 0, err
    study_file = results / ".annotations" / "pilot.sqlite"
    assert "made results/.annotations/pilot.sqlite: 4 documents x 3 models" in out
    assert "12 summaries to rate on coherence, fluency" in out and "ana  13 pages" in out
    assert "next: bench annotate serve pilot" in out
    study = open_study(study_file)
    ids = [json.loads(line)["id"] for line in (DATA / "annotate_news.jsonl").read_text().splitlines()]
    assert list(study.documents) == [ids[i] for i in select_indices(len(ids), sample=4, seed=1)]
    assert study.systems == tuple(sorted(SYSTEMS))
    code, out, err = cli("annotate", "status", "pilot")
    assert code == 0 and re.search(r"│ ana\s+│\s+0 │\s+13 │\s+0 │", out) and "alpha" in out
    given = rate_by_length(study_file)
    code, out, err = cli("annotate", "status", "pilot", "--resamples", "50")
    assert code == 0, err
    assert re.search(r"│ ana\s+│\s+13 │\s+13 │\s+100 │", out) and "mean rating per model" in out
    code, out, err = cli("annotate", "status", "pilot", "--resamples", "50", "--format", "json")
    data = json.loads(out)
    assert data["agreement"][0]["alpha"] == 1.0 and data["runs"].keys() == set(SYSTEMS)
    # export: the ratings layout of bench correlate, each annotator's first answer
    code, out, err = cli("annotate", "export", "pilot", "--output", "ratings.jsonl")
    assert code == 0 and "wrote 12 lines to ratings.jsonl" in err
    rows = [json.loads(line) for line in Path("ratings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(r["id"], r["system"]): r["ratings"]["coherence"] for r in rows} == \
        {(i, s): [given[("ana", i, s)], given[("ben", i, s)]] for (_, i, s) in given}
    assert all(r["ratings"]["fluency"] == [3, 2] and r["annotators"] == ["ana", "ben"] for r in rows)
    # bench correlate: the study itself, its export, and the runs with either give the same numbers
    args = ["--metric", "extractiveness", "--resamples", "50", "-f", "json"]
    outputs = {}
    for name, argv in {"study": ["results/.annotations/pilot.sqlite"], "file": ["ratings.jsonl"],
                       "runs+study": ["results", "--ratings", "pilot"],
                       "runs+file": ["results", "--ratings", "ratings.jsonl"]}.items():
        code, out, err = cli("correlate", *argv, *args)
        assert code == 0, (name, err)
        outputs[name] = json.loads(out)
    rows_of = {k: v["rows"] for k, v in outputs.items()}
    assert rows_of["study"] == rows_of["file"] == rows_of["runs+study"] == rows_of["runs+file"]
    assert outputs["study"]["layout"] == "study" and outputs["runs+study"]["layout"] == "runs"
    length = {(r["criterion"], r["level"]): r for r in rows_of["study"] if r["metric"] == "summary_length"}
    assert length[("coherence", "summary")]["kendall"] > 0.8  # ratings from the length agree with the length
    # fluency: ana always 3, ben always 2: D_o = 1, D_e = 2 (24 (12 * 9 + 12 * 4) - 60^2) / (24 * 23)
    agreement = {a["criterion"]: a for a in outputs["study"]["agreement"]}
    assert agreement["coherence"]["alpha"] == 1.0 and agreement["coherence"]["units"] == 12
    assert agreement["fluency"]["alpha"] == pytest.approx(1 - 1 / (288 / 552), abs=1e-12)


def test_a_study_says_which_task_its_ratings_go_with(results, cli):
    assert cli("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", "seed-headline", "-o", "results")[0] == 0
    assert new(cli, "pilot", "results", "--task", TASK, "--criterion", "coherence", "--criterion", "fluency",
               "--sample", "4", "--seed", "1", "--annotator", "ana", "--annotator", "ben")[0] == 0
    rate_by_length(results / ".annotations" / "pilot.sqlite")
    assert cli("annotate", "export", "pilot", "--output", "ratings.jsonl")[0] == 0
    args = ["--metric", "extractiveness", "--resamples", "20", "-f", "json"]
    code, out, err = cli("correlate", "results", "--ratings", "ratings.jsonl", *args)
    assert code == 2 and f"the runs are of 2 tasks ({TASK}, seed-headline)" in err and f"-t {TASK}" in err
    code, by_task, err = cli("correlate", "results", "--ratings", "ratings.jsonl", "-t", TASK, *args)
    assert code == 0, err
    code, by_study, err = cli("correlate", "results", "--ratings", "pilot", *args)  # the study's own task
    assert code == 0, err
    assert json.loads(by_task)["rows"] == json.loads(by_study)["rows"]


def test_export_json_and_stdout(results, cli):
    assert new(cli, "s", "results", "-t", TASK, "--criterion", "relevance", "-a", "ana", "-a", "ben",
               "--pairwise", "--baseline", "lead-3")[0] == 0
    study = open_study(results / ".annotations" / "s.sqlite")
    assert {(study.systems[i.a], study.systems[i.b]) for i in study.items} == {("lead-3", "first-sentence"),
                                                                               ("lead-3", "textrank")}
    conn = connect(study.path)
    for a in study.annotators:
        for p in a.pages[:4]:
            save_answers(conn, p.id, {"relevance": "A"})
    conn.close()
    code, out, err = cli("annotate", "export", "s")
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 8 and set(lines[0]) == {"id", "system_a", "system_b", "position", "criterion", "preference",
                                                 "annotator", "repeat"}
    assert all(r["preference"] == ("a" if r["position"] == "left" else "b") for r in lines)  # "A" is the left one
    code, out, err = cli("annotate", "export", "s", "-f", "json", "--resamples", "20")
    data = json.loads(out)
    assert len(data["judgments"]) == 8 and {"win_rates", "bradley_terry", "position", "pairs"} <= set(data)
    code, out, err = cli("annotate", "status", "s", "--resamples", "20")
    assert code == 0 and "Bradley-Terry" in out and "left position chosen in 1.000 of 8" in out
    code, out, err = cli("correlate", "results", "--ratings", "s")
    assert code == 2 and "a pairwise study holds preferences between summaries, not ratings" in err


@pytest.mark.parametrize("args, expected", [
    (["--criterion", "coherance", "-a", "ana"], "unknown criterion 'coherance'. Did you mean 'coherence'?"),
    (["-a", "ana"], "name what the annotators rate"),
    (["--criterion", "coherence"], "a study needs annotators"),
    (["--criterion", "coherence", "-a", "ana", "-a", "ana"], "annotator 'ana' is named twice"),
    (["--criterion", "coherence", "-a", "ana", "--overlap", "2"], "--overlap must be from 1 to the number of "
     "annotators (1), got 2"),
    (["--criterion", "coherence", "-a", "ana", "--baseline", "lead-3"], "--baseline applies to pairwise studies"),
    (["--criterion", "coherence", "-a", "ana", "--pairwise", "--baseline", "lead3"],
     "--baseline 'lead3' has no run of task 'annotate-news'. Did you mean 'lead-3'?"),
    (["--criterion", "coherence", "-a", "ana", "--sample", "0"], "--sample must be at least 1, got 0"),
    (["--criterion", "coherence", "-a", "ana", "--repeat", "-1"], "--repeat must be 0 or more"),
    (["--criterion", "coherence", "-a", "ana", "--criteria", "missing.yaml"], "missing.yaml: criteria file not found"),
])
def test_new_refuses_a_study_that_cannot_work(results, cli, args, expected):
    code, out, err = new(cli, "s", "results", "-t", TASK, *args)
    assert code == 2 and expected in err and "Traceback" not in err, err
    assert not (results / ".annotations").exists()


def test_new_refuses_what_is_not_there(results, cli):
    code, out, err = new(cli, "s", "results", "-t", "seed-summarization", "--criterion", "coherence", "-a", "ana")
    assert code == 2 and "no run of task 'seed-summarization' under results" in err and "annotate-news" in err
    code, out, err = new(cli, "s", "results", "-t", "seed-qa", "--criterion", "coherence", "-a", "ana")
    assert code == 2 and "task 'seed-qa' is a qa task; annotation studies rate summaries" in err
    assert new(cli, "s", "results", "-t", TASK, "--criterion", "coherence", "-a", "ana")[0] == 0
    code, out, err = new(cli, "s", "results", "-t", TASK, "--criterion", "coherence", "-a", "ana")
    assert code == 2 and "a study of that name exists" in err
    code, out, err = cli("annotate", "status", "nope")
    assert code == 2 and "results/.annotations/nope.sqlite: no such study" in err
    Path("notes.txt").write_text("x", encoding="utf-8")
    code, out, err = cli("annotate", "export", "notes.txt/s.sqlite")
    assert code == 2


def test_new_refuses_runs_of_another_version_of_the_task(results, cli, tmp_path):
    tasks = tmp_path / "tasks"
    shutil.copytree(DATA, tasks)
    with (tasks / "annotate_news.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "a7", "document": "One more. Article.", "references": ["More."]}) + "\n")
    code, out, err = cli("annotate", "new", "s", "results", "-t", TASK, "--tasks-dir", str(tasks), "--criterion",
                         "coherence", "-a", "ana")
    assert code == 2 and "was made on another version of task 'annotate-news'" in err


def test_a_model_run_again_after_the_study_is_refused_by_correlate(results, cli):
    assert new(cli, "s", "results", "-t", TASK, "--criterion", "coherence", "-a", "ana")[0] == 0
    rate_by_length(results / ".annotations" / "s.sqlite")
    from bench.api import run

    run(models=["annotate_models:FirstSentence"], tasks=[str(DATA / "annotate-news.yaml")], output_dir="results",
        model_options={}, limit=None)
    code, out, err = cli("correlate", "results", "--ratings", "s")
    assert code == 0, err  # the same predictions: the rerun changed nothing
    latest = max((results / TASK / "first-sentence").iterdir())
    preds = (latest / "predictions.jsonl").read_text(encoding="utf-8").replace("The city council met", "A council met")
    (latest / "predictions.jsonl").write_text(preds, encoding="utf-8")
    code, out, err = cli("correlate", "results", "--ratings", "s")
    assert code == 2 and "the study rated another summary of 'a1' by 'first-sentence' than its latest run holds" in err


def test_serve_without_the_annotate_extra_says_how_to_get_it(results, cli, in_tmp):
    assert new(cli, "s", "results", "-t", TASK, "--criterion", "coherence", "-a", "ana")[0] == 0
    code = ("import sys; sys.modules['uvicorn'] = None\n"
            "from bench.cli.app import main\nmain(['annotate', 'serve', 's', '--port', '0'])")
    proc = subprocess.run([sys.executable, "-c", code], cwd=in_tmp, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "`bench annotate serve` needs uvicorn, which is not installed" in proc.stderr
    assert "pip install 'bench[annotate]'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_annotate_extra_is_declared():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    names = {d.split(">")[0].split("=")[0] for d in extras["annotate"]}
    assert names == {"starlette", "uvicorn", "jinja2"}
    assert names | {"selenium", "choix"} <= {d.split(">")[0].split("=")[0] for d in extras["test"]}
    assert not names & {d.split(">")[0].split("=")[0].split(";")[0] for d in project["dependencies"]}


def test_new_status_and_export_import_neither_the_web_stack_nor_torch(results, cli, in_tmp):
    assert new(cli, "s", "results", "-t", TASK, "--criterion", "coherence", "-a", "ana")[0] == 0
    for args in (["annotate", "status", "s"], ["annotate", "export", "s"]):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "bench", *args], cwd=in_tmp,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        names = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in proc.stderr.splitlines()
                 if line.startswith("import time:") and "|" in line}
        assert "bench" in names and not names & {"starlette", "uvicorn", "jinja2", "torch", "transformers"}
