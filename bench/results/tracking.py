"""Logging runs to an experiment tracker: MLflow (`bench run --log mlflow`, `bench rescore --log mlflow`).

One MLflow run per bench run, in an experiment named after the task (or the
``experiment`` option), at the ``tracking_uri`` option, else
``MLFLOW_TRACKING_URI``, else MLflow's own default (a local ``mlflow.db``
SQLite store; MLflow 3 refuses the old ``./mlruns`` file store). Params are the
configuration, metrics every score and CI bound (and the timings), tags the
signatures and the provenance, artifacts results.json, predictions.jsonl and
the per-example table (``examples.json``, `MlflowClient.log_table`).

A bench run is logged once: its MLflow run carries the tag ``bench.run_id``,
and a run already logged and finished is not logged again (one cut off
half-way is replaced). A tracker that cannot be reached or refuses a run never
fails the command: `log_runs` returns what it could not log, and the command
line says so in one warning. The client (``mlflow-skinny``, the ``mlflow``
extra) is imported only here, when a run is logged.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath
from bench.registry import did_you_mean

#: The trackers `--log` takes, with the options each takes (``--log-opt TRACKER.KEY=VALUE``).
TRACKERS: dict[str, tuple[str, ...]] = {"mlflow": ("experiment", "tracking_uri")}
#: How to get a tracker's client.
INSTALL = {"mlflow": "pip install 'bench[mlflow]' (the mlflow-skinny client)"}
#: Request retries and timeout bench gives the MLflow client unless the environment sets them: a tracker that is
#: down costs seconds, not MLflow's default of minutes of backoff.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"}
#: The tag that says which bench run an MLflow run is.
RUN_TAG = "bench.run_id"
#: MLflow's limits on one log_batch call (mlflow.utils.validation) and on a param's value.
BATCH_METRICS, BATCH_PARAMS_TAGS, MAX_PARAM, MAX_TAG = 1000, 100, 6000, 8000


@dataclass
class LogReport:
    """What `log_runs` did: the runs logged, those found logged before, and those it could not log."""

    tracker: str
    where: str
    """The tracking URI (MLflow's default when none was given)."""
    logged: list[tuple[Path, str]] = field(default_factory=list)
    """(run directory, the tracker's run id) of each run logged now."""
    already: list[tuple[Path, str]] = field(default_factory=list)
    """(run directory, the tracker's run id) of each run logged before, not logged again."""
    failed: list[Path] = field(default_factory=list)
    reason: str | None = None
    """Why the runs in `failed` were not logged (the first failure)."""


# ------------------------------------------------------------------ options


def parse_log_options(trackers: Sequence[str], options: Sequence[str] | Mapping[str, Mapping[str, str]]
                      ) -> dict[str, dict[str, str]]:
    """``--log`` and ``--log-opt`` checked: tracker -> its options. Unknown trackers or options, an option of a
    tracker not asked for, and a tracker whose client is not installed are refused here, before a run starts."""
    for t in trackers:
        if t not in TRACKERS:
            raise BenchError(f"unknown tracker {t!r} for --log.{did_you_mean(t, list(TRACKERS))}",
                             hint=f"trackers: {', '.join(TRACKERS)} (Weights & Biases is not supported: see "
                                  "docs/results.md)")
    out: dict[str, dict[str, str]] = {t: {} for t in dict.fromkeys(trackers)}
    items = ([(f"{t}.{k}={v}") for t, kv in options.items() for k, v in kv.items()]
             if isinstance(options, Mapping) else list(options))
    for item in items:
        name, sep, value = item.partition("=")
        tracker, dot, key = name.partition(".")
        if not sep or not dot or not key:
            raise BenchError(f"--log-opt expects TRACKER.KEY=VALUE, got {item!r}",
                             hint="e.g. --log-opt mlflow.experiment=summaries")
        if tracker not in TRACKERS:
            raise BenchError(f"--log-opt {name}: unknown tracker {tracker!r}.{did_you_mean(tracker, list(TRACKERS))}",
                             hint=f"trackers: {', '.join(TRACKERS)}")
        if key not in TRACKERS[tracker]:
            raise BenchError(f"--log-opt {name}: {tracker} has no option {key!r}.{did_you_mean(key, TRACKERS[tracker])}",
                             hint=f"{tracker} options: {', '.join(TRACKERS[tracker])}")
        if tracker not in out:
            raise BenchError(f"--log-opt {name} is given but runs are not logged to {tracker}",
                             hint=f"add --log {tracker}")
        out[tracker][key] = value
    for tracker in out:
        if not client_installed(tracker):
            raise BenchError(f"--log {tracker} needs the {tracker} client, which is not installed",
                             hint=INSTALL[tracker], exit_code=EXIT_ENVIRONMENT)
    return out


def client_installed(tracker: str) -> bool:
    """Whether the tracker's client can be imported (without importing it: MLflow's client takes seconds)."""
    import importlib.util
    import sys

    if tracker in sys.modules and sys.modules[tracker] is None:  # an import blocked on purpose
        return False
    try:
        return importlib.util.find_spec(tracker) is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------ logging


def log_runs(run_dirs: Sequence[str | Path], tracker: str = "mlflow",
             options: Mapping[str, str] | None = None) -> LogReport:
    """Log each run directory to `tracker`; what could not be logged is in the report, never raised (but a
    damaged run directory, which no tracker should get, is bench's error, raised before anything is logged)."""
    options = dict(options or {})
    parse_log_options([tracker], {tracker: options})
    from bench.results.frames import read_record

    runs = [(Path(d), read_record(Path(d))) for d in run_dirs]
    return log_to_mlflow(runs, options)


@contextlib.contextmanager
def quiet_client() -> Iterator[None]:
    """The MLflow client's request retries bounded (`HTTP_DEFAULTS`, unless the environment sets them), its
    log lines and printed links kept off bench's output."""
    saved = {k: os.environ.get(k) for k in HTTP_DEFAULTS}
    for k, v in HTTP_DEFAULTS.items():
        os.environ.setdefault(k, v)
    loggers = [logging.getLogger(name) for name in ("mlflow", "urllib3")]  # urllib3: each retry, a line
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.filterwarnings("ignore", module="mlflow")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def log_to_mlflow(runs: Sequence[tuple[Path, Mapping[str, Any]]], options: Mapping[str, str]) -> LogReport:
    """Log each (run directory, record) to MLflow; stops at the first failure (the rest would fail alike)."""
    with quiet_client():
        try:
            import mlflow
            from mlflow import MlflowClient
        except ImportError as e:
            raise BenchError(f"--log mlflow: cannot import the MLflow client: {e}", hint=INSTALL["mlflow"],
                             exit_code=EXIT_ENVIRONMENT) from None
        uri = options.get("tracking_uri") or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
        report = LogReport("mlflow", uri)
        client = None
        for k, (run_dir, record) in enumerate(runs):
            try:
                client = client or MlflowClient(tracking_uri=uri)
                found, mlflow_run = log_one(client, run_dir, record, options.get("experiment") or record["task"])
            except Exception as e:  # a tracker down, refusing, or its store broken: the runs are safe on disk
                report.failed.extend(d for d, _ in runs[k:])
                report.reason = failure(e)
                break
            (report.already if found else report.logged).append((run_dir, mlflow_run))
    return report


def failure(e: BaseException) -> str:
    """One line saying why logging failed: the system's reason when the server could not be reached (MLflow's own
    message quotes the whole request and its retries), else the start of MLflow's message."""
    text = " ".join(str(e).split()) or type(e).__name__
    reached = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)|(Read timed out)", text)
    if reached:
        return f"no answer from the tracking server ({(reached.group(1) or reached.group(2)).strip()})"
    return text if len(text) <= 200 else text[:197] + "..."


def log_one(client: Any, run_dir: Path, record: Mapping[str, Any], experiment: str) -> tuple[bool, str]:
    """Log one run; returns (whether it was logged before, the MLflow run id)."""
    from mlflow.entities import Metric, Param, RunTag

    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
    for old in client.search_runs([experiment_id], filter_string=f"tags.`{RUN_TAG}` = '{record['run_id']}'"):
        if old.info.status == "FINISHED":
            return True, old.info.run_id
        client.delete_run(old.info.run_id)  # cut off half-way by an earlier try: logged again whole
    provenance = record.get("provenance") or {}
    run = client.create_run(experiment_id, start_time=epoch_ms(provenance.get("started_at")),
                            tags={RUN_TAG: record["run_id"]}, run_name=record["model"])
    run_id = run.info.run_id
    try:
        stamp = epoch_ms(provenance.get("finished_at")) or 0
        metrics = [Metric(key, value, stamp, 0) for key, value in run_metrics(record).items()]
        params = [Param(key, value) for key, value in run_params(record).items()]
        tags = [RunTag(key, value) for key, value in run_tags(record, run_dir).items()]
        for i in range(0, len(metrics), BATCH_METRICS):
            client.log_batch(run_id, metrics=metrics[i:i + BATCH_METRICS])
        for i in range(0, max(len(params), len(tags)), BATCH_PARAMS_TAGS):
            client.log_batch(run_id, params=params[i:i + BATCH_PARAMS_TAGS], tags=tags[i:i + BATCH_PARAMS_TAGS])
        client.log_artifact(run_id, str(run_dir / "results.json"))
        client.log_artifact(run_id, str(run_dir / "predictions.jsonl"))
        client.log_table(run_id, data=example_table(run_dir, record), artifact_file="examples.json")
        client.set_terminated(run_id, "FINISHED", end_time=epoch_ms(provenance.get("finished_at")))
    except Exception:
        with contextlib.suppress(Exception):
            client.set_terminated(run_id, "FAILED")
        raise
    return False, run_id


def key(name: str) -> str:
    """A param, metric or tag name MLflow accepts (letters, digits, ``_-. /:``; other characters become ``_``)."""
    return re.sub(r"[^\w.\- /:]", "_", name)[:250]


def run_metrics(record: Mapping[str, Any]) -> dict[str, float]:
    """Every score with its CI bounds, the reference statistics (``reference_<name>``), and the timings
    (``timing.<name>``); missing values are left out."""
    out: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
            out[key(name)] = float(value)

    for prefix, block in (("", record), ("reference_", record.get("reference") or {})):
        for m, v in (block.get("metrics") or {}).items():
            put(prefix + m, v)
            ci = (block.get("ci") or {}).get(m)
            if isinstance(ci, list) and len(ci) == 2:
                put(f"{prefix}{m}_ci_low", ci[0])
                put(f"{prefix}{m}_ci_high", ci[1])
    put("n_examples", record.get("n_examples"))
    for k, v in (record.get("timing") or {}).items():
        put(f"timing.{k}", v)
    return out


def run_params(record: Mapping[str, Any]) -> dict[str, str]:
    """The configuration: model, task and its hash, seed, limit, sample, batch size, the model's settings
    (``model.<key>``, generation settings as ``gen.<key>``), the metric options and each metric's own options."""
    config = record.get("config") or {}
    out: dict[str, Any] = {"model": record["model"], "task": record["task"], "task_hash": record["task_hash"],
                           "task_version": record.get("task_version"), "n_examples": record.get("n_examples")}
    for k in ("seed", "limit", "sample", "batch_size", "rescored_from"):
        out[k] = config.get(k)
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    for k, v in model.items():
        if k == "generation" and isinstance(v, dict):
            out.update({f"gen.{g}": x for g, x in v.items()})
        elif not isinstance(v, (dict, list)):
            out[f"model.{k}"] = v
    for k, v in (config.get("metric_options") or {}).items():
        out[f"metric_options.{k}"] = v
    specs = [m for m in config.get("metrics") or [] if isinstance(m, dict)]
    out["metrics"] = ",".join(str(m.get("name")) for m in specs) or None
    for m in specs:
        out.update({f"metric.{m.get('name')}.{k}": v for k, v in (m.get("settings") or {}).items()})
    return {key(k): clip(str(v), MAX_PARAM) for k, v in out.items() if v is not None}


def run_tags(record: Mapping[str, Any], run_dir: Path) -> dict[str, str]:
    """Signatures (``signature.<score>``, ``reference_signature.<statistic>``), provenance (``bench.<key>``,
    ``package.<name>``) and where the run is (``bench.run_dir``)."""
    provenance = record.get("provenance") or {}
    out: dict[str, Any] = {"bench.task": record["task"], "bench.model": record["model"],
                           "bench.run_dir": str(run_dir.resolve())}
    out.update({f"signature.{m}": s for m, s in (record.get("signatures") or {}).items()})
    out.update({f"reference_signature.{m}": s
                for m, s in ((record.get("reference") or {}).get("signatures") or {}).items()})
    for k, v in provenance.items():
        if k == "packages" and isinstance(v, dict):
            out.update({f"package.{p}": version for p, version in v.items()})
        elif not isinstance(v, (dict, list)):
            out[f"bench.{k}"] = v
    return {key(k): clip(str(v), MAX_TAG) for k, v in out.items() if v is not None}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def example_table(run_dir: Path, record: Mapping[str, Any]) -> Any:
    """The run's examples (`bench.results.per_example`) as the table MLflow shows: one row per example, the
    run's columns left out (they are the MLflow run's), references as lists."""
    from bench.results.frames import LoadedRun
    from bench.results.per_example import frame_of_examples

    df = frame_of_examples([LoadedRun(run_dir, record, ("", 0, ""))], strict=True)
    df = df.drop(columns=["run_id", "task", "model"])
    df["references"] = df["references"].tolist()
    return df


def epoch_ms(iso: Any) -> int | None:
    """An ISO 8601 UTC time (``2026-01-01T00:00:00Z``) in milliseconds since the epoch, or None."""
    from datetime import datetime

    if not isinstance(iso, str):
        return None
    try:
        return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def describe(report: LogReport) -> list[str]:
    """What the command line says about a report: a line for the runs logged, one per run logged before."""
    lines = []
    if report.logged:
        lines.append(f"logged {len(report.logged)} run(s) to MLflow at {report.where}: "
                     + ", ".join(f"{relpath(d)} as {rid}" for d, rid in report.logged))
    lines += [f"{relpath(d)} was logged to MLflow before (run {rid}); not logged again" for d, rid in report.already]
    return lines


def failure_warning(report: LogReport) -> str | None:
    """The one warning for runs that could not be logged, or None."""
    if not report.failed:
        return None
    dirs = " ".join(relpath(d) for d in report.failed)
    return (f"could not log {len(report.failed)} run(s) to MLflow at {report.where}: {report.reason}; the runs are "
            f"written all the same; log them later with `bench rescore {dirs} --log mlflow` (it writes nothing new)")
