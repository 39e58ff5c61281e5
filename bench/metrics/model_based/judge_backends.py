"""The models a ``judge:CRITERION`` metric asks (`bench.metrics.model_based.judge`): a model behind an
OpenAI-compatible server, through bench's own client, or a local causal LM, through bench's Hugging Face runtime.

Each takes the requests still to answer (a filled rubric prompt and a sample number each) and hands over each
reply as it comes, for the metric to keep in its cache.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bench.errors import EXIT_ENVIRONMENT, BenchError

_PLACEHOLDER = re.compile(r"\{(document|summary)\}")
_SERVER_ONLY = ("base_url", "api", "api_key_env", "concurrency", "timeout", "max_retries", "max_reply_bytes")
_LOCAL_ONLY = ("batch_size", "device", "dtype", "revision")


def fill(template: str, document: str, summary: str) -> str:
    """`template` with {document} and {summary} filled in, in one pass (a summary holding the text
    "{document}" stays as it is); other braces are left alone."""
    values = {"document": document, "summary": summary}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


@dataclass(frozen=True)
class Request:
    """One reply to ask for: an example's prompt and the sample number."""

    key: str
    document: str
    summary: str
    sample: int


class ServerJudge:
    """A model behind an OpenAI-compatible server, asked through bench's client."""

    def __init__(self, served: str, s: Any) -> None:
        from bench.models.openai_compat import api_root

        if not s.base_url:
            raise BenchError(f"judge model openai:{served} needs the server's URL",
                             hint="pass --metric-opt judge.base_url=http://HOST:PORT")
        self.served = served
        self.settings = s
        self.root = api_root(s.base_url)
        self.label = f"openai:{served}"
        self.clients: dict[int, Any] = {}
        self.requests = 0
        self.client(0)  # reach the server now: a wrong URL or model fails before anything runs

    def identity(self) -> dict[str, Any]:
        """The served model and what changes a reply (not the URL: the same model served elsewhere answers
        the same; not the client settings)."""
        s = self.settings
        return {"judge": self.label, "api": s.api, "temperature": s.temperature, "max_tokens": s.max_tokens,
                "seed": s.seed}

    def client(self, sample: int) -> Any:
        if sample not in self.clients:
            from bench.models.openai_compat import OpenAICompatModel

            s = self.settings
            generation = {"api": s.api, "concurrency": s.concurrency, "timeout": s.timeout,
                          "max_retries": s.max_retries, "max_reply_bytes": s.max_reply_bytes,
                          "temperature": s.temperature, "max_tokens": s.max_tokens, "seed": s.seed + sample}
            with _api_key(s.api_key_env):
                self.clients[sample] = OpenAICompatModel(self.served, base_url=s.base_url, generation=generation,
                                                         seed=s.seed + sample,
                                                         option=lambda key: f"--metric-opt judge.{key}")
        return self.clients[sample]

    def answer(self, requests: Sequence[Request], template: str, on_reply: Callable[[str, str], None]) -> None:
        from bench.tasks.records import Example

        task = _judge_task()
        for sample in sorted({r.sample for r in requests}):
            batch = [r for r in requests if r.sample == sample]
            examples = [Example(id=r.key, input=fill(template, r.document, r.summary), references=())
                        for r in batch]
            for i, reply in self.client(sample).predict_as_completed(examples, task):
                self.requests += 1
                on_reply(batch[i].key, str(reply))

    def warnings(self) -> list[str]:
        return []

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


class LocalJudge:
    """A causal LM run by bench's Hugging Face runtime (loaded only when a reply is missing)."""

    def __init__(self, name: str, spec: Any, s: Any) -> None:
        self.name = name
        self.spec = spec
        self.settings = s
        self.model: Any = None
        self._fingerprint: str | None = None
        if not (s.batch_size == "auto" or (isinstance(s.batch_size, int) and s.batch_size > 0)):
            raise BenchError(f"judge: batch_size must be a positive integer or 'auto', not {s.batch_size!r}")
        self.requests = 0

    @property
    def fingerprint(self) -> str:
        """weights|device type|dtype, as the prediction cache keys a Hugging Face model."""
        if self._fingerprint is None:
            s = self.settings
            self._fingerprint = str(self.spec.fingerprint(revision=s.revision, device=s.device, dtype=s.dtype))
        return self._fingerprint

    @property
    def label(self) -> str:
        weights, _, rest = self.fingerprint.partition("|")
        device, _, dtype = rest.partition("|")
        short = Path(self.name).name if Path(self.name).expanduser().is_dir() else self.name
        return f"{short}@{weights[:12]}/{device}/{dtype}"

    def identity(self) -> dict[str, Any]:
        s = self.settings
        return {"judge": self.spec.name, "kind": self.spec.kind, "fingerprint": self.fingerprint,
                "temperature": s.temperature, "max_tokens": s.max_tokens, "seed": s.seed}

    def generation(self) -> dict[str, Any]:
        s = self.settings
        if s.temperature == 0:
            return {"do_sample": False, "max_new_tokens": s.max_tokens}
        return {"do_sample": True, "temperature": s.temperature, "max_new_tokens": s.max_tokens}

    def load(self) -> Any:
        if self.model is None:
            s = self.settings
            self.model = self.spec.create(device=s.device, dtype=s.dtype, generation=self.generation(),
                                          revision=s.revision, batch_size=s.batch_size, seed=s.seed)
        return self.model

    def answer(self, requests: Sequence[Request], template: str, on_reply: Callable[[str, str], None]) -> None:
        import transformers

        from bench.models.hf.generate import fit_prompt
        from bench.runtime.devices import quiet_transformers

        model = self.load()
        task = _judge_task()
        budget = model.max_input - self.settings.max_tokens
        if budget < 16:
            raise BenchError(f"judge {self.name} takes {model.max_input} tokens, too few for a prompt and "
                             f"max_tokens={self.settings.max_tokens}", hint="lower judge.max_tokens")

        def render(summary: str) -> Callable[[str], str]:
            def text(document: str) -> str:
                prompt = fill(template, document, summary)
                if model.chat:
                    return model.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                               add_generation_prompt=True)
                return prompt
            return text

        chunk = max(64, int(getattr(model, "batch_size", 1) or 1))
        with quiet_transformers():
            for sample in sorted({r.sample for r in requests}):
                transformers.set_seed(self.settings.seed + sample)
                # longest first, so a batch's prompts are of like length (less padding)
                batch = sorted((r for r in requests if r.sample == sample),
                               key=lambda r: len(r.document) + len(r.summary), reverse=True)
                for start in range(0, len(batch), chunk):
                    part = batch[start:start + chunk]
                    ids = [fit_prompt(model.tokenizer, render(r.summary), r.document, budget, not model.chat, model)
                           for r in part]
                    for r, reply in zip(part, model.run_batches(ids, task)):
                        self.requests += 1
                        on_reply(r.key, reply)

    def warnings(self) -> list[str]:
        """What the model had to say (settings it overrode, batches that ran out of memory, prompts whose
        document was shortened to fit)."""
        if self.model is None:
            return []
        notes = list(self.model.warnings)
        if self.model.truncated:
            notes.append(f"{self.model.truncated} {self.model.truncation_note}")
        return [f"judge {self.name}: {w}" for w in notes]

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None


def _judge_task() -> Any:
    """The task a judge's model is asked under: the prompt given as it is, its reply kept whole."""
    from bench.tasks.records import Task

    return Task(name="judge", version=1, type="summarization", fixture=None, fields={}, metrics=(),
                path=Path("judge"), hash="", prompt="{document}")


@contextlib.contextmanager
def _api_key(env: str | None) -> Iterator[None]:
    """OPENAI_API_KEY set from `env` while the client is made (it reads the key once, when made)."""
    if not env:
        yield
        return
    value = os.environ.get(env)
    if not value:
        raise BenchError(f"judge: the environment variable {env!r} (api_key_env) is not set",
                         hint=f"export {env}=YOUR_KEY, or leave api_key_env out to use OPENAI_API_KEY",
                         exit_code=EXIT_ENVIRONMENT)
    before = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = before


def make_judge(s: Any, metric: str) -> ServerJudge | LocalJudge:
    """The judge the options (a `JudgeOptions`) name, checked (and a server reached) before anything is scored."""
    defaults = {f.name: f.default for f in fields(s)}
    hint = ("e.g. --metric-opt judge.model=openai:NAME --metric-opt judge.base_url=http://HOST:PORT, or "
            "--metric-opt judge.model=/path/to/causal-lm")
    if not s.model or not s.model.strip():
        raise BenchError(f"metric {metric!r} needs a judge model", hint=hint)
    name = s.model.strip()
    if name.startswith("openai:"):
        given = [k for k in _LOCAL_ONLY if getattr(s, k) != defaults[k]]
        if given:
            raise BenchError(f"judge options {', '.join(given)} do not apply to a model behind a server ({name})",
                             hint="the server decides how the model runs")
        served = name.partition(":")[2].strip()
        if not served:
            raise BenchError(f"judge model {name!r}: name the served model after 'openai:'", hint=hint)
        return ServerJudge(served, s)
    given = [k for k in _SERVER_ONLY if getattr(s, k) != defaults[k]]
    if given:
        raise BenchError(f"judge options {', '.join(given)} are for openai:NAME judges, not {name!r}",
                         hint="a local judge model takes device, dtype, batch_size and revision")
    from bench.models import MODELS, resolve_model
    from bench.models.hf.config import CAUSAL_LM

    known = MODELS.get(name) if name in MODELS else None
    try:
        spec = known if known is not None and known.kind != CAUSAL_LM else resolve_model(name, s.revision)
    except BenchError as e:
        raise BenchError(f"judge model: {e.message}", where=e.where,
                         hint=(e.hint or hint).replace("--model /path/to/model",
                                                       "--metric-opt judge.model=/path/to/model"),
                         exit_code=e.exit_code if e.exit_code != 2 else EXIT_ENVIRONMENT) from None
    if spec.kind != CAUSAL_LM:
        raise BenchError(f"judge model {name!r} is a {spec.kind} model; a judge is a causal LM or openai:NAME",
                         hint=hint)
    return LocalJudge(name, spec, s)
