"""The `squad` metric: exact_match and f1 x 100, with HasAns/NoAns breakdowns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.metrics import squad
from bench.metrics.base import Metric, MetricResult, corpus_stats, nrefs_field, signature


class Squad(Metric):
    name = "squad"
    task_types = ("qa",)
    value_range = (0.0, 100.0)

    def signatures(self, references: Sequence[Sequence[str]], names: Sequence[str]) -> dict[str, str]:
        nrefs = nrefs_field([squad.gold_answers(r) for r in references])
        return {n: signature(n, ("nrefs", nrefs), ("norm", "squad-v2"), ("agg", "mean")) for n in names}

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> MetricResult:
        n = len(predictions)
        em = np.empty(n)
        f1 = np.empty(n)
        has_ans = np.empty(n, dtype=bool)
        for k, (pred, refs) in enumerate(zip(predictions, references)):
            e, f = squad.score(pred, refs)
            em[k], f1[k] = e * 100.0, f * 100.0
            has_ans[k] = squad.is_answerable(refs)
        per = {"exact_match": em, "f1": f1}
        subsets = {}
        counts = {"HasAns_total": int(has_ans.sum()), "NoAns_total": int((~has_ans).sum())}
        for prefix, mask in (("HasAns", has_ans), ("NoAns", ~has_ans)):
            if mask.any():
                subsets[f"{prefix}_exact_match"] = em[mask]
                subsets[f"{prefix}_f1"] = f1[mask]
        metrics, ci = corpus_stats({**per, **subsets}, self.options)
        return MetricResult(
            per_example={k: v.tolist() for k, v in per.items()},
            metrics=metrics,
            ci=ci,
            signatures=self.signatures(references, list(metrics)),
            counts=counts,
        )
