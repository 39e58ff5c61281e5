"""Text renderers not covered through `bench compare`: column headers and the plain (no colour) terminal table."""

from __future__ import annotations

from test_compare import make_run

from bench.comparison.render_text import metric_header, render_table
from bench.comparison.select import select
from bench.comparison.paired import compare_section


def test_long_metric_names_break_after_the_first_underscore():
    assert metric_header("rouge1") == "rouge1"
    assert metric_header("exact_match") == "exact_match"  # 11 characters fit
    assert metric_header("HasAns_exact_match") == "HasAns_\nexact_match"
    assert metric_header("averylongmetricname") == "averylongmetricname"


def test_table_for_a_file_has_no_colour_codes_and_the_paired_table(tmp_path):
    make_run(tmp_path, model="base", scores={"exact_match": [0.0, 100.0, 0.0]})
    make_run(tmp_path, model="other", scores={"exact_match": [100.0, 100.0, 100.0]}, run_id="20260101T000000Z-2")
    sections = select([tmp_path])
    text = render_table(sections, {0: compare_section(sections[0], "base")}, None, to_terminal=False)
    assert "\x1b[" not in text
    assert "news: paired comparison with base" in text and "0.5000 (0/2)" in text  # McNemar b=0, c=2
    assert "With n = 3 shared examples no difference can reach significance" in text
