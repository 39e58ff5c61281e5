"""The study file: one SQLite file in WAL mode, private tokens, answers kept once each, writers from several
processes at once."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from annotate_studies import synthetic_study

from bench.annotation.storage import STUDIES_DIR, all_answers, answered_pages, connect, open_study, save_answers, \
    study_path
from bench.errors import BenchError


def test_a_study_is_one_file_in_wal_mode(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite", repeat=2)
    assert [p.name for p in tmp_path.iterdir()] == ["s.sqlite"]  # nothing beside it once written
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    study = open_study(path)
    assert study.mode == "ratings" and study.systems == ("sys-alpha", "sys-beta", "sys-gamma")
    assert len(study.items) == 18 and [len(a.pages) for a in study.annotators] == [20, 20]
    # a copy is a study of its own, with everything in it
    shutil.copy(path, tmp_path / "copy.sqlite")
    assert open_study(tmp_path / "copy.sqlite").annotators == study.annotators


def test_links_carry_unguessable_tokens(tmp_path):
    a = open_study(synthetic_study(tmp_path / "a.sqlite", annotators=("ana", "ben", "chi")))
    b = open_study(synthetic_study(tmp_path / "b.sqlite", annotators=("ana", "ben", "chi")))
    tokens = [x.token for x in a.annotators] + [x.token for x in b.annotators]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", t) for t in tokens)  # 24 random bytes, URL-safe
    # drawn from the system's randomness, not from the study's seed: the same inputs and seed, other tokens
    assert len(set(tokens)) == 6
    keys = [p.key for x in a.annotators for p in x.pages] + [p.key for x in b.annotators for p in x.pages]
    assert len(set(keys)) == len(keys)


def test_names_go_under_results_annotations():
    assert study_path("pilot") == STUDIES_DIR / "pilot.sqlite" == Path("results/.annotations/pilot.sqlite")
    assert study_path("x/pilot") == Path("x/pilot") and study_path("pilot.sqlite") == Path("pilot.sqlite")
    with pytest.raises(BenchError, match="not a study name"):
        study_path("no good")


def test_what_is_not_a_study(tmp_path):
    with pytest.raises(BenchError, match="no such study"):
        open_study(tmp_path / "missing.sqlite")
    (tmp_path / "text.sqlite").write_text("hello", encoding="utf-8")
    with pytest.raises(BenchError, match="not a bench annotation study"):
        open_study(tmp_path / "text.sqlite")
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    with pytest.raises(BenchError, match="an SQLite database without a study in it"):
        open_study(tmp_path / "other.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()  # opening never creates a file


def test_answering_again_replaces_the_answer(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite")
    page = open_study(path).annotators[0].pages[0]
    conn = connect(path)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: a commit is on disk when it returns
    save_answers(conn, page.id, {"coherence": "2", "fluency": "1"})
    save_answers(conn, page.id, {"coherence": "5", "fluency": "3"})
    assert all_answers(conn) == [(page.id, "coherence", "5"), (page.id, "fluency", "3")]
    assert answered_pages(conn, 0, 2) == {1}
    conn.close()


def _answer_pages(path: str, annotator: int, rounds: int) -> None:
    study = open_study(Path(path))
    conn = connect(Path(path))
    for r in range(rounds):
        for p in study.annotators[annotator].pages:
            save_answers(conn, p.id, {"coherence": str(1 + (p.position + r) % 5), "fluency": str(1 + r % 3)})
    conn.close()


@pytest.mark.slow
def test_writers_in_several_processes_lose_and_double_nothing(tmp_path):
    path = synthetic_study(tmp_path / "s.sqlite", annotators=("a", "b", "c", "d"), documents=["d"] * 10)
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=_answer_pages, args=(str(path), k, 3)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    conn = connect(path)
    answers = all_answers(conn)
    conn.close()
    study = open_study(path)
    expected = {(p.id, "coherence", str(1 + (p.position + 2) % 5)) for a in study.annotators for p in a.pages} | \
        {(p.id, "fluency", str(1 + 2 % 3)) for a in study.annotators for p in a.pages}
    assert len(answers) == len(expected) == 4 * 30 * 2 and set(answers) == expected
