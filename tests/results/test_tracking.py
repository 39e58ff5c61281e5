"""`--log mlflow`: runs logged to a real MLflow tracking server started on 127.0.0.1 (SQLite backend store, a
temporary artifact root), read back with MlflowClient; a second --log of a run does not duplicate it; a server
stopped mid-run is one warning and the run is written all the same.

The server takes tens of seconds to start, so one is started for the module (and again only if a test stopped
it); those tests are slow. The tests of bad options and of a missing client need no server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import HELPERS

from bench.results.tracking import epoch_ms, parse_log_options, run_metrics

pytest.importorskip("mlflow", reason="the tracker tests need mlflow (the test extra)")


class Server:
    """An MLflow tracking server of the test's own, on a free port of 127.0.0.1; started when first asked for."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def uri(self) -> str:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        return f"http://127.0.0.1:{self.port}"

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/health"

    def start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        mlflow = Path(sys.executable).parent / "mlflow"
        log = (self.root / f"server-{self.port}.log").open("w")
        self.proc = subprocess.Popen(
            [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
             "--artifacts-destination", str(self.root / "artifacts"), "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.root)
        for _ in range(1200):  # at most 120 s
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / f"server-{self.port}.log").read_text()[-3000:])
            try:
                urllib.request.urlopen(self.health, timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the MLflow server did not start in 120 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("mlflow"))
    yield s
    s.stop()


@pytest.fixture
def tracked(server, monkeypatch, in_tmp):
    """The server's URI in MLFLOW_TRACKING_URI, an experiment name of the test's own, and a client."""
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)
    return f"exp-{uuid.uuid4().hex[:8]}", MlflowClient(server.uri)


def runs_of(client, experiment: str):
    found = client.get_experiment_by_name(experiment)
    return [] if found is None else client.search_runs([found.experiment_id])


@pytest.mark.slow
def test_bench_run_logs_each_run_with_its_configuration_scores_signatures_and_files(tracked, cli, in_tmp, tmp_path):
    experiment, client = tracked
    code, _, err = cli("run", "-q", "-m", "lead-3", "-m", "textrank", "-t", "seed-summarization", "--log", "mlflow",
                       "--log-opt", f"mlflow.experiment={experiment}")
    assert code == 0, err
    assert "logged 2 run(s) to MLflow at http://127.0.0.1:" in err and "warning" not in err
    runs = runs_of(client, experiment)
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == "FINISHED"
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        run_dir = next(in_tmp.glob(f"results/seed-summarization/*/{tags['bench.run_id']}"))
        record = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        assert run.info.run_name == record["model"] == params["model"] == tags["bench.model"]
        assert params["task_hash"] == record["task_hash"] and params["seed"] == "0"
        assert params["metric_options.stemmer"] == "True" and params["metrics"] == "rouge,extractiveness"
        for m, v in record["metrics"].items():
            assert metrics[m] == v
            assert [metrics[f"{m}_ci_low"], metrics[f"{m}_ci_high"]] == record["ci"][m]
            assert tags[f"signature.{m}"] == record["signatures"][m]
        for m, v in record["reference"]["metrics"].items():
            assert metrics[f"reference_{m}"] == v
        assert metrics == pytest.approx(run_metrics(record))  # every score, bound and timing, nothing else
        assert tags["bench.git_commit"] == record["provenance"]["git_commit"]
        assert tags["package.numpy"] == record["provenance"]["packages"]["numpy"]
        assert run.info.start_time == epoch_ms(record["provenance"]["started_at"])
        assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == [
            "examples.json", "predictions.jsonl", "results.json"]
        local = client.download_artifacts(run.info.run_id, "results.json", str(tmp_path))
        assert Path(local).read_bytes() == (run_dir / "results.json").read_bytes()
        table = client.load_table(run.info.experiment_id, "examples.json", run_ids=[run.info.run_id])
        lines = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text("utf-8").splitlines()]
        assert list(table["example_id"]) == [line["id"] for line in lines]
        # log_table writes JSON through pandas, to 10 significant digits (predictions.jsonl has them all)
        assert list(table["rouge1"]) == pytest.approx([line["scores"]["rouge1"] for line in lines], rel=1e-9)
        assert [list(r) for r in table["references"]] == [line["references"] for line in lines]


@pytest.mark.slow
def test_a_second_log_of_a_run_does_not_duplicate_it_and_rescore_logs_its_new_run(tracked, cli, in_tmp):
    experiment, client = tracked
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-headline")  # not logged
    assert code == 0, err
    run_dir = next(in_tmp.glob("results/seed-headline/lead-3/*"))
    opts = ("--log", "mlflow", "--log-opt", f"mlflow.experiment={experiment}")
    code, _, err = cli("rescore", str(run_dir), *opts)  # nothing new to write: the run itself is logged
    assert code == 0, err
    assert "nothing written" in err and "logged 1 run(s) to MLflow" in err
    (first,) = runs_of(client, experiment)
    code, _, err = cli("rescore", str(run_dir), *opts)
    assert code == 0, err
    assert f"was logged to MLflow before (run {first.info.run_id}); not logged again" in err
    assert [r.info.run_id for r in runs_of(client, experiment)] == [first.info.run_id]

    code, _, err = cli("rescore", str(run_dir), "--no-stemmer", *opts)  # a new run: logged too
    assert code == 0, err
    runs = runs_of(client, experiment)
    assert len(runs) == 2
    new = next(r for r in runs if r.info.run_id != first.info.run_id)
    assert new.data.params["rescored_from"] == run_dir.name and new.data.params["metric_options.stemmer"] == "False"


@pytest.mark.slow
def test_the_experiment_is_named_after_the_task_by_default(tracked, cli, in_tmp):
    _, client = tracked
    task = f"task-{uuid.uuid4().hex[:8]}"
    (in_tmp / "tasks").mkdir()
    seed = Path(__file__).resolve().parents[2] / "fixtures" / "seed_headline.jsonl"
    (in_tmp / "tasks" / f"{task}.yaml").write_text(f"name: {task}\nversion: 1\ntype: summarization\n"
                                                   f"fixture: {seed}\n", encoding="utf-8")
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", str(in_tmp / "tasks" / f"{task}.yaml"), "--log", "mlflow")
    assert code == 0, err
    assert [r.data.tags["bench.task"] for r in runs_of(client, task)] == [task]


@pytest.mark.slow
def test_a_server_stopped_mid_run_is_one_warning_and_the_run_is_written(server, in_tmp):
    """The model stops the server while it predicts; logging at the end fails; bench run still succeeds, with one
    warning and nothing else on stderr (a process of its own, so what MLflow's client and urllib3 print shows)."""
    uri = server.uri
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "BENCH_TEST_STOP_TRACKER": str(server.proc.pid),
           "BENCH_TEST_TRACKER_HEALTH": server.health,
           "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "-q", "-m", "tracker_models:StopsTracker", "-t",
                           "seed-headline", "--log", "mlflow"], cwd=in_tmp, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert server.proc.wait(timeout=60) is not None  # the server was stopped mid-run (its workers first)
    run_dir = next(in_tmp.glob("results/seed-headline/stops-tracker/*"))
    assert (run_dir / "results.json").is_file() and (run_dir / "predictions.jsonl").is_file()
    assert proc.stderr.splitlines() == [
        "wrote 1 run(s) to results",
        f"warning: could not log 1 run(s) to MLflow at {uri}: no answer from the tracking server (Connection "
        f"refused); the runs are written all the same; log them later with `bench rescore "
        f"{run_dir.relative_to(in_tmp)} --log mlflow` (it writes nothing new)"]
    assert "rouge1" in proc.stdout  # the scores were shown
    assert time.monotonic() - t0 < 90  # bounded retries, not MLflow's minutes of backoff


@pytest.mark.slow
def test_without_a_tracking_uri_runs_go_to_mlflow_s_own_default_store(cli, in_tmp, monkeypatch):
    """MLflow 3's default: a SQLite store mlflow.db in the working directory (its ./mlruns file store is refused)."""
    from mlflow import MlflowClient

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code, _, err = cli("run", "-q", "-m", "lead-3", "-t", "seed-headline", "--log", "mlflow")
    assert code == 0, err
    assert "logged 1 run(s) to MLflow at sqlite:///" in err and (in_tmp / "mlflow.db").is_file()
    client = MlflowClient(f"sqlite:///{in_tmp / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("seed-headline").experiment_id])
    assert run.data.tags["bench.model"] == "lead-3" and run.info.status == "FINISHED"


def test_log_options_are_checked_before_a_run(cli, in_tmp):
    for args, message in (
            (["--log", "wandb"], "unknown tracker 'wandb' for --log"),
            (["--log", "mlflw"], "Did you mean 'mlflow'?"),
            (["--log", "mlflow", "--log-opt", "mlflow.experimnt=x"], "mlflow has no option 'experimnt'. Did you mean"),
            (["--log", "mlflow", "--log-opt", "experiment=x"], "--log-opt expects TRACKER.KEY=VALUE"),
            (["--log-opt", "mlflow.experiment=x"], "runs are not logged to mlflow"),
    ):
        code, _, err = cli("run", "-m", "lead-3", "-t", "seed-headline", *args)
        assert code == 2 and message in err and "Traceback" not in err, err
        assert not (in_tmp / "results").exists()  # refused before the run
    assert parse_log_options(["mlflow"], ["mlflow.experiment=a=b"]) == {"mlflow": {"experiment": "a=b"}}


def test_a_missing_client_is_one_clear_message_before_the_run(cli, in_tmp, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if mlflow-skinny were not installed
    code, _, err = cli("run", "-m", "lead-3", "-t", "seed-headline", "--log", "mlflow")
    assert code == 3, err
    assert err == ("error: --log mlflow needs the mlflow client, which is not installed\n"
                   "  hint: pip install 'bench[mlflow]' (the mlflow-skinny client)\n")
    assert not (in_tmp / "results").exists()
