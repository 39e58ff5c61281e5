"""What annotators rate: criteria, each with a question, a scale 1..N and a definition shown on the page.

SummEval's four (Fabbri et al. 2021) come built in, their definitions and
scales taken from the rubric prompts bench's LLM judge sends
(`bench.metrics.model_based.judge`: 1-5, fluency 1-3), so people and the judge
read the same rubric. Others come from a small YAML file, a list of::

    - name: informativeness            # the form field's name: a-z, 0-9, _
      question: How much of the article's key information does the summary give?
      scale: 5                         # ratings 1..5
      definition: A summary is informative when ...
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError, BenchErrors, relpath
from bench.registry import did_you_mean

#: A criterion's name is a form field's name: lower-case letters, digits and _ (and not one of the form's own).
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
RESERVED = frozenset({"csrf", "item", "preference"})
MAX_SCALE = 10
CRITERIA_HINT = ("a criteria file is a YAML list of {name, question, scale, definition}, e.g.\n"
                 "  - name: informativeness\n    question: How much key information does the summary give?\n"
                 "    scale: 5\n    definition: An informative summary ...")

#: The question each built-in criterion asks (its definition and scale come from the judge's rubric).
QUESTIONS = {
    "coherence": "How well do the summary's sentences hold together as one well-organised text?",
    "consistency": "Is everything the summary says supported by the article?",
    "fluency": "How well written are the summary's sentences, each on its own?",
    "relevance": "How well does the summary pick the article's important content?",
}


@dataclass(frozen=True)
class Criterion:
    """One thing rated: ratings 1..scale, or in pairwise studies a preference (A, B or a tie)."""

    name: str
    question: str
    scale: int
    definition: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "question": self.question, "scale": self.scale, "definition": self.definition}


def builtin_criteria() -> dict[str, Criterion]:
    """SummEval's four criteria, with the definitions and scales of bench's judge rubric."""
    from bench.metrics.model_based.judge import CRITERIA, default_prompts

    out = {}
    for name, template in default_prompts().items():
        low, high = CRITERIA[name]
        # The rubric's paragraph "Criterion: NAME (1 to N). Definition ..." up to the blank line.
        match = re.search(rf"Criterion: {name} \(\d+ to \d+\)\.\s+(.*?)\n\s*\n", template, re.S)
        if match is None or low != 1:
            raise AssertionError(f"the judge's rubric of {name} has no 'Criterion: {name} (1 to N).' paragraph")
        out[name] = Criterion(name, QUESTIONS[name], high, " ".join(match.group(1).split()))
    return dict(sorted(out.items()))


def read_criteria_file(path: Path) -> list[Criterion]:
    """The criteria of a YAML file, checked: every problem at once, each with file:line."""
    import yaml

    where = relpath(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BenchError("criteria file not found", where=where, hint=CRITERIA_HINT) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"cannot read the criteria file: {e}", where=where, hint="save it as UTF-8 text") from None
    try:
        root = yaml.compose(text, yaml.SafeLoader)  # the nodes, for line numbers
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        raise BenchError(f"invalid YAML: {getattr(e, 'problem', None) or e}", where=at, hint=CRITERIA_HINT) from None
    if not isinstance(data, list) or not data or not isinstance(root, yaml.SequenceNode):
        raise BenchError("expected a list of criteria", where=where, hint=CRITERIA_HINT)
    errors: list[BenchError] = []
    out: list[Criterion] = []
    seen: dict[str, str] = {}
    for node, entry in zip(root.value, data):
        at = f"{where}:{node.start_mark.line + 1}"
        lines = {k.value: f"{where}:{k.start_mark.line + 1}" for k, _ in node.value} \
            if isinstance(node, yaml.MappingNode) else {}
        if not isinstance(entry, dict):
            errors.append(BenchError("a criterion must be a mapping of name, question, scale and definition",
                                     where=at, hint=CRITERIA_HINT))
            continue
        criterion, problems = check_criterion(entry, at, lines)
        errors += problems
        if criterion is not None:
            if criterion.name in seen:
                errors.append(BenchError(f"duplicate criterion {criterion.name!r} (first at {seen[criterion.name]})",
                                         where=at, hint="give each criterion once"))
            else:
                seen[criterion.name] = at
                out.append(criterion)
    if errors:
        errors.sort(key=lambda e: int(e.where.rsplit(":", 1)[1]) if e.where and e.where.rsplit(":", 1)[-1].isdigit()
                    else 0)
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)
    return out


def check_criterion(entry: dict[Any, Any], at: str,
                    lines: dict[str, str] | None = None) -> tuple[Criterion | None, list[BenchError]]:
    """A criterion from a mapping of the criteria file, or the problems with it (`lines`: key -> file:line)."""
    lines = lines or {}
    errors = []
    unknown = sorted(str(k) for k in entry if k not in ("name", "question", "scale", "definition"))
    if unknown:
        errors.append(BenchError(f"unknown key {unknown[0]!r}."
                                 f"{did_you_mean(unknown[0], ['name', 'question', 'scale', 'definition'])}",
                                 where=lines.get(unknown[0], at), hint="a criterion has name, question, scale and "
                                 "definition"))
    name = entry.get("name")
    if isinstance(name, str) and name in RESERVED:
        errors.append(BenchError(f"{name!r} is a field of the rating form itself; give the criterion another name",
                                 where=lines.get("name", at), hint="csrf, item and preference are the form's own "
                                 "fields"))
    elif not isinstance(name, str) or not NAME.fullmatch(name):
        shown = "nothing" if name is None else repr(name)
        errors.append(BenchError(f"a criterion's name must be lower-case letters, digits and _ (starting with a "
                                 f"letter, at most 40), got {shown}", where=lines.get("name", at),
                                 hint="the name is the form field's name, e.g. name: informativeness"))
    texts = {}
    for key in ("question", "definition"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            errors.append(BenchError(f"missing {key}: a criterion needs a non-empty {key}", where=at,
                                     hint=CRITERIA_HINT))
        texts[key] = value.strip() if isinstance(value, str) else ""
    scale = entry.get("scale")
    if isinstance(scale, bool) or not isinstance(scale, int) or not 2 <= scale <= MAX_SCALE:
        errors.append(BenchError(f"scale must be a whole number from 2 to {MAX_SCALE} (ratings 1..scale), got "
                                 f"{scale!r}", where=lines.get("scale", at), hint="e.g. scale: 5 for ratings 1 to 5"))
    if errors:
        return None, errors
    return Criterion(name, texts["question"], scale, texts["definition"]), []


def choose_criteria(names: Sequence[str], criteria_file: Path | None) -> list[Criterion]:
    """The criteria a study rates: those named (built-in or from the file), or every one of the file."""
    from_file = read_criteria_file(criteria_file) if criteria_file is not None else []
    known = {**builtin_criteria(), **{c.name: c for c in from_file}}
    if not names:
        if from_file:
            return from_file
        raise BenchError("name what the annotators rate", hint="e.g. --criterion coherence --criterion consistency "
                         f"(built in: {', '.join(builtin_criteria())}), or --criteria FILE for your own")
    out = []
    for name in dict.fromkeys(names):
        if name not in known:
            raise BenchError(f"unknown criterion {name!r}.{did_you_mean(name, list(known))}",
                             hint=f"built in: {', '.join(builtin_criteria())}"
                                  + ("" if criteria_file else "; --criteria FILE adds your own"))
        out.append(known[name])
    return out
