"""The store's commits are seen by other processes at once, and its write-ahead log fsynced at most about once
a second (`FSYNC_INTERVAL_S`) and when the store closes: a fast model's hundreds of batches a second do not
each pay for an fsync."""

from __future__ import annotations

import os
import time

import pytest

from bench.cache import database
from bench.cache.database import FSYNC_INTERVAL_S, open_store


@pytest.fixture
def fsyncs(monkeypatch):
    """How many times the store's write-ahead log was fsynced (each fsync still done)."""
    done: list[str] = []
    real = os.fsync

    def counting(fd):
        done.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else "?")
        real(fd)

    monkeypatch.setattr(database.os, "fsync", counting)
    return lambda: len([p for p in done if p.endswith("-wal")])


def test_a_fast_writer_fsyncs_about_once_a_second_and_each_commit_is_seen_at_once(tmp_path, fsyncs):
    store = open_store(tmp_path)
    other = database.Store(tmp_path)  # as another process would open it
    start = time.monotonic()
    for k in range(300):
        store.put("n", "g", [(b"e%d" % k, b"p%d" % k)])
        assert other.get("n", "g", [b"e%d" % k]) == {b"e%d" % k: b"p%d" % k}  # no close or fsync needed
    elapsed = time.monotonic() - start
    assert fsyncs() <= elapsed / FSYNC_INTERVAL_S + 1
    store.close()
    assert fsyncs() <= elapsed / FSYNC_INTERVAL_S + 2 and fsyncs()  # closing syncs what was left
    other.refs = 1
    other.close()


def test_a_write_after_the_interval_is_fsynced_and_close_syncs_only_what_it_has_not(tmp_path, fsyncs, monkeypatch):
    monkeypatch.setattr(database, "FSYNC_INTERVAL_S", 0.05)
    store = open_store(tmp_path)
    store.put("n", "g", [(b"a", b"1")])
    time.sleep(0.06)
    store.put("n", "g", [(b"b", b"2")])
    n = fsyncs()
    assert n >= 1
    store.close()
    assert fsyncs() == n  # nothing written since the last fsync


def test_a_failing_fsync_costs_the_cache_not_the_run(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    store.put("n", "g", [(b"a", b"1")])

    def failing(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(database.os, "fsync", failing)
    with pytest.warns(UserWarning, match="is read, but not written: Input/output error"):
        store.close()
    assert store.db is None
