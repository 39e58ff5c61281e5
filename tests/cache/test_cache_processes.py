"""The cache store under other processes, for every cache kind: a writer killed with SIGKILL at any moment loses
nothing it stored and damages nothing; processes writing at once each see the others' entries, and none is
stored twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from cache_kinds import KINDS, rows

from conftest import HELPERS, REPO

pytestmark = pytest.mark.slow


def _writer(kind: str, directory: Path, first: int, last: int, pause: float = 0.0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{HELPERS}{os.pathsep}{REPO}"}
    return subprocess.Popen([sys.executable, str(HELPERS / "cache_kinds.py"), kind, str(directory), str(first),
                             str(last), str(pause)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_writer_killed_mid_write_loses_nothing_it_stored_and_damages_nothing(tmp_path, kind):
    k = KINDS[kind]
    directory = tmp_path / "cache"
    proc = _writer(kind, directory, 0, 100_000)  # as fast as it can: killed in the middle of some write
    stored = -1
    deadline = time.time() + 60
    while stored < 300 and time.time() < deadline:
        stored = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    assert stored >= 300
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = k.open(directory)
        got = k.read(table, list(range(stored + 50)))
        assert set(range(stored + 1)) <= set(got)  # every entry it said was stored
        assert all(got[i] == k.value(i) for i in got)
        k.write(table, list(range(stored + 50)))  # the rest, by the next process
        assert k.read(table, list(range(stored + 50))) == {i: k.value(i) for i in range(stored + 50)}
        table.close()
    assert not caught, [str(w.message) for w in caught]
    assert not list(directory.glob("*.damaged-*"))


@pytest.mark.parametrize("kind", list(KINDS))
def test_processes_writing_at_once_see_each_others_entries_and_store_each_once(tmp_path, kind):
    k = KINDS[kind]
    directory = tmp_path / "cache"
    # two writers of the same 150 entries and one of 150 others, at once
    procs = [_writer(kind, directory, 0, 150), _writer(kind, directory, 0, 150), _writer(kind, directory, 150, 300)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and "Traceback" not in err and "warning" not in err.lower(), err
        assert out.split() == [str(i) for i in range(int(out.split()[0]), int(out.split()[-1]) + 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = k.open(directory)
        assert k.read(table, list(range(300))) == {i: k.value(i) for i in range(300)}
        table.close()
    assert not caught
    keys = [key for _, key, *_ in rows(directory, k.ns)]
    assert len(keys) == len(set(keys)) == 300  # no key twice


def test_a_reader_sees_a_writer_s_entries_while_it_writes(tmp_path):
    k = KINDS["predictions"]
    directory = tmp_path / "cache"
    proc = _writer("predictions", directory, 0, 40, 0.05)
    table = k.open(directory)
    seen = []
    deadline = time.time() + 60
    while len(seen) < 40 and time.time() < deadline:
        seen = sorted(k.read(table, list(range(40))))
        time.sleep(0.02)
    proc.communicate(timeout=60)
    table.close()
    assert seen == list(range(40))
