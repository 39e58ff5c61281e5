"""The PNG charts: drawn from the sections, written whole or not at all."""

from __future__ import annotations

import pytest
from test_compare import make_run

from bench.comparison.plot import write_png
from bench.comparison.select import select
from bench.errors import BenchError

pytest.importorskip("matplotlib")


@pytest.fixture
def sections(tmp_path):
    make_run(tmp_path / "runs", model="a", scores={"rouge1": [10, 20], "rouge2": [1, 2]}, examples_per_s=5.0)
    make_run(tmp_path / "runs", model="b", scores={"rouge1": [30, 40]}, examples_per_s=None,
             run_id="20260101T000000Z-000002", task="other")
    return select([tmp_path / "runs"])


def test_png_is_written_without_a_temporary_file_left(sections, tmp_path):
    target = tmp_path / "out" / "charts.png"
    write_png(sections, target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["charts.png"]


def test_an_unwritable_target_is_one_error_and_leaves_nothing(sections, tmp_path):
    target = tmp_path / "charts.png"
    target.mkdir()
    (target / "keep").write_text("x")
    with pytest.raises(BenchError, match="cannot write file"):
        write_png(sections, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["charts.png", "runs"]
    assert (target / "keep").read_text() == "x"
