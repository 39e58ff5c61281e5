"""The `rouge` metric: rouge1, rouge2, rougeL, rougeLsum F-measures x 100."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.metrics.base import Metric, MetricResult, corpus_stats, nrefs_field, signature
from bench.metrics.rouge import ROUGE_TYPES, RougeScorer
from bench.metrics.sentences import one_sentence_per_line, splitter_id

#: Warn when a text keeps less than this share of its letters and digits
#: after ROUGE tokenization (non-ASCII scripts vanish in rouge_score's tokenizer).
_LOSS_WARNING = 0.5


class Rouge(Metric):
    name = "rouge"
    task_types = ("summarization",)

    def prepare(self, prediction: str, references: Sequence[str]) -> tuple[str, list[str]]:
        """Texts as scored: one sentence per line when sentence splitting is on."""
        if not self.options.split_sentences:
            return prediction, list(references)
        return (
            one_sentence_per_line(prediction),
            [r if "\n" in r else one_sentence_per_line(r) for r in references],
        )

    def signatures(self, references: Sequence[Sequence[str]]) -> dict[str, str]:
        o = self.options
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

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> MetricResult:
        scorer = RougeScorer(ROUGE_TYPES, use_stemmer=self.options.stemmer, unicode=self.options.tokenizer == "unicode")
        per = {t: np.empty(len(predictions)) for t in ROUGE_TYPES}
        warnings: list[str] = []
        lossy = 0
        for k, (pred, refs) in enumerate(zip(predictions, references)):
            pred, refs = self.prepare(pred, refs)
            scores = scorer.score(pred, refs)
            for t in ROUGE_TYPES:
                per[t][k] = scores[t].fmeasure * 100.0
            if self.options.tokenizer == "default" and any(_loses_text(x) for x in (pred, *refs)):
                lossy += 1
        if lossy:
            warnings.append(
                f"{lossy} example(s) lose most of their letters to rouge_score's tokenizer "
                "(it keeps ASCII a-z0-9 only, so non-Latin scripts and accented words score 0); "
                "use --tokenizer unicode to score them"
            )
        metrics, ci = corpus_stats(per, self.options)
        return MetricResult(
            per_example={t: v.tolist() for t, v in per.items()},
            metrics=metrics,
            ci=ci,
            signatures=self.signatures(references),
            warnings=warnings,
        )


def _loses_text(text: str) -> bool:
    alnum = sum(ch.isalnum() for ch in text)
    if alnum == 0:
        return False
    kept = sum(("a" <= ch <= "z") or ("0" <= ch <= "9") for ch in text.lower())
    return kept < _LOSS_WARNING * alnum
