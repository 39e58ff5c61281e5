"""The Python API's argument checks speak to Python callers (`limit`), the command line's to its users (`--limit`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import bench
from bench.api import check_compare_arguments, check_run_arguments, python_name
from bench.cli.options import option_name
from bench.errors import BenchError


@pytest.mark.parametrize("kwargs, message", [
    ({"limit": 0}, "limit must be at least 1, got 0"),
    ({"limit": "3"}, "limit must be an integer, got '3'"),
    ({"sample": 0}, "sample must be at least 1, got 0"),
    ({"seed": -1}, "seed must be an integer from 0 to 4294967295, got -1"),
    ({"seed": 2**32}, "seed must be an integer from 0 to 4294967295, got 4294967296"),
    ({"seed": True}, "seed must be an integer from 0 to 4294967295, got True"),
    ({"batch_size": 0}, "batch_size must be a positive integer or 'auto', got 0"),
    ({"batch_size": "lots"}, "batch_size must be a positive integer or 'auto', got 'lots'"),
    ({"limit": 1, "sample": 1}, "limit and sample cannot be used together"),
])
def test_run_refuses_bad_arguments_in_python_words(in_tmp, kwargs, message):
    with pytest.raises(BenchError) as e:
        bench.run(models=["lead-3"], tasks=["seed-headline"], **kwargs)
    assert e.value.message == message
    assert "--" not in str(e.value)
    assert not (in_tmp / "results").exists()


def test_run_limit_zero_names_the_parameter_not_the_option(in_tmp):
    with pytest.raises(BenchError, match="^limit must be at least 1, got 0$") as e:
        bench.run(limit=0)
    assert "--" not in str(e.value)


def test_limit_with_sample_hint_in_python_words(in_tmp):
    with pytest.raises(BenchError) as e:
        bench.run(models=["lead-3"], limit=2, sample=2)
    assert e.value.hint == "limit=N takes the first N examples, sample=N a seeded random N; pick one"


def test_output_dir_that_is_a_file(in_tmp):
    (in_tmp / "out").write_text("")
    with pytest.raises(BenchError) as e:
        bench.run(models=["lead-3"], output_dir=in_tmp / "out")
    assert e.value.message == "the output directory is a file"
    assert e.value.hint == "pass a directory to output_dir"


def test_run_takes_batch_size_auto(in_tmp):
    (record,) = bench.run(models=["lead-3"], tasks=["seed-headline"], batch_size="auto")
    assert record["model"] == "lead-3"


def test_the_command_line_words_the_same_checks_with_its_options(in_tmp):
    cases = [
        ({"limit": 0}, "--limit must be at least 1, got 0", None),
        ({"sample": 0}, "--sample must be at least 1, got 0", None),
        ({"seed": -1}, "--seed must be an integer from 0 to 4294967295, got -1", None),
        ({"limit": 1, "sample": 1}, "--limit and --sample cannot be used together",
         "--limit N takes the first N examples, --sample N a seeded random N; pick one"),
    ]
    for kwargs, message, hint in cases:
        with pytest.raises(BenchError) as e:
            check_run_arguments(**kwargs, name=option_name)
        assert (e.value.message, e.value.hint) == (message, hint)
    (in_tmp / "out").write_text("")
    with pytest.raises(BenchError) as e:
        check_run_arguments(output_dir=in_tmp / "out", name=option_name)
    assert e.value.hint == "pass a directory to --output-dir"


def test_good_run_arguments_pass():
    check_run_arguments()
    check_run_arguments(limit=1, seed=2**32 - 1, batch_size="auto")
    check_run_arguments(sample=5, seed=0, batch_size=8)


def test_compare_alpha(in_tmp):
    with pytest.raises(BenchError, match="^alpha must be between 0 and 1, got 2$"):
        bench.compare(alpha=2)
    with pytest.raises(BenchError, match="^--alpha must be between 0 and 1, got 0$"):
        check_compare_arguments(alpha=0, name=option_name)


def test_python_name():
    assert python_name("limit") == "limit"
    assert python_name("sample", "N") == "sample=N"


def test_read_record_reads_a_run_as_a_typed_record():
    from bench.api import read_record
    from bench.results.record import RunRecord
    from bench.results.store import read_run

    path = Path(__file__).parent / "results" / "data" / "summarization.json"
    record = read_record(path)
    assert isinstance(record, RunRecord) and record == read_run(path)
    assert (record.model, record.config.seed, record.n_examples) == ("lead-3", 0, read_run(path)["n_examples"])
