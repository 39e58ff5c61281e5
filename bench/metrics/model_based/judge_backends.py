"""The models a ``judge:CRITERION`` metric asks (`bench.metrics.model_based.judge`): a model behind an
OpenAI-compatible server, through bench's own client, or a local causal LM, through bench's Hugging Face runtime.

Each takes the requests still to answer (a filled rubric prompt and a sample number each) and hands over each
reply as it comes, for the metric to keep in its cache. A pairwise judge (`bench.comparison.pairwise`) asks the
same models about two summaries at once ({summary_a} and {summary_b}), its verdict read where the reply writes it.
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

_PLACEHOLDER = re.compile(r"\{(document|summary|summary_a|summary_b)\}")
_SERVER_ONLY = ("base_url", "api", "api_key_env", "top_logprobs", "concurrency", "timeout", "max_retries",
                "max_reply_bytes")
_LOCAL_ONLY = ("batch_size", "device", "dtype", "max_length", "revision")
#: The cached record of a reply's probabilities, for each kind of judge.
SERVER_RECORD, LOCAL_RECORD = "logprobs", "scale"


def metric_option(key: str) -> str:
    """How messages name an option of the judge metric."""
    return f"--metric-opt judge.{key}"


def fill(template: str, document: str, summary: str, other: str | None = None) -> str:
    """`template` with {document} and {summary} filled in, in one pass (a summary holding the text
    "{document}" stays as it is); other braces are left alone. With `other` (a pairwise prompt), `summary` fills
    {summary_a} and `other` {summary_b} instead."""
    values = ({"document": document, "summary": summary} if other is None else
              {"document": document, "summary_a": summary, "summary_b": other})
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass(frozen=True)
class Request:
    """One reply to ask for: an example's prompt and the sample number."""

    key: str
    document: str
    summary: str
    sample: int
    other: str | None = None
    """A pairwise prompt's second summary ({summary_b}; `summary` is {summary_a})."""

    def prompt(self, template: str) -> str:
        return fill(template, self.document, self.summary, self.other)

    @property
    def size(self) -> int:
        return len(self.document) + len(self.summary) + len(self.other or "")


class ServerJudge:
    """A model behind an OpenAI-compatible server, asked through bench's client."""

    def __init__(self, served: str, s: Any, option: Callable[[str], str] = metric_option) -> None:
        from bench.models.openai_compat import api_root

        if not s.base_url:
            raise BenchError(f"judge model openai:{served} needs the server's URL",
                             hint=f"pass {option('base_url')}=http://HOST:PORT")
        self.option = option
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

    @property
    def record_kind(self) -> str:
        """What a reply's probabilities are kept as: its tokens' top alternatives (how many is part of it)."""
        return f"{SERVER_RECORD}:{self.settings.top_logprobs}"

    def client(self, sample: int) -> Any:
        if sample not in self.clients:
            from bench.models.openai_compat import OpenAICompatModel

            s = self.settings
            generation = {"api": s.api, "concurrency": s.concurrency, "timeout": s.timeout,
                          "max_retries": s.max_retries, "max_reply_bytes": s.max_reply_bytes,
                          "temperature": s.temperature, "max_tokens": s.max_tokens, "seed": s.seed + sample}
            with _api_key(s.api_key_env):
                self.clients[sample] = OpenAICompatModel(
                    self.served, base_url=s.base_url, generation=generation, seed=s.seed + sample,
                    option=self.option,
                    top_logprobs=s.top_logprobs if s.scoring == "weighted" else None)
        return self.clients[sample]

    def answer(self, requests: Sequence[Request], template: str, on_reply: Callable[..., None],
               probabilities: bool = False) -> None:
        """Ask for each request; `on_reply(key, reply)`, or with `probabilities` `on_reply(key, reply, record)`."""
        from bench.metrics.model_based.judge_scoring import server_record
        from bench.tasks.records import Example

        task = _judge_task()
        for sample in sorted({r.sample for r in requests}):
            batch = [r for r in requests if r.sample == sample]
            examples = [Example(id=r.key, input=r.prompt(template), references=()) for r in batch]
            for i, completion in self.client(sample).complete_as_completed(examples, task):
                self.requests += 1
                reply = str(completion.text)
                if probabilities:
                    on_reply(batch[i].key, reply, server_record(reply, completion.tokens))
                else:
                    on_reply(batch[i].key, reply)

    def warnings(self) -> list[str]:
        return []

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


class LocalJudge:
    """A causal LM run by bench's Hugging Face runtime (loaded only when a reply is missing).

    `reader` says where a reply writes its answer and which tokens write which value (a score on the scale:
    `bench.metrics.model_based.judge_scoring.ScaleReader`; a pairwise verdict: `judge_verdicts.VerdictReader`):
    the log-probabilities of those values are read there."""

    def __init__(self, name: str, spec: Any, s: Any, reader: Any) -> None:
        self.name = name
        self.spec = spec
        self.settings = s
        self.reader = reader
        self.model: Any = None
        self._fingerprint: str | None = None
        self._scale_tokens: dict[Any, list[int]] | None = None
        self.requests = 0
        self.record_kind = LOCAL_RECORD

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
        limit = {} if s.max_length is None else {"max_length": s.max_length}
        return {"judge": self.spec.name, "kind": self.spec.kind, "fingerprint": self.fingerprint,
                "temperature": s.temperature, "max_tokens": s.max_tokens, "seed": s.seed, **limit}

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

    def prompt_budget(self, model: Any) -> int:
        """The longest prompt, in tokens: max_length, or what the model takes less the reply's tokens."""
        s = self.settings
        room = model.max_input - s.max_tokens
        if s.max_length is not None and s.max_length > room:
            raise BenchError(f"judge {self.name} takes {model.max_input} tokens: max_length={s.max_length} and "
                             f"max_tokens={s.max_tokens} do not fit", hint=f"lower judge.max_length to {room} or less")
        if room < 16:
            raise BenchError(f"judge {self.name} takes {model.max_input} tokens, too few for a prompt and "
                             f"max_tokens={s.max_tokens}", hint="lower judge.max_tokens")
        return room if s.max_length is None else s.max_length

    def answer(self, requests: Sequence[Request], template: str, on_reply: Callable[..., None],
               probabilities: bool = False) -> None:
        """Generate each reply; `on_reply(key, reply)`, or with `probabilities` `on_reply(key, reply, record)`,
        the record holding the log-probabilities of the scale's values where the score is written."""
        import transformers

        from bench.metrics.model_based.judge_scoring import local_record
        from bench.models.hf.generate import fit_prompt
        from bench.runtime.devices import quiet_transformers

        model = self.load()
        task = _judge_task()
        budget = self.prompt_budget(model)

        def render(r: Request) -> Callable[[str], str]:
            def text(document: str) -> str:
                prompt = fill(template, document, r.summary, r.other)
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
                batch = sorted((r for r in requests if r.sample == sample), key=lambda r: r.size, reverse=True)
                for start in range(0, len(batch), chunk):
                    part = batch[start:start + chunk]
                    ids = [fit_prompt(model.tokenizer, render(r), r.document, budget, not model.chat, model)
                           for r in part]
                    for r, prompt, out in zip(part, ids, model.run_batches(ids, task, keep_ids=probabilities)):
                        self.requests += 1
                        if probabilities:
                            reply, new = out
                            on_reply(r.key, reply, local_record(reply, self.scale_logprobs(prompt, new)))
                        else:
                            on_reply(r.key, out)

    def scale_logprobs(self, prompt: list[int], new: list[int]) -> dict[Any, float] | None:
        """log p of each value (of the scale, or verdict) where the reply (its generated token ids `new`) writes
        its answer: the model's next-token distribution after the prompt and the reply's tokens before that one
        (one forward pass), each value's tokens summed; None when the reply has no answer in a token of its own."""
        import torch

        model = self.model
        tok = model.tokenizer
        texts = [tok.decode(new[:t], skip_special_tokens=True) for t in range(len(new) + 1)]
        pieces = [texts[t + 1][len(texts[t]):] if texts[t + 1].startswith(texts[t]) else None for t in range(len(new))]
        if any(p is None for p in pieces):
            return None
        at = self.reader.locate(pieces)
        if at is None:
            return None
        with torch.inference_mode():
            ids = torch.tensor([prompt + new[:at]], device=model.device)
            logits = model.model(input_ids=ids).logits[0, -1].float()
            logp = torch.log_softmax(logits, dim=-1)
        return {v: float(torch.logsumexp(logp[ids_v], dim=0)) for v, ids_v in self.scale_tokens().items()}

    def scale_tokens(self) -> dict[Any, list[int]]:
        """The token ids whose text, whitespace stripped, is each value of the scale (or each verdict)."""
        if self._scale_tokens is None:
            tok = self.model.tokenizer
            candidates = [i for piece, i in tok.get_vocab().items() if self.reader.may_write(piece)]
            found: dict[Any, list[int]] = {}
            for i in sorted(candidates):
                value = self.reader.value(tok.decode([i]))
                if value is not None:
                    found.setdefault(value, []).append(i)
            self._scale_tokens = found
        return self._scale_tokens

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


def make_judge(s: Any, metric: str, reader: Any,
               option: Callable[[str], str] = metric_option) -> ServerJudge | LocalJudge:
    """The judge the options (a `JudgeOptions`) name, checked (and a server reached) before anything is scored;
    `reader`, what a local judge reads its answers' probabilities for (`LocalJudge`); `option`, how messages name
    an option (default: ``--metric-opt judge.KEY``)."""
    defaults = {f.name: f.default for f in fields(s)}
    hint = (f"e.g. {option('model')}=openai:NAME {option('base_url')}=http://HOST:PORT, or "
            f"{option('model')}=/path/to/causal-lm")
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
        return ServerJudge(served, s, option)
    given = [k for k in _SERVER_ONLY if getattr(s, k) != defaults[k]]
    if given:
        raise BenchError(f"judge options {', '.join(given)} are for openai:NAME judges, not {name!r}",
                         hint="a local judge model takes device, dtype, batch_size, max_length and revision")
    from bench.models import MODELS, resolve_model
    from bench.models.hf.config import CAUSAL_LM

    known = MODELS.get(name) if name in MODELS else None
    try:
        spec = known if known is not None and known.kind != CAUSAL_LM else resolve_model(name, s.revision)
    except BenchError as e:
        raise BenchError(f"judge model: {e.message}", where=e.where,
                         hint=(e.hint or hint).replace("--model /path/to/model",
                                                       f"{option('model')}=/path/to/model"),
                         exit_code=e.exit_code if e.exit_code != 2 else EXIT_ENVIRONMENT) from None
    if spec.kind != CAUSAL_LM:
        raise BenchError(f"judge model {name!r} is a {spec.kind} model; a judge is a causal LM or openai:NAME",
                         hint=hint)
    return LocalJudge(name, spec, s, reader)
