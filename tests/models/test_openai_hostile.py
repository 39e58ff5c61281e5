"""An OpenAI-compatible server is untrusted input: one that drips its reply a byte at a time, closes the connection
in the middle of a reply, or sends a reply of megabytes is bounded, retried or refused with one clear message,
for `openai:` models and for the judge alike (a raw socket server on 127.0.0.1, so each misbehaviour is exact)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from bench.errors import BenchError
from bench.metrics import MetricInputs, MetricSpec
from bench.metrics.scoring import score_examples


class HostileServer:
    """/v1/models answers at once; each completion request is answered by the next behaviour of `plan`
    (then "ok" for the rest): "ok", "drip" (the reply one byte every `drip_s`), "cut" (half the reply, then
    the connection closed) or "huge" (a reply of `huge_bytes`)."""

    def __init__(self, reply: str = "4", plan: list[str] | None = None) -> None:
        self.reply = reply
        self.plan = list(plan or [])
        self.drip_s = 0.05
        self.huge_bytes = 3 << 20
        self.completions = 0
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        deadline = time.monotonic() + 120  # bounded: the server stops by itself
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                request += chunk
            head, _, body = request.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            if head.startswith(b"GET /v1/models"):
                return self.send(conn, json.dumps({"data": [{"id": "judge-x"}]}).encode(), "ok")
            with self.lock:
                self.completions += 1
                behaviour = self.plan.pop(0) if self.plan else "ok"
            text = "x" * self.huge_bytes if behaviour == "huge" else self.reply
            payload = json.dumps({"model": "judge-x", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "text": text}]}).encode()
            self.send(conn, payload, behaviour)
        except OSError:
            pass
        finally:
            conn.close()

    def send(self, conn: socket.socket, payload: bytes, behaviour: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % len(payload))
        if behaviour == "drip":
            for k in range(len(payload)):
                if self.stop.is_set():
                    return
                conn.sendall(payload[k:k + 1])
                time.sleep(self.drip_s)
        elif behaviour == "cut":
            conn.sendall(payload[:len(payload) // 2])
        else:
            conn.sendall(payload)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def hostile():
    servers: list[HostileServer] = []

    def make(**kwargs) -> HostileServer:
        servers.append(HostileServer(**kwargs))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _judge(server: HostileServer, **settings) -> float:
    inputs = MetricInputs(ids=["a"], predictions=["A summary."], references=[["A reference."]],
                          documents=["A document."])
    spec = MetricSpec("judge:consistency", {"model": "openai:judge-x", "base_url": server.url, **settings})
    return score_examples([spec], inputs).metrics["judge_consistency"]


def test_a_server_that_drips_its_reply_is_cut_off_at_the_timeout(hostile):
    server = hostile(plan=["drip", "drip"])  # about 5 s a reply, one byte every 0.05 s
    t0 = time.monotonic()
    with pytest.raises(BenchError) as e:
        _judge(server, timeout=0.5, max_retries=1)
    took = time.monotonic() - t0
    assert "failed 2 times" in e.value.message and "within 0.5 s" in e.value.message
    assert took < 4, took  # two tries of 0.5 s and a short wait, not the 10 s of two dripped replies
    # the hint names the judge's own options, not --gen's
    assert "--metric-opt judge.max_retries / --metric-opt judge.timeout" in e.value.hint


def test_a_drip_within_the_timeout_is_read_whole(hostile):
    server = hostile(plan=["drip"])
    server.drip_s = 0.001
    assert _judge(server, timeout=30) == 4.0


def test_a_connection_closed_in_the_middle_of_a_reply_is_retried(hostile):
    server = hostile(plan=["cut", "cut"])
    assert _judge(server, max_retries=2) == 4.0
    assert server.completions == 3


def test_a_connection_closed_every_time_is_bench_s_error(hostile):
    server = hostile(plan=["cut"] * 3)
    with pytest.raises(BenchError) as e:
        _judge(server, max_retries=1)
    assert "failed 2 times" in e.value.message and "closed in the middle of the reply" in e.value.message


def test_a_huge_reply_is_refused_not_scored(hostile):
    server = hostile(plan=["huge"])
    with pytest.raises(BenchError) as e:
        _judge(server)
    assert "larger than 65536 bytes" in e.value.message and "--metric-opt judge.max_reply_bytes" in e.value.hint
    assert server.completions == 1  # not retried: the same request would get the same reply


def test_the_judge_s_reply_bound_can_be_raised(hostile):
    server = hostile(plan=["huge"])
    server.huge_bytes = 100_000
    with pytest.raises(BenchError, match="no reply of the judge has a number"):
        _judge(server, max_reply_bytes=1 << 20)  # read and taken: a reply of x's has no number


@pytest.mark.parametrize("plan, gen, expected", [
    (["drip"], ["timeout=0.5", "max_retries=0"], "within 0.5 s"),
    (["huge"], [], "larger than 1048576 bytes"),
])
def test_an_openai_model_is_bounded_the_same_way(hostile, cli, tmp_path, plan, gen, expected):
    server = hostile(reply="Answer: Lukashenko", plan=plan)
    args = ["run", "-q", "-o", str(tmp_path), "--model", "openai:judge-x", "--base-url", server.url,
            "--task", "seed-qa", "--limit", "1", "--gen", "backoff=0.01"]
    for g in gen:
        args += ["--gen", g]
    code, _, err = cli(*args)
    assert code == 3 and expected in err and "Traceback" not in err
    assert "--gen" in err
    assert not list(tmp_path.glob("*/*/*/results.json"))


def test_an_openai_model_reads_a_reply_cut_once(hostile, cli, tmp_path):
    server = hostile(reply="Answer: Lukashenko", plan=["cut"])
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:judge-x", "--base-url", server.url,
                       "--task", "seed-qa", "--limit", "1", "--gen", "backoff=0.01")
    assert code == 0, err
    (path,) = tmp_path.glob("seed-qa/*/*/predictions.jsonl")
    assert json.loads(path.read_text().splitlines()[0])["prediction"] == "Lukashenko"
