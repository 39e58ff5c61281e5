"""The prediction cache writes each batch at once and fsyncs it at most about once a second, and on close."""

from __future__ import annotations

import os
import time

import pytest

from bench.execution import cache as cache_module
from bench.execution.cache import FSYNC_INTERVAL_S, PredictionCache


@pytest.fixture
def fsyncs(monkeypatch):
    """fsyncs(cache): how many times the cache's file was fsynced (each fsync still done; the atomic writes of its
    other files are not counted)."""
    done: list[int] = []
    real = os.fsync

    def counting(fd):
        done.append(os.fstat(fd).st_ino)
        real(fd)

    monkeypatch.setattr(cache_module.os, "fsync", counting)
    return lambda cache: done.count(cache.path.stat().st_ino)


def test_a_fast_model_is_fsynced_about_once_a_second_and_each_batch_is_seen_at_once(tmp_path, fsyncs):
    cache = PredictionCache(tmp_path, "t", "m", {"x": 1})
    other = PredictionCache(tmp_path, "t", "m", {"x": 1})  # another process reading the same file
    start = time.monotonic()
    for k in range(300):
        cache.append([(f"e{k}", f"p{k}")])
        assert other.load()[f"e{k}"] == f"p{k}"  # written through: no close or fsync needed to read it
    elapsed = time.monotonic() - start
    assert fsyncs(cache) <= elapsed / FSYNC_INTERVAL_S + 1
    cache.close()
    assert fsyncs(cache) <= elapsed / FSYNC_INTERVAL_S + 2 and fsyncs(cache)  # close fsyncs what was left
    assert other.load() == {f"e{k}": f"p{k}" for k in range(300)}


def test_an_append_after_the_interval_is_fsynced(tmp_path, fsyncs, monkeypatch):
    monkeypatch.setattr(cache_module, "FSYNC_INTERVAL_S", 0.05)
    cache = PredictionCache(tmp_path, "t", "m", {"x": 1})
    cache.append([("a", "1")])
    time.sleep(0.06)
    cache.append([("b", "2")])
    n = fsyncs(cache)
    assert n >= 1
    cache.close()
    assert fsyncs(cache) == n  # nothing was written since the last fsync


def test_close_fsyncs_only_what_it_has_not(tmp_path, fsyncs):
    cache = PredictionCache(tmp_path, "t", "m", {"x": 1})
    cache.close()  # nothing opened, nothing written
    assert not cache.path.exists()
    cache.append([("a", "1")])
    cache.close()
    assert fsyncs(cache) == 1
    cache.close()  # closed already
    assert fsyncs(cache) == 1
    cache.append([("b", "2")])  # opens the file again
    cache.close()
    assert fsyncs(cache) == 2 and cache.load() == {"a": "1", "b": "2"}


def test_a_failing_fsync_on_close_is_the_cache_write_error_and_the_file_is_closed(tmp_path, monkeypatch):
    cache = PredictionCache(tmp_path, "t", "m", {"x": 1})
    cache.append([("a", "1")])
    fd = cache._fd

    def failing(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(cache_module.os, "fsync", failing)
    with pytest.raises(cache_module.BenchError) as info:
        cache.close()
    assert info.value.message == "cannot write the prediction cache: Input/output error"
    assert info.value.hint == cache_module.WRITE_HINT and info.value.exit_code == 3
    assert cache._fd is None
    with pytest.raises(OSError):
        os.fstat(fd)
