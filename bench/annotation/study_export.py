"""`bench annotate status` and `export`: a study's answers as statistics, and as the files others read.

- A ratings study exports one line per rated summary in the ratings layout
  `bench correlate` reads (docs/correlate.md): ``id`` (the example), ``system``
  (the model), ``prediction``, ``references``, ``document``, ``ratings`` (each
  criterion a list of the annotators' ratings, in the order of ``annotators``).
  Each annotator's first answer counts; an answer on a repeated page measures
  consistency only.
- A pairwise study exports one line per judgment: ``id``, ``system_a``,
  ``system_b``, ``position`` (where a was shown: "left" or "right"),
  ``criterion``, ``preference`` ("a", "b" or "tie"), ``annotator``, and
  ``repeat`` (true on a repeated page).
- ``--format json`` writes the statistics of `bench.annotation.analysis` with
  those lines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.annotation.analysis import analyse, progress
from bench.annotation.storage import Study, all_answers, answered_pages, connect, open_study, run_of, summary, texts
from bench.stats.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED


def _answers(study: Study) -> tuple[list[tuple[int, str, str]], dict[int, int], dict[str, str]]:
    conn = connect(study.path)
    try:
        done = {a.id: len(answered_pages(conn, a.id, len(study.criteria))) for a in study.annotators}
        return all_answers(conn), done, run_of(conn)
    finally:
        conn.close()


def rating_rows(study: Study) -> list[dict[str, Any]]:
    """The ratings layout of `bench correlate`: one line per summary with at least one rating."""
    answers, _, _ = _answers(study)
    pages = {p.id: (k, p) for k, a in enumerate(study.annotators) for p in a.pages if not p.repeat}
    by_page: dict[int, dict[str, str]] = {}
    for page, criterion, value in answers:
        if page in pages:
            by_page.setdefault(page, {})[criterion] = value
    names = [c.name for c in study.criteria]
    per_item: dict[int, list[tuple[int, dict[str, str]]]] = {}
    for page, values in by_page.items():
        if all(c in values for c in names):
            k, p = pages[page]
            per_item.setdefault(p.item, []).append((k, values))
    rows = []
    conn = connect(study.path)
    try:
        for i in sorted(per_item, key=lambda i: (study.items[i].document, study.items[i].a)):
            it = study.items[i]
            example_id, document, references = texts(conn, it.document)
            rated = sorted(per_item[i], key=lambda p: p[0])
            rows.append({"id": example_id, "system": study.systems[it.a], "prediction": summary(conn, it.document, it.a),
                         "references": references, "document": document,
                         "ratings": {c: [int(v[c]) for _, v in rated] for c in names},
                         "annotators": [study.annotators[k].name for k, _ in rated]})
    finally:
        conn.close()
    return rows


def judgment_rows(study: Study) -> list[dict[str, Any]]:
    """One line per pairwise judgment (a page's answer to one criterion)."""
    answers, _, _ = _answers(study)
    pages = {p.id: (k, p) for k, a in enumerate(study.annotators) for p in a.pages}
    rows = []
    for page_id, criterion, value in answers:
        if page_id not in pages:
            continue
        k, page = pages[page_id]
        it = study.items[page.item]
        left_is_a = not page.flipped
        preference = "tie" if value == "tie" else "a" if (value == "A") == left_is_a else "b"
        rows.append({"id": study.documents[it.document], "system_a": study.systems[it.a],
                     "system_b": study.systems[it.b], "position": "left" if left_is_a else "right",
                     "criterion": criterion, "preference": preference, "annotator": study.annotators[k].name,
                     "repeat": page.repeat, "_order": (k, page.position)})
    rows.sort(key=lambda r: (r.pop("_order"), r["criterion"]))
    return rows


def lines(study: Study) -> list[dict[str, Any]]:
    """What `export` writes: rating lines, or judgment lines for a pairwise study."""
    return judgment_rows(study) if study.pairwise else rating_rows(study)


def status(study_file: Path, *, seed: int = DEFAULT_SEED, n_resamples: int = DEFAULT_RESAMPLES) -> dict[str, Any]:
    """Everything `bench annotate status` shows, as JSON-ready data."""
    study = open_study(study_file)
    answers, done, runs = _answers(study)
    return {"study": study.source, "mode": study.mode, "task": study.task, "documents": len(study.documents),
            "systems": list(study.systems), "runs": runs, "items": len(study.items),
            "criteria": [c.as_dict() for c in study.criteria], "design": dict(study.settings),
            "progress": progress(study, done),
            **analyse(study, answers, seed=seed, n_resamples=n_resamples)}


def export_text(study_file: Path, *, fmt: str = "jsonl", seed: int = DEFAULT_SEED,
                n_resamples: int = DEFAULT_RESAMPLES) -> tuple[str, int]:
    """The export file's text and its number of lines (ratings or judgments)."""
    study = open_study(study_file)
    rows = lines(study)
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), len(rows)
    data = status(study_file, seed=seed, n_resamples=n_resamples)
    data["judgments" if study.pairwise else "ratings"] = rows
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n", len(rows)
