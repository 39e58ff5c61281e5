"""The bundled fixtures are faithful to the seed article and well-formed."""

from __future__ import annotations

import json

from conftest import REPO, SEED_ARTICLE

from bench.api import load_task
from bench.tasks.examples import count_examples, load_examples


def _lines(name):
    return [json.loads(line) for line in (REPO / "fixtures" / name).read_text(encoding="utf-8").splitlines() if line]


def _body():
    lines = SEED_ARTICLE.read_text(encoding="utf-8").split("\n")
    return lines[0], lines[1], lines[2], "\n".join(lines[3:]).rstrip("\n")


def test_summarization_fixture_has_independent_multi_sentence_references():
    headline, _, url, body = _body()
    (row,) = _lines("seed_summarization.jsonl")
    assert row["document"] == body and row["url"] == url
    refs = row["references"]
    assert len(refs) >= 3 and len(set(refs)) == len(refs)
    for r in refs:
        sentences = r.split("\n")
        assert 2 <= len(sentences) <= 4
        assert all(s.strip() and s.strip()[-1] in ".!?\"" for s in sentences)


def test_headline_fixture_uses_the_real_headline():
    headline, _, _, body = _body()
    (row,) = _lines("seed_headline.jsonl")
    assert row["document"] == body
    assert row["references"] == [headline]


def test_qa_answers_are_exact_spans_at_their_offsets():
    _, _, _, body = _body()
    rows = _lines("seed_qa.jsonl")
    assert len(rows) >= 30
    assert len({r["id"] for r in rows}) == len(rows)
    unanswerable = multi = 0
    for r in rows:
        assert r["context"] == body
        texts, starts = r["answers"]["text"], r["answers"]["answer_start"]
        assert len(texts) == len(starts)
        unanswerable += not texts
        multi += len(set(texts)) > 1
        for text, start in zip(texts, starts):
            assert body[start:start + len(text)] == text, (r["id"], text, start)
    assert unanswerable >= 5
    assert multi >= 5


def test_bundled_tasks_load_and_validate():
    for name in ("seed-summarization", "seed-headline", "seed-qa"):
        task = load_task(REPO / "tasks" / f"{name}.yaml")
        _, examples = load_examples(task)
        assert examples and count_examples(task) == len(examples)
        assert len(task.hash) == 64
