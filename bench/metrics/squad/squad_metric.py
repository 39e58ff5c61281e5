"""The `squad` metric: exact_match and f1 x 100, with HasAns/NoAns breakdowns, and the official v2.0 script's
best no-answer thresholds when every example has a no-answer score."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.metrics.squad import lib_squad as squad
from bench.metrics.metric import Metric, MetricInputs, MetricResult, nrefs_field, signature

#: The best-threshold scores, each with its threshold (`<name>_thresh`).
BEST = ("best_exact_match", "best_f1")


class Squad(Metric):
    name = "squad"
    task_types = ("qa",)
    value_range = (0.0, 100.0)
    score_ranges = {f"{name}_thresh": (-math.inf, math.inf) for name in BEST}
    #: A threshold is chosen on the data, not a score: nothing to rank.
    directions = {f"{name}_thresh": "none" for name in BEST}
    description = ("SQuAD exact match and F1 as the official v2.0 script computes them (HasAns/NoAns; best "
                   "no-answer thresholds when the answers carry no-answer scores)")

    def signatures(self, references: Sequence[Sequence[str]], names: Sequence[str]) -> dict[str, str]:
        nrefs = nrefs_field([squad.gold_answers(r) for r in references])
        return {n: signature(n, ("nrefs", nrefs), ("norm", "squad-v2"), ("agg", "mean")) for n in names}

    def compute(self, inputs: MetricInputs) -> MetricResult:
        predictions, references = inputs.predictions, inputs.references
        n = len(predictions)
        em = np.empty(n)
        f1 = np.empty(n)
        has_ans = np.empty(n, dtype=bool)
        for k, (pred, refs) in enumerate(zip(predictions, references)):
            e, f = squad.score(pred, refs)
            em[k], f1[k] = e * 100.0, f * 100.0
            has_ans[k] = squad.is_answerable(refs)
        per = {"exact_match": em, "f1": f1}
        subsets: dict[str, tuple[str, list[int]]] = {}
        counts = {"HasAns_total": int(has_ans.sum()), "NoAns_total": int((~has_ans).sum())}
        for prefix, mask in (("HasAns", has_ans), ("NoAns", ~has_ans)):
            if mask.any():
                indices = np.flatnonzero(mask).tolist()
                subsets[f"{prefix}_exact_match"] = ("exact_match", indices)
                subsets[f"{prefix}_f1"] = ("f1", indices)
        corpus: dict[str, float] = {}
        signatures = self.signatures(references, [*per, *subsets])
        if inputs.has("no_answer_score") and n:
            assert inputs.no_answer_scores is not None
            na = [float(v) for v in inputs.no_answer_scores if v is not None]
            nrefs = nrefs_field([squad.gold_answers(r) for r in references])
            for name, raw in (("best_exact_match", em / 100.0), ("best_f1", f1 / 100.0)):
                best, thresh = squad.best_threshold(predictions, raw.tolist(), na, has_ans.tolist())
                # one value chosen over the whole set: no per-example scores, no CI
                corpus[name], corpus[f"{name}_thresh"] = best, thresh
                for key in (name, f"{name}_thresh"):
                    signatures[key] = signature(key, ("nrefs", nrefs), ("norm", "squad-v2"),
                                                ("agg", "best-threshold"))
        return MetricResult(
            per_example={k: v.tolist() for k, v in per.items()},
            signatures=signatures,
            corpus=corpus,
            subsets=subsets,
            counts=counts,
        )
