"""A study in one SQLite file: what is rated, by whom, in which order, and every answer as it is given.

The file holds the documents, their references, each system's summary, the
criteria, the design (items and each annotator's queue of pages), the
annotators with their private link tokens, and the answers. It can be copied to
another machine (copy it while no `bench annotate serve` has it open: the
answers of a running server sit in its write-ahead log beside it until the
server closes it).

Answers are written in WAL mode (readers never wait for the writer, one writer
at a time, the others waiting up to `BUSY_TIMEOUT_S`), each page's answers in
one transaction, committed with ``synchronous=FULL`` before the server replies:
a server killed at any moment loses no answer it has acknowledged. An answer is
keyed by (page, criterion): answering a page again replaces its answers, never
adds a second one.

Names: STUDY is a path, or a bare name for ``results/.annotations/NAME.sqlite``.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.annotation.criteria import Criterion
from bench.annotation.design import Design, Item
from bench.errors import EXIT_ENVIRONMENT, BenchError, relpath

FORMAT = "bench-annotation-study"
VERSION = 1
SUFFIX = ".sqlite"
STUDIES_DIR = Path("results") / ".annotations"
STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
BUSY_TIMEOUT_S = 30.0
#: Bytes of randomness in each annotator's link token (`secrets.token_urlsafe`): 192 bits.
TOKEN_BYTES = 24
#: Answers a pairwise page takes for each criterion: the left summary (A), the right one (B), or a tie.
PREFERENCES = ("A", "B", "tie")
SQLITE_HEADER = b"SQLite format 3\x00"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE systems (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, run TEXT NOT NULL);
CREATE TABLE documents (id INTEGER PRIMARY KEY, example_id TEXT NOT NULL UNIQUE, document TEXT NOT NULL,
                        refs TEXT NOT NULL);
CREATE TABLE summaries (document INTEGER NOT NULL REFERENCES documents, system INTEGER NOT NULL REFERENCES systems,
                        prediction TEXT NOT NULL, PRIMARY KEY (document, system));
CREATE TABLE items (id INTEGER PRIMARY KEY, document INTEGER NOT NULL REFERENCES documents,
                    a INTEGER NOT NULL REFERENCES systems, b INTEGER REFERENCES systems);
CREATE TABLE annotators (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE);
CREATE TABLE pages (id INTEGER PRIMARY KEY, annotator INTEGER NOT NULL REFERENCES annotators,
                    position INTEGER NOT NULL, item INTEGER NOT NULL REFERENCES items, key TEXT NOT NULL UNIQUE,
                    flipped INTEGER NOT NULL, repeat INTEGER NOT NULL, UNIQUE (annotator, position));
CREATE TABLE answers (page INTEGER NOT NULL REFERENCES pages, criterion TEXT NOT NULL, value TEXT NOT NULL,
                      answered TEXT NOT NULL, PRIMARY KEY (page, criterion));
"""


@dataclass(frozen=True)
class Page:
    """One page of an annotator's queue."""

    id: int
    position: int
    """1-based place in the annotator's queue (the page's address)."""
    item: int
    key: str
    """The item's name in the form (random, says nothing about the systems)."""
    flipped: bool
    repeat: bool


@dataclass(frozen=True)
class Annotator:
    id: int
    name: str
    token: str
    pages: tuple[Page, ...]


@dataclass(frozen=True)
class Study:
    """A study's fixed part, read once; texts and answers are read when needed."""

    path: Path
    mode: str
    """"ratings" or "pairwise"."""
    task: str
    criteria: tuple[Criterion, ...]
    systems: tuple[str, ...]
    documents: tuple[str, ...]
    """Example ids, in the task's order."""
    items: tuple[Item, ...]
    annotators: tuple[Annotator, ...]
    settings: Mapping[str, Any]
    """How it was made: task_hash, sample, seed, overlap, repeat, baseline, runs, created, bench_version."""

    @property
    def pairwise(self) -> bool:
        return self.mode == "pairwise"

    @property
    def source(self) -> str:
        return relpath(self.path)


@dataclass(frozen=True)
class StudyContent:
    """Everything a new study holds, before it is written (`write_study`)."""

    mode: str
    task: str
    criteria: Sequence[Criterion]
    systems: Sequence[tuple[str, str]]
    """(name, run) of each system."""
    documents: Sequence[tuple[str, str, Sequence[str]]]
    """(example id, document, references) of each document."""
    predictions: Mapping[tuple[int, int], str]
    """(document index, system index) -> the summary."""
    annotators: Sequence[str]
    design: Design
    settings: Mapping[str, Any]


def study_path(study: str | Path) -> Path:
    """The file of STUDY: a path as given (with a / or the .sqlite suffix, or a file that exists), or a bare name's
    file under results/.annotations/."""
    text = str(study)
    if "/" in text or "\\" in text or text.endswith(SUFFIX) or text in (".", "..") or Path(text).exists():
        return Path(text)
    if not STUDY_NAME.fullmatch(text):
        raise BenchError(f"{text!r} is not a study name", hint="a name is letters, digits, '.', '_' and '-' "
                         "(the study is results/.annotations/NAME.sqlite), or give a path to the study file")
    return STUDIES_DIR / f"{text}{SUFFIX}"


def is_study_file(path: Path) -> bool:
    """Whether `path` is an SQLite file (a study, or another SQLite database `open_study` refuses)."""
    try:
        with path.open("rb") as f:
            return f.read(16) == SQLITE_HEADER
    except OSError:
        return False


def connect(path: Path) -> sqlite3.Connection:
    """A connection to an existing study file (never creates one), autocommit, WAL, synced commits."""
    conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S,
                           isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def open_study(path: Path) -> Study:
    """The fixed part of the study at `path`, checked to be a study bench can read."""
    where = relpath(path)
    if not path.exists():
        raise BenchError("no such study", where=where,
                         hint="make one with `bench annotate new STUDY RESULTS_DIR --task TASK --criterion NAME ...`")
    if path.is_dir() or not is_study_file(path):
        raise BenchError("not a bench annotation study (not an SQLite file)", where=where,
                         hint="give the .sqlite file `bench annotate new` made")
    try:
        conn = connect(path)
        try:
            return _read(conn, path)
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise BenchError(f"cannot read the study: {e}", where=where,
                         hint="the file is damaged, or another kind of SQLite database", exit_code=EXIT_ENVIRONMENT) \
            from None


def _read(conn: sqlite3.Connection, path: Path) -> Study:
    where = relpath(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        raise BenchError("not a bench annotation study (an SQLite database without a study in it)", where=where,
                         hint="give the .sqlite file `bench annotate new` made")
    meta = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    if meta.get("format") != FORMAT:
        raise BenchError("not a bench annotation study", where=where, hint="give the .sqlite file `bench annotate new` made")
    if meta.get("version") != VERSION:
        raise BenchError(f"a study of format version {meta.get('version')!r}; this bench reads version {VERSION}",
                         where=where, hint="use the bench version that made the study")
    systems = tuple(r[0] for r in conn.execute("SELECT name FROM systems ORDER BY id"))
    documents = tuple(r[0] for r in conn.execute("SELECT example_id FROM documents ORDER BY id"))
    items = tuple(Item(d, a, b) for d, a, b in conn.execute("SELECT document, a, b FROM items ORDER BY id"))
    pages: dict[int, list[Page]] = {}
    for row in conn.execute("SELECT id, annotator, position, item, key, flipped, repeat FROM pages "
                            "ORDER BY annotator, position"):
        pages.setdefault(row[1], []).append(Page(row[0], row[2], row[3], row[4], bool(row[5]), bool(row[6])))
    annotators = tuple(Annotator(i, name, token, tuple(pages.get(i, ())))
                       for i, name, token in conn.execute("SELECT id, name, token FROM annotators ORDER BY id"))
    criteria = tuple(Criterion(**c) for c in meta["criteria"])
    settings = {k: v for k, v in meta.items() if k not in ("format", "version", "criteria", "mode", "task", "secret")}
    return Study(path, meta["mode"], meta["task"], criteria, systems, documents, items, annotators, settings)


def write_study(path: Path, content: StudyContent) -> None:
    """Write a new study file whole, or nothing (a temporary file renamed into place)."""
    from bench.io import atomic_path
    from bench.version import __version__

    meta = {"format": FORMAT, "version": VERSION, "mode": content.mode, "task": content.task,
            "criteria": [c.as_dict() for c in content.criteria], "secret": secrets.token_hex(32),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "bench_version": __version__,
            **content.settings}
    with atomic_path(path, what="the study", hint="choose a directory you can write to",
                     exit_code=EXIT_ENVIRONMENT) as tmp:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
            conn.executemany("INSERT INTO systems VALUES (?, ?, ?)",
                             [(k, name, run) for k, (name, run) in enumerate(content.systems)])
            conn.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)",
                             [(k, i, doc, json.dumps(list(refs), ensure_ascii=False))
                              for k, (i, doc, refs) in enumerate(content.documents)])
            conn.executemany("INSERT INTO summaries VALUES (?, ?, ?)",
                             [(d, s, text) for (d, s), text in sorted(content.predictions.items())])
            conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?)",
                             [(k, it.document, it.a, it.b) for k, it in enumerate(content.design.items)])
            conn.executemany("INSERT INTO annotators VALUES (?, ?, ?)",
                             [(k, name, secrets.token_urlsafe(TOKEN_BYTES))
                              for k, name in enumerate(content.annotators)])
            rows = []
            for k, pages in enumerate(content.design.queues):
                rows += [(k, p + 1, s.item, secrets.token_urlsafe(9), int(s.flipped), int(s.repeat))
                         for p, s in enumerate(pages)]
            conn.executemany("INSERT INTO pages (annotator, position, item, key, flipped, repeat) "
                             "VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        finally:
            conn.close()  # the last connection checkpoints the log into the file and removes it


# ------------------------------------------------------------------ reading and writing answers


def secret(conn: sqlite3.Connection) -> bytes:
    """The study's key for the forms' anti-forgery tokens."""
    return bytes.fromhex(json.loads(conn.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()[0]))


def page_answers(conn: sqlite3.Connection, page: int) -> dict[str, str]:
    """Criterion -> the answer given on one page."""
    return dict(conn.execute("SELECT criterion, value FROM answers WHERE page = ?", (page,)))


def answered_pages(conn: sqlite3.Connection, annotator: int, n_criteria: int) -> set[int]:
    """The positions of an annotator's pages with every criterion answered."""
    return {r[0] for r in conn.execute(
        "SELECT p.position FROM pages p JOIN answers a ON a.page = p.id WHERE p.annotator = ? "
        "GROUP BY p.id HAVING COUNT(*) >= ?", (annotator, n_criteria))}


def save_answers(conn: sqlite3.Connection, page: int, answers: Mapping[str, str]) -> None:
    """One page's answers in one transaction, replacing earlier answers of that page (one row per criterion)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("INSERT INTO answers VALUES (?, ?, ?, ?) ON CONFLICT (page, criterion) "
                         "DO UPDATE SET value = excluded.value, answered = excluded.answered",
                         [(page, c, str(v), now) for c, v in answers.items()])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def all_answers(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(page id, criterion, answer) of every answer."""
    return list(conn.execute("SELECT page, criterion, value FROM answers ORDER BY page, criterion"))


def texts(conn: sqlite3.Connection, document: int) -> tuple[str, str, list[str]]:
    """(example id, document, references) of a document."""
    example_id, doc, refs = conn.execute("SELECT example_id, document, refs FROM documents WHERE id = ?",
                                         (document,)).fetchone()
    return example_id, doc, json.loads(refs)


def summary(conn: sqlite3.Connection, document: int, system: int) -> str:
    return conn.execute("SELECT prediction FROM summaries WHERE document = ? AND system = ?",
                        (document, system)).fetchone()[0]


def run_of(conn: sqlite3.Connection) -> dict[str, str]:
    """System -> the run its summaries came from."""
    return dict(conn.execute("SELECT name, run FROM systems"))
