"""What a run says about the predictions it took from the cache: in results.json, and on the terminal."""

from __future__ import annotations

import json


def _run(cli, root, *extra: str) -> tuple[dict, str, str]:
    before = set(root.glob("out/seed-qa/*/*/results.json"))
    code, out, err = cli("run", "-m", "sliding-window", "-t", "seed-qa", "-o", "out", "-q", *extra)
    assert code == 0, err
    (path,) = set(root.glob("out/seed-qa/*/*/results.json")) - before
    return json.loads(path.read_text()), out, err


def test_a_run_says_how_many_predictions_came_from_the_cache_and_measures_no_speed_for_them(in_tmp, cli):
    first, _, err = _run(cli, in_tmp, "--limit", "3")
    assert (first["timing"]["predicted"], first["timing"]["cached"]) == (3, 0)
    assert first["timing"]["examples_per_s"] > 0 and "prediction cache" not in err
    part, _, err = _run(cli, in_tmp, "--limit", "5")
    assert (part["timing"]["predicted"], part["timing"]["cached"]) == (2, 3)
    assert part["timing"]["examples_per_s"] > 0  # of the 2 predicted in this run
    assert "sliding-window on seed-qa: 3 of 5 predictions from the prediction cache" in err
    cached, out, err = _run(cli, in_tmp, "--limit", "5")
    assert (cached["timing"]["predicted"], cached["timing"]["cached"]) == (0, 5)
    assert cached["timing"]["examples_per_s"] is None and cached["timing"]["predict_s"] == 0.0
    assert "5 of 5 predictions from the prediction cache" in err and "--no-cache predicts everything again" in err
    row = next(line for line in out.splitlines() if "sliding-window" in line)
    assert row.rstrip().rstrip("│┃|").rstrip().endswith("-")  # no ex/s in the table
    fresh, _, err = _run(cli, in_tmp, "--limit", "5", "--no-cache")
    assert (fresh["timing"]["predicted"], fresh["timing"]["cached"]) == (5, 0) and "prediction cache" not in err
