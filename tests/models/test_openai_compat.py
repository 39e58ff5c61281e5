"""`--model openai:NAME --base-url URL` against a small OpenAI-style server started on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.errors import BenchError


class FakeServer:
    """A chat/completions server: answers QA prompts with the question's last capitalised word,
    summarization prompts with the article's first sentence. Failures and delays are injected."""

    def __init__(self) -> None:
        self.fail_first = 0
        """The first N completion requests answer 503."""
        self.status_always: int | None = None
        self.refuse_after: int | None = None
        """Completion requests after the first N answer 400."""
        self.slow_first = 0
        """The first N completion requests take `slow_s` seconds."""
        self.slow_s = 0.0
        self.delay_s = 0.05
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, code: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": "tiny-echo"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    n = len(server.requests)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.status_always:
                        return self._send(server.status_always, {"error": {"message": f"no: {server.status_always}"}})
                    if server.refuse_after is not None and n > server.refuse_after:
                        return self._send(400, {"error": {"message": "refused"}})
                    if n <= server.fail_first:
                        return self._send(503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"})
                    time.sleep(server.slow_s if n <= server.slow_first else server.delay_s)
                    if self.path == "/v1/chat/completions":
                        prompt = body["messages"][0]["content"]
                        text = server.answer(prompt)
                        choice = {"index": 0, "message": {"role": "assistant", "content": text}}
                    elif self.path == "/v1/completions":
                        text = server.answer(body["prompt"])
                        choice = {"index": 0, "text": text}
                    else:
                        return self._send(404, {"error": {"message": "no such endpoint"}})
                    self._send(200, {"model": body["model"], "system_fingerprint": "fp-test", "choices": [choice],
                                     "usage": {"completion_tokens": len(text.split())}})
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def answer(prompt: str) -> str:
        if "Question:" in prompt:
            question = prompt.rsplit("Question:", 1)[1]
            if "prize" in question:
                return "Unanswerable."
            return "Answer: Lukashenko\nBecause the article says so."
        article = prompt.split("\n\n", 1)[1]
        return article.split(". ")[0] + ".\n\n"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def _record(out: Path, task: str) -> dict:
    (path,) = out.glob(f"{task}/*/*/results.json")
    record = json.loads(path.read_text())
    record["_predictions"] = [json.loads(line) for line in (path.parent / "predictions.jsonl").read_text().splitlines()]
    return record


def test_runs_every_task_type_with_limited_concurrency(server, cli, tmp_path):
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
                       "--task", "seed-qa", "--task", "seed-summarization", "--limit", "12",
                       "--gen", "concurrency=3", "--gen", "backoff=0.01")
    assert code == 0, err
    qa = _record(tmp_path, "seed-qa")
    assert [p["prediction"] for p in qa["_predictions"]] == ["Lukashenko"] * 12  # first line, label dropped
    model = qa["config"]["model"]
    assert model["kind"] == "openai-compatible" and model["id"] == "tiny-echo"
    assert model["base_url"] == server.url + "/v1" and model["server_model"] == "tiny-echo"
    assert model["system_fingerprint"] == ["fp-test"] and model["client"]["concurrency"] == 3
    # greedy, seeded, with the task's length (max_new_tokens -> max_tokens)
    assert model["generation"] == {"temperature": 0.0, "seed": 0, "max_tokens": 24}
    assert 2 <= server.max_in_flight <= 3
    assert qa["timing"]["requests"] == 12 and qa["timing"]["retries"] == 0
    summary = _record(tmp_path, "seed-summarization")["_predictions"][0]["prediction"]
    assert summary.startswith("KYIV: The authoritarian leader of Belarus") and not summary.endswith("\n")
    request = server.requests[0]
    assert request["model"] == "tiny-echo" and request["temperature"] == 0.0
    assert "Article: KYIV" in request["messages"][0]["content"] or "KYIV" in request["messages"][0]["content"]


def test_unanswerable_reply_is_no_answer(server, cli, tmp_path):
    rows = [{"id": "u1", "context": "The sky was blue.", "question": "Who won the prize?",
             "answers": {"text": [], "answer_start": []}}]
    (tmp_path / "u.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (tmp_path / "u.yaml").write_text("name: u\nversion: 1\ntype: qa\nfixture: u.jsonl\n")
    code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), "--model", "openai:tiny-echo",
                       "--base-url", server.url, "--task", str(tmp_path / "u.yaml"), "--gen", "api=completions")
    assert code == 0, err
    record = _record(tmp_path / "out", "u")
    assert record["_predictions"][0]["prediction"] == "" and record["metrics"]["exact_match"] == 100.0
    assert record["config"]["model"]["api"] == "completions"


def test_failures_that_may_pass_are_retried(server, cli, tmp_path):
    server.fail_first = 2
    server.slow_first, server.slow_s = 3, 1.5  # requests 3 (after two 503s) times out once
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
                       "--task", "seed-qa", "--limit", "3", "--gen", "concurrency=1", "--gen", "backoff=0.01",
                       "--gen", "timeout=0.5")
    assert code == 0, err
    record = _record(tmp_path, "seed-qa")
    assert [p["prediction"] for p in record["_predictions"]] == ["Lukashenko"] * 3
    assert record["timing"]["retries"] == 3


def test_retries_run_out_with_a_clear_error(server, cli, tmp_path):
    server.status_always = 503
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
                       "--task", "seed-qa", "--limit", "2", "--gen", "max_retries=2", "--gen", "backoff=0.01")
    assert code == 3 and "failed 3 times" in err and "HTTP 503: no: 503" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*/*/*/results.json"))


def test_a_refused_request_stops_at_once_with_the_servers_message(server, cli, tmp_path):
    server.status_always = 400
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
                       "--task", "seed-qa", "--limit", "2", "--gen", "backoff=0.01")
    assert code == 3 and "refused a request" in err and "HTTP 400: no: 400" in err
    assert len(server.requests) <= 2  # no retries of a 400


def test_unreachable_server_and_unknown_model_fail_before_predicting(server, cli, tmp_path):
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:other-model", "--base-url", server.url,
                       "--task", "seed-qa")
    assert code == 3 and "does not serve 'other-model'" in err and "tiny-echo" in err
    url = server.url
    server.close()
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", url,
                       "--task", "seed-qa", "--gen", "timeout=2")
    assert code == 3 and f"cannot reach the server at {url}/v1" in err and "Traceback" not in err
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--task", "seed-qa")
    assert code == 2 and "--base-url" in err
    assert not list(tmp_path.glob("*/*/*/results.json"))
    server.httpd = _Closed()


class _Closed:
    def shutdown(self) -> None:
        pass

    def server_close(self) -> None:
        pass


def test_base_url_forms():
    from bench.models.openai_compat import api_root, spec_for

    assert api_root("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert api_root("http://127.0.0.1:8000/v1/") == "http://127.0.0.1:8000/v1"
    assert api_root("https://host/openai/v1") == "https://host/openai/v1"
    with pytest.raises(BenchError, match="not an http"):
        api_root("127.0.0.1:8000")
    with pytest.raises(BenchError, match="name the served model"):
        spec_for("openai:")
    assert spec_for("openai:org/model").task_types == ("summarization", "qa")
    assert re.match(r"openai:", spec_for("openai:x").name)


# ------------------------------------------------------ the prediction cache


def _cached_lines(out: Path) -> list[dict]:
    """The prediction cache's entries, read from the store as another process reads it."""
    import sqlite3

    if not (out / ".cache" / "cache.sqlite").exists():
        return []
    db = sqlite3.connect(out / ".cache" / "cache.sqlite", timeout=10)
    try:
        found = db.execute("SELECT key, value FROM entries WHERE ns = 'predictions'").fetchall()
    except sqlite3.OperationalError:  # made a moment ago: its tables are not there yet
        found = []
    finally:
        db.close()
    return [{"id": k.decode(), "prediction": v[1:].decode()} for k, v in found]  # b"P" + the prediction


@pytest.mark.parametrize("concurrency", [1, 3])
def test_each_answer_is_cached_as_it_arrives(server, cli, tmp_path, concurrency):
    """A run stopped by a refused request keeps every answer that arrived, not only whole batches of 32."""
    server.refuse_after = 5
    args = ("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
            "--task", "seed-qa", "--limit", "10", "--gen", f"concurrency={concurrency}")
    code, _, err = cli(*args)
    assert code == 3 and "refused a request" in err and "Traceback" not in err
    kept = _cached_lines(tmp_path)
    assert len(kept) == 5 and all(row["prediction"] == "Lukashenko" for row in kept)
    assert len(server.requests) <= 5 + concurrency  # nothing new was sent after the refusal
    server.refuse_after = None
    sent = len(server.requests)
    code, _, err = cli(*args)
    assert code == 0, err
    assert len(server.requests) - sent == 5  # only the answers that never arrived are asked for again
    record = _record(tmp_path, "seed-qa")
    assert record["config"]["cache"]["reused"] == 5 and record["timing"]["cached"] == 5


@pytest.mark.slow
@pytest.mark.parametrize("signum", ["SIGKILL", "SIGINT"])
def test_a_killed_run_loses_at_most_the_request_in_flight(server, tmp_path, signum):
    import os
    import signal
    import subprocess
    import sys

    from conftest import REPO

    server.delay_s = 0.3
    args = [sys.executable, "-m", "bench", "run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo",
            "--base-url", server.url, "--task", "seed-qa", "--limit", "12", "--gen", "concurrency=1"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and len(_cached_lines(tmp_path)) < 3:
        time.sleep(0.02)
    proc.send_signal(getattr(signal, signum))
    _, err = proc.communicate(timeout=30)
    if signum == "SIGINT":
        assert proc.returncode == 130 and "Traceback" not in err and "run the same command again" in err, err
    kept = len(_cached_lines(tmp_path))
    assert 3 <= kept < 12
    answered = len(server.requests)
    assert answered - kept <= 1  # the request in flight, at most
    server.delay_s = 0.0
    resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.requests) - answered == 12 - kept


@pytest.mark.parametrize("key, suggestion", [
    ("temprature", "temperature"), ("max_token", "max_tokens"), ("concurency", "concurrency"),
    ("top-p", "top_p"), ("num_beams", None),
])
def test_a_misspelled_gen_key_is_an_error_with_a_suggestion(server, cli, tmp_path, key, suggestion):
    code, _, err = cli("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
                       "--task", "seed-qa", "--limit", "2", "--gen", f"{key}=1")
    assert code == 2 and "Traceback" not in err
    assert f"unknown setting '{key}' for an OpenAI-compatible server (--gen)" in err
    assert (f"Did you mean '{suggestion}'" in err) if suggestion else "Did you mean" not in err
    assert "hint: settings: api, backoff, concurrency" in err
    assert server.requests == [] and not list(tmp_path.glob("*/*/*/results.json"))


def test_a_tasks_settings_for_other_models_are_recorded_as_ignored(server, cli, tmp_path):
    rows = [{"id": "a", "context": "Lukashenko won.", "question": "Who won?", "answers": {"text": ["Lukashenko"],
                                                                                       "answer_start": [0]}}]
    (tmp_path / "a.jsonl").write_text(json.dumps(rows[0]) + "\n")
    (tmp_path / "a.yaml").write_text("name: a\nversion: 1\ntype: qa\nfixture: a.jsonl\n"
                                     "generation: {num_beams: 4, max_new_tokens: 8}\n")
    code, _, err = cli("run", "-q", "-o", str(tmp_path / "out"), "--model", "openai:tiny-echo",
                       "--base-url", server.url, "--task", str(tmp_path / "a.yaml"))
    assert code == 0, err
    model = _record(tmp_path / "out", "a")["config"]["model"]
    assert model["ignored_settings"] == {"task.num_beams": 4} and model["generation"]["max_tokens"] == 8


def test_the_seed_and_sampling_settings_are_in_the_cache_key_and_client_settings_are_not(server, cli, tmp_path):
    base = ("run", "-q", "-o", str(tmp_path), "--model", "openai:tiny-echo", "--base-url", server.url,
            "--task", "seed-qa", "--limit", "3", "--gen", "backoff=0.01")

    def sent(*extra: str) -> int:
        before = len(server.requests)
        code, _, err = cli(*base, *extra)
        assert code == 0, err
        return len(server.requests) - before

    assert sent() == 3
    # client settings change no answer: the cache holds
    assert sent("--gen", "concurrency=2", "--gen", "timeout=30", "--gen", "max_retries=1") == 0
    assert sent("--base-url", server.url + "/v1/") == 0  # the same URL, spelt otherwise
    # what the server answers from is asked again
    assert sent("--seed", "1") == 3
    assert sent("--gen", "temperature=0.7") == 3
    assert sent("--gen", "api=completions") == 3
    assert sent("--seed", "1") == 0


def test_token_log_probabilities_are_read_from_both_apis_and_anything_else_is_none():
    from bench.models.openai_compat import token_logprobs

    chat = {"content": [{"token": " 4", "logprob": -0.5, "top_logprobs": [{"token": " 3", "logprob": -1.5},
                                                                          {"token": "x", "logprob": float("nan")},
                                                                          {"token": "y", "logprob": -10 ** 400}]}]}
    assert token_logprobs(chat, "chat") == ((" 4", ((" 3", -1.5), (" 4", -0.5))),)
    completions = {"tokens": ["4", "."], "token_logprobs": [-0.1, -0.2], "top_logprobs": [{"4": -0.1, "5": -2.0}, None]}
    assert token_logprobs(completions, "completions") == (("4", (("4", -0.1), ("5", -2.0))), (".", ((".", -0.2),)))
    for bad in (None, {}, {"content": None}, {"content": [{"logprob": -1.0}]}, "text", {"content": []}):
        assert token_logprobs(bad, "chat") is None
    assert token_logprobs({"tokens": [1], "token_logprobs": [0.0]}, "completions") is None
