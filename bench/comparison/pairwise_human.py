"""Human pairwise judgments for `bench compare --human`: the lines `bench annotate export` writes for a pairwise
study (or the study itself), checked, as `Preferences` beside a judge's.

A line (docs/annotate.md, "What export writes")::

    {"id": "a1", "system_a": "first-sentence", "system_b": "lead-3", "position": "right",
     "criterion": "relevance", "preference": "b", "annotator": "ana", "repeat": false}

``preference`` is "a", "b" or "tie" in terms of ``system_a`` and ``system_b``;
``position`` is where ``system_a`` was shown ("left" is shown first). Each
annotator's first answer on a pair counts (``repeat`` false); an item's outcome
is the mean of its annotators' (two who split: a tie), as `bench annotate status`
counts it. A repeated page, shown the other way round, measures how consistent
the annotator is across positions; every answer counts for the position and
length diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.comparison.pairwise_aggregate import EVEN, FIRST, HUMAN, SECOND, Outcome, Preferences, Shown, Vote
from bench.errors import BenchError, BenchErrors, relpath
from bench.io import json_type, read_jsonl, where
from bench.registry import did_you_mean

LINE = ('{"id", "system_a", "system_b", "position": "left" or "right", "criterion", "preference": "a", "b" or '
        '"tie", "annotator", "repeat": true or false}')
HINT = f"give the lines `bench annotate export` writes for a pairwise study: {LINE}"
_CODE = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class Judgment:
    """One line: one annotator's answer on one pair, on one criterion."""

    at: str
    """file:line, or the study and the line's number in its export."""
    id: str
    a: str
    b: str
    a_first: bool
    criterion: str
    preference: str
    annotator: str
    repeat: bool


def _check(row: Mapping[str, Any], at: str) -> Judgment | BenchError:
    for key in ("id", "system_a", "system_b", "criterion", "annotator"):
        if key not in row:
            return BenchError(f"missing field {key!r}", where=at, hint=HINT)
        if not isinstance(row[key], str) or not row[key]:
            return BenchError(f"{key!r} must be a non-empty string, got {json_type(row[key])}", where=at, hint=HINT)
    if row["system_a"] == row["system_b"]:
        return BenchError(f"system_a and system_b are both {row['system_a']!r}", where=at, hint=HINT)
    if row.get("position") not in ("left", "right"):
        return BenchError(f"'position' must be \"left\" or \"right\", got {row.get('position')!r}", where=at, hint=HINT)
    if row.get("preference") not in _CODE:
        return BenchError(f"'preference' must be \"a\", \"b\" or \"tie\", got {row.get('preference')!r}", where=at,
                          hint=HINT)
    repeat = row.get("repeat", False)
    if not isinstance(repeat, bool):
        return BenchError(f"'repeat' must be true or false, got {json_type(repeat)}", where=at, hint=HINT)
    return Judgment(at, row["id"], row["system_a"], row["system_b"], row["position"] == "left", row["criterion"],
                    row["preference"], row["annotator"], repeat)


def read_judgments(path: Path) -> tuple[str, list[Judgment]]:
    """(what to call the source, its judgments): a `bench annotate export` file of a pairwise study, or the study
    (its file, or its name under results/.annotations/). Every bad line is reported at once."""
    from bench.correlation.ratings import study_file

    study = study_file(path)
    if study is not None:
        from bench.annotation.storage import open_study
        from bench.annotation.study_export import judgment_rows

        opened = open_study(study)
        if not opened.pairwise:
            raise BenchError("the study rates summaries one at a time; --human reads pairwise preferences",
                             where=opened.source,
                             hint="make a study with --pairwise (bench annotate new ... --pairwise)")
        rows = [(f"{opened.source} (judgment {k})", r) for k, r in enumerate(judgment_rows(opened), 1)]
        source = opened.source
    else:
        if not path.exists():
            raise BenchError("no such file or study", where=relpath(path),
                             hint="pass the file `bench annotate export STUDY` wrote, or the study's name")
        rows = [(where(path, line), r) for line, r in read_jsonl(path, hint=None)]
        source = relpath(path)
    out, problems = [], []
    for at, row in rows:
        checked = _check(row, at)
        (problems if isinstance(checked, BenchError) else out).append(checked)
    if problems:
        raise BenchErrors(problems)
    if not out:
        raise BenchError("no judgment yet", where=source,
                         hint="judge pairs in the browser first (bench annotate serve)")
    return source, out


def human_preferences(path: Path, predictions: Mapping[str, Mapping[str, Any]],
                      criteria: Sequence[str] = ()) -> Preferences:
    """The judgments of `path` on the criteria asked (all of the file's when none), as `Preferences`; every model
    must have a run (`predictions`: model -> its predictions by example id) holding the example."""
    source, judgments = read_judgments(path)
    known = list(predictions)
    problems = []
    for j in judgments:
        unknown = [m for m in (j.a, j.b) if m not in predictions]
        missing = [m for m in (j.a, j.b) if m in predictions and j.id not in predictions[m]]
        if unknown:
            problems.append(BenchError(f"model {unknown[0]!r} has no run in the selection."
                                       f"{did_you_mean(unknown[0], known)}", where=j.at,
                                       hint=f"models with runs: {', '.join(known)}"))
        elif missing:
            problems.append(BenchError(f"example {j.id!r} is not among the predictions of the run of {missing[0]!r}",
                                       where=j.at, hint="the study must be of the runs compared (the same task and "
                                                        "examples)"))
    if problems:
        raise BenchErrors(problems[:50])
    found = list(dict.fromkeys(j.criterion for j in judgments))
    for c in criteria:
        if c not in found:
            raise BenchError(f"no human judgment on criterion {c!r}.{did_you_mean(c, found)}", where=source,
                             hint=f"criteria judged there: {', '.join(found)}")
    chosen = tuple(criteria) or tuple(found)
    shown, votes = [], []
    firsts: dict[tuple[str, str, str, str, str], float] = {}
    repeats: dict[str, list[int]] = {c: [0, 0] for c in chosen}
    for j in judgments:
        if j.criterion not in chosen:
            continue
        model, opponent = sorted((j.a, j.b))
        value = _CODE[j.preference] if model == j.a else 1.0 - _CODE[j.preference]
        first, second = (j.a, j.b) if j.a_first else (j.b, j.a)
        verdict = EVEN if j.preference == "tie" else FIRST if (j.preference == "a") == j.a_first else SECOND
        shown.append(Shown(j.criterion, j.id, first, second, verdict))
        key = (j.criterion, j.id, model, opponent, j.annotator)
        if not j.repeat and key not in firsts:
            firsts[key] = value
            votes.append(Vote(j.criterion, j.id, model, opponent, j.annotator, value))
    for j in judgments:
        if j.repeat and j.criterion in chosen:
            model, opponent = sorted((j.a, j.b))
            key = (j.criterion, j.id, model, opponent, j.annotator)
            if key in firsts:
                value = _CODE[j.preference] if model == j.a else 1.0 - _CODE[j.preference]
                repeats[j.criterion][0] += value == firsts[key]
                repeats[j.criterion][1] += 1
    items: dict[tuple[str, str, str, str], list[float]] = {}
    for v in votes:
        items.setdefault((v.criterion, v.id, v.model, v.opponent), []).append(v.value)
    outcomes = tuple(Outcome(c, i, m, o, sum(vs) / len(vs), detail={"votes": vs})
                     for (c, i, m, o), vs in items.items())
    return Preferences(HUMAN, source, chosen, outcomes, tuple(shown), tuple(votes),
                       {c: (same, n) for c, (same, n) in repeats.items()})
