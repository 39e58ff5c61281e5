"""Shared options: declared once, so every command that takes one shows and parses it the same way."""

from __future__ import annotations

from typing import Any, Optional

import pytest
import typer

from bench.cli.app import app
from bench.cli.options import TokenizerName, metric_options, option_name, parse_batch_size, parse_gen
from bench.errors import BenchError
from bench.metrics import MetricOptions

#: Option -> the commands that take it.
SHARED = {
    "--no-stemmer": ("score", "run", "rescore"),
    "--no-split-sentences": ("score", "run", "rescore"),
    "--tokenizer": ("score", "run", "rescore"),
    "--tasks-dir": ("run", "list", "validate"),
    "--output-dir": ("run", "rescore"),
}


def _option(command: str, flag: str) -> Any:
    """The parser's option `flag` of `command` (a click Option, from the click that typer uses)."""
    group: Any = typer.main.get_command(app)
    (param,) = [p for p in group.commands[command].params if flag in p.opts]
    assert param.param_type_name == "option"
    return param


@pytest.mark.parametrize("flag, commands", SHARED.items())
def test_a_shared_option_has_one_declaration(flag, commands):
    options = [_option(c, flag) for c in commands]
    first = options[0]
    assert first.help
    for o in options[1:]:
        assert (o.opts, o.secondary_opts, o.help, o.metavar, o.is_flag, o.multiple) == (
            first.opts, first.secondary_opts, first.help, first.metavar, first.is_flag, first.multiple)
        # the same value type (typer 0.29 also keeps the annotation: the same, but for Optional, as rescore's
        # --output-dir has no default)
        assert (type(o.type), o.type.name) == (type(first.type), first.type.name)
        if hasattr(o, "type_descriptor"):
            annotation = first.type_descriptor.annotation
            assert o.type_descriptor.annotation in (annotation, Optional[annotation])


@pytest.mark.parametrize("flag, commands", SHARED.items())
def test_every_command_shows_the_same_help_for_a_shared_option(cli, flag, commands):
    help_text = " ".join(_option(commands[0], flag).help.split())
    for command in commands:
        code, out, _ = cli(command, "--help")
        assert code == 0
        assert help_text in " ".join(out.split()), command


@pytest.fixture
def captured(monkeypatch):
    """The metric options that score, run and rescore hand to the API, instead of scoring anything."""
    import bench.api

    seen: dict[str, MetricOptions] = {}

    def score_file(path, *, metric="rouge", options=None, metric_settings=None):
        seen["score"] = options
        seen["score metrics"] = (list(metric), metric_settings)
        return {"warnings": [], "n": 0, "metrics": {}, "ci": {}, "signatures": {}, "counts": {}, "reference": None}

    def run(**kwargs):
        seen["run"] = kwargs["metric_options"]
        seen["run metrics"] = (list(kwargs["metrics"]), kwargs["metric_settings"])
        return []

    def rescore(run_dir, *, metric_options=None, output_dir=None, metrics=(), metric_settings=None):
        seen["rescore"] = metric_options
        seen["rescore metrics"] = (list(metrics), metric_settings)
        raise BenchError("stop here")

    monkeypatch.setattr(bench.api, "score_file", score_file)
    monkeypatch.setattr(bench.api, "run", run)
    monkeypatch.setattr(bench.api, "rescore", rescore)
    return seen


@pytest.mark.parametrize("args, expected", [
    ((), MetricOptions()),
    (("--no-stemmer",), MetricOptions(stemmer=False)),
    (("--no-split-sentences", "--tokenizer", "unicode"), MetricOptions(split_sentences=False, tokenizer="unicode")),
    (("--no-stemmer", "--no-split-sentences", "--tokenizer", "default"),
     MetricOptions(stemmer=False, split_sentences=False, tokenizer="default")),
])
def test_metric_options_parse_the_same_in_every_command(in_tmp, cli, captured, args, expected):
    cli("score", "preds.jsonl", *args)
    cli("run", "--quiet", *args)
    cli("rescore", "some-run", *args)
    assert {k: v for k, v in captured.items() if not k.endswith("metrics")} == {
        "score": expected, "run": expected, "rescore": expected}


def test_metric_and_metric_opt_parse_the_same_in_every_command(in_tmp, cli, captured):
    args = ("--metric", "rouge", "--metric", "evaluate:./m.py", "--metric-opt", "m.beta=2",
            "--metric-opt", "rouge.x=a=b")
    cli("score", "preds.jsonl", *args)
    cli("run", "--quiet", *args)
    cli("rescore", "some-run", *args)
    wanted = (["rouge", "evaluate:./m.py"], {"m": {"beta": "2"}, "rouge": {"x": "a=b"}})
    assert captured["score metrics"] == captured["run metrics"] == captured["rescore metrics"] == wanted


@pytest.mark.parametrize("opt, message", [("bertscore", "no '='"), ("layer=4", "no metric name before the option"),
                                          (".layer=4", "no metric name before the option")])
def test_a_malformed_metric_opt_is_one_clear_error(in_tmp, cli, captured, opt, message):
    code, _, err = cli("score", "preds.jsonl", "--metric-opt", opt)
    assert code == 2 and f"--metric-opt {opt!r}: {message}" in err and "Traceback" not in err


@pytest.mark.parametrize("command", [("score", "preds.jsonl"), ("run",), ("rescore", "some-run")])
def test_an_unknown_tokenizer_is_a_usage_error_in_every_command(in_tmp, cli, captured, command):
    code, _, err = cli(*command, "--tokenizer", "klingon")
    assert code == 2
    assert "Invalid value for '--tokenizer'" in err
    assert captured == {}


def test_metric_options():
    assert metric_options(False, False, TokenizerName.default) == MetricOptions()
    assert metric_options(True, True, TokenizerName.unicode) == MetricOptions(
        stemmer=False, split_sentences=False, tokenizer="unicode")


def test_option_name():
    assert option_name("limit") == "--limit"
    assert option_name("batch_size") == "--batch-size"
    assert option_name("sample", "N") == "--sample N"


@pytest.mark.parametrize("text, expected", [(None, None), ("auto", "auto"), ("1", 1), ("32", 32)])
def test_parse_batch_size(text, expected):
    assert parse_batch_size(text) == expected


@pytest.mark.parametrize("text", ["0", "lots", "-1", "2.5", "", "AUTO"])
def test_parse_batch_size_refuses(text):
    with pytest.raises(BenchError, match=r"^--batch-size must be a positive integer or 'auto', got "):
        parse_batch_size(text)


def test_parse_gen():
    assert parse_gen([]) == {}
    assert parse_gen(["num_beams=4", " do_sample =true", "temperature=0.7", "prefix=summarize: ", "stop=[1, 2]"]) == {
        "num_beams": 4, "do_sample": True, "temperature": 0.7, "prefix": "summarize: ", "stop": [1, 2]}
    assert parse_gen(["a=1", "a=2"]) == {"a": 2}


@pytest.mark.parametrize("item", ["num_beams", "=3", " =3"])
def test_parse_gen_refuses(item):
    with pytest.raises(BenchError, match="--gen expects key=value") as e:
        parse_gen([item])
    assert e.value.hint and "--gen num_beams=4" in e.value.hint


def test_compare_seed_default_is_the_one_bootstrap_seed():
    """`bench compare --seed` shows its default in --help, so it is written there; it must be the one seed."""
    import inspect

    from bench import api
    from bench.cli.compare import compare
    from bench.stats.bootstrap import DEFAULT_SEED

    assert inspect.signature(compare).parameters["seed"].default == DEFAULT_SEED
    assert inspect.signature(api.compare).parameters["seed"].default is None  # None: DEFAULT_SEED


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "[1, NaN]"])
def test_parse_gen_refuses_non_finite_numbers(value):
    with pytest.raises(BenchError, match="is not a finite number"):
        parse_gen([f"temperature={value}"])


def test_parse_gen_deeply_nested_json_is_text_not_a_recursion_error():
    deep = "[" * 100_000 + "]" * 100_000
    assert parse_gen([f"stop={deep}"]) == {"stop": deep}
