"""The `extractiveness` metric: how much of a summary is copied from its document (Grusky et al. 2018).

Coverage, density and compression of the "Newsroom" paper, novel and
repeated n-grams and the summary's length, computed as SummEval's
DataStatsMetric does (which HELM and lighteval run): see
`bench.metrics.extractiveness.fragments` for the exact rules. The statistics describe a
summary against its source document, not against a reference, so they are
computed for the references too (`MetricResult.reference`): a compare table
shows them as a `reference` row, and a model that copies more than the gold
summaries do is seen at a glance.

Rates (coverage, novel_*, repeated_*) are x100 like every rate in bench;
density, compression and summary_length are as they are.

A summary is read as one paragraph: bench's summaries put one sentence per
line (for ROUGE-Lsum), and a line break is not a word of the summary, so the
lines are joined with a space and the ends stripped (HELM and lighteval strip
the prediction too) before spaCy tokenizes it. Documents are tokenized as they
are, as SummEval does. An empty summary has every statistic 0 and is counted
in a warning.

With a cache directory (`bench run` and `bench rescore` give one), the
documents' tokens are kept in the cache store of that directory
(`bench.cache.token_table.TokenCache`, filed under the tokenizer's id): a document is tokenized
once for every model, run and rescoring of its task. Summaries and references
are tokenized in memory only: a model's summaries are new text (a file each
would mostly be written and never read), and both are short (about a tenth
of a news article's tokens together).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bench.metrics.metric import Metric, MetricInputs, MetricResult, signature
from bench.metrics.extractiveness.fragments import RATES, STAT_NAMES

#: Score names, in the order tables show them, and those that are shares (x100): the core module's
#: (`bench.metrics.extractiveness.fragments` imports spaCy only when it tokenizes).
SCORES = STAT_NAMES


class Extractiveness(Metric):
    name = "extractiveness"
    needs = frozenset({"prediction", "document"})
    task_types = ("summarization",)
    value_range = (0.0, math.inf)
    score_ranges = {name: (0.0, 100.0) for name in RATES}
    #: Repeated n-grams are a defect (lower is better); the other statistics describe how a summary was made.
    directions = {name: "lower" if name.startswith("repeated_") else "none" for name in SCORES}
    description = ("coverage, density, compression, novel and repeated n-grams, length of a summary against its "
                   "document (Grusky et al. 2018, as SummEval's DataStatsMetric)")

    def signatures(self, against: str) -> dict[str, str]:
        from bench.metrics.extractiveness import fragments as extractive

        return {name: signature(name, ("tok", extractive.TOKENIZER_ID), ("text", "lines-joined"), ("of", against),
                                ("agg", "mean"))
                for name in SCORES}

    def token_cache(self) -> Any:
        """The documents' token cache (`bench.cache.token_table.TokenCache`) in this metric's cache directory, or
        None."""
        from bench.cache.token_table import TokenCache
        from bench.metrics.extractiveness import fragments as extractive

        return None if self.cache_dir is None else TokenCache(self.cache_dir, extractive.tokenizer_id())

    def table(self, summaries: Sequence[str], documents: Sequence[str], cache: Any = None) -> dict[str, np.ndarray]:
        """Per summary, every score (rates x100); `cache`: a `TokenCache` for the documents."""
        from bench.metrics.extractiveness import fragments as extractive

        rows = extractive.stats_many([as_paragraph(s) for s in summaries], documents, cache)
        return {name: np.array([row[name] for row in rows], dtype=np.float64) * (100.0 if name in RATES else 1.0)
                for name in SCORES}

    def compute(self, inputs: MetricInputs) -> MetricResult:
        assert inputs.documents is not None  # scoring checks `needs`
        documents = list(inputs.documents)
        cache = self.token_cache()
        try:
            per = self.table(inputs.predictions, documents, cache)
            reference = self.reference(inputs.references, documents, cache)
        finally:
            if cache is not None:
                cache.close()
        empty = int((per["summary_length"] == 0).sum())
        warnings = [f"{empty} summar{'y is' if empty == 1 else 'ies are'} empty: extractiveness statistics 0 "
                    "(summary_length 0)"] if empty else []
        if cache is not None and cache.write_errors:
            warnings.append(f"extractiveness: {cache.write_errors} document(s)' tokens could not be written to the "
                            f"token cache ({cache.error}); they will be tokenized again next time")
        return MetricResult(
            per_example={k: v.tolist() for k, v in per.items()},
            signatures=self.signatures("prediction"),
            warnings=warnings,
            reference=reference,
        )

    def reference(self, references: Sequence[Sequence[str]], documents: Sequence[str],
                  cache: Any = None) -> MetricResult | None:
        """The statistics of the references against the same documents: per example, the mean over its
        non-empty references (examples without one are left out, and counted)."""
        flat: list[str] = []
        owner: list[int] = []
        for k, refs in enumerate(references):
            for r in refs:
                if r.strip():
                    flat.append(r)
                    owner.append(k)
        if not flat:
            return None
        per_ref = self.table(flat, [documents[k] for k in owner], cache)
        examples = sorted(set(owner))
        index = np.searchsorted(examples, owner)
        counts = np.bincount(index, minlength=len(examples)).astype(np.float64)
        per = {name: np.bincount(index, weights=values, minlength=len(examples)) / counts
               for name, values in per_ref.items()}
        sigs = {name: sig.replace("|of:prediction|", "|of:reference|refs:mean|")
                for name, sig in self.signatures("prediction").items()}
        return MetricResult(per_example={k: v.tolist() for k, v in per.items()}, signatures=sigs,
                            counts={"reference_examples": len(examples)})


def as_paragraph(summary: str) -> str:
    """A summary's lines joined by single spaces, its ends stripped (see the module's docstring)."""
    return " ".join(line.strip() for line in summary.strip().splitlines() if line.strip())
