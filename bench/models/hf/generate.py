"""Summaries and answers by generation: encoder-decoder (seq2seq) and causal language models.

transformers 5 has no summarization pipeline; this does what it did, with
`AutoModelForSeq2SeqLM.generate` / `AutoModelForCausalLM.generate`:

- Generation settings: the model's own generation config (beams, length
  penalty, min/max length, no-repeat n-gram size); for seq2seq summarization,
  the transformers 4.57 summarization pipeline's defaults where the checkpoint
  sets nothing (4 beams when it sets none; 256 new tokens when it sets no
  length), then the config's ``task_specific_params["summarization"]`` (as the
  pipeline applied them: t5-small's "summarize: " prefix and beams; its
  ``max_length`` there is outranked by the 256 new tokens, as in the
  pipeline); then the task's ``generation``, then ``--gen key=value`` (a
  length asked for there replaces the 256). Causal LMs decode greedily unless
  ``--gen do_sample=true`` (many instruction-tuned checkpoints ask for
  sampling; bench says so in results.json's warnings).
- Seq2seq output is decoded without special tokens and without
  ``clean_up_tokenization_spaces``, as the pipeline decoded it, whatever the
  tokenizer's own setting.
- Inputs: a seq2seq model reads the document (with its prefix), or the task's
  prompt when it is instruction-tuned (FLAN-T5). A causal LM reads the task's
  prompt, through the tokenizer's chat template when it has one. Inputs longer
  than the model's maximum are truncated and counted; in a prompt, only the
  document or context is shortened, so the instruction and question survive.
- Causal LMs pad on the left, so each batch's new tokens start at the same
  column; only the new tokens are decoded. An answer is the first line of the
  output, without an "Answer:" label; "unanswerable" (or nothing) is no answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench.errors import BenchError
from bench.models.hf.hf_model import HFModel
from bench.models.prompting import (DEFAULT_MAX_NEW_TOKENS, format_prompt, parse_output, prompt_template,
                                    prompt_values)
from bench.tasks.records import Example, Task

#: Settings of extractive QA models: a generative model ignores them in a task's or run's settings.
EXTRACTIVE_KEYS = frozenset({"max_seq_length", "doc_stride", "max_answer_tokens", "null_threshold", "n_best",
                             "max_question_tokens", "qa_decoding"})
_LENGTH_KEYS = ("max_length", "max_new_tokens")
#: The transformers 4.57 summarization (text2text-generation) pipeline's own generation defaults.
PIPELINE_DEFAULTS = {"num_beams": 4, "max_new_tokens": 256}
#: transformers 4's global defaults of those settings: a checkpoint holding them set nothing the pipeline saw.
_V4_GLOBAL_DEFAULTS = {"num_beams": 1, "max_length": 20}


class GenerativeModel(HFModel):
    """What seq2seq and causal generation share: settings, batching, counting tokens."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settings: dict[str, dict[str, Any]] = {}
        self._generation_config: Any = None
        self.prompt_template: str | None = None

    # -------------------------------------------------------------- settings

    def generation_config(self, task: Task):
        """The model's generation config with the task's and the run's settings applied (built once per run).

        Layers, each over the one before: the model's generation config; for
        seq2seq summarization the pipeline's defaults where the checkpoint sets
        nothing ("pipeline_defaults") and its ``task_specific_params
        ["summarization"]`` ("model_task_params"); bench's own ("bench": greedy
        decoding for causal LMs, a default length); the task's ``generation``;
        ``--gen``. Each layer is recorded in results.json as
        ``generation_sources``.
        """
        if self._generation_config is not None:
            return self._generation_config
        import copy

        gen = copy.deepcopy(self.model.generation_config)
        own = gen.to_diff_dict()
        task_values = {k: v for k, v in dict(task.generation).items() if k not in EXTRACTIVE_KEYS}
        run_values = {k: v for k, v in dict(self.options.generation).items() if k not in EXTRACTIVE_KEYS}
        asked = {**task_values, **run_values}
        bench_values: dict[str, Any] = {}
        if self.greedy_by_default and getattr(gen, "do_sample", False) and "do_sample" not in asked:
            self.warnings.append("the model's generation config samples (do_sample=True); bench decodes greedily "
                                 "for reproducible scores (pass --gen do_sample=true to sample, seeded)")
            bench_values.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        layers = [("pipeline_defaults", self.pipeline_defaults(task, gen, asked)),
                  ("model_task_params", self.model_defaults(task)), ("bench", bench_values),
                  ("task", task_values), ("run", run_values)]
        for source, values in layers:
            self._apply(gen, source, values, task)
        if (gen.num_return_sequences or 1) != 1:
            raise BenchError("num_return_sequences must be 1: bench scores one prediction per example")
        length_set = any(k in own or k in values for _, values in layers for k in _LENGTH_KEYS)
        if not length_set or (self.new_tokens_only and gen.max_new_tokens is None):
            default = DEFAULT_MAX_NEW_TOKENS.get(task.type, 128)
            gen.update(max_new_tokens=default)
            self._settings.setdefault("bench", {})["max_new_tokens"] = default
        self._generation_config = gen
        return gen

    def _apply(self, gen, source: str, values: Mapping[str, Any], task: Task) -> None:
        """Apply one layer of settings; a key GenerationConfig does not have is an error (task and run layers)."""
        if not values:
            return
        where = task.path if source == "task" else None
        try:
            unused = gen.update(**values)
        except (ValueError, TypeError) as e:
            raise BenchError(f"invalid generation settings {dict(values)}: {e}", where=where) from None
        if unused and source in ("task", "run"):
            from transformers import GenerationConfig

            from bench.registry import did_you_mean

            known = sorted(k for k in GenerationConfig().to_dict() if not k.startswith("_"))
            key = sorted(unused)[0]
            raise BenchError(
                f"unknown generation setting {key!r}{' in the task' if source == 'task' else ' (--gen)'}."
                f"{did_you_mean(key, known)}", where=where,
                hint="settings are GenerationConfig attributes: num_beams, max_new_tokens, length_penalty, ...")
        self._settings[source] = dict(values)

    #: Causal LMs: decode greedily unless sampling is asked for explicitly.
    greedy_by_default = False
    #: Causal LMs count length in new tokens only (max_length would include the prompt).
    new_tokens_only = False

    def model_defaults(self, task: Task) -> dict[str, Any]:
        return {}

    def pipeline_defaults(self, task: Task, gen: Any, asked: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    #: Passed to `batch_decode` (None: the tokenizer's own setting).
    clean_up_tokenization_spaces: bool | None = None

    # ------------------------------------------------------------ generation

    def generate(self, batch: Sequence[list[int]], task: Task, keep_ids: bool = False) -> list[Any]:
        """Generate for one batch of token id lists; returns the decoded new text of each (with `keep_ids`, the
        text and the new token ids, padding after the end included)."""
        import torch

        gen = self.generation_config(task)
        padded = self.tokenizer.pad({"input_ids": list(batch)}, padding=True, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in padded.items()}
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**inputs, generation_config=gen)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - t0
        new = self.new_tokens(out, inputs["input_ids"].shape[1])
        self.note_generated(self.count_tokens(new, gen), seconds)
        extra = {} if self.clean_up_tokenization_spaces is None else {
            "clean_up_tokenization_spaces": self.clean_up_tokenization_spaces}
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True, **extra)
        return list(zip(texts, new.tolist())) if keep_ids else texts

    def new_tokens(self, out, input_len: int):
        raise NotImplementedError

    def count_tokens(self, new, gen) -> int:
        """Generated tokens, each up to and including its end-of-sequence token (padding after it not counted)."""
        eos = gen.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        total = 0
        for row in new.tolist():
            n = len(row)
            for k, tok in enumerate(row):
                if tok in eos_ids:
                    n = k + 1
                    break
            total += n
        return total

    def run_batches(self, ids: list[list[int]], task: Task, keep_ids: bool = False) -> list[Any]:
        self.generation_config(task)  # settings errors before any batch runs
        return self.map_batches(ids, lambda batch: self.generate(batch, task, keep_ids))

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        gen = self._generation_config
        d["generation"] = _json_safe(gen.to_diff_dict()) if gen is not None else None
        d["generation_sources"] = self._settings
        d["prompt"] = self.prompt_template
        return d


class Seq2SeqModel(GenerativeModel):
    """An encoder-decoder model (BART, T5, PEGASUS) generating from the document, or from a prompt."""

    auto_class_name = "AutoModelForSeq2SeqLM"
    clean_up_tokenization_spaces = False

    def pipeline_defaults(self, task: Task, gen: Any, asked: Mapping[str, Any]) -> dict[str, Any]:
        """The 4.57 summarization pipeline's defaults for what the checkpoint's generation config leaves unset.

        The pipeline started from 4 beams and 256 new tokens and took the checkpoint's value of a setting only
        where its own was transformers' global default: 4 beams unless the checkpoint sets num_beams (the
        pipeline's 4 outranked a checkpoint's own beam count; bench keeps the checkpoint's), and 256 new tokens
        unless the checkpoint sets max_length (or, here, max_new_tokens). A length the task or the run asks for
        replaces the 256.
        """
        if task.type != "summarization":
            return {}
        values: dict[str, Any] = {}
        if gen.num_beams in (None, _V4_GLOBAL_DEFAULTS["num_beams"]):
            values["num_beams"] = PIPELINE_DEFAULTS["num_beams"]
        own_length = gen.max_new_tokens is not None or gen.max_length not in (None, _V4_GLOBAL_DEFAULTS["max_length"])
        if not own_length and not any(k in asked for k in _LENGTH_KEYS):
            values["max_new_tokens"] = PIPELINE_DEFAULTS["max_new_tokens"]
        return values

    def model_defaults(self, task: Task) -> dict[str, Any]:
        if task.type != "summarization":
            return {}
        params = dict((getattr(self.model.config, "task_specific_params", None) or {}).get("summarization") or {})
        params.pop("prefix", None)
        return params

    def source(self, example: Example, task: Task) -> str:
        if self.info.prompted:
            self.prompt_template = prompt_template(task)
            return format_prompt(self.prompt_template, prompt_values(example, task))
        return self.info.prefix + example.input

    def _predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        limit = self.max_input
        if self.info.prompted:
            ids = [fit_prompt(self.tokenizer, lambda doc, ex=ex: self.source(_with_input(ex, doc), task),
                              ex.input, limit, True, self) for ex in examples]
        else:
            encoded = self.tokenizer([self.source(ex, task) for ex in examples], truncation=False)["input_ids"]
            over = sum(1 for row in encoded if len(row) > limit)
            if over:
                self.note_truncated(over, limit)
            ids = [_truncate(row, limit, self.tokenizer) for row in encoded]
        texts = self.run_batches(ids, task)
        return [self.postprocess(t, task) for t in texts]

    def new_tokens(self, out, input_len: int):
        return out[:, 1:]  # drop the decoder start token

    def postprocess(self, text: str, task: Task) -> str:
        if self.info.newline_token:
            text = text.replace(self.info.newline_token, "\n")
        return parse_output(text, task)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["prefix"] = self.info.prefix or None
        return d


class CausalLMModel(GenerativeModel):
    """A decoder-only LM answering the task's prompt, through its chat template when it has one."""

    auto_class_name = "AutoModelForCausalLM"
    greedy_by_default = True
    new_tokens_only = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tokenizer.padding_side = "left"
        self.pad_is_eos = False
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.pad_is_eos = True
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))

    def render(self, example: Example, task: Task) -> str:
        self.prompt_template = prompt_template(task)
        text = format_prompt(self.prompt_template, prompt_values(example, task))
        if self.chat:
            return self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True)
        return text

    def _predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        gen = self.generation_config(task)
        budget = self.max_input - int(gen.max_new_tokens or 0)
        if budget < 16:
            raise BenchError(f"{self.info.name} takes {self.max_input} tokens, too few for a prompt and "
                             f"max_new_tokens={gen.max_new_tokens}", hint="lower --gen max_new_tokens")
        ids = [fit_prompt(self.tokenizer, lambda doc, ex=ex: self.render(_with_input(ex, doc), task),
                          ex.input, budget, not self.chat, self) for ex in examples]
        return [parse_output(t, task) for t in self.run_batches(ids, task)]

    def new_tokens(self, out, input_len: int):
        return out[:, input_len:]

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["chat_template"] = self.chat
        if self.pad_is_eos:
            d["pad_token"] = "eos"
        return d


# ------------------------------------------------------------------ inputs


def _with_input(example: Example, text: str) -> Example:
    from dataclasses import replace

    return replace(example, input=text)


def _truncate(row: list[int], limit: int, tokenizer) -> list[int]:
    """Cut a token id list to `limit`, keeping a final end-of-sequence token if it had one."""
    if len(row) <= limit:
        return row
    eos = tokenizer.eos_token_id
    if eos is not None and row and row[-1] == eos:
        return row[:limit - 1] + [eos]
    return row[:limit]


def fit_prompt(tokenizer, render: Callable[[str], str], document: str, budget: int, special_tokens: bool,
               model: HFModel) -> list[int]:
    """Token ids of the rendered prompt, with the document shortened (at a token boundary) until it fits `budget`."""
    def encode(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=special_tokens)["input_ids"]

    ids = encode(render(document))
    if len(ids) <= budget:
        return ids
    offsets = tokenizer(document, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    keep = len(offsets) - (len(ids) - budget)
    while keep > 0:
        cut = document[:offsets[keep - 1][1]]
        ids = encode(render(cut))
        if len(ids) <= budget:
            model.note_truncated(1, budget, f"prompt(s) with the document shortened to fit {budget} tokens "
                                            f"(the model takes {model.max_input}, less the tokens to generate)")
            return ids
        keep -= max(1, len(ids) - budget)
    raise BenchError(f"the prompt alone is longer than the {budget} tokens {model.info.name} can take",
                     hint="shorten the task's prompt or lower --gen max_new_tokens")


def _json_safe(d: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if k.startswith("_") or k == "transformers_version":
            continue
        out[k] = v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v)
    return out
