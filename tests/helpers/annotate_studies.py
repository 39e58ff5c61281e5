"""Studies, runs, servers and a browser for the human-evaluation tests (tests/annotation/).

- `synthetic_study` writes a study through bench's own design and storage code from texts given here (no
  runs): fast, and the texts (hostile ones included) are the test's own.
- `make_runs` runs lead-3, textrank and first-sentence on the six articles of tests/annotation/data.
- `Server` starts `bench annotate serve` in a subprocess on a free port of 127.0.0.1 and waits, bounded,
  until it answers; `kill` ends it with SIGKILL.
- `chromium` starts Debian's headless Chromium through Selenium, with an empty profile of its own.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from bench.annotation.criteria import Criterion, builtin_criteria
from bench.annotation.design import make_design, system_pairs
from bench.annotation.storage import StudyContent, open_study, write_study

HELPERS = Path(__file__).resolve().parent
DATA = HELPERS.parent / "annotation" / "data"
TASK = "annotate-news"
SYSTEMS = ("lead-3", "textrank", "first-sentence")
#: Model output that must reach the page as text: HTML, a script, a javascript: link, a right-to-left override.
HOSTILE = ('<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
           '<a href="javascript:window.__xss = 3">javascript:alert(1)</a> \u202eLAVITSEF\u202c caf\u00e9 \U0001F389')
#: Readable texts: a test reads a summary to choose its answer (the page never says which system wrote it).
DOCUMENTS = [f"Document {d}. " + "It is about something. " * (d + 2) for d in range(6)]


def criteria(*names: str) -> list[Criterion]:
    known = builtin_criteria()
    return [known[n] for n in names]


def synthetic_study(path: Path, *, systems: Sequence[str] = ("sys-alpha", "sys-beta", "sys-gamma"),
                    documents: Sequence[str] = DOCUMENTS, annotators: Sequence[str] = ("ana", "ben"),
                    names: Sequence[str] = ("coherence", "fluency"), pairwise: bool = False,
                    baseline: int | None = None, overlap: int | None = None, repeat: int = 0, seed: int = 0,
                    predictions: dict[tuple[int, int], str] | None = None) -> Path:
    """A study whose summary of document d by system s is "summary of d by s" (unless `predictions` says)."""
    pairs = system_pairs(len(systems), baseline) if pairwise else None
    design = make_design(len(documents), len(systems), len(annotators), overlap=overlap or len(annotators),
                         repeat=repeat, seed=seed, pairs=pairs)
    texts = {(d, s): f"Summary {d}-{s}: " + "word " * (s + 1) for d in range(len(documents)) for s in range(len(systems))}
    texts.update(predictions or {})
    write_study(path, StudyContent(
        mode="pairwise" if pairwise else "ratings", task="synthetic", criteria=criteria(*names),
        systems=[(s, f"results/synthetic/{s}/run") for s in systems],
        documents=[(f"doc-{d}", text, [f"reference {d}"]) for d, text in enumerate(documents)], predictions=texts,
        annotators=list(annotators), design=design,
        settings={"task_hash": "0" * 64, "sample": None, "seed": seed, "overlap": overlap or len(annotators),
                  "repeat": repeat, "baseline": None}))
    return path


def make_runs(results: Path) -> Path:
    """Runs of lead-3, textrank and first-sentence on the task of tests/annotation/data, under `results`."""
    from bench.api import run

    run(models=["lead-3", "textrank", "annotate_models:FirstSentence"], tasks=[TASK], tasks_dirs=[DATA],
        output_dir=results)
    return results


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`bench annotate serve STUDY` in a subprocess on 127.0.0.1, started and waited for (bounded)."""

    def __init__(self, study: Path, cwd: Path, port: int | None = None, host: str | None = None) -> None:
        self.port = port or free_port()
        args = [sys.executable, "-m", "bench", "annotate", "serve", str(study), "--port", str(self.port)]
        if host is not None:
            args += ["--host", host]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPERS), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     start_new_session=True)
        self.links: dict[str, str] = {}
        self.output = ""
        expected = len(open_study(cwd / study).annotators)
        deadline = time.monotonic() + 30
        fd = self.proc.stdout.fileno()
        pending = b""
        while time.monotonic() < deadline and len(self.links) < expected:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 4096) if ready else b""
            if not chunk:
                break
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace")
                self.output += text + "\n"
                m = re.match(r"\s+(\S+)\s+(http://\S+)$", text)
                if m:
                    self.links[m.group(1)] = m.group(2)
        self.wait_until_answering(deadline)

    def wait_until_answering(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server stopped: {self.output}{self.proc.stderr.read().decode()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2)
            except urllib.error.HTTPError:
                return  # it answers (404 without a token)
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not answer in time: {self.output}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def stop(self) -> str:
        """Ctrl-C (SIGINT), as a user stops it; returns what it wrote to stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        return err.decode("utf-8", "replace")


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def chromium(width: int = 1400, height: int = 900):
    """Headless Chromium through Selenium (Debian's chromium and chromium-driver), a new empty profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="bench-chromium-")
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(10)
    driver.profile_dir = profile
    return driver


def close(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.profile_dir, ignore_errors=True)
