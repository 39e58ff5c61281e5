"""bench's SQuAD as an `evaluate` module: exact match and F1 x 100 as the official v2.0 script computes them
(identical to v1.1 on answerable questions), as `bench score --metric squad` does.

    evaluate.load(bench.evaluate_modules.path("squad")).compute(predictions=["Paris"], references=[["Paris"]])

Predictions and references come in one of two forms:

- bench's: a predicted text per question, and a list of gold answer texts (an empty list: unanswerable);
- evaluate's squad: ``{"id", "prediction_text"}`` and ``{"id", "answers": {"text": [...], "answer_start":
  [...]}}``, matched by id.

No-answer probabilities (one per prediction, in the order of the predictions) are given as
``no_answer_probabilities=[...]``: evaluate matches inputs to one declared form, and a prediction's
``"no_answer_probability"`` key (squad_v2's form) is dropped before the module sees it.

The result has bench's names: exact_match, f1, HasAns_exact_match, HasAns_f1, NoAns_exact_match, NoAns_f1,
HasAns_total, NoAns_total, and best_exact_match, best_f1 with their thresholds when every prediction has a
no-answer probability. ``use_aggregator=False`` gives exact_match and f1 per question.
"""

import datasets
import evaluate

from bench.api import score
from bench.errors import BenchError

_DESCRIPTION = "SQuAD exact match and F1 x 100 as the official v2.0 script computes them (bench's numbers), offline."

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of answer texts ("" is no answer), or of {"id", "prediction_text"}.
    references: list of gold answer lists ([] is unanswerable), or of {"id", "answers": {"text", "answer_start"}}.
    no_answer_probabilities: one number per prediction (higher: more likely unanswerable), or None.
    use_aggregator: True (default) gives the corpus values, False exact_match and f1 per question.
Returns:
    {"exact_match": ..., "f1": ..., "HasAns_exact_match": ..., ...}, scores x 100.
"""

_CITATION = """
@inproceedings{rajpurkar-etal-2018-know,
    title = "Know What You Don{'}t Know: Unanswerable Questions for {SQ}u{AD}",
    author = "Rajpurkar, Pranav and Jia, Robin and Liang, Percy",
    booktitle = "Proceedings of the 56th Annual Meeting of the Association for Computational Linguistics",
    year = "2018",
    pages = "784--789",
}
"""

_ANSWERS = datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")})


class Squad(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("string"),
                                   "references": datasets.Sequence(datasets.Value("string"))}),
                datasets.Features({
                    "predictions": {"id": datasets.Value("string"), "prediction_text": datasets.Value("string")},
                    "references": {"id": datasets.Value("string"), "answers": _ANSWERS},
                }),
            ],
            reference_urls=["https://rajpurkar.github.io/SQuAD-explorer/"],
        )

    def _compute(self, predictions, references, use_aggregator=True, no_answer_probabilities=None):
        no_answer = None if no_answer_probabilities is None else [float(v) for v in no_answer_probabilities]
        if no_answer is not None and len(no_answer) != len(predictions):
            raise ValueError(f"{len(predictions)} predictions but {len(no_answer)} no-answer probabilities")
        if predictions and isinstance(predictions[0], dict):
            position = {str(p["id"]): k for k, p in enumerate(predictions)}
            missing = [str(r["id"]) for r in references if str(r["id"]) not in position]
            if missing:
                raise ValueError(f"no prediction for question id {missing[0]!r} ({len(missing)} in all)")
            order = [position[str(r["id"])] for r in references]
            texts = [predictions[k]["prediction_text"] for k in order]
            golds = [list(r["answers"]["text"]) for r in references]
            no_answer = None if no_answer is None else [no_answer[k] for k in order]
        else:
            texts = list(predictions)
            golds = [[r] if isinstance(r, str) else list(r) for r in references]
        try:
            result = score(texts, golds, metric="squad", no_answer_probabilities=no_answer)
        except BenchError as e:
            raise ValueError(str(e)) from None
        if not use_aggregator:
            return {name: [row[name] for row in result["per_example"]] for name in ("exact_match", "f1")}
        return {**result["metrics"], **result["counts"]}
