"""Metrics of a user's own, named on the command line as ``user_metrics:Class`` (tests/helpers is on sys.path).

And a QA model whose answers carry no-answer scores, for SQuAD 2.0's best thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.metrics import Metric, MetricInputs, MetricResult
from bench.metrics.metric import corpus_stats, signature
from bench.models.model import Answer, Model


class LengthRatio(Metric):
    """Prediction words / shortest reference's words, x `scale` (an option)."""

    name = "length_ratio"
    value_range = (0.0, float("inf"))
    description = "words of the prediction per word of the shortest reference"

    @dataclass(frozen=True)
    class Options:
        scale: float = 1.0
        """Multiply every ratio by this."""
        words: bool = True
        """Count words (else characters)."""

    def compute(self, inputs: MetricInputs) -> MetricResult:
        size = (lambda t: len(t.split())) if self.settings.words else len
        ratios = np.array([size(p) / max(1, min(size(r) for r in refs)) if refs else 0.0
                           for p, refs in zip(inputs.predictions, inputs.references)]) * self.settings.scale
        metrics, ci = corpus_stats({"length_ratio": ratios}, self.options)
        return MetricResult(per_example={"length_ratio": ratios.tolist()}, metrics=metrics, ci=ci,
                            signatures={"length_ratio": signature("length_ratio", ("scale", f"{self.settings.scale:g}"),
                                                                  ("unit", "word" if self.settings.words else "char"),
                                                                  ("agg", "mean"))},
                            details={"length_ratio": [{"prediction_words": len(p.split())}
                                                      for p in inputs.predictions]})


class DocumentShare(Metric):
    """Share of the prediction's words found in the document, x100; reads the document."""

    name = "document_share"
    needs = frozenset({"prediction", "document"})
    value_range = (0.0, 100.0)

    def compute(self, inputs: MetricInputs) -> MetricResult:
        assert inputs.documents is not None
        shares = []
        for p, d in zip(inputs.predictions, inputs.documents):
            words, doc = p.lower().split(), set(d.lower().split())
            shares.append(100.0 * sum(w in doc for w in words) / len(words) if words else 0.0)
        metrics, ci = corpus_stats({"document_share": shares}, self.options)
        return MetricResult(per_example={"document_share": shares}, metrics=metrics, ci=ci,
                            signatures={"document_share": signature("document_share", ("agg", "mean"))})


class CorpusCount(Metric):
    """One value over the whole set (no per-example scores, no CI): the number of distinct predictions."""

    name = "distinct"

    def compute(self, inputs: MetricInputs) -> MetricResult:
        return MetricResult(per_example={}, metrics={"distinct": float(len(set(inputs.predictions)))},
                            ci={"distinct": None}, signatures={"distinct": signature("distinct", ("agg", "corpus"))})


class ClashesWithRouge(Metric):
    """Gives a score named like one of ROUGE's."""

    def compute(self, inputs: MetricInputs) -> MetricResult:
        return MetricResult(per_example={"rouge1": [0.0] * len(inputs)}, metrics={"rouge1": 0.0},
                            ci={"rouge1": (0.0, 0.0)}, signatures={"rouge1": "rouge1|mine"})


class WrongLength(Metric):
    """Gives one per-example value too few."""

    def compute(self, inputs: MetricInputs) -> MetricResult:
        return MetricResult(per_example={"short": [1.0] * (len(inputs) - 1)}, metrics={"short": 1.0},
                            ci={"short": (1.0, 1.0)}, signatures={"short": "short|agg:mean"})


class NotAMetric:
    def compute(self, inputs):
        return None


class FirstWordsWithNullScores(Model):
    """Answers each question with the context's first three words, or abstains when the question has "not"
    in it; the no-answer score is the question's length in characters minus 40 (a margin, any order works)."""

    name = "first-words"
    task_types = ("qa",)

    def predict(self, examples, task):
        out = []
        for ex in examples:
            text = "" if " not " in f" {ex.question.lower()} " else " ".join(ex.input.split()[:3])
            out.append(Answer(text, no_answer_score=len(ex.question) - 40.0))
        return out


class SometimesUnscored(Metric):
    """Scores 1 per word of the prediction, but cannot score an empty one or one with "?" in it (None, counted)."""

    name = "words"

    def compute(self, inputs: MetricInputs) -> MetricResult:
        values = [None if "?" in p or not p.strip() else float(len(p.split())) for p in inputs.predictions]
        metrics, ci = corpus_stats({"words": values}, self.options)
        return MetricResult(per_example={"words": values}, metrics=metrics, ci=ci,
                            signatures={"words": signature("words", ("agg", "mean"))},
                            counts={"words_unscored": sum(v is None for v in values)})


class MiscountsUnscored(SometimesUnscored):
    def compute(self, inputs: MetricInputs) -> MetricResult:
        r = super().compute(inputs)
        return MetricResult(per_example=r.per_example, metrics=r.metrics, ci=r.ci, signatures=r.signatures)


class Verbosity(LengthRatio):
    """The length ratio, where lower is better (a metric of a user's that says so)."""

    directions = {"length_ratio": "lower"}


class SlowLengthRatio(LengthRatio):
    """LengthRatio after a pause of BENCH_TEST_METRIC_SLEEP seconds, the times it started and ended appended to
    the file BENCH_TEST_METRIC_LOG names: processes scoring at the same time, and when."""

    name = "slow_length_ratio"

    def compute(self, inputs: MetricInputs) -> MetricResult:
        import os
        import time

        start = time.time()
        time.sleep(float(os.environ.get("BENCH_TEST_METRIC_SLEEP", "0")))
        if os.environ.get("BENCH_TEST_METRIC_LOG"):
            with open(os.environ["BENCH_TEST_METRIC_LOG"], "a") as f:
                f.write(f"{start} {time.time()}\n")
        return super().compute(inputs)
