"""The console examples of README.md and docs/*.md, run as a reader would run them and compared with the page.

A fenced block marked `console` is a transcript: lines that start with ``$ `` are commands (a line ending with
``\\`` goes on on the next), the lines after a command up to the next one are what the page says it prints
(stdout and stderr together, as a terminal shows them). The blocks of a page run in order in one working
directory of their own (a fresh temporary ``/home/me/project``), so a page is followed as a reader follows it:
what an earlier block made (runs, imported tasks) is there for a later one.

What a page can say about its examples (docs/development.md, "Examples in the docs"):

- a command with the comment ``# not tested: REASON`` is shown and not run (a hub download, a GPU, a server
  that runs until Ctrl-C); the reason is for the reader as much as for the runner;
- a fenced block of any language whose first line is a comment naming a file (``# my_models.py``,
  ``# my_tasks/news.yaml``) is written to that file before the next console block runs;
- an HTML comment right before a console block, ``<!-- docs-test ... -->``, holds what the reader does in
  prose: lines of shell run (by bash, in the block's directory, with ``$REPO`` the checkout) before the block,
  and the keywords
  ``own-directory`` (the block runs in an empty directory of its own, and leaves the page's as it was) and
  ``varies: REGEX`` (text that differs from run to run, in this block only, compared as ``<varies>``);
- ``...`` in the output stands for anything: on a line of its own, any number of lines (none included); inside a
  line, any text (doctest's ELLIPSIS).

Commands made only of ``bench ...`` (joined by ``&&``) run in this process, through `bench.cli.app.main`, for
speed; any other command (pipes, redirections, ``VAR=value`` before a command, other programs) runs in bash,
with this environment's ``bench`` first on the PATH and ``HOME`` at ``/home/me``.

Before the comparison both sides are normalised, for what legitimately differs between two runs: run ids and
times, the ``ex/s`` (throughput) column of a table, package versions in signatures (``bench:0.1.0``,
``spacy-3.8.18``), the temporary directories (shown as ``/home/me/project`` and ``/home/me``), and the widths of
table columns (spaces and rules collapsed: a wider number of examples per second widens its column).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Where a page's working directory appears to be, and its home.
SHOWN_PROJECT = "/home/me/project"
SHOWN_HOME = "/home/me"
#: The marker of a command that is shown but not run.
NOT_TESTED = re.compile(r"#\s*not tested:\s*(?P<reason>.+)$")
#: How long one command may take (a command that hangs fails its test instead of the suite).
COMMAND_TIMEOUT_S = 300
#: Commands that are cheap enough for the fast suite; a block that runs (or follows on its page a block that
#: runs) any other bench command is marked slow.
FAST_COMMANDS = ("validate", "list", "fixture", "--help", "--version")

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
_FILE_HEADER = re.compile(r"^#\s+(?P<path>[\w][\w./-]*\.\w+)\s*$")
_DIRECTIVE = re.compile(r"<!--\s*docs-test\b(?P<body>.*?)-->", re.S)


@dataclass
class Command:
    text: str
    """The command as a shell reads it (continuation lines joined, its trailing comment kept)."""
    line: int
    """Its line in the page."""
    output: list[str] = field(default_factory=list)
    """What the page shows it printing."""
    not_tested: str | None = None
    """Why it is not run, when the page says so (``# not tested: REASON``)."""


@dataclass
class Block:
    page: Path
    line: int
    """The line of its opening fence."""
    commands: list[Command]
    shell: str = ""
    """What the reader does before it, as bash (from its ``<!-- docs-test -->`` comment)."""
    own_directory: bool = False
    varies: list[str] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)
    """(path, text) of the blocks above it, since the previous console block, that name their file."""

    @property
    def id(self) -> str:
        return f"{page_name(self.page)}:{self.line}"


def repository(page: Path) -> Path:
    """The checkout a page is in (README.md at its top, the others in docs/)."""
    return page.parent.parent if page.parent.name == "docs" else page.parent


def page_name(page: Path) -> str:
    return page.relative_to(repository(page)).as_posix()


@dataclass
class Fence:
    line: int
    info: str
    lines: list[str]
    directive: str | None
    """The body of a ``<!-- docs-test ... -->`` comment right before it, if any."""


def fences(text: str) -> list[Fence]:
    """Every fenced code block of a Markdown text, its content dedented by its fence's indentation."""
    out: list[Fence] = []
    lines = text.splitlines()
    k = 0
    while k < len(lines):
        m = _FENCE.match(lines[k])
        if not m:
            k += 1
            continue
        indent, fence, info = len(m["indent"]), m["fence"], m["info"]
        before = "\n".join(lines[:k]).rstrip()
        directive = None
        if before.endswith("-->"):
            start = before.rfind("<!--")
            d = _DIRECTIVE.fullmatch(before[start:]) if start != -1 else None
            directive = d["body"] if d else None
        body: list[str] = []
        j = k + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                      and not lines[j].strip().strip(fence[0])):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j].lstrip())
            j += 1
        out.append(Fence(k + 1, info, body, directive))
        k = j + 1
    return out


def parse_commands(fence: Fence) -> list[Command]:
    """The commands of a console block and the output shown after each."""
    commands: list[Command] = []
    k = 0
    while k < len(fence.lines):
        line = fence.lines[k]
        if line.startswith("$ "):
            text, start = line[2:], fence.line + 1 + k
            while text.rstrip().endswith("\\") and k + 1 < len(fence.lines):
                k += 1
                text = text.rstrip()[:-1] + " " + fence.lines[k].strip()
            found = NOT_TESTED.search(text)
            commands.append(Command(text, start, not_tested=found["reason"].strip() if found else None))
        elif commands:
            commands[-1].output.append(line)
        elif line.strip():
            commands.append(Command("", fence.line + 1 + k, [line]))  # output before any command: refused
        k += 1
    return commands


def page_blocks(page: Path) -> list[Block]:
    """The console blocks of a page, in order, with what each needs run or written before it."""
    blocks: list[Block] = []
    files: list[tuple[str, str]] = []
    for fence in fences(page.read_text(encoding="utf-8")):
        if fence.info != "console":
            header = _FILE_HEADER.match(fence.lines[0]) if fence.lines else None
            if header:
                files.append((header["path"], "\n".join(fence.lines) + "\n"))
            continue
        block = Block(page, fence.line, parse_commands(fence), files=files)
        files = []
        for raw in (fence.directive or "").splitlines():
            stripped = raw.strip()
            if stripped == "own-directory":
                block.own_directory = True
            elif stripped.startswith("varies:"):
                block.varies.append(stripped.partition(":")[2].strip())
            elif stripped:
                block.shell += raw + "\n"
        blocks.append(block)
    return blocks


def pages(repo: Path) -> list[Path]:
    return [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]


def transcripts_outside_console_blocks(page: Path) -> list[int]:
    """Lines of a page that look like a console transcript (``$ bench ...``) outside a console block: an
    example the runner would not see."""
    text = page.read_text(encoding="utf-8")
    console_lines: set[int] = set()
    for fence in fences(text):
        if fence.info in ("console", "markdown", "md"):  # a transcript, or Markdown showing how to write one
            console_lines.update(range(fence.line, fence.line + len(fence.lines) + 2))
    return [n for n, line in enumerate(text.splitlines(), start=1)
            if re.match(r"\s*\$ \S", line) and n not in console_lines]


def is_slow(blocks: list[Block], block: Block) -> bool:
    """Whether running `block` (and the blocks before it on its page, which it needs) runs an expensive bench
    command (a run, a comparison, ...) rather than a cheap one (`FAST_COMMANDS`) or none."""
    for b in blocks[:blocks.index(block) + 1]:
        for c in b.commands:
            if c.not_tested is None:
                for m in re.finditer(r"(?:^|&&|\|)\s*(?:\w+=\S*\s+)*bench\s+(\S+)", c.text):
                    if m[1] not in FAST_COMMANDS:
                        return True
    return False


# ------------------------------------------------------------------ normalising


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RUN_ID = re.compile(r"\b\d{8}T\d{6}Z-[0-9a-f]{6}\b")
_ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?\b|\b\d+:\d\d:\d\d\b")
_VERSIONS = re.compile(r"\b(bench|spacy|nupunkt|rouge-score-rs)([-: ])\d+(?:\.\d+)+\w*")
_SEPARATORS = "┃│|"
#: Table columns whose values are timings.
TIMED_COLUMNS = ("ex/s",)


def _cells(line: str) -> list[str] | None:
    for sep in _SEPARATORS:
        if line.count(sep) >= 2:
            return line.split(sep)
    return None


def mask_timed_columns(lines: list[str]) -> list[str]:
    """Each cell of a table column headed by one of `TIMED_COLUMNS` (rich or Markdown) as ``<ex/s>``."""
    out: list[str] = []
    column: tuple[int, int] | None = None  # (index, number of cells)
    for line in lines:
        cells = _cells(line)
        if cells is None:
            if not re.fullmatch(r"[\s┏┓┡┩├┤╇╋┼┳┯━─═╤]+", line):  # not a rule inside a table
                column = None
            out.append(line)
            continue
        names = [c.strip() for c in cells]
        timed = [i for i, n in enumerate(names) if n in TIMED_COLUMNS]
        if timed:
            column = (timed[0], len(cells))
        elif column is not None and len(cells) == column[1]:
            cells[column[0]] = " <ex/s> "
            line = _join(line, cells)
        out.append(line)
    return out


def _join(line: str, cells: list[str]) -> str:
    for sep in _SEPARATORS:
        if line.count(sep) >= 2:
            return sep.join(cells)
    return line


def normalise(text: str, places: dict[str, str] | None = None, varies: list[str] = ()) -> list[str]:
    """The lines of `text` with what legitimately differs between two runs written the same way (module
    docstring); `places` maps paths to what the page shows for them."""
    text = _ANSI.sub("", text)
    for real, shown in sorted((places or {}).items(), key=lambda kv: -len(kv[0])):
        text = text.replace(real, shown)
    for pattern in varies:
        text = re.sub(pattern, "<varies>", text)
    text = _RUN_ID.sub("<run-id>", text)
    text = _ISO_TIME.sub("<time>", text)
    text = _VERSIONS.sub(r"\1\2<version>", text)
    lines = mask_timed_columns(text.splitlines())
    out = []
    for line in lines:
        line = re.sub("━+", "━", re.sub("─+", "─", re.sub("═+", "═", line)))
        line = re.sub(r"-{3,}", "---", line) if line.lstrip().startswith("|") else line
        out.append(" ".join(line.split()))
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` is `expected`, where ``...`` in `expected` stands for anything: a line of its own for any
    number of lines (none included), and inside a line for any text (the rest of the line and lines after it
    included, as doctest's ELLIPSIS)."""
    pattern = []
    for line in expected:
        if line == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*?".join(re.escape(part) for part in line.split("...")) + r"\n")
    return re.fullmatch("".join(pattern), "".join(f"{line}\n" for line in actual), re.S) is not None


# ------------------------------------------------------------------ running


@dataclass
class Outcome:
    block: Block
    problems: list[str]
    seconds: float
    skipped: list[str]
    """The reasons of the commands shown and not run."""


class PageSession:
    """One page followed in order, in a temporary home of its own."""

    def __init__(self, page: Path, root: Path) -> None:
        self.page = page
        self.root = root
        self.blocks = page_blocks(page)
        self.done: dict[int, Outcome] = {}
        self.home, self.workdir = self._directory("page")

    def _directory(self, name: str) -> tuple[Path, Path]:
        """(home, working directory) of a new empty directory."""
        home = self.root / name / "home" / "me"
        (home / "project").mkdir(parents=True)
        return home, home / "project"

    @property
    def places(self) -> dict[str, str]:
        out = {}
        for path, shown in ((self.workdir, SHOWN_PROJECT), (self.home, SHOWN_HOME)):
            out[str(path)] = shown
            out[str(path.resolve())] = shown
        return out

    def outcome(self, block: Block) -> Outcome:
        """Run every block of the page up to `block` that has not run yet; `block`'s outcome."""
        for b in self.blocks[:self.blocks.index(block) + 1]:
            if b.line not in self.done:
                self.done[b.line] = self._run(b)
        return self.done[block.line]

    def earlier_failures(self, block: Block) -> list[str]:
        return [b.id for b in self.blocks[:self.blocks.index(block)]
                if b.line in self.done and self.done[b.line].problems]

    def _run(self, block: Block) -> Outcome:
        if not block.own_directory:
            return self._run_here(block)
        page = self.home, self.workdir
        self.home, self.workdir = self._directory(f"block-{block.line}")
        try:
            return self._run_here(block)
        finally:
            self.home, self.workdir = page

    def _run_here(self, block: Block) -> Outcome:
        t0 = time.perf_counter()
        problems: list[str] = []
        for path, text in block.files:
            target = self.workdir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if block.shell:
            code, out = self._bash("set -e\n" + block.shell)
            if code != 0:
                return Outcome(block, [f"{block.id}: the steps before the example (<!-- docs-test -->) failed "
                                       f"with exit code {code}:\n{out}"], time.perf_counter() - t0, [])
        skipped = []
        for command in block.commands:
            if not command.text:
                problems.append(f"{page_name(block.page)}:{command.line}: output shown before any command "
                                "(a console block starts with `$ command`)")
                continue
            if command.not_tested is not None:
                skipped.append(command.not_tested)
                continue
            actual = self.execute(command.text)
            want = normalise("\n".join(command.output), self.places, block.varies)
            got = normalise(actual, self.places, block.varies)
            if not matches(want, got):
                diff = "\n".join(difflib.unified_diff(want, got, "the page", "the program", lineterm="", n=2))
                first = next(k for k in range(len(want) + 1) if not matches(want[:k + 1] + ["..."], got)) \
                    if not matches(want + ["..."], got) else len(want)
                where = (f"from the page's line {first + 1} of this output on: {want[first]!r}"
                         if first < len(want) else "the program prints more than the page shows")
                problems.append(f"{page_name(block.page)}:{command.line}: `$ {command.text}` prints something "
                                f"else than the page shows, {where} (both normalised; `...` matches anything):\n"
                                f"{diff}\n--- what it printed:\n{actual}")
        return Outcome(block, problems, time.perf_counter() - t0, skipped)

    # ---------------------------------------------------------------- one command

    def execute(self, command: str) -> str:
        """What `command` prints (stdout and stderr as one stream), run in the page's directory."""
        argvs = bench_argvs(command)
        if argvs is None:
            return self._bash(command)[1]
        buffer = io.StringIO()
        old = Path.cwd()
        os.chdir(self.workdir)
        try:
            with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                for argv in argvs:
                    if run_bench(argv) != 0:
                        break
        finally:
            os.chdir(old)
        return buffer.getvalue()

    def _bash(self, script: str) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("HF_HOME", "HF_HUB_CACHE", "HF_DATASETS_CACHE", "TRANSFORMERS_CACHE", "XDG_CACHE_HOME",
                            "FORCE_COLOR", "COLUMNS", "LINES", "BENCH_DEBUG", "PYTHONPATH")}
        env.update(HOME=str(self.home), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                   HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1", NO_COLOR="1",
                   REPO=str(repository(self.page)))
        try:
            done = subprocess.run(["bash", "-c", script], cwd=self.workdir, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            return 124, f"(timed out after {COMMAND_TIMEOUT_S} s)\n{e.stdout or ''}"
        return done.returncode, done.stdout


def bench_argvs(command: str) -> list[list[str]] | None:
    """The argument lists of a command made only of ``bench ...`` commands joined by ``&&`` (its trailing
    comment dropped); None for anything else, which bash runs."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError:
        return None
    argvs: list[list[str]] = [[]]
    for token in tokens:
        if token == "&&":
            argvs.append([])
        elif token and set(token) <= set("();<>|&"):
            return None
        else:
            argvs[-1].append(token)
    if any(not argv or argv[0] != "bench" for argv in argvs):
        return None
    return [argv[1:] for argv in argvs]


def run_bench(argv: list[str]) -> int:
    """`bench ARGV...` in this process; its exit code."""
    from bench.cli.app import main

    try:
        main(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def have(program: str) -> bool:
    return shutil.which(program) is not None
