"""An LLM as judge: ``judge:CRITERION`` rates each summary on one of SummEval's four criteria, G-Eval style.

The criteria are SummEval's dimensions of summary quality (Fabbri et al.
2021): consistency, relevance and coherence on a 1-5 scale, fluency on 1-3,
the scales G-Eval (Liu et al. 2023) rated them on. A rubric prompt per
criterion (bundled in ``judge_prompts.yaml``, in bench's own words; a task or
the command line may give another) holds ``{document}`` and ``{summary}``.
The judge's reply is read where it writes its score, the first number in the
reply that lies on the criterion's scale (`judge_scoring.find_score`): by
default (``scoring=weighted``) the score is G-Eval's sum_i p(i) * i over the
scale, p read from the judge's token probabilities there
(`bench.metrics.model_based.judge_scoring`); with ``scoring=first-number``, or
where a server returns no probabilities (one warning), it is that number. A
reply without one leaves its example unscored (None, counted as
``judge_<criterion>_unscored`` and named in a warning), never scored 0 as
G-Eval's script does.

The judge (`bench.metrics.model_based.judge_backends`) is any model bench can run
as a generator: ``openai:NAME`` behind an
OpenAI-compatible server (``base_url``; vLLM, llama.cpp, TGI ...), through
bench's own client (`bench.models.openai_compat`: retries, errors, the server
check before anything runs), or a local causal LM (a directory, a hub id in the
cache, an alias) through bench's Hugging Face runtime, its prompt through the
tokenizer's chat template when there is one and only the document shortened
when it is too long. Temperature 0 by default; ``n`` samples per example (each
with its own seed: ``seed + i``) are averaged over those that give a score.

Every real reply is kept in the cache store of the metric's cache directory
(`bench.cache.tables.Replies`), under the judge's identity (the served model
id, or the local weights, device type and dtype) and its sampling settings,
each by a hash of the filled prompt and the sample number, as it arrives: an
interrupted scoring resumes without asking again. With ``scoring=weighted``
each reply's probabilities are kept beside it, in a record of their own. An
empty reply is never kept.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.cache.keys import content_key
from bench.errors import EXIT_ENVIRONMENT, BenchError, clip, relpath
from bench.io import read_bytes
from bench.metrics.metric import Metric, MetricInputs, MetricResult, signature
from bench.metrics.metric_options import check_model_options, with_model_options
from bench.metrics.aggregation import unscored_count
from bench.metrics.model_based.judge_backends import Request, fill, make_judge
from bench.metrics.model_based.judge_scoring import (FIRST_NUMBER, WEIGHTED, Reading, ScaleReader, check_record,
                                                     parse_score, read_reply)

PREFIX = "judge:"
#: Criterion -> its scale (SummEval's dimensions, on G-Eval's scales).
CRITERIA: Mapping[str, tuple[int, int]] = {"consistency": (1, 5), "relevance": (1, 5), "coherence": (1, 5),
                                           "fluency": (1, 3)}
#: The id of `parse_score`'s rule, named in every signature.
PARSE_RULE = "first-number-in-scale"
PROMPTS_FILE = Path(__file__).with_name("judge_prompts.yaml")
#: Most replies asked for per example (`n`): each is a request, or a generation.
MAX_SAMPLES = 1000
#: Largest seed (numpy's and torch's generators take 32-bit seeds; each sample's is seed + i).
MAX_SEED = 2**32 - 1 - MAX_SAMPLES
#: A rubric is a page or two of text; a prompt file is read up to this size.
MAX_PROMPT_BYTES = 1 << 20

__all__ = ["CRITERIA", "JUDGES", "PARSE_RULE", "PREFIX", "Judge", "JudgeOptions", "cached_replies",
           "check_judge_settings", "default_prompts", "fill", "judge_metric_class", "parse_score", "prompt_hash",
           "read_template"]


def default_prompts() -> dict[str, str]:
    """The bundled rubric prompt of each criterion."""
    import yaml

    data = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    return {c: str(data[c]) for c in CRITERIA}


def judge_signature(name: str, label: str, settings: Any, template: str, parse: str, rules: set[str], *,
                    extra: Sequence[tuple[str, str]] = (), tail: Sequence[tuple[str, str]] = ()) -> str:
    """A judge's signature, the judge metric's and a pairwise comparison's: the judge, truncation, the prompt's
    hash, the parse rule, how replies were scored (`rules`: none means first number, the field left out as
    before it existed), `extra`, n and temperature, then `tail`."""
    scoring = [] if rules <= {FIRST_NUMBER} else [("scoring", WEIGHTED if rules == {WEIGHTED} else "mixed")]
    trunc = [("trunc", str(settings.max_length))] if settings.max_length is not None else []
    return signature(name, ("judge", label), *trunc, ("prompt", prompt_hash(template)[:12]), ("parse", parse),
                     *scoring, *extra, ("n", str(settings.n)), ("temp", format(settings.temperature, "g")), *tail)


def prompt_hash(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------ options


@with_model_options
@dataclass(frozen=True)
class JudgeOptions:
    """The options of ``judge:CRITERION`` (``--metric-opt judge.KEY=VALUE`` for every criterion asked for,
    ``--metric-opt judge:fluency.KEY=VALUE`` for one, or a task's ``metrics:`` entry): its own, then the model
    options of a local judge (`ModelOptions`: batch_size (prompts), device, dtype, max_length (tokens of a
    prompt; default the model's limit less max_tokens), revision)."""

    model: str | None = None
    """The judge: openai:NAME (a model behind an OpenAI-compatible server, with base_url), or a causal LM (a
    directory written by save_pretrained, a hub id in the Hugging Face cache, or a model alias)."""
    base_url: str | None = None
    """openai: the server's URL, e.g. http://127.0.0.1:8000 (/v1 is added when the URL has no path)."""
    api: Literal["chat", "completions"] = "chat"
    """openai: /chat/completions (the prompt as a user message) or /completions (the prompt as it is)."""
    api_key_env: str | None = None
    """openai: the environment variable holding the API key (default OPENAI_API_KEY, when set); never recorded."""
    scoring: Literal["weighted", "first-number"] = "weighted"
    """weighted: G-Eval's sum of p(i) * i over the scale, from the token probabilities where the score is written
    (a server that returns none: the first number, with a warning); first-number: the first number on the scale."""
    top_logprobs: int = 20
    """openai, scoring=weighted: alternatives asked per token (OpenAI's /completions takes at most 5)."""
    n: int = 1
    """Replies per example, averaged (those that give a score). G-Eval sampled 20 at temperature 2."""
    temperature: float = 0.0
    """0: greedy decoding. Above 0: sampling, each of the n samples with its own seed (seed + i)."""
    seed: int = 0
    max_tokens: int = 32
    """Longest reply, in tokens."""
    prompt: str | None = None
    """The rubric prompt itself, with {document} and {summary}."""
    prompt_file: str | None = None
    """A text file holding the rubric prompt (a path relative to the working directory)."""
    cache_dir: str | None = None
    """Where replies are cached when the command keeps no cache of its own (bench score); bench run and bench
    rescore cache them beside their prediction cache."""
    concurrency: int = 8
    """openai: requests in flight at once."""
    timeout: float = 120.0
    """openai: seconds per request, from connecting to the reply's last byte."""
    max_retries: int = 4
    """openai: retries of a request that failed for a reason that may pass (connection, 429, 5xx)."""
    max_reply_bytes: int = 65536
    """openai: the largest reply (HTTP body) taken; a verdict is a few hundred bytes (with log-probabilities,
    a few kilobytes)."""


def check_judge_settings(s: JudgeOptions, who: str) -> None:
    """Refuse judge settings no judge can run with; `who` names the judge in the message."""
    if s.n < 1:
        raise BenchError(f"{who}: n must be 1 or more, not {s.n}")
    if s.n > MAX_SAMPLES:
        raise BenchError(f"{who}: n must be at most {MAX_SAMPLES}, not {s.n}", hint="G-Eval sampled 20 replies per example")
    if not 0 <= s.seed <= MAX_SEED:
        raise BenchError(f"{who}: seed must be from 0 to {MAX_SEED}, not {s.seed}")
    if not (math.isfinite(s.temperature) and s.temperature >= 0):
        raise BenchError(f"{who}: temperature must be 0 or more, not {s.temperature}")
    if s.max_tokens < 1:
        raise BenchError(f"{who}: max_tokens must be 1 or more, not {s.max_tokens}")
    if s.top_logprobs < 1:
        raise BenchError(f"{who}: top_logprobs must be 1 or more, not {s.top_logprobs}")
    check_model_options(s, "judge", min_length=16, who=who)


def read_template(s: JudgeOptions, who: str, criterion: str, bundled: Mapping[str, str],
                  placeholders: tuple[str, ...]) -> tuple[str, str]:
    """(the rubric prompt, where it came from): the settings' prompt or prompt_file, else `bundled`'s for the
    criterion; a prompt of the user's is checked for its `placeholders` (and for {document}, for the criteria
    judged against the article)."""
    if s.prompt is not None and s.prompt_file is not None:
        raise BenchError(f"{who}: give prompt or prompt_file, not both")
    if s.prompt is not None:
        template, source = s.prompt, "prompt"
    elif s.prompt_file is not None:
        path = Path(s.prompt_file).expanduser()
        hint = "prompt_file is a UTF-8 text file, relative to the working directory"
        data = read_bytes(path, "the judge's prompt file", hint, limit=MAX_PROMPT_BYTES)
        try:
            template = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BenchError(f"cannot read the judge's prompt file: {e}", where=relpath(path), hint=hint) from None
        source = str(path)
    else:
        return bundled[criterion], "bundled"
    where = None if source == "prompt" else relpath(source)
    for placeholder in placeholders:
        if placeholder not in template:
            what = "summary" if len(placeholders) == 1 else "summary shown " + ("first" if "_a" in placeholder
                                                                                 else "second")
            raise BenchError(f"{who}: the prompt has no {placeholder} placeholder", where=where,
                             hint=f"write {placeholder} where the {what} goes (and {{document}} for the article)")
    if "{document}" not in template and criterion in ("consistency", "relevance"):
        raise BenchError(f"{who}: the prompt has no {{document}} placeholder; {criterion} is judged against the "
                         f"article", where=where, hint="write {document} where the article goes")
    return template, source


def cached_replies(judge: Any, cache_dir: Path | None, template: str, items: Sequence[tuple[str, str, str | None]],
                   n: int, weighted: bool) -> list[list[str]]:
    """Per item (document, summary, and a pairwise prompt's second summary or None), its n cached values
    (replies, or with `weighted` the records of replies and their probabilities), `judge` (a
    `judge_backends` judge) asked for those not in the cache, each kept as it arrives.

    A request is known by the judge's identity, the filled prompt (the rubric, the document and the summaries
    in their order) and the sample number; the probabilities of its reply, by that and what they are read
    from. An empty reply is never kept (it is asked again next time)."""
    from bench.cache.tables import Replies

    cache = Replies(cache_dir, {**judge.identity(), "bench_cache": 1})
    prompts = [content_key(cache.key, fill(template, *item)) for item in items]
    keys = [[content_key(p, str(i)) for i in range(n)] for p in prompts]
    stored = {key: content_key(key, judge.record_kind) if weighted else key for row in keys for key in row}
    try:
        values = cache.get(list(stored.values()))
        if weighted:
            values = {k: v for k, v in values.items() if _is_record(v)}
        todo: dict[str, Request] = {}
        for item, row in zip(items, keys):
            for i, key in enumerate(row):
                if stored[key] not in values and key not in todo:
                    todo[key] = Request(key, item[0], item[1], i, item[2])

        def keep(key: str, reply: str, record: str | None = None) -> None:
            values[stored[key]] = reply if record is None else record
            if reply.strip():  # an empty reply is asked again next time
                cache.append(key, reply)
                if record is not None:
                    cache.append(stored[key], record)

        if todo:
            judge.answer(list(todo.values()), template, keep, weighted)
    finally:
        cache.close()
    return [[values[stored[key]] for key in row] for row in keys]


# ------------------------------------------------------------------ the metric


class Judge(Metric):
    """Base of the ``judge:CRITERION`` metrics (one class per criterion, made below)."""

    criterion: str = ""
    needs = frozenset({"prediction", "document"})
    task_types = ("summarization",)
    Options = JudgeOptions

    def __init__(self, options=None, settings=None, cache_dir=None) -> None:
        super().__init__(options, settings, cache_dir)
        s = self.settings
        check_judge_settings(s, f"metric {self.name!r}")
        self.template, self.prompt_source = self.read_prompt()
        self.score_name = f"judge_{self.criterion}"
        self.judge = make_judge(s, self.name, ScaleReader(*self.scale))

    def read_prompt(self) -> tuple[str, str]:
        """(the rubric prompt, where it came from), checked for its placeholders."""
        return read_template(self.settings, f"metric {self.name!r}", self.criterion, default_prompts(), ("{summary}",))

    @property
    def scale(self) -> tuple[int, int]:
        return CRITERIA[self.criterion]

    def signature_value(self, rules: set[str]) -> str:
        """The signature; `rules`, those that gave the scores (a signature without ``scoring:`` is first-number
        scoring, as before the field existed)."""
        return judge_signature(self.score_name, self.judge.label, self.settings, self.template, PARSE_RULE, rules,
                               tail=(("agg", "mean"),))

    def ask(self, inputs: MetricInputs, documents: list[str], cache_dir: Path | None) -> list[list[str]]:
        """Per example, its n cached values (replies, or with scoring=weighted the records of replies and their
        probabilities), the judge asked for those not in the cache (`cached_replies`)."""
        items = [(documents[k], inputs.predictions[k], None) for k in range(len(inputs))]
        return cached_replies(self.judge, cache_dir, self.template, items, self.settings.n,
                              self.settings.scoring == WEIGHTED)

    def compute(self, inputs: MetricInputs) -> MetricResult:
        s = self.settings
        low, high = self.scale
        if "{document}" in self.template and not inputs.has("document"):
            raise BenchError(f"metric {self.name!r}: its prompt has {{document}}, and the examples have no document",
                             hint="in a `bench score` file, give each line a 'document' field")
        documents = list(inputs.documents) if inputs.documents is not None else [""] * len(inputs)
        cache_dir = Path(s.cache_dir).expanduser() if s.cache_dir else self.cache_dir
        weighted = s.scoring == WEIGHTED
        readings = [[read_reply(v, low, high, weighted) for v in row] for row in self.ask(inputs, documents, cache_dir)]
        per: list[float | None] = []
        details: list[dict[str, Any]] = []
        for row in readings:
            good = [r.score for r in row if r.score is not None]
            value = sum(good) / len(good) if good else None
            per.append(value)
            details.append({"score": value, "scores": [r.score for r in row], "replies": [r.reply for r in row],
                            **({"probabilities": [None if r.probabilities is None else
                                                  {str(v): p for v, p in r.probabilities.items()} for r in row]}
                               if weighted else {})})
        name = self.score_name
        flat = [r for row in readings for r in row]
        unparsed = sum(r.score is None for r in flat)
        unscored = sum(v is None for v in per)
        if per and unscored == len(per):
            shown = "; ".join(repr(clip(details[k]["replies"][0], 80)) for k in range(min(3, len(per))))
            raise BenchError(f"metric {self.name!r}: no reply of the judge has a number from {low} to {high}, for any "
                             f"of the {len(per)} examples (replies: {shown})",
                             hint="check the judge model and its prompt; its replies are cached, so fixing the "
                                  "prompt or the model asks again only what changed",
                             exit_code=EXIT_ENVIRONMENT)
        warnings = list(self.judge.warnings())
        if unscored:
            ids = [inputs.ids[k] for k, v in enumerate(per) if v is None]
            listed = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
            warnings.append(f"{name}: {unscored} of {len(per)} example{'s' if len(per) != 1 else ''} unscored: no "
                            f"reply has a number from {low} to {high} (ids: {listed}); left out of the mean, their "
                            f"replies are in the details")
        elif unparsed:
            warnings.append(f"{name}: {unparsed} of {len(per) * s.n} replies had no number from {low} to {high}; "
                            f"each example's score is the mean of the replies that had one")
        counts = {unscored_count(name): unscored, f"{name}_unparsed_replies": unparsed}
        if weighted:
            counts[f"{name}_first_number_replies"] = sum(r.rule == FIRST_NUMBER for r in flat)
            warnings += self.weighting_notes(flat)
        if s.n > 1 and s.temperature == 0:
            warnings.append(f"{name}: {s.n} samples at temperature 0 are {s.n} greedy replies (the same answer, "
                            f"on most servers); set judge.temperature above 0 to sample")
        if cache_dir is None:
            warnings.append(f"{name}: the judge's replies are not cached (pass --metric-opt judge.cache_dir=DIR "
                            f"to keep them and resume an interrupted scoring)")
        rules = {r.rule for r in flat if r.rule is not None}
        return MetricResult(per_example={name: per}, signatures={name: self.signature_value(rules)}, counts=counts,
                            warnings=warnings, details={name: details})

    def weighting_notes(self, readings: list[Reading]) -> list[str]:
        """What weighting by probabilities could not do: a server that sent none (one warning), replies whose
        score is not a token of its own."""
        name, n = self.score_name, self.settings.n
        scored = [r for r in readings if r.rule is not None]
        bare = sum(r.without_logprobs for r in scored)
        other = sum(r.rule == FIRST_NUMBER and not r.without_logprobs for r in scored)
        notes = []
        if bare and bare == len(scored):
            notes.append(f"{name}: the judge's server returned no token log-probabilities, so the scores are not "
                         f"G-Eval's probability-weighted ones: each reply is read by its first number on the scale "
                         f"and an example's score is the mean of its {n} sampled repl{'ies' if n > 1 else 'y'} "
                         f"(signature without scoring:weighted); where probabilities are missing G-Eval averaged 20 "
                         f"samples at temperature 2 (judge.n=20, judge.temperature=2), or pass judge.scoring="
                         f"first-number to say this is what you want")
        elif bare or other:
            notes.append(f"{name}: {bare + other} of {len(scored)} scored replies were read by their first number "
                         f"instead of weighted by probabilities ({bare} came without log-probabilities, {other} write "
                         f"their score in a token that is not the number alone); the signature says scoring:mixed")
        return notes

    def close(self) -> None:
        self.judge.close()


def _make(criterion: str) -> type[Judge]:
    low, high = CRITERIA[criterion]
    return type(f"Judge{criterion.title()}", (Judge,), {
        "name": PREFIX + criterion,
        "criterion": criterion,
        "value_range": (float(low), float(high)),
        "needs": frozenset({"prediction"}) if criterion == "fluency" else frozenset({"prediction", "document"}),
        "description": f"an LLM judge's rating of a summary's {criterion}, {low}-{high} (SummEval's criterion, "
                       f"G-Eval style)",
        "__module__": __name__,
    })


JUDGES: Mapping[str, type[Judge]] = {c: _make(c) for c in CRITERIA}


def _is_record(value: str) -> bool:
    try:
        check_record(value)
    except ValueError:
        return False
    return True


def judge_metric_class(name: str) -> type[Metric]:
    """The class of ``judge:CRITERION``."""
    from bench.registry import did_you_mean

    criterion = name.removeprefix(PREFIX)
    if criterion not in JUDGES:
        known = ", ".join(PREFIX + c for c in CRITERIA)
        raise BenchError(f"unknown judge criterion {criterion!r} in metric {name!r}."
                         f"{did_you_mean(criterion, list(CRITERIA))}", hint=f"judge metrics: {known}")
    return JUDGES[criterion]
