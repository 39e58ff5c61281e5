"""Models behind an OpenAI-compatible HTTP server: ``--model openai:NAME --base-url URL``.

vLLM, TGI, llama.cpp's server and others answer ``POST /v1/chat/completions``
(and ``/v1/completions``) as OpenAI's API does. Each example is one request
with the task's prompt as the user message, decoded greedily (temperature 0)
with the run's seed; the answer is read as for any prompted model
(`bench.models.prompting`). Standard library only (urllib).

- At most ``concurrency`` requests are in flight (default 8).
- A request that fails for a reason that may pass (connection refused or
  reset, timeout, HTTP 408/409/429/5xx) is retried up to ``max_retries``
  times, waiting ``backoff`` x 2^attempt seconds (with seeded jitter, at most
  30 s; a ``Retry-After`` header wins); other HTTP errors stop the run with
  the server's message.
- Each request, from connecting to the last byte of the reply, takes at most
  ``timeout`` seconds (default 120): a server that sends its reply a byte at a
  time is cut off then, and the request retried like a timeout. A connection
  closed in the middle of a reply is retried too.
- A reply (the whole HTTP body) larger than ``max_reply_bytes`` (default 1 MiB)
  is refused with an error, never scored or cached.

Client settings and sampling parameters come from ``--gen key=value``:
``concurrency``, ``timeout``, ``max_retries``, ``backoff``, ``max_reply_bytes``, ``api``
(``chat`` or ``completions``), and ``temperature``, ``top_p``,
``max_tokens`` (or ``max_new_tokens``), ``stop``, ``seed``,
``presence_penalty``, ``frequency_penalty``; any other ``--gen`` key is an
error with a did-you-mean (a task's other settings, written for Hugging Face
models, are recorded as ignored). ``OPENAI_API_KEY``, when set, is sent as a
bearer token and never recorded.

Each answer is handed to the runner as it arrives (`predict_as_completed`), so
the prediction cache keeps every finished request: an interruption loses only
the requests in flight. The cache key holds what changes an answer (the URL,
the API, the sampling parameters, the seed), not the client settings.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.models.http_client import MAX_WAIT_S, RequestFailed, fetch_json
from bench.models.model import Model, ModelSpec
from bench.models.prompting import DEFAULT_MAX_NEW_TOKENS, parse_output, render
from bench.registry import did_you_mean
from bench.tasks.records import Example, Task

KIND = "openai-compatible"
#: Parameters passed through to the server as they are.
SAMPLING_KEYS = frozenset({"temperature", "top_p", "max_tokens", "stop", "seed", "presence_penalty",
                           "frequency_penalty"})


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 8
    timeout: float = 120.0
    """Seconds per request."""
    max_retries: int = 4
    backoff: float = 1.0
    """First wait before a retry, in seconds; doubled each time."""
    max_reply_bytes: int = 1 << 20
    """The largest reply (HTTP body) taken; a larger one is an error."""
    api: str = "chat"
    """chat: /chat/completions with a user message; completions: /completions with the prompt."""


CLIENT_KEYS = frozenset(ClientSettings.__dataclass_fields__)
#: Every key `--gen` takes for an openai: model.
KNOWN_KEYS = CLIENT_KEYS | SAMPLING_KEYS | {"max_new_tokens"}


class OpenAISpec(ModelSpec):
    """The spec of an ``openai:NAME`` model."""

    def identity(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The server's URL, the API, the sampling parameters and the seed; not the client settings
        (concurrency, timeout, retries), which change no answer. Refuses an unknown --gen key."""
        client, sampling, _ = split_settings([("run", options.get("generation") or {})], strict=True)
        base_url = options.get("base_url")
        return {"base_url": api_root(base_url) if base_url else None, "api": client.api, "sampling": sampling,
                "seed": options.get("seed", 0)}


def spec_for(name: str) -> ModelSpec:
    """The spec for ``openai:NAME`` (nothing is contacted until the model is created)."""
    model = name.partition(":")[2].strip()
    if not model:
        raise BenchError(f"{name!r}: name the served model after 'openai:'",
                         hint="e.g. --model openai:Qwen/Qwen2.5-0.5B-Instruct --base-url http://127.0.0.1:8000")
    return OpenAISpec(name, KIND, ("summarization", "qa"), partial(OpenAICompatModel, model),
                      "model behind an OpenAI-compatible server (--base-url)", target=model)


def api_root(base_url: str) -> str:
    """The URL requests are made under: ``http://host:port`` becomes ``http://host:port/v1``."""
    parsed = urllib.parse.urlsplit(base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BenchError(f"--base-url {base_url!r} is not an http(s) URL", hint="e.g. --base-url http://127.0.0.1:8000")
    path = parsed.path.rstrip("/")
    if not path:
        path = "/v1"
    return urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", ""))


def split_settings(layers: Sequence[tuple[str, Mapping[str, Any]]],
                   strict: bool = False) -> tuple[ClientSettings, dict[str, Any], dict[str, Any]]:
    """(client settings, sampling parameters, ignored settings) from the task's and the run's settings.

    A key of the run's layer (--gen) that is not known here is an error with a did-you-mean when `strict`; a
    task's are ignored (a task's settings are written for every model, Hugging Face ones included).
    """
    client = ClientSettings()
    sampling: dict[str, Any] = {}
    ignored: dict[str, Any] = {}
    for source, values in layers:
        for key, value in values.items():
            if strict and source == "run" and key not in KNOWN_KEYS:
                raise BenchError(f"unknown setting {key!r} for an OpenAI-compatible server (--gen)."
                                 f"{did_you_mean(key, sorted(KNOWN_KEYS))}",
                                 hint="settings: " + ", ".join(sorted(KNOWN_KEYS)))
            if key in CLIENT_KEYS:
                client = replace(client, **{key: _client_value(key, value)})
            elif key in SAMPLING_KEYS:
                sampling[key] = value
            elif key == "max_new_tokens":
                sampling["max_tokens"] = value
            else:
                ignored[f"{source}.{key}"] = value
    return client, sampling, ignored


#: The bounds of each client setting: (least, most). A setting outside them would hang a run (a timeout of
#: a year, retries without end) or exhaust the machine (a million threads).
CLIENT_BOUNDS = {"concurrency": (1, 1024), "max_retries": (0, 100), "max_reply_bytes": (1, 1 << 30),
                 "timeout": (0.001, 86_400.0), "backoff": (0.0, 600.0)}


def _client_value(key: str, value: Any) -> Any:
    if key == "api":
        if value not in ("chat", "completions"):
            raise BenchError(f"api must be 'chat' or 'completions', got {value!r}")
        return value
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    least, most = CLIENT_BOUNDS[key]
    if key in ("concurrency", "max_retries", "max_reply_bytes"):
        if not number or not math.isfinite(value) or int(value) != value or not least <= value <= most:
            raise BenchError(f"{key} must be a whole number from {least} to {most}, got {value!r}")
        return int(value)
    if not number or not math.isfinite(value) or not least <= value <= most:
        raise BenchError(f"{key} must be a number of seconds from {least:g} to {most:g}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Completion:
    """A completion's text (as `bench.models.prompting.parse_output` reads it) and, when they were asked for and
    the server sent them, its tokens: each token's text and its alternatives (text, log-probability), the token
    itself among them."""

    text: str
    tokens: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] | None = None


def token_logprobs(logprobs: Any, api: str) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...] | None:
    """A choice's ``logprobs`` as (token, alternatives) pairs, from the chat API's ``content`` list or the
    completions API's ``tokens`` / ``token_logprobs`` / ``top_logprobs`` lists; None when there are none or they
    are not of that shape (alternatives whose log-probability is not a finite number are left out)."""
    def number(x: Any) -> float | None:
        if not isinstance(x, (int, float)) or isinstance(x, bool):
            return None
        try:
            f = float(x)
        except OverflowError:  # an integer no double holds
            return None
        return f if math.isfinite(f) else None

    def entry(token: Any, logprob: Any, top: Any) -> tuple[str, tuple[tuple[str, float], ...]] | None:
        if not isinstance(token, str):
            return None
        alternatives = {t: x for t, v in top if isinstance(t, str) and (x := number(v)) is not None}
        own = number(logprob)
        if own is not None:
            alternatives.setdefault(token, own)
        return token, tuple(alternatives.items())

    rows: list[Any] = []
    try:
        if api == "chat":
            for item in logprobs["content"]:
                rows.append(entry(item["token"], item.get("logprob"),
                                  [(a.get("token"), a.get("logprob")) for a in item.get("top_logprobs") or ()]))
        else:
            tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
            for token, logprob, top in zip(logprobs["tokens"], logprobs.get("token_logprobs") or [], tops):
                rows.append(entry(token, logprob, list((top or {}).items())))
    except (KeyError, TypeError, AttributeError):
        return None
    return tuple(rows) if rows and all(r is not None for r in rows) else None


class Stopped(Exception):
    """A request not sent, or not retried, because another failed for good (or the run was interrupted)."""


class OpenAICompatModel(Model):
    """Predictions from a model served behind an OpenAI-compatible API."""

    task_types = ("summarization", "qa")

    def __init__(self, model: str, *, base_url: str | None = None, generation: Mapping[str, Any] | None = None,
                 seed: int = 0, batch_size: int | str | None = None, device: str = "auto", dtype: str = "auto",
                 revision: str | None = None, trust_remote_code: bool = False,
                 option: Callable[[str], str] | None = None, top_logprobs: int | None = None) -> None:
        if not base_url:
            raise BenchError(f"openai:{model} needs the server's URL", hint="pass --base-url http://HOST:PORT")
        if device != "auto" or dtype != "auto" or revision or trust_remote_code:
            raise BenchError("--device, --dtype, --revision and --trust-remote-code do not apply to openai: models",
                             hint="the server decides how the model runs")
        self.served = model
        self.name = f"openai:{model}"
        #: How a message names one of these settings: ``--gen timeout`` for a model, a judge's own otherwise.
        self.option = option or (lambda key: "--base-url" if key == "base_url" else f"--gen {key}")
        self.root = api_root(base_url)
        self.seed = seed
        #: Alternatives asked for each token of a completion (None: no log-probabilities asked).
        self.top_logprobs = top_logprobs
        self.run_generation = dict(generation or {})
        self.client, _, _ = split_settings([("run", self.run_generation)], strict=True)
        self.default_batch_size = batch_size if isinstance(batch_size, int) else max(32, self.client.concurrency * 4)
        self.warnings: list[str] = []
        self.timing: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self._requests = self._retries = self._tokens = 0
        self._request_s = 0.0
        self._server_model: str | None = None
        self._fingerprints: set[str] = set()
        self._settings: dict[str, Any] | None = None
        self._headers = {"Content-Type": "application/json"}
        key = os.environ.get("OPENAI_API_KEY")
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._check_server()

    # ----------------------------------------------------------------- HTTP

    def _check_server(self) -> None:
        """Fail now, before any prediction, when nothing answers at the URL or it lacks the model."""
        try:
            body = self._request("GET", "/models", None, min(self.client.timeout, 10.0))
        except RequestFailed as e:
            if "HTTP 404" in str(e) or "HTTP 405" in str(e):
                return  # a server without /models: the first request will tell
            raise BenchError(f"cannot reach the server at {self.root}: {e}", exit_code=EXIT_ENVIRONMENT,
                             hint=f"is it running, and is {self.option('base_url')} right?") from None
        served = [str(m.get("id")) for m in body.get("data", []) if isinstance(m, dict)] if isinstance(body, dict) else []
        if served and self.served not in served:
            raise BenchError(f"the server at {self.root} does not serve {self.served!r}",
                             hint=f"it serves: {', '.join(served[:10])}", exit_code=EXIT_ENVIRONMENT)

    def _request(self, method: str, path: str, payload: Mapping[str, Any] | None, timeout: float) -> Any:
        return fetch_json(method, self.root + path, payload, self._headers, timeout, self.client.max_reply_bytes)

    def _post_with_retries(self, path: str, payload: Mapping[str, Any]) -> Any:
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                body = self._request("POST", path, payload, self.client.timeout)
                with self._lock:
                    self._requests += 1
                    self._request_s += time.perf_counter() - t0
                return body
            except RequestFailed as e:
                if e.limit:
                    raise BenchError(f"the server at {self.root} sent a reply for {self.served!r} larger than "
                                     f"{self.client.max_reply_bytes} bytes", exit_code=EXIT_ENVIRONMENT,
                                     hint=f"a reply this long is not a summary or a verdict: check the server's "
                                          f"max_tokens handling, or raise {self.option('max_reply_bytes')}") from None
                if not e.retry:
                    raise BenchError(f"the server at {self.root} refused a request for {self.served!r}: {e}",
                                     exit_code=EXIT_ENVIRONMENT) from None
                if attempt >= self.client.max_retries:
                    raise BenchError(f"a request to {self.root}{path} failed {attempt + 1} times; the last error: "
                                     f"{e}", exit_code=EXIT_ENVIRONMENT,
                                     hint="what was done so far is cached; rerun to resume (or raise "
                                          f"{self.option('max_retries')} / {self.option('timeout')})") from None
                if self._stop.is_set():  # the run is over (a request failed for good, or Ctrl-C): no more retries
                    raise Stopped() from None
                with self._lock:
                    self._retries += 1
                    jitter = self._rng.uniform(0.5, 1.0)
                time.sleep(e.wait if e.wait is not None else min(MAX_WAIT_S, self.client.backoff * 2 ** attempt * jitter))
                attempt += 1

    # ------------------------------------------------------------ predicting

    def settings(self, task: Task) -> dict[str, Any]:
        if self._settings is None:
            client, sampling, ignored = split_settings([("task", task.generation), ("run", self.run_generation)])
            self.client = client
            sampling.setdefault("temperature", 0.0)
            sampling.setdefault("seed", self.seed)
            sampling.setdefault("max_tokens", DEFAULT_MAX_NEW_TOKENS.get(task.type, 128))
            self._settings = sampling
            self._ignored = ignored
        return self._settings

    def _one(self, example: Example, task: Task) -> Completion:
        """The answer for one example; once a request has failed for good, no other is sent."""
        if self._stop.is_set():
            raise Stopped()
        try:
            return self._answer(example, task)
        except Stopped:
            raise
        except BaseException:
            self._stop.set()
            raise

    def _answer(self, example: Example, task: Task) -> Completion:
        sampling = self.settings(task)
        prompt = render(example, task)
        chat = self.client.api == "chat"
        if self.top_logprobs is not None:
            sampling = {**sampling, **({"logprobs": True, "top_logprobs": self.top_logprobs} if chat
                                       else {"logprobs": self.top_logprobs})}
        if chat:
            payload = {"model": self.served, "messages": [{"role": "user", "content": prompt}], **sampling}
            body = self._post_with_retries("/chat/completions", payload)
        else:
            payload = {"model": self.served, "prompt": prompt, **sampling}
            body = self._post_with_retries("/completions", payload)
        try:
            choice = body["choices"][0]
            text = choice["message"]["content"] if self.client.api == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise BenchError(f"the server at {self.root} answered without a completion: {str(body)[:200]}",
                             exit_code=EXIT_ENVIRONMENT) from None
        with self._lock:
            usage = body.get("usage") or {}
            self._tokens += int(usage.get("completion_tokens") or 0)
            if body.get("model"):
                self._server_model = str(body["model"])
            if body.get("system_fingerprint"):
                self._fingerprints.add(str(body["system_fingerprint"]))
        tokens = token_logprobs(choice.get("logprobs"), self.client.api) if self.top_logprobs is not None else None
        return Completion(parse_output(text or "", task), tokens)

    def predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        out: list[str] = [""] * len(examples)
        for i, prediction in self.predict_as_completed(examples, task):
            out[i] = prediction
        return out

    def predict_as_completed(self, examples: Sequence[Example], task: Task) -> Iterator[tuple[int, str]]:
        """(position, answer) for each example as its request finishes (`complete_as_completed`)."""
        for i, completion in self.complete_as_completed(examples, task):
            yield i, completion.text

    def complete_as_completed(self, examples: Sequence[Example], task: Task) -> Iterator[tuple[int, Completion]]:
        """(position, completion) for each example as its request finishes, at most `concurrency` in flight.

        When a request fails for good, the requests not yet sent are cancelled, the answers of those in
        flight are still handed over as they finish, and then the error is raised.
        """
        self.settings(task)
        t0 = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=min(self.client.concurrency, len(examples) or 1))
        pending: dict[Any, int] = {}
        try:
            pending.update({pool.submit(self._one, ex, task): i for i, ex in enumerate(examples)})
            failure: BaseException | None = None
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = pending.pop(future)
                    if future.cancelled():
                        continue
                    error = future.exception()
                    if error is not None:
                        if failure is None and not isinstance(error, Stopped):
                            failure = error
                            self._stop.set()
                            for other in pending:
                                other.cancel()
                        continue
                    yield i, future.result()
            if failure is not None:
                raise failure
        finally:
            if pending:  # stopped early: what is in flight finishes (and is not retried), nothing new starts
                self._stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            self._wall_s = getattr(self, "_wall_s", 0.0) + time.perf_counter() - t0

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.served,
            "server_model": self._server_model,
            "system_fingerprint": sorted(self._fingerprints) or None,
            "base_url": self.root,
            "api": self.client.api,
            "generation": self._settings,
            "ignored_settings": getattr(self, "_ignored", {}) or None,
            "client": asdict(self.client),
            "batch_size": self.default_batch_size,
            "device": "server",
        }

    def close(self) -> None:
        wall = getattr(self, "_wall_s", 0.0)
        self.timing.update({
            "requests": self._requests,
            "retries": self._retries,
            "generated_tokens": self._tokens or None,
            "generated_tokens_per_s": self._tokens / wall if self._tokens and wall > 0 else None,
        })
