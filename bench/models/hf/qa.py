"""Extractive question answering with a question-answering head (`AutoModelForQuestionAnswering`).

transformers 5 has no question-answering pipeline. bench decodes spans in one
of two ways, chosen with ``qa_decoding`` (``--gen qa_decoding=pipeline``):

``run_qa`` (the default): the post-processing of transformers' SQuAD example
(`run_qa.py` / `utils_qa.postprocess_qa_predictions`), which model-card
numbers come from:

- the question and context are tokenized as a pair; a context longer than
  ``max_seq_length`` (default 384) is split into overlapping windows that
  share ``doc_stride`` tokens (default 128, or a quarter of the model's length
  for models shorter than 512 positions);
- in every window, the ``n_best`` (20) highest start and end logits over the
  context's tokens form candidate spans of at most ``max_answer_tokens`` (30)
  tokens, scored by start + end logit; the best over all windows wins, and the
  offset mapping turns its tokens back into a character span of the context;
- SQuAD 2.0 no-answer: the null score is start + end logit of the [CLS]
  token, lowest over the windows; with ``null_threshold`` set, the answer is
  "" when null score - best span score > threshold (0.0 by default for SQuAD
  2.0 models such as roberta-squad2). SQuAD 1.1 models always answer.

``pipeline``: what transformers 4.57's ``question-answering`` pipeline
returned (its ``QuestionAnsweringPipeline``, read from the 4.57.6 source):

- windows of ``max_seq_length`` (default min(384, the model's length)) sharing
  ``doc_stride`` tokens (default min(max_seq_length // 2, 128)); the question
  is never shortened;
- in each window the logits of tokens outside the context (except [CLS]) are
  set to -10000, start and end logits go through a softmax of their own
  (float32), a span's score is P(start) x P(end) with the first token's
  probabilities set to 0, spans are at most ``max_answer_tokens`` (default 15)
  tokens, and the 12 best spans are kept (its ``top_k * 2 + 10``);
- each span is widened to whole words (the tokenizer's word ids, within the
  window), and answers whose texts are equal ignoring case are merged, their
  scores summed, across spans and windows;
- the null score is P(start) x P(end) of the first token, lowest over the
  windows; its ``handle_impossible_answer=True`` is ``null_threshold=0``: no
  answer when the null score is higher than the best answer's.

Both return `Answer`s whose ``no_answer_score`` is the null score minus the
best answer's score (raw logits for ``run_qa``, as run_qa.py writes its null
odds; the pipeline's probabilities for ``pipeline``).

Segment ids (``token_type_ids``) are passed to every model that takes them and
has more than one segment type (BERT, ALBERT, ...), as both decodings were
trained or run with them: transformers 5 tokenizers no longer return them by
default.

Settings come from the task's ``generation`` and ``--gen key=value``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench.errors import BenchError
from bench.models.model import Answer
from bench.models.hf.hf_model import HFModel
from bench.runtime.batching import AUTO_START_ENCODE
from bench.tasks.records import Example, Task

#: The two span decodings: transformers' SQuAD example, and the transformers 4 pipeline.
RUN_QA, PIPELINE = "run_qa", "pipeline"
DECODINGS = (RUN_QA, PIPELINE)
#: Candidate spans the pipeline keeps per window before word alignment (its ``top_k * 2 + 10`` with top_k 1).
PIPELINE_CANDIDATES = 12
#: The pipeline's logit for tokens that cannot be in the answer, before its softmax.
PIPELINE_MASKED_LOGIT = -10000.0


@dataclass(frozen=True)
class QASettings:
    max_seq_length: int = 384
    doc_stride: int = 128
    max_answer_tokens: int = 30
    n_best: int = 20
    null_threshold: float | None = None
    """None: always answer (SQuAD 1.1); a number: abstain when null - best > it (SQuAD 2.0)."""
    max_question_tokens: int = 64
    qa_decoding: str = RUN_QA
    """run_qa (transformers' SQuAD example) or pipeline (the transformers 4 question-answering pipeline)."""


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
                  null_threshold: float | None) -> Answer:
    """The answer of one example from its windows' best spans and null scores (run_qa decoding).

    Its `no_answer_score` is the lowest null score minus the best span's score (None without a span).
    """
    candidates = [s for s in spans if s is not None]
    best = max(candidates, key=lambda s: s.score) if candidates else None
    margin = min(null_scores) - best.score if best is not None and null_scores else None
    if null_threshold is not None and (best is None or (margin is not None and margin > null_threshold)):
        return Answer("", margin)
    return Answer(context[best.start:best.end] if best is not None else "", margin)


# ------------------------------------------------------- pipeline decoding


@dataclass(frozen=True)
class Candidate:
    """A span of one window as the pipeline scores it: P(start) x P(end), token positions in the window."""

    score: float
    start: int
    end: int


def pipeline_candidates(start_logits: Sequence[float], end_logits: Sequence[float], allowed: Sequence[bool],
                        max_answer_tokens: int) -> tuple[list[Candidate], float]:
    """The pipeline's best spans of one window, best first, and the window's null score.

    `allowed[i]` says whether token i may be part of an answer (a context token, or a [CLS] token). The
    arithmetic is the pipeline's, in float32 and with the same numpy calls, so that ties and rounding come
    out as they did: masked logits become -10000, each of start and end goes through a softmax over the
    window, the first token's probabilities are the null score and are then set to 0, a span scores
    P(start) x P(end) and is at most `max_answer_tokens` long, and the 12 best are kept. Like the
    pipeline's, the filter that drops spans outside the context lets spans at the first token through
    (they score 0).
    """
    import numpy as np

    mask = np.asarray(allowed, dtype=bool)[None, :]

    def probabilities(logits: Sequence[float]):
        x = np.where(mask, np.asarray(logits, dtype=np.float32)[None, :], np.float32(PIPELINE_MASKED_LOGIT))
        x = np.exp(x - x.max(axis=-1, keepdims=True))
        return x / x.sum()

    start, end = probabilities(start_logits), probabilities(end_logits)
    null = float(start[0, 0] * end[0, 0])
    start[0, 0] = end[0, 0] = 0.0
    scores = np.tril(np.triu(np.matmul(start[:, :, None], end[:, None, :])), max_answer_tokens - 1)
    flat = scores.flatten()
    if len(flat) < PIPELINE_CANDIDATES:
        order = np.argsort(-flat)
    else:
        top = np.argpartition(-flat, PIPELINE_CANDIDATES)[:PIPELINE_CANDIDATES]
        order = top[np.argsort(-flat[top])]
    _, starts, ends = np.unravel_index(order, scores.shape)
    passes = mask[0].copy()
    passes[0] = passes.any()
    keep = passes[starts] & passes[ends]
    return [Candidate(float(scores[0, s, e]), int(s), int(e)) for s, e in zip(starts[keep], ends[keep])], null


def word_span(encoding: Any, start: int, end: int) -> tuple[int, int]:
    """Character span of tokens start..end of a window widened to whole words, as the pipeline's
    ``align_to_words``: the words of the window's tokens (a word cut by the window's edge keeps only its part
    inside); the tokens' own offsets when either token has no word (a special token)."""
    first, last = encoding.token_to_word(start), encoding.token_to_word(end)
    first_chars = encoding.word_to_chars(first, sequence_index=1) if first is not None else None
    last_chars = encoding.word_to_chars(last, sequence_index=1) if last is not None else None
    if first_chars is None or last_chars is None:
        return encoding.offsets[start][0], encoding.offsets[end][1]
    return first_chars[0], last_chars[1]


def pipeline_answer(context: str, windows: Sequence[tuple[Any, list[Candidate]]], null_scores: Sequence[float],
                    null_threshold: float | None) -> Answer:
    """The answer of one example from its windows' candidates (pipeline decoding).

    `windows` pairs each window's tokenizer encoding with its candidates. Each candidate is widened to whole
    words; answers whose texts are equal ignoring case are one answer, with the scores summed (the first
    one's text kept); the highest score wins, the earliest on a tie. Its `no_answer_score` is the lowest
    null score minus that score.
    """
    merged: list[list[Any]] = []  # [text, score], in the order the pipeline met them
    for encoding, candidates in windows:
        for c in candidates:
            a, b = word_span(encoding, c.start, c.end)
            text = context[a:b]
            same = next((m for m in merged if m[0].lower() == text.lower()), None)
            if same is None:
                merged.append([text, c.score])
            else:
                same[1] += c.score
    best = max(merged, key=lambda m: m[1]) if merged else None
    margin = min(null_scores) - best[1] if best is not None and null_scores else None
    if null_threshold is not None and (best is None or (margin is not None and margin > null_threshold)):
        return Answer("", margin)
    return Answer(best[0] if best is not None else "", margin)


#: The transformers 4 pipeline's names for bench's settings, for the message when one is used.
PIPELINE_NAMES = {"max_answer_len": "max_answer_tokens", "max_seq_len": "max_seq_length",
                  "handle_impossible_answer": "null_threshold=0", "max_question_len": "max_question_tokens"}
#: Settings the pipeline decoding does not use.
RUN_QA_ONLY = ("n_best", "max_question_tokens")


def qa_values(*layers: tuple[str, Mapping[str, Any]], generation_keys: frozenset[str],
              where: Any = None) -> dict[str, Any]:
    """The extractive QA settings the task's then the run's layer set, checked; generation-only keys are ignored."""
    values: dict[str, Any] = {}
    for source, layer in layers:
        for key, value in layer.items():
            if key in QA_KEYS:
                values[key] = value
            elif key not in generation_keys:
                from bench.registry import did_you_mean

                origin = "task generation" if source == "task" else "--gen"
                if key in PIPELINE_NAMES:
                    hint = (f"the transformers pipeline's {key} is bench's {PIPELINE_NAMES[key]}; "
                            f"extractive QA settings: {', '.join(sorted(QA_KEYS))}")
                    raise BenchError(f"unknown setting {key!r} for an extractive QA model ({origin})",
                                     where=where if source == "task" else None, hint=hint)
                raise BenchError(f"unknown setting {key!r} for an extractive QA model ({origin})."
                                 f"{did_you_mean(key, sorted(QA_KEYS))}",
                                 where=where if source == "task" else None,
                                 hint=f"extractive QA settings: {', '.join(sorted(QA_KEYS))}")
    checked: dict[str, Any] = {}
    for key, value in values.items():
        if key == "null_threshold":
            if value is None or (isinstance(value, str) and value.lower() in ("none", "off", "null")):
                value = None
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = float(value)
            else:
                raise BenchError(f"null_threshold must be a number or none, got {value!r}")
        elif key == "qa_decoding":
            if value not in DECODINGS:
                from bench.registry import did_you_mean

                raise BenchError(f"qa_decoding must be {' or '.join(DECODINGS)}, got {value!r}."
                                 f"{did_you_mean(str(value), list(DECODINGS))}",
                                 hint="run_qa: transformers' SQuAD example (the default); pipeline: the answers of "
                                      "the transformers 4 question-answering pipeline")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BenchError(f"{key} must be a positive integer, got {value!r}")
        checked[key] = value
    return checked


def qa_settings(base: QASettings, *layers: tuple[str, Mapping[str, Any]], generation_keys: frozenset[str],
                where: Any = None) -> QASettings:
    """`base` with the task's then the run's settings applied; generation-only keys are ignored."""
    return replace(base, **qa_values(*layers, generation_keys=generation_keys, where=where))


def default_settings(decoding: str, max_input: int, values: Mapping[str, Any], no_answer: bool) -> QASettings:
    """The settings of a decoding before the task's and the run's (`values`, which the defaults may depend on).

    run_qa: windows of min(384, the model's length) tokens sharing min(128, a quarter of the model's length),
    answers of at most 30 tokens. pipeline: the 4.57 pipeline's windows of min(384, the model's length) tokens
    sharing min(max_seq_length // 2, 128), answers of at most 15 tokens.
    """
    null = 0.0 if no_answer else None
    if decoding == PIPELINE:
        length = values.get("max_seq_length", min(384, max_input))
        return QASettings(max_seq_length=length, doc_stride=min(length // 2, 128), max_answer_tokens=15,
                          null_threshold=null, qa_decoding=PIPELINE)
    return QASettings(max_seq_length=min(384, max_input), doc_stride=min(128, max_input // 4), null_threshold=null)


def takes_segment_ids(model: Any) -> bool:
    """Whether a model reads segment ids (``token_type_ids``) that matter: its forward takes them and it has more
    than one segment type (BERT, ALBERT, ...; not RoBERTa, whose one type is what a missing argument gives)."""
    if "token_type_ids" not in inspect.signature(model.forward).parameters:
        return False
    types = getattr(model.config, "type_vocab_size", None)
    return not (isinstance(types, int) and types <= 1)


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
        self.segment_ids = takes_segment_ids(self.model)
        self.input_names = [n for n in ("input_ids", "attention_mask") if n in accepted]
        if self.segment_ids:
            self.input_names.append("token_type_ids")
        self.settings: QASettings | None = None
        self.windows = 0
        self.truncated_questions = 0

    def settings_for(self, task: Task) -> QASettings:
        if self.settings is not None:
            return self.settings
        from transformers import GenerationConfig

        generation_keys = frozenset(k for k in GenerationConfig().to_dict()) | {"max_new_tokens", "min_new_tokens"}
        values = qa_values(("task", task.generation), ("run", self.options.generation),
                           generation_keys=generation_keys, where=task.path)
        decoding = values.get("qa_decoding", RUN_QA)
        if decoding == PIPELINE:
            unused = [k for k in RUN_QA_ONLY if k in values]
            if unused:
                raise BenchError(f"{unused[0]} applies to qa_decoding=run_qa only",
                                 hint="the pipeline decoding keeps 12 spans per window and never shortens the question")
        s = replace(default_settings(decoding, self.max_input, values, self.info.no_answer), **values)
        if s.max_seq_length > self.max_input:
            raise BenchError(f"max_seq_length {s.max_seq_length} is more than {self.info.name} takes "
                             f"({self.max_input} tokens)")
        if decoding == RUN_QA:
            room = s.max_seq_length - s.max_question_tokens - 3
            if s.doc_stride >= room:
                raise BenchError(f"doc_stride {s.doc_stride} must be less than max_seq_length - max_question_tokens "
                                 f"- 3 = {room}", hint="lower doc_stride or max_question_tokens, or raise max_seq_length")
        elif s.doc_stride >= s.max_seq_length:
            raise BenchError(f"doc_stride {s.doc_stride} must be less than max_seq_length {s.max_seq_length}",
                             hint="lower doc_stride or raise max_seq_length")
        self.settings = s
        return s

    def _predict(self, examples: Sequence[Example], task: Task) -> list[str]:
        s = self.settings_for(task)
        if s.qa_decoding == PIPELINE:
            return self._predict_pipeline(examples, s)
        return self._predict_run_qa(examples, s)

    def _windows(self, questions: list[str], contexts: list[str], s: QASettings) -> Any:
        extra = {"return_token_type_ids": True} if self.segment_ids else {}
        try:
            return self.tokenizer(questions, contexts, truncation="only_second", max_length=s.max_seq_length,
                                  stride=s.doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True,
                                  **extra)
        except Exception as e:  # noqa: BLE001 - the tokenizer's own errors (a question longer than a window)
            raise BenchError(f"{self.info.name}: cannot split the inputs into windows of {s.max_seq_length} tokens "
                             f"overlapping by {s.doc_stride}: {str(e).strip().splitlines()[0] if str(e) else e!r}",
                             hint="a question plus the overlap must leave room for the context: raise "
                                  "max_seq_length or lower doc_stride (--gen)") from None

    def _predict_run_qa(self, examples: Sequence[Example], s: QASettings) -> list[str]:
        import numpy as np

        questions = [self._question(ex.question or "", s.max_question_tokens) for ex in examples]
        enc = self._windows(questions, [ex.input for ex in examples], s)
        n = len(enc["input_ids"])
        self.windows += n
        features = []
        for i in range(n):
            seq = enc.sequence_ids(i)
            offsets = [tuple(o) if seq[k] == 1 else None for k, o in enumerate(enc["offset_mapping"][i])]
            features.append((self._inputs(enc, i), offsets, self._cls(enc["input_ids"][i])))
        logits = self.map_batches([f[0] for f in features], self._forward)
        spans: list[list[Span | None]] = [[] for _ in examples]
        nulls: list[list[float]] = [[] for _ in examples]
        for i, ((_, offsets, cls), (start, end)) in enumerate(zip(features, logits)):
            k = enc["overflow_to_sample_mapping"][i]
            spans[k].append(best_span(start, end, offsets, s.max_answer_tokens, s.n_best))
            nulls[k].append(float(np.float64(start[cls]) + np.float64(end[cls])))
        return [choose_answer(ex.input, spans[k], nulls[k], s.null_threshold) for k, ex in enumerate(examples)]

    def _predict_pipeline(self, examples: Sequence[Example], s: QASettings) -> list[str]:
        enc = self._windows([ex.question or "" for ex in examples], [ex.input for ex in examples], s)
        n = len(enc["input_ids"])
        self.windows += n
        cls_id = self.tokenizer.cls_token_id
        allowed = []
        for i in range(n):
            seq, ids = enc.sequence_ids(i), enc["input_ids"][i]
            allowed.append([seq[k] == 1 or (cls_id is not None and ids[k] == cls_id) for k in range(len(ids))])
        logits = self.map_batches([self._inputs(enc, i) for i in range(n)], self._forward)
        windows: list[list[tuple[Any, list[Candidate]]]] = [[] for _ in examples]
        nulls: list[list[float]] = [[] for _ in examples]
        for i, (start, end) in enumerate(logits):
            k = enc["overflow_to_sample_mapping"][i]
            candidates, null = pipeline_candidates(start, end, allowed[i], s.max_answer_tokens)
            windows[k].append((enc.encodings[i], candidates))
            nulls[k].append(null)
        return [pipeline_answer(ex.input, windows[k], nulls[k], s.null_threshold) for k, ex in enumerate(examples)]

    def _inputs(self, enc: Any, i: int) -> dict[str, list[int]]:
        return {name: enc[name][i] for name in self.input_names if name in enc}

    def _cls(self, ids: list[int]) -> int:
        cls_id = self.tokenizer.cls_token_id
        return ids.index(cls_id) if cls_id is not None and cls_id in ids else 0

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
        run_qa = s is None or s.qa_decoding == RUN_QA
        d["qa"] = None if s is None else {
            "decoding": s.qa_decoding,
            "max_seq_length": s.max_seq_length, "doc_stride": s.doc_stride, "max_answer_tokens": s.max_answer_tokens,
            "n_best": s.n_best if run_qa else PIPELINE_CANDIDATES, "null_threshold": s.null_threshold,
            "max_question_tokens": s.max_question_tokens if run_qa else None,
            "no_answer": s.null_threshold is not None, "segment_ids": self.segment_ids,
        }
        d["windows"] = self.windows
        d["truncated_questions"] = self.truncated_questions
        return d
