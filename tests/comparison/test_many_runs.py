"""Comparing many runs: scores read in worker processes, only the runs compared read, progress shown late."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_compare import make_run

from bench.cli.output import LateProgress
from bench.comparison.flips import PARALLEL_RUNS, read_example_scores, read_scores
from bench.comparison.paired import compare_section
from bench.comparison.select import select
from bench.errors import BenchError


def _runs(root, tasks=("news",), models=6, n=30):
    rng = np.random.default_rng(0)
    for t, task in enumerate(tasks):
        for m in range(models):
            make_run(root, model=f"m{m}", task=task, scores={"rouge1": rng.uniform(0, 100, n).tolist(),
                                                             "rouge2": rng.uniform(0, 50, n).tolist()},
                     run_id=f"20260101T00{t:02d}{m:02d}Z-000001")


def test_many_runs_are_read_in_worker_processes_as_one_by_one(tmp_path):
    _runs(tmp_path, models=PARALLEL_RUNS + 2)
    (s,) = select([tmp_path])
    told = []
    cache: dict = {}
    read_scores(s.runs, cache, lambda what, k, n: told.append((what, k, n)))
    assert list(cache) == [r.path for r in s.runs]
    for r in s.runs:
        alone = read_example_scores(r)
        got = cache[r.path]
        assert (got.ids, got.lines, got.names) == (alone.ids, alone.lines, alone.names)
        assert np.array_equal(got.values, alone.values) and got.run is r
    assert told == [("reading predictions", k, len(s.runs)) for k in range(1, len(s.runs) + 1)]


def test_a_damaged_run_among_many_is_the_error_one_by_one_reading_gives(tmp_path):
    _runs(tmp_path, models=PARALLEL_RUNS + 2)
    (s,) = select([tmp_path])
    for k in (2, 4):  # two damaged runs: the first in order is reported
        path = s.runs[k].path / "predictions.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        lines[k] = "{not json"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BenchError) as alone:
        for r in s.runs:
            read_example_scores(r)
    with pytest.raises(BenchError) as together:
        read_scores(s.runs, {})
    assert str(together.value) == str(alone.value) and together.value.exit_code == alone.value.exit_code
    assert f"{s.runs[2].run_id}/predictions.jsonl:3" in str(together.value)


def test_compare_reads_the_predictions_of_the_runs_it_compares_only(tmp_path, cli):
    _runs(tmp_path, tasks=("news", "other"), models=3)
    for path in (tmp_path / "other").rglob("predictions.jsonl"):
        path.write_text("{damaged", encoding="utf-8")  # never read when only news is compared
    code, out, err = cli("compare", tmp_path, "-t", "news", "--baseline", "m0", "--format", "md", "--examples", "2")
    assert code == 0, err
    assert "Paired comparison with m0 (news)" in out and "differ most" in out
    code, out, err = cli("compare", tmp_path, "--baseline", "m0", "--format", "md")
    assert code != 0 and "/other/" in err and "predictions.jsonl:1" in err


def test_compare_section_tells_how_far_it_has_come(tmp_path):
    _runs(tmp_path, models=3)
    (s,) = select([tmp_path])
    told = []
    compare_section(s, "m0", progress=lambda what, k, n: told.append((what, k, n)))
    assert told[:3] == [("reading predictions (news)", k, 3) for k in (1, 2, 3)]
    assert told[-1] == ("paired statistics (news)", 4, 4)  # 2 other runs x 2 metrics


class Terminal(io.StringIO):
    def __init__(self, tty: bool = True) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_shows_only_after_a_while_and_only_on_a_terminal():
    now = [0.0]
    stream = Terminal()
    progress = LateProgress(1.5, stream=stream, clock=lambda: now[0])
    progress("reading runs", 1, 200)
    assert stream.getvalue() == ""  # a quick command shows nothing
    now[0] = 2.0
    progress("reading runs", 150, 200)
    assert stream.getvalue() == "\rreading runs: 150/200\x1b[K"
    progress.close()
    assert stream.getvalue().endswith("\r\x1b[K")  # the line is cleared
    log = Terminal(tty=False)
    late = LateProgress(0.0, stream=log, clock=lambda: 10.0)
    late("reading runs", 1, 2)
    late.close()
    assert log.getvalue() == ""
    hostile = Terminal()
    LateProgress(0.0, stream=hostile, clock=lambda: 1.0)("reading \x1b]0;x\x07 predictions", 1, 2)
    assert "\x1b]" not in hostile.getvalue()  # text from data is shown inert


@pytest.mark.parametrize("k", [1, 3, 10, 100])
def test_the_examples_shown_are_those_of_comparing_every_prediction(tmp_path, k):
    """Ranked from the score matrices, with many ties, the texts read back for the examples shown only."""
    from bench.comparison.flips import flipped_examples, read_predictions, section_flips

    rng = np.random.default_rng(k)
    n = 60
    for m, model in enumerate(("base", "a", "b")):
        make_run(tmp_path, model=model, scores={"f1": (rng.integers(0, 5, n) * 25.0).tolist()},
                 predictions=[f"{model} says {i}" for i in range(n)], run_id=f"20260101T000000Z-00000{m}")
    (s,) = select([tmp_path])
    flips = section_flips([s], "base", ["f1"], k)[0]
    base = next(r for r in s.runs if r.model == "base")
    for ref, run, items in flips:
        assert ref is base
        expected = flipped_examples(read_predictions(base.path), read_predictions(run.path), "f1", k)
        assert items == expected and len(items) == min(k, len(expected))
