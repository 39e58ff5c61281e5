"""Fixtures and tasks from plain article files, without writing Python.

An article file is UTF-8 text in this layout (the seed articles' format)::

    line 1   headline
    line 2   date, YYYYMMDD
    line 3   URL (http:// or https://)
    line 4+  body

`import_articles` reads one or many such files (or folders of ``*.txt``) and
writes, for a name NAME:

- ``NAME_headline.jsonl`` + ``NAME-headline.yaml``: headline generation, the
  published headline as reference. Ready to run.
- ``NAME_summarization.jsonl`` + ``NAME-summarization.yaml``: the articles with
  ``"references": []``, for the user to fill in with reference summaries.
- ``NAME_qa.jsonl`` + ``NAME-qa.yaml``: one question template per article
  (``"question": ""``), for the user to fill in with questions and answers.

The last two are drafts (``draft: true``): plain `bench run` and `bench
validate` skip them with a note, so a half-done import never blocks other
tasks; naming one checks it (`bench validate NAME`) or refuses it with what to
do (`bench run --task NAME`). Every file is
checked before anything is written; existing files are kept unless `force`;
the files are written to temporary files and renamed into place together,
so an import writes all of them or none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError, BenchErrors, relpath
from bench.io import (BOM, IS_A_DIRECTORY, NO_SUCH_FILE, atomic_path, decode_utf8, json_line, not_a_regular_file,
                      read_bytes)
from bench.tasks.definition import MAX_TASK_NAME
from bench.tasks.discovery import discover_tasks

#: What NAME may look like: it becomes part of file and task names.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Article:
    """One article file, parsed."""

    id: str
    """The file name without its extension."""
    headline: str
    date: str
    """ISO date, YYYY-MM-DD."""
    url: str
    body: str
    source: Path


@dataclass(frozen=True)
class ImportedTask:
    name: str
    task_file: Path
    fixture_file: Path
    ready: bool
    """False for the files the user still has to fill in."""


def parse_article(path: Path) -> Article:
    """Read one article file; every problem is reported with file:line."""
    where = relpath(path)
    data = read_bytes(path, "article file")
    if data.startswith(BOM):  # a byte-order mark from some editors; not part of the text
        data = data[len(BOM):]
    text = decode_utf8(data, where)
    lines = text.replace("\r\n", "\n").split("\n")
    layout = "line 1 headline, line 2 date YYYYMMDD, line 3 URL, then the body"
    errors: list[BenchError] = []
    headline = lines[0].strip()
    if not headline:
        errors.append(BenchError("the headline (line 1) is empty", where=f"{where}:1", hint=layout))
    date_line = lines[1].strip() if len(lines) > 1 else ""
    date = ""
    if len(lines) < 2 or not date_line:
        errors.append(BenchError("missing date line (line 2, YYYYMMDD)", where=f"{where}:2", hint=layout))
    elif not re.fullmatch(r"\d{8}", date_line):
        errors.append(BenchError(f"date {date_line!r} is not YYYYMMDD", where=f"{where}:2",
                                 hint="write the date as 8 digits, e.g. 20210902"))
    else:
        try:
            date = dt.datetime.strptime(date_line, "%Y%m%d").date().isoformat()
        except ValueError:
            errors.append(BenchError(f"date {date_line!r} is not a real date (YYYYMMDD)", where=f"{where}:2",
                                     hint="check the month (01-12) and the day"))
    url = lines[2].strip() if len(lines) > 2 else ""
    if len(lines) < 3 or not url:
        errors.append(BenchError("missing URL line (line 3)", where=f"{where}:3", hint=layout))
    elif not _URL.fullmatch(url):
        errors.append(BenchError(f"line 3 should be the article's URL (http:// or https://), got {_short(url)!r}",
                                 where=f"{where}:3", hint=layout))
    body = "\n".join(lines[3:]).strip("\n")
    if not body.strip():
        errors.append(BenchError("the body is empty (the article text starts on line 4)", where=f"{where}:4",
                                 hint=layout))
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)
    return Article(id=path.stem, headline=headline, date=date, url=url, body=body, source=path)


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[:n - 3] + "..."


def article_files(paths: list[Path]) -> list[Path]:
    """The files to import: each file given, and the ``*.txt`` files of each folder given (sorted)."""
    files: list[Path] = []
    errors: list[BenchError] = []
    for p in paths:
        problem = not_a_regular_file(p)
        if problem not in ("", NO_SUCH_FILE, IS_A_DIRECTORY):  # a FIFO, a device, a link loop: never opened
            errors.append(BenchError(f"cannot read article file: {problem}", where=relpath(p)))
        elif p.is_dir():
            found = sorted(p.glob("*.txt"))
            if not found:
                errors.append(BenchError("folder has no .txt article files", where=relpath(p)))
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            errors.append(BenchError("no such file or folder", where=relpath(p)))
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)
    return files


def read_articles(paths: list[Path]) -> list[Article]:
    """Parse every file; all problems of all files are reported together."""
    articles: list[Article] = []
    errors: list[BenchError] = []
    for path in article_files(paths):
        try:
            articles.append(parse_article(path))
        except BenchErrors as e:
            errors.extend(e.errors)
        except BenchError as e:
            errors.append(e)
    seen: dict[str, Path] = {}
    for a in articles:
        if a.id in seen:
            if seen[a.id].resolve() == a.source.resolve():
                errors.append(BenchError("the same file is given twice", where=relpath(a.source)))
            else:
                errors.append(BenchError(
                    f"two articles would get the id {a.id!r}: {relpath(seen[a.id])} and {relpath(a.source)}",
                    where=relpath(a.source), hint="ids come from file names; rename one file",
                ))
        else:
            seen[a.id] = a.source
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)
    return articles


#: Longest NAME: NAME-summarization is a task name, at most MAX_TASK_NAME characters.
MAX_NAME = MAX_TASK_NAME - len("-summarization")


def check_name(name: str) -> None:
    """A NAME cannot lead outside the output folders, and makes valid task names."""
    if not NAME_PATTERN.fullmatch(name) or ".." in name or len(name) > MAX_NAME:
        raise BenchError(f"invalid name {name!r}",
                         hint="use letters, digits, '-', '_' and '.', starting with a letter or digit "
                              f"(no path separators, no '..'), at most {MAX_NAME} characters")


def check_folders(fixtures_dir: Path, tasks_dir: Path) -> None:
    """--fixtures-dir and --tasks-dir are folders, or do not exist yet (they are made)."""
    for option, folder in (("--fixtures-dir", fixtures_dir), ("--tasks-dir", tasks_dir)):
        problem = not_a_regular_file(folder)
        if problem == "":
            raise BenchError(f"{option} names a file, not a folder", where=relpath(folder),
                             hint=f"pass a folder to {option} (it is made when it does not exist)")
        if problem not in (NO_SUCH_FILE, IS_A_DIRECTORY):
            raise BenchError(f"cannot use {option}: {problem}", where=relpath(folder),
                             hint=f"pass a folder to {option} (it is made when it does not exist)")


def _jsonl(rows: list[dict]) -> str:
    return "".join(json_line(r) + "\n" for r in rows)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _fixture_ref(tasks_dir: Path, fixture: Path) -> str:
    return Path(os.path.relpath(fixture.resolve(), tasks_dir.resolve())).as_posix()


def plan_import(articles: list[Article], name: str, fixtures_dir: Path,
                tasks_dir: Path) -> tuple[list[ImportedTask], dict[Path, str]]:
    """The tasks and the files (path -> content) an import writes; nothing is written."""
    n = len(articles)
    what = f"{n} article{'s' if n != 1 else ''}"
    meta = [{"id": a.id, "title": a.headline, "date": a.date, "url": a.url} for a in articles]
    files: dict[Path, str] = {}
    tasks: list[ImportedTask] = []
    headline_prompt = _q("Write a one-line headline for the following news article.\n\n{document}")
    summary_prompt = _q("Summarize the following news article in three sentences.\n\n{document}")
    qa_prompt = _q("Answer the question with a short span copied from the article. If the article does not "
                   "answer it, reply exactly: unanswerable.\n\nArticle: {context}\n\nQuestion: {question}\nAnswer:")

    def add(kind: str, ready: bool, rows: list[dict], yaml_text: str) -> None:
        fixture = fixtures_dir / f"{name}_{kind}.jsonl"
        task_file = tasks_dir / f"{name}-{kind}.yaml"
        files[fixture] = _jsonl(rows)
        files[task_file] = (yaml_text.replace("@FIXTURE@", _fixture_ref(tasks_dir, fixture))
                            .replace("@VALIDATE@", f"bench validate {relpath(task_file)}"))
        tasks.append(ImportedTask(f"{name}-{kind}", task_file, fixture, ready))

    add("headline", True,
        [{**m, "document": a.body, "references": [a.headline]} for m, a in zip(meta, articles)],
        f"""# Headline generation on {what}: the reference is each article's published headline.
# Made by `bench fixture import`; edit freely (and increase `version` when you change it).
name: {name}-headline
version: 1
type: summarization
description: {_q(f"Write the headline of a news article ({what}; reference: the published headline).")}
fixture: @FIXTURE@
fields:
  id: id
  document: document
  references: references
metrics: [rouge, extractiveness]
summary_sentences: 1
generation:
  min_new_tokens: 1
  max_new_tokens: 32
  min_length: 0
prompt: {headline_prompt}
""")
    add("summarization", False,
        [{**m, "document": a.body, "references": []} for m, a in zip(meta, articles)],
        f"""# Summarization of {what}. TO DO before it runs: in the fixture below, give each
# line one or more reference summaries, e.g.
#   "references": ["First sentence of a summary.\\nSecond sentence."]
# (sentences separated by "\\n", as rougeLsum expects). Until then this task is a draft:
# plain `bench run` and `bench validate` skip it with a note. When
# `@VALIDATE@` passes, delete the line `draft: true`.
name: {name}-summarization
version: 1
type: summarization
draft: true
description: {_q(f"Summarize a news article in 2-4 sentences ({what}; references written by you).")}
fixture: @FIXTURE@
fields:
  id: id
  document: document
  references: references
metrics: [rouge, extractiveness]
summary_sentences: 3
generation: {{}}
prompt: {summary_prompt}
""")
    add("qa", False,
        [{"id": f"{a.id}-q1", "title": a.headline, "context": a.body, "question": "",
          "answers": {"text": [], "answer_start": []}} for a in articles],
        f"""# Extractive question answering (SQuAD 2.0 style) on {what}. TO DO before it runs:
# in the fixture below, each line is one question about its "context". Fill in
# "question" and "answers": {{"text": [a span copied exactly from the context],
# "answer_start": [its character offset]}}; leave both lists empty when the context
# does not answer the question. Copy a line (with a new unique "id") for each further
# question. `@VALIDATE@` reports the right answer_start for each answer text.
# Until then this task is a draft: plain `bench run` and `bench validate` skip it with a
# note. When `@VALIDATE@` passes, delete the line `draft: true`.
name: {name}-qa
version: 1
type: qa
draft: true
description: {_q(f"Answer questions with a span of a news article, or abstain ({what}; questions written by you).")}
fixture: @FIXTURE@
fields:
  id: id
  context: context
  question: question
  answers: answers
metrics: [squad]
generation:
  max_new_tokens: 24
prompt: {qa_prompt}
""")
    return tasks, files


def _check_task_names(tasks: list[ImportedTask], tasks_dir: Path) -> None:
    """No imported task may take a name another task file already uses (it would break discovery)."""
    dirs = [tasks_dir] if not_a_regular_file(tasks_dir) == IS_A_DIRECTORY else []
    known = discover_tasks(dirs)
    errors = []
    for t in tasks:
        other = known.get(t.name)
        if other is not None and other.resolve() != t.task_file.resolve():
            errors.append(BenchError(f"task name {t.name!r} is already used by {relpath(other)}",
                                     hint="choose another --name"))
    if errors:
        raise errors[0] if len(errors) == 1 else BenchErrors(errors)


def write_files(files: dict[Path, str], force: bool) -> None:
    """Write every file, or none: existing files are refused (unless `force`) before anything is written.

    A folder made for them is removed again when the writing fails.
    """
    existing = [p for p in files if not_a_regular_file(p) != NO_SUCH_FILE]
    if existing and not force:
        raise BenchError(
            f"{len(existing)} file{'s' if len(existing) != 1 else ''} already exist: "
            + ", ".join(relpath(p) for p in existing),
            hint="pass --force to overwrite them, or choose another --name",
        )
    missing = sorted({folder for p in files for folder in (p.parent, *p.parent.parents)
                      if not_a_regular_file(folder) == NO_SUCH_FILE}, key=lambda d: len(d.parts), reverse=True)
    try:
        with ExitStack() as stack:  # every file is renamed into place only when all of them are written
            for path, content in files.items():
                tmp = stack.enter_context(atomic_path(path))
                tmp.write_bytes(content.encode("utf-8"))
    except BaseException:
        for folder in missing:  # deepest first; a folder something else wrote into stays
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def import_articles(paths: list[Path], name: str, fixtures_dir: Path, tasks_dir: Path,
                    force: bool = False) -> tuple[list[Article], list[ImportedTask]]:
    """Parse the article files and write the fixtures and task definitions (see the module docstring)."""
    check_name(name)
    check_folders(fixtures_dir, tasks_dir)
    articles = read_articles(paths)
    tasks, files = plan_import(articles, name, fixtures_dir, tasks_dir)
    _check_task_names(tasks, tasks_dir)
    write_files(files, force)
    return articles, tasks
