"""Extractive question answering with a question-answering head (`AutoModelForQuestionAnswering`).

transformers 5 has no question-answering pipeline; this reproduces the
post-processing of transformers' SQuAD example (`run_qa.py` /
`utils_qa.postprocess_qa_predictions`):

- the question and context are tokenized as a pair; a context longer than
  ``max_seq_length`` (default 384) is split into overlapping windows that
  share ``doc_stride`` (default 128) tokens;
- in every window, the ``n_best`` (20) highest start and end logits over the
  context's tokens form candidate spans of at most ``max_answer_tokens`` (30)
  tokens, scored by start + end logit; the best over all windows wins, and the
  offset mapping turns its tokens back into a character span of the context;
- SQuAD 2.0 no-answer: the null score is start + end logit of the [CLS]
  token, lowest over the windows; with ``null_threshold`` set, the answer is
  "" when null score - best span score > threshold (0.0 by default for SQuAD
  2.0 models such as roberta-squad2). SQuAD 1.1 models always answer.

Settings come from the task's ``generation`` and ``--gen key=value``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.errors import BenchError
from bench.models.hf.runtime import AUTO_START_ENCODE, HFModel
from bench.tasks.records import Example, Task


@dataclass(frozen=True)
class QASettings:
    max_seq_length: int = 384
    doc_stride: int = 128
    max_answer_tokens: int = 30
    n_best: int = 20
    null_threshold: float | None = None
    """None: always answer (SQuAD 1.1); a number: abstain when null - best > it (SQuAD 2.0)."""
    max_question_tokens: int = 64


QA_KEYS = frozenset(QASettings.__dataclass_fields__)


@dataclass(frozen=True)
class Span:
    score: float
    start: int
    """Character offsets of the answer in the context: context[start:end]."""
    end: int


def best_span(
    start_logits: Sequence[float],
    end_logits: Sequence[float],
    offsets: Sequence[tuple[int, int] | None],
    max_answer_tokens: int,
    n_best: int,
) -> Span | None:
    """The highest-scoring span of one window; `offsets[i]` is None for tokens outside the context."""
    import numpy as np

    start = np.asarray(start_logits, dtype=np.float64)
    end = np.asarray(end_logits, dtype=np.float64)
    in_context = np.array([o is not None for o in offsets])
    if not in_context.any():
        return None
    masked_start = np.where(in_context, start, -np.inf)
    masked_end = np.where(in_context, end, -np.inf)
    # Stable sort, so equal logits resolve to the earlier token on every platform.
    starts = np.argsort(-masked_start, kind="stable")[:n_best]
    ends = np.argsort(-masked_end, kind="stable")[:n_best]
    best: Span | None = None
    for s in starts:
        if not in_context[s]:
            continue
        for e in ends:
            if not in_context[e] or e < s or e - s + 1 > max_answer_tokens:
                continue
            score = float(start[s] + end[e])
            if best is None or score > best.score:
                best = Span(score, offsets[s][0], offsets[e][1])  # type: ignore[index]
    return best


def choose_answer(context: str, spans: Sequence[Span | None], null_scores: Sequence[float],
                  null_threshold: float | None) -> str:
    """The answer of one example from its windows' best spans and null scores."""
    candidates = [s for s in spans if s is not None]
    best = max(candidates, key=lambda s: s.score) if candidates else None
    if null_threshold is not None:
        null = min(null_scores)
        if best is None or null - best.score > null_threshold:
            return ""
    return context[best.start:best.end] if best is not None else ""


def qa_settings(base: QASettings, *layers: tuple[str, Mapping[str, Any]], generation_keys: frozenset[str],
                where: Any = None) -> QASettings:
    """`base` with the task's then the run's settings applied; generation-only keys are ignored."""
    values: dict[str, Any] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key in QA_KEYS:
                values[key] = value
            elif key not in generation_keys:
                from bench.registry import did_you_mean

                raise BenchError(f"unknown setting {key!r} for an extractive QA model "
                                 f"({'task generation' if source == 'task' else '--gen'}).{did_you_mean(key, sorted(QA_KEYS))}",
                                 where=where if source == "task" else None,
                                 hint=f"extractive QA settings: {', '.join(sorted(QA_KEYS))}")
    settings = base
    for key, value in values.items():
        if key == "null_threshold":
            if value is None or (isinstance(value, str) and value.lower() in ("none", "off", "null")):
                value = None
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = float(value)
            else:
                raise BenchError(f"null_threshold must be a number or none, got {value!r}")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BenchError(f"{key} must be a positive integer, got {value!r}")
        settings = replace(settings, **{key: value})
    return settings


class ExtractiveQAModel(HFModel):
    """A model with a question-answering head: answers are spans of the context, or "" for no answer."""

    auto_class_name = "AutoModelForQuestionAnswering"
    auto_start = AUTO_START_ENCODE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not getattr(self.tokenizer, "is_fast", False):
            raise BenchError(f"{self.info.name}: extractive QA needs a fast (Rust) tokenizer for offset mapping",
                             hint="use a model whose tokenizer has a tokenizer.json")
        self.tokenizer.padding_side = "right"
        accepted = set(inspect.signature(self.model.forward).parameters)
        self.input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
        self.settings: QASettings | None = None
        self.windows = 0
        self.truncated_questions = 0

    def settings_for(self, task: Task) -> QASettings:
        if self.settings is not None:
            return self.settings
        from transformers import GenerationConfig

        generation_keys = frozenset(k for k in GenerationConfig().to_dict()) | {"max_new_tokens", "min_new_tokens"}
        base = QASettings(max_seq_length=min(384, self.max_input), doc_stride=min(128, self.max_input // 4),
                          null_threshold=0.0 if self.info.no_answer else None)
        s = qa_settings(base, ("task", task.generation), ("run", self.options.generation),
                        generation_keys=generation_keys, where=task.path)
        if s.max_seq_length > self.max_input:
            raise BenchError(f"max_seq_length {s.max_seq_length} is more than {self.info.name} takes "
                             f"({self.max_input} tokens)")
        room = s.max_seq_length - s.max_question_tokens - 3
        if s.doc_stride >= room:
            raise BenchError(f"doc_stride {s.doc_stride} must be less than max_seq_length - max_question_tokens - 3 "
                             f"= {room}", hint="lower doc_stride or max_question_tokens, or raise max_seq_length")
        self.settings = s
        return s

    def _predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        import numpy as np

        s = self.settings_for(task)
        questions = [self._question(ex.question or "", s.max_question_tokens) for ex in examples]
        contexts = [ex.input for ex in examples]
        enc = self.tokenizer(questions, contexts, truncation="only_second", max_length=s.max_seq_length,
                             stride=s.doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True)
        n = len(enc["input_ids"])
        self.windows += n
        features = []
        for i in range(n):
            seq = enc.sequence_ids(i)
            offsets = [tuple(o) if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
            inputs = {name: enc[name][i] for name in self.input_names if name in enc}
            cls_id = self.tokenizer.cls_token_id
            ids = enc["input_ids"][i]
            cls = ids.index(cls_id) if cls_id is not None and cls_id in ids else 0
            features.append((inputs, offsets, cls))
        logits = self.map_batches([f[0] for f in features], self._forward)
        spans: list[list[Span | None]] = [[] for _ in examples]
        nulls: list[list[float]] = [[] for _ in examples]
        for i, ((_, offsets, cls), (start, end)) in enumerate(zip(features, logits)):
            k = enc["overflow_to_sample_mapping"][i]
            spans[k].append(best_span(start, end, offsets, s.max_answer_tokens, s.n_best))
            nulls[k].append(float(np.float64(start[cls]) + np.float64(end[cls])))
        return [choose_answer(ex.input, spans[k], nulls[k], s.null_threshold) for k, ex in enumerate(examples)]

    def _question(self, question: str, limit: int) -> str:
        enc = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        if len(enc["input_ids"]) <= limit:
            return question
        self.truncated_questions += 1
        return question[:enc["offset_mapping"][limit - 1][1]]

    def _forward(self, batch: Sequence[Mapping[str, list[int]]]) -> list[tuple[Any, Any]]:
        import torch

        padded = self.tokenizer.pad(list(batch), padding=True, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in padded.items() if k in self.input_names}
        with torch.inference_mode():
            out = self.model(**inputs)
        start = out.start_logits.float().cpu().numpy()
        end = out.end_logits.float().cpu().numpy()
        lengths = [len(f["input_ids"]) for f in batch]
        return [(start[j, :n], end[j, :n]) for j, n in enumerate(lengths)]

    def close(self) -> None:
        if self.truncated_questions:
            self.warnings.append(f"{self.truncated_questions} question(s) truncated to "
                                 f"{self.settings.max_question_tokens if self.settings else '?'} tokens")
        super().close()

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        s = self.settings
        d["qa"] = None if s is None else {
            "max_seq_length": s.max_seq_length, "doc_stride": s.doc_stride, "max_answer_tokens": s.max_answer_tokens,
            "n_best": s.n_best, "null_threshold": s.null_threshold, "max_question_tokens": s.max_question_tokens,
            "no_answer": s.null_threshold is not None,
        }
        d["windows"] = self.windows
        d["truncated_questions"] = self.truncated_questions
        return d
