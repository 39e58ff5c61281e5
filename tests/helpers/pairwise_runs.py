"""A task and hand-made runs for the pairwise comparison's tests (tests/comparison/test_pairwise*.py), and the
scripted judges that answer its prompts.

The task `pair-news` has six short articles. Each model's summary of article k reads "<model> on d<k>:" followed by
its own number of words (short 3, medium 6, long 10), so a judge that reads the prompt can tell which summary is
longer, and each model's rouge1 is given per example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from hand_made_runs import make_run

TASK = "pair-news"
DOCS = [f"d{k}" for k in range(6)]
WORDS = {"short": 3, "medium": 6, "long": 10, "extra": 8}
#: rouge1 per example: short is best on d0-d2, long on d3-d5.
ROUGE = {"short": [60, 55, 50, 20, 25, 30], "medium": [40, 40, 40, 40, 40, 40], "long": [10, 15, 20, 70, 65, 60],
         "extra": [30, 30, 30, 30, 30, 30]}
_PAIR = re.compile(r"Summary A:\n(.*?)\n\nSummary B:\n(.*?)\n\nReply", re.S)


def make_task(root: Path) -> tuple[Path, str]:
    """The task's directory and its content hash."""
    from bench.tasks.discovery import resolve_tasks
    from bench.tasks.examples import load_examples

    tasks = root / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "pair-news.yaml").write_text(
        "name: pair-news\nversion: 1\ntype: summarization\ndescription: Summarize a short article.\n"
        "fixture: pair_news.jsonl\nfields:\n  id: id\n  document: document\n  references: references\n"
        "metrics: [rouge]\n", encoding="utf-8")
    (tasks / "pair_news.jsonl").write_text("".join(
        json.dumps({"id": d, "document": f"Article {d}. Something happened in town {d} today.",
                    "references": [f"Something happened in {d}."]}) + "\n" for d in DOCS), encoding="utf-8")
    (task,) = resolve_tasks([TASK], [tasks])
    loaded, _ = load_examples(task)
    return tasks, loaded.hash


def summary(model: str, doc: str) -> str:
    return f"{model} on {doc}: " + " ".join(["word"] * WORDS[model])


def make_runs(results: Path, task_hash: str, models: Sequence[str] = ("short", "medium", "long"),
              run_id: str = "20260101T000000Z-000001") -> Path:
    for k, m in enumerate(models):
        make_run(results, model=m, task=TASK, task_hash=task_hash, run_id=run_id[:-1] + str(k + 1),
                 scores={"rouge1": [float(x) for x in ROUGE[m]]}, ids=list(DOCS),
                 predictions=[summary(m, d) for d in DOCS])
    return results


def pair_in(prompt: str) -> tuple[str, str]:
    """The two summaries of a pairwise prompt, in the order shown."""
    match = _PAIR.search(prompt)
    assert match, prompt
    return match.group(1), match.group(2)


def model_of(text: str) -> str:
    return text.split(" on ")[0]


def doc_of(text: str) -> str:
    return text.split(" on ")[1].split(":")[0]


def first_position(prompt: str, body: Mapping) -> str:
    """Always prefers the summary shown first."""
    return "[[A]]"


def longer(prompt: str, body: Mapping) -> str:
    """Prefers the longer summary, whichever position it is in."""
    a, b = pair_in(prompt)
    return "A" if len(a.split()) > len(b.split()) else "B" if len(b.split()) > len(a.split()) else "C"


def mostly_longer(prompt: str, body: Mapping) -> str:
    """Prefers the longer summary, except on d0 and d1, where it prefers the shorter (consistently)."""
    a, b = pair_in(prompt)
    verdict = longer(prompt, body)
    if doc_of(a) in ("d0", "d1"):
        verdict = {"A": "B", "B": "A"}.get(verdict, verdict)
    return f"Summary {verdict} is better."


def garbage(prompt: str, body: Mapping) -> str:
    """Names no summary."""
    return "I would rather not say; both are fine I suppose."


def garbage_on_d0(prompt: str, body: Mapping) -> str:
    """Prefers the longer summary, but answers garbage about d0 when the medium summary is shown first."""
    a, _ = pair_in(prompt)
    return garbage(prompt, body) if doc_of(a) == "d0" and model_of(a) == "medium" else longer(prompt, body)
