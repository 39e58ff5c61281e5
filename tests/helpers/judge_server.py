"""A small OpenAI-compatible server for the judge's tests: it listens on 127.0.0.1, answers from a function the
test gives, and sends token log-probabilities in the shapes OpenAI's API (and vLLM) write them when asked to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JudgeServer:
    """/v1/models, /v1/chat/completions and /v1/completions on 127.0.0.1; counts completion requests; can refuse
    after N of them."""

    def __init__(self, reply: Callable[[str, dict], Any] | None = None, served: str = "judge-x") -> None:
        self.served = served
        self.requests: list[dict] = []
        self.keys: list[str | None] = []
        self.refuse_after: int | None = None
        #: (prompt, request body) -> the reply's text, None ("content": null), or (text, tokens) to send
        #: log-probabilities: tokens is [(token, [(alternative, logprob), ...]), ...].
        self.reply = reply or (lambda prompt, body: "3")
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    return self._send(200, {"object": "list", "data": [{"id": server.served}]})
                self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.keys.append(self.headers.get("Authorization"))
                    n = len(server.requests)
                if server.refuse_after is not None and n > server.refuse_after:
                    return self._send(400, {"error": {"message": "quota exceeded"}})
                chat = "messages" in body
                text = server.reply(body["messages"][0]["content"] if chat else body["prompt"], body)
                logprobs = None
                if isinstance(text, tuple):  # (text, [(token, [(alternative, logprob), ...]), ...])
                    text, tokens = text
                    logprobs = chat_logprobs(tokens) if chat else completion_logprobs(tokens)
                choice = {"index": 0, "logprobs": logprobs}
                choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
                self._send(200, {"model": body["model"], "choices": [choice]})

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Server(ThreadingHTTPServer):
    # listen()'s backlog: the default 5 drops the connections of a client with more requests in flight, which
    # then wait a second for TCP to try again
    request_queue_size = 64


def chat_logprobs(tokens) -> dict:
    """``logprobs`` of a chat completion as OpenAI's API writes it."""
    return {"content": [{"token": t, "logprob": dict(alts).get(t, -9.0), "bytes": list(t.encode()),
                         "top_logprobs": [{"token": a, "logprob": lp, "bytes": list(a.encode())} for a, lp in alts]}
                        for t, alts in tokens]}


def completion_logprobs(tokens) -> dict:
    """``logprobs`` of a /completions choice as OpenAI's legacy API (and vLLM) write it."""
    offsets = [sum(len(t) for t, _ in tokens[:i]) for i in range(len(tokens))]
    return {"tokens": [t for t, _ in tokens], "token_logprobs": [dict(alts).get(t, -9.0) for t, alts in tokens],
            "top_logprobs": [dict(alts) for _, alts in tokens], "text_offset": offsets}
