"""The `rouge` metric: rouge1, rouge2, rougeL, rougeLsum F-measures x 100."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bench.errors import BenchError
from bench.metrics.metric import Metric, MetricInputs, MetricResult, nrefs_field, signature
from bench.metrics.metric_options import MetricOptions, make_settings
from bench.metrics.rouge import engines as rouge_engine
from bench.metrics.rouge.lib_rouge import ROUGE_TYPES, RougeScorer
from bench.text.sentences import one_sentence_per_line, splitter_id

#: Warn when a text keeps less than this share of its letters and digits
#: after ROUGE tokenization (non-ASCII scripts vanish in rouge_score's tokenizer).
_LOSS_WARNING = 0.5


@dataclass(frozen=True)
class RougeOptions:
    """The options of the `rouge` metric (``--metric-opt rouge.KEY=VALUE``; ``--no-stemmer``,
    ``--no-split-sentences`` and ``--tokenizer`` set them for every command that scores)."""

    stemmer: bool = True
    """Porter-stem tokens longer than 3 characters (rouge_score's use_stemmer)."""
    split_sentences: bool = True
    """rougeLsum: split predictions, and references without newlines, into sentences."""
    tokenizer: Literal["default", "unicode"] = "default"
    """'default' (rouge_score's, ASCII a-z0-9 only) or 'unicode' (letters of every script)."""


#: The command-line flags (`MetricOptions`) that set ROUGE's options, and how the flag is written.
FLAGS = {"stemmer": "--no-stemmer", "split_sentences": "--no-split-sentences", "tokenizer": "--tokenizer"}


class Rouge(Metric):
    name = "rouge"
    task_types = ("summarization",)
    value_range = (0.0, 100.0)
    score_ranges = {t: (0.0, 100.0) for t in ROUGE_TYPES}
    description = "ROUGE-1/2/L/Lsum F-measure against the references, as rouge_score 0.1.2 computes them"
    Options = RougeOptions

    @classmethod
    def defaults_from(cls, options: MetricOptions, name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """ROUGE's options as the flags set them; an option also given (``--metric-opt rouge.stemmer=...``)
        with another value than a flag that was changed is a conflict, refused."""
        flags = {key: getattr(options, key) for key in FLAGS}
        default = RougeOptions()
        given = make_settings(RougeOptions, name, {key: settings[key] for key in FLAGS if key in settings})
        for key, value in flags.items():
            if key in settings and value != getattr(default, key) and getattr(given, key) != value:
                raise BenchError(f"{FLAGS[key]} and --metric-opt {name}.{key}={settings[key]} disagree",
                                 hint="give ROUGE's option once")
        return flags

    def prepare(self, prediction: str, references: Sequence[str]) -> tuple[str, list[str]]:
        """Texts as scored: one sentence per line when sentence splitting is on."""
        if not self.settings.split_sentences:
            return prediction, list(references)
        return (
            one_sentence_per_line(prediction),
            [r if "\n" in r else one_sentence_per_line(r) for r in references],
        )

    def signatures(self, references: Sequence[Sequence[str]]) -> dict[str, str]:
        o = self.settings
        fields = [
            ("nrefs", nrefs_field(references)),
            ("tok", "rouge-ascii" if o.tokenizer == "default" else "unicode"),
            ("stem", "porter" if o.stemmer else "none"),
        ]
        out = {}
        for t in ROUGE_TYPES:
            extra = [("split", splitter_id() if o.split_sentences else "newline")] if t == "rougeLsum" else []
            out[t] = signature(t, *fields, *extra, ("agg", "mean"))
        return out

    def compute(self, inputs: MetricInputs) -> MetricResult:
        predictions, references = inputs.predictions, inputs.references
        n = len(predictions)
        jobs = _jobs(n)
        args = (self.settings.stemmer, self.settings.tokenizer, self.settings.split_sentences)
        if jobs <= 1:
            per, lossy = _score_chunk((*args, list(predictions), [list(r) for r in references]))
        else:
            # Chunks are scored in worker processes; the numbers do not depend on the split.
            size = -(-n // (jobs * 4))
            chunks = [(*args, list(predictions[k:k + size]), [list(r) for r in references[k:k + size]])
                      for k in range(0, n, size)]
            with _pool(jobs) as pool:
                parts = list(pool.map(_score_chunk, chunks))
            per = np.concatenate([p for p, _ in parts]) if parts else np.empty((0, len(ROUGE_TYPES)))
            lossy = sum(k for _, k in parts)
        warnings: list[str] = []
        if lossy:
            warnings.append(
                f"{lossy} example(s) lose most of their letters to rouge_score's tokenizer "
                "(it keeps ASCII a-z0-9 only, so non-Latin scripts and accented words score 0); "
                "use --tokenizer unicode to score them"
            )
        return MetricResult(
            per_example={t: per[:, k].tolist() for k, t in enumerate(ROUGE_TYPES)},
            signatures=self.signatures(references),
            warnings=warnings,
        )


#: Below this many pairs, scoring stays in one process (start-up costs more than it saves).
PARALLEL_MIN_PAIRS = 2000


def _jobs(n: int, tokenizer: str = "default") -> int:
    """How many worker processes score `n` pairs: 1 below PARALLEL_MIN_PAIRS, else up to one per core.

    rouge-score-rs (the engine for the default tokenizer where it is installed) already scores a batch on
    every core in threads, so it gets one process unless BENCH_SCORE_JOBS asks for more.
    """
    env = os.environ.get("BENCH_SCORE_JOBS")
    explicit = bool(env and env.isdigit() and int(env) > 0)
    if not explicit and rouge_engine.uses_native(tokenizer):
        return 1
    cpus = int(env) if explicit else rouge_engine.cpus()
    return 1 if n < PARALLEL_MIN_PAIRS else max(1, min(cpus, n // (PARALLEL_MIN_PAIRS // 2)))


def _pool(jobs: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    # fork is cheap (nothing to re-import); scoring uses no threads of its own.
    ctx = multiprocessing.get_context("fork" if "fork" in methods and "torch" not in sys.modules else "spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=ctx)


def _score_chunk(args) -> tuple[np.ndarray, int]:
    """F-measures x100 of ROUGE_TYPES for a chunk of pairs, and how many lose most of their text."""
    stemmer, tokenizer, split, predictions, references = args
    n = len(predictions)
    if not rouge_engine.uses_native(tokenizer) and _in_main_process():
        # bench's Python scorer: large sets in worker processes, whatever split the caller chose
        jobs = _jobs(n, tokenizer)
        if jobs > 1:
            size = -(-n // (jobs * 4))
            chunks = [(stemmer, tokenizer, split, predictions[k:k + size], references[k:k + size])
                      for k in range(0, n, size)]
            with _pool(jobs) as pool:
                parts = list(pool.map(_score_chunk, chunks))
            return np.concatenate([p for p, _ in parts]), sum(k for _, k in parts)
    if split:
        jobs = min(rouge_engine.cpus(), n // (PARALLEL_MIN_PAIRS // 2)) if n >= PARALLEL_MIN_PAIRS else 1
        if jobs > 1 and rouge_engine.uses_native(tokenizer) and _in_main_process():
            # rouge-score-rs scores on every core; the sentence splitting before it is Python, so it is
            # shared out to worker processes.
            size = -(-n // (jobs * 4))
            chunks = [(stemmer, tokenizer, predictions[k:k + size], references[k:k + size]) for k in range(0, n, size)]
            with _pool(jobs) as pool:
                prepared = [pair for part in pool.map(_prepare_chunk, chunks) for pair in part]
        else:
            prepared = _prepare_chunk((stemmer, tokenizer, predictions, references))
        predictions = [p for p, _ in prepared]
        references = [r for _, r in prepared]
    if rouge_engine.uses_native(tokenizer):
        per, lossy = rouge_engine.native_scores(predictions, references, stemmer)
        if lossy is None:
            lossy = _count_lossy(predictions, references)
        return per * 100.0, lossy
    lossy = _count_lossy(predictions, references) if tokenizer == "default" else 0
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=stemmer, unicode=tokenizer == "unicode")
    out = np.empty((len(predictions), len(ROUGE_TYPES)))
    for k, (pred, refs) in enumerate(zip(predictions, references)):
        scores = scorer.score(pred, refs)
        for j, t in enumerate(ROUGE_TYPES):
            out[k, j] = scores[t].fmeasure * 100.0
    return out, lossy


def _prepare_chunk(args) -> list[tuple[str, list[str]]]:
    """`Rouge.prepare` of each pair (sentence splitting on)."""
    stemmer, tokenizer, predictions, references = args
    metric = Rouge(None, {"stemmer": stemmer, "tokenizer": tokenizer, "split_sentences": True})
    return [metric.prepare(p, r) for p, r in zip(predictions, references)]


def _in_main_process() -> bool:
    import multiprocessing

    return multiprocessing.parent_process() is None




def _count_lossy(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> int:
    """How many pairs have a text that `_loses_text` (the C engine counts them as it scores)."""
    # str.isascii is O(1); only the pairs with other characters are looked at one by one
    return sum(1 for p, refs in zip(predictions, references)
               if not (p.isascii() and all(map(str.isascii, refs)))
               and (_loses_text(p) or any(_loses_text(r) for r in refs)))


def _loses_text(text: str) -> bool:
    """Whether rouge_score's tokenizer drops most of the letters and digits of `text`."""
    if text.isascii():  # every letter and digit is kept (A-Z is lowercased)
        return False
    # ASCII letters and digits are kept, and at most every non-ASCII character is a letter or digit lost:
    # when the ASCII ones are half of that bound, the exact count below cannot find the text lossy.
    ascii_part = text.encode("ascii", "ignore")
    ascii_alnum = len(ascii_part.translate(None, _NOT_ASCII_ALNUM))
    if ascii_alnum >= _LOSS_WARNING * (ascii_alnum + len(text) - len(ascii_part)):
        return False
    alnum = sum(map(str.isalnum, text))
    if alnum == 0:
        return False
    kept = len(_KEPT.findall(text.lower()))
    return kept < _LOSS_WARNING * alnum


_KEPT = re.compile(r"[a-z0-9]")
_NOT_ASCII_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())
