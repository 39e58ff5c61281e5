"""`bench annotate serve` for real: uvicorn in a subprocess on 127.0.0.1, answers over HTTP from several
annotators at once, the address it listens on, a port already taken, Ctrl-C."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from annotate_studies import Server, free_port, synthetic_study

from bench.annotation.storage import all_answers, connect, open_study

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp")]
pytest.importorskip("uvicorn", reason="needs the annotate extra")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def opener():
    """A plain HTTP client with cookies that does not follow redirects (it reads where they lead)."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())


def get(o, url: str) -> str:
    with o.open(url, timeout=30) as r:
        return r.read().decode()


def post(o, url: str, fields: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with o.open(urllib.request.Request(url, data=data, method="POST"), timeout=30) as r:
            return r.status, r.headers.get("location", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("location", "")


def listening(port: int) -> set[str]:
    """The addresses (hex, as /proc/net/tcp writes them) listening on `port`."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, p = local.rsplit(":", 1)
            if int(p, 16) == port and state == "0A":
                out.add(address)
    return out


def test_serve_binds_loopback_unless_told_and_prints_private_links(tmp_path):
    synthetic_study(tmp_path / "s.sqlite")
    study = open_study(tmp_path / "s.sqlite")
    server = Server(Path("s.sqlite"), tmp_path)
    try:
        assert listening(server.port) == {"0100007F"}  # 127.0.0.1 only
        assert server.links == {a.name: f"http://127.0.0.1:{server.port}/a/{a.token}" for a in study.annotators}
        assert "Ctrl-C stops" in server.output
        # a second server cannot take the port: one message, exit 3
        proc = subprocess.run([sys.executable, "-m", "bench", "annotate", "serve", "s.sqlite", "--port",
                               str(server.port)], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 3 and f"cannot listen on 127.0.0.1:{server.port}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        err = server.stop()
    assert server.proc.returncode == 130 and "Traceback" not in err
    # told otherwise, it listens where it is told, and warns
    server = Server(Path("s.sqlite"), tmp_path, host="0.0.0.0")
    try:
        assert listening(server.port) == {"00000000"}
    finally:
        err = server.stop()
    assert "anyone who can reach this machine and has a link can answer" in err


def test_annotators_at_once_lose_and_double_no_answer(tmp_path):
    names = ("a", "b", "c", "d")
    synthetic_study(tmp_path / "s.sqlite", annotators=names, documents=["doc"] * 8, overlap=3)
    study = open_study(tmp_path / "s.sqlite")
    server = Server(Path("s.sqlite"), tmp_path)
    errors: list[str] = []
    expected: dict[tuple[int, str], str] = {}
    lock = threading.Lock()

    def annotate(k: int, rounds: int) -> None:
        try:
            a = study.annotators[k]
            o = opener()
            for r in range(rounds):
                for p in a.pages:
                    html = get(o, f"http://127.0.0.1:{server.port}/a/{a.token}/{p.position}")
                    hidden = dict(re.findall(r'name="(csrf|item)" value="([^"]+)"', html))
                    values = {"coherence": str(1 + (p.position + r + k) % 5), "fluency": str(1 + (r + k) % 3)}
                    status, _ = post(o, f"http://127.0.0.1:{server.port}/a/{a.token}/answer", {**hidden, **values})
                    if status != 303:
                        errors.append(f"{a.name} page {p.position}: {status}")
                    if r == rounds - 1:
                        with lock:
                            expected.update({(p.id, c): v for c, v in values.items()})
        except Exception as e:  # reported below, with the others
            errors.append(f"{k}: {e!r}")

    try:
        # four annotators at once, each twice over their pages, and a second browser of annotator a racing the
        # first on the same pages
        threads = [threading.Thread(target=annotate, args=(k, 2)) for k in range(len(names))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads) and errors == []
        race = [threading.Thread(target=annotate, args=(0, 1)) for _ in range(2)]
        for t in race:
            t.start()
        for t in race:
            t.join(timeout=300)
        assert errors == []
    finally:
        server.kill()
    conn = connect(tmp_path / "s.sqlite")
    stored = all_answers(conn)
    conn.close()
    assert len(stored) == len({(p, c) for p, c, _ in stored}) == sum(len(a.pages) for a in study.annotators) * 2
    assert {(p, c): v for p, c, v in stored} == expected


def test_free_port_and_a_bad_port(tmp_path):
    synthetic_study(tmp_path / "s.sqlite")
    proc = subprocess.run([sys.executable, "-m", "bench", "annotate", "serve", "s.sqlite", "--port", "70000"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--port must be from 0 to 65535, got 70000" in proc.stderr
    assert free_port() > 0
