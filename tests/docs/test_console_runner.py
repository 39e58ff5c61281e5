"""The runner of the docs' console examples (tests/helpers/console_examples.py) on pages written here: it finds a
page that disagrees with the program, and only what legitimately varies is compared as equal."""

from __future__ import annotations

from pathlib import Path

import pytest

from console_examples import PageSession, bench_argvs, matches, normalise, page_blocks, \
    transcripts_outside_console_blocks

VALIDATE_LINE = ("ok  seed-headline: 1 example (summarization, metrics rouge, extractiveness, hash c86c1f8798e9) from "
                 "{}")


def _page(tmp_path: Path, text: str) -> Path:
    (tmp_path / "docs").mkdir(exist_ok=True)
    page = tmp_path / "docs" / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def _outcomes(tmp_path: Path, text: str) -> list:
    session = PageSession(_page(tmp_path, text), tmp_path / "run")
    return [session.outcome(b) for b in session.blocks]


def _fixture() -> str:
    from bench.tasks.locations import bundled_dir

    return str(bundled_dir("fixtures") / "seed_headline.jsonl")


def test_an_example_that_prints_what_its_page_shows_passes_and_one_that_does_not_fails(tmp_path):
    line = VALIDATE_LINE.format(_fixture())
    good, bad = _outcomes(tmp_path, f"""
```console
$ bench validate seed-headline
{line}
```

```console
$ bench validate seed-headline
{line.replace("1 example", "2 examples")}
```
""")
    assert good.problems == []
    (problem,) = bad.problems
    assert problem.startswith("docs/page.md:8: `$ bench validate seed-headline` prints something else than the page "
                              "shows, from the page's line 1 of this output on")
    assert "-ok seed-headline: 2 examples" in problem and f"--- what it printed:\n{line}\n" in problem


def test_files_steps_own_directories_and_commands_not_run(tmp_path):
    outcomes = _outcomes(tmp_path, """
```text
# notes/hello.txt
hello from the page
```

<!-- docs-test
echo "$REPO" > repo.txt
-->
```console
$ cat notes/hello.txt
# notes/hello.txt
hello from the page
$ bench run --model distilbart   # not tested: downloads a model from the hub
whatever it would print
```

<!-- docs-test
own-directory
-->
```console
$ ls
```

```console
$ ls
notes
repo.txt
$ cat repo.txt
...
```
""")
    assert [o.problems for o in outcomes] == [[], [], []]
    assert outcomes[0].skipped == ["downloads a model from the hub"]


def test_normalising_keeps_apart_what_matters():
    table = ["┏━━━━━━━━┳━━━━━━━━┳━━━━━━━┓", "┃ model  ┃ rouge1 ┃  ex/s ┃", "┡━━━━━━━━╇━━━━━━━━╇━━━━━━━┩",
             "│ lead-3 │  65.50 │ 71.9* │", "└────────┴────────┴───────┘"]
    other = [line.replace("71.9*", "1024.0").replace("━━━━━━━┓", "━━━━━━━━┓") for line in table]
    assert normalise("\n".join(table)) == normalise("\n".join(other))
    assert normalise("\n".join(table)) != normalise("\n".join(table).replace("65.50", "65.51"))
    assert normalise("run 20261127T121233Z-063ac0 at 2026-12-07T04:14:08Z, rouge1|bench:0.1.0|tok:spacy-3.8.18-blank-en") \
        == normalise("run 20270101T000000Z-aaaaaa at 2027-01-01T00:00:00Z, rouge1|bench:0.2.0|tok:spacy-3.9.0-blank-en")
    assert normalise("hash b3bb2e60afd9") != normalise("hash b3bb2e60afd8")
    assert normalise("code:2b0371980bbfd0fc", varies=[r"code:[0-9a-f]{16}"]) == ["<varies>"]
    assert normalise("/tmp/x/home/me/project/results", {"/tmp/x/home/me/project": "/home/me/project"}) == \
        ["/home/me/project/results"]


@pytest.mark.parametrize("expected, actual, ok", [
    (["a", "...", "b"], ["a", "b"], True),
    (["a", "...", "b"], ["a", "x", "y", "b"], True),
    (["a", "...", "b"], ["a", "x", "y"], False),
    (["a: ...", "c"], ["a: x", "y", "c"], True),
    (["x"], ["x", "y"], False),
    ([], ["y"], False),
    (["...", "wrote 1 run(s) to results"], ["table", "wrote 1 run(s) to results"], True),
])
def test_an_ellipsis_stands_for_anything_and_nothing_else_does(expected, actual, ok):
    assert matches(expected, actual) is ok


def test_only_bench_commands_run_in_process():
    assert bench_argvs("bench run --quiet && bench compare -t x  # a comment") == [["run", "--quiet"],
                                                                                  ["compare", "-t", "x"]]
    for command in ("HF_HUB_OFFLINE=1 bench run", "bench correlate r.jsonl --format json | jq .", "cat x",
                    "bench export > out.txt", "bench run; bench compare"):
        assert bench_argvs(command) is None, command


def test_a_transcript_outside_a_console_block_is_found(tmp_path):
    page = _page(tmp_path, "```\n$ bench run\n```\n\n```console\n$ bench list\n```\n\n````markdown\n```console\n"
                           "$ bench run\n```\n````\n")
    assert transcripts_outside_console_blocks(page) == [2]
    assert [b.line for b in page_blocks(page)] == [5]
