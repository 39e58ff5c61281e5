"""The cache store, for every cache kind: damage beyond the bad-input corpus's classes (tests/test_bad_inputs.py,
section `cache`), what cannot be written, a newer store, bounded reads, and claims.

Every test drives the class bench itself uses for a kind (tests/helpers/cache_kinds.py) and checks the rule of
`bench.cache.database`: no value that was not written is handed back; what cannot be trusted is dropped (and
computed again by the caller), with a warning; nothing raises.
"""

from __future__ import annotations

import os
import sqlite3
import warnings
from pathlib import Path

import pytest

import cache_kinds
from cache_kinds import KINDS, add_row, edit, rows

from bench.cache import database, safe_files
from bench.cache.database import DB_NAME, open_store

ALL = list(range(6))


@pytest.fixture(params=list(KINDS))
def kind(request):
    return KINDS[request.param]


@pytest.fixture
def filled(tmp_path, kind):
    """A cache directory holding entries 0-5 of the kind; returns (directory, group)."""
    directory = tmp_path / "cache"
    table = kind.open(directory)
    kind.write(table, ALL)
    group = kind.group(table)
    table.close()
    return directory, group


def _read(kind, directory: Path) -> tuple[dict, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = kind.open(directory)
        try:
            got = kind.read(table, ALL)
        finally:
            table.close()
    for i, value in got.items():
        assert value == kind.value(i), "a cache never hands back a value that was not written"
    return got, [str(w.message) for w in caught]


def test_what_is_written_is_read_back_alike_and_checked(filled, kind):
    directory, group = filled
    got, said = _read(kind, directory)
    assert got == {i: kind.value(i) for i in ALL} and said == []
    found = rows(directory, kind.ns)
    assert len(found) == 6 and all(writer.startswith("bench ") and f"pid {os.getpid()}" in writer
                                   for *_, writer, _ in found)


def test_an_entry_copied_into_another_group_does_not_belong_there(filled, kind):
    directory, group = filled
    _, key, value, writer, check = rows(directory, kind.ns)[0]
    edit(directory, "UPDATE entries SET grp = ? WHERE key = ?", (group + "x", key))  # its checksum is its group's
    edit(directory, "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", (kind.ns, group, key + b"", value, writer, check))
    got, said = _read(kind, directory)
    assert set(got) == set(ALL)  # the sound copy in its own group is read
    other = open_store(directory)
    try:  # ... and the one moved to another group is damage there
        with pytest.warns(UserWarning, match="1 damaged entry"):
            assert other.get(kind.ns, group + "x", [key]) == {}
        assert other.damaged == {kind.ns: 1}
    finally:
        other.close()


def test_a_sound_checksum_over_a_value_bench_does_not_write_is_damage(filled, kind):
    directory, group = filled
    key = rows(directory, kind.ns)[5][1]
    edit(directory, "DELETE FROM entries WHERE key = ?", (key,))
    add_row(directory, kind.ns, group, key, b"\xff" * 16 + b"not a value")
    got, said = _read(kind, directory)
    assert set(got) == set(ALL) - {5}
    assert len(said) == 1 and "1 damaged entry" in said[0] and "not what bench writes" in said[0]
    assert len(rows(directory, kind.ns)) == 5  # dropped from the store


def test_a_value_larger_than_its_kind_holds_is_never_read(filled, kind, monkeypatch):
    directory, group = filled
    table = kind.open(directory)
    limit = min(table.max_bytes, 4096)  # the bound itself is megabytes for most kinds: a small one, read alike
    monkeypatch.setattr(type(table), "max_bytes", limit)
    table.close()
    key = rows(directory, kind.ns)[1][1]
    edit(directory, "DELETE FROM entries WHERE key = ?", (key,))
    add_row(directory, kind.ns, group, key, b"x" * (limit + 1))
    got, said = _read(kind, directory)
    assert set(got) == set(ALL) - {1} and "1 damaged entry" in said[0]


@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_database_damaged_in_the_middle_hands_back_no_wrong_value(filled, kind, damage):
    directory, _ = filled
    path = directory / DB_NAME
    data = bytearray(path.read_bytes())
    if damage == "random bytes":
        middle = len(data) // 2
        data[middle:middle + 64] = os.urandom(64)
    else:
        data = data[:len(data) // 2]
    path.write_bytes(bytes(data))
    got, said = _read(kind, directory)  # whatever SQLite notices or not: sound entries only, and a warning if any
    assert len(got) == 6 or said


@pytest.mark.parametrize("what", ["directory", "fifo", "dangling link", "link to /dev/zero", "hard link"])
@pytest.mark.parametrize("name", [DB_NAME, DB_NAME + "-wal"])
def test_anything_but_a_regular_file_of_its_own_is_moved_aside_never_followed(tmp_path, kind, what, name):
    directory = tmp_path / "cache"
    directory.mkdir()
    path = directory / name
    elsewhere = tmp_path / "elsewhere"
    if what == "directory":
        path.mkdir()
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "dangling link":
        path.symlink_to(elsewhere)
    elif what == "link to /dev/zero":
        path.symlink_to("/dev/zero")
    else:
        elsewhere.write_bytes(b"")
        os.link(elsewhere, path)
    table = kind.open(directory)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind.write(table, ALL)
    assert kind.read(table, ALL) == {i: kind.value(i) for i in ALL}
    table.close()
    assert not elsewhere.exists() or elsewhere.read_bytes() == b"", "nothing is written through a link"
    moved = [p for p in directory.iterdir() if p.name.startswith(name + ".damaged-")]
    assert len(moved) == 1 and safe_files.problem(directory / DB_NAME) is None
    (said,) = [str(w.message) for w in caught]
    assert "was damaged (" in said and "moved aside" in said


def test_the_cache_folder_replaced_by_a_file_is_moved_aside(tmp_path, kind):
    directory = tmp_path / "cache"
    directory.write_text("a file where the cache folder belongs")
    table = kind.open(directory)
    with pytest.warns(UserWarning, match="a regular file in place of the cache directory|not a regular file in place"):
        kind.write(table, ALL)
    assert kind.read(table, ALL) == {i: kind.value(i) for i in ALL}
    table.close()
    assert (tmp_path / "cache").is_dir() and len(list(tmp_path.glob("cache.damaged-*"))) == 1


def test_a_store_locked_for_writing_is_read_and_not_written(filled, kind, monkeypatch):
    monkeypatch.setattr(database, "LOCK_WAIT_S", 0.2)
    directory, _ = filled
    holder = sqlite3.connect(directory / DB_NAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        table = kind.open(directory)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert kind.read(table, ALL) == {i: kind.value(i) for i in ALL}  # readers never wait in WAL mode
            kind.write(table, [6, 7])
            kind.write(table, [8])  # no second wait, no second warning
            assert kind.read(table, [6, 7, 8]) == {} and kind.read(table, [0]) == {0: kind.value(0)}
        table.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    (said,) = [str(w.message) for w in caught]
    assert "is read, but not written: another process holds its lock (waited 0.2 s)" in said


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only files")
def test_a_read_only_store_is_read_and_not_written(filled, kind):
    directory, _ = filled
    (directory / DB_NAME).chmod(0o444)
    try:
        table = kind.open(directory)
        with pytest.warns(UserWarning, match="is read, but not written: attempt to write a readonly database"):
            kind.write(table, [6])
        assert kind.read(table, [0, 6]) == {0: kind.value(0)}
        table.close()
    finally:
        (directory / DB_NAME).chmod(0o644)


def test_a_store_of_a_newer_bench_is_neither_used_nor_touched(filled, kind):
    directory, _ = filled
    edit(directory, "UPDATE meta SET value = '2' WHERE name = 'schema'")
    before = (directory / DB_NAME).read_bytes()
    table = kind.open(directory)
    with pytest.warns(UserWarning, match="is not used: it was written by a newer bench"):
        assert kind.read(table, ALL) == {}
    kind.write(table, ALL)
    table.close()
    assert (directory / DB_NAME).read_bytes() == before
    assert not list(directory.glob("*.damaged-*"))


def test_a_database_with_tables_of_its_own_is_not_bench_s(tmp_path, kind):
    directory = tmp_path / "cache"
    directory.mkdir()
    db = sqlite3.connect(directory / DB_NAME)
    db.execute("CREATE TABLE pairs (key TEXT PRIMARY KEY, entail REAL, contradict REAL)")
    db.commit()
    db.close()
    table = kind.open(directory)
    with pytest.warns(UserWarning, match=r"was damaged \(tables that are not a bench cache store's\)"):
        kind.write(table, ALL)
    assert kind.read(table, ALL) == {i: kind.value(i) for i in ALL}
    table.close()


# ------------------------------------------------------------------ claims


def test_claims_share_keys_between_owners_and_free_those_of_a_gone_owner(tmp_path):
    import subprocess
    import sys

    from bench.cache.claims import Owner

    store = open_store(tmp_path)
    try:
        assert store.claim("n", "g", [b"a", b"b"]) == ([b"a", b"b"], [])
        store.put("n", "g", [(b"a", b"1")])
        assert store.claim("n", "g", [b"a", b"b", b"c"]) == ([b"b", b"c"], [])  # stored: nobody's; mine: mine
        # another owner's claim, while it lives and once it is gone
        code = ("import sys, time\nfrom pathlib import Path\nfrom bench.cache.database import open_store\n"
                f"s = open_store({str(tmp_path)!r})\nprint(s.claim('n', 'g', [b'x'])[0], flush=True)\n"
                "sys.stdin.read()\n")
        other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
        assert other.stdout.readline().strip() == "[b'x']"
        assert store.claim("n", "g", [b"x"]) == ([], [b"x"])
        other.kill()  # as kill -9: its lock goes with it
        other.wait()
        other.stdout.close()
        other.stdin.close()
        assert store.claim("n", "g", [b"x"]) == ([b"x"], [])
        assert not Owner(tmp_path / "claims").alive("not a name") and not Owner(tmp_path / "claims").alive("1-" + "0" * 12)
    finally:
        store.close()
    assert list((tmp_path / "claims").iterdir()) == []  # every owner's file is gone with it


def test_a_store_given_up_is_not_waited_for_again_in_the_process(filled, kind, monkeypatch):
    import time

    monkeypatch.setattr(database, "LOCK_WAIT_S", 0.6)
    monkeypatch.setattr(database, "_GIVEN_UP", {})
    directory, _ = filled
    holder = cache_kinds.lock(directory, kind, "")
    try:
        with pytest.warns(UserWarning, match="is not used: another process holds its lock"):
            table = kind.open(directory)
            assert kind.read(table, ALL) == {}
            table.close()
        start = time.monotonic()  # the next (model, task) pair of the run: no second wait, no second warning
        table = kind.open(directory)
        assert kind.read(table, ALL) == {}
        kind.write(table, ALL)
        table.close()
        assert time.monotonic() - start < 0.3
    finally:
        holder.execute("ROLLBACK")
        holder.close()
