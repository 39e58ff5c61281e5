"""bench's ROUGE as an `evaluate` module: rouge1, rouge2, rougeL and rougeLsum F-measures x 100, as `bench score`
computes them (rouge_score 0.1.2's numbers; see docs/metrics.md).

    evaluate.load(bench.evaluate_modules.path("rouge")).compute(predictions=[...], references=[[...], ...])

Unlike evaluate's own rouge, the values are x 100, the corpus value is the mean of the per-example scores (not
a bootstrap median), stemming is on by default (as in bench), and rougeLsum splits texts without newlines into
sentences. ``use_aggregator=False`` gives the per-example scores.
"""

import datasets
import evaluate

from bench.api import score
from bench.metrics.metric_options import MetricOptions

_DESCRIPTION = "ROUGE-1/2/L/Lsum F-measures x 100 as bench computes them (rouge_score 0.1.2's numbers), offline."

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of texts.
    references: list of references per prediction (a list of texts, or one text).
    use_stemmer: Porter-stem tokens longer than 3 characters (default True, as bench).
    split_sentences: rougeLsum splits texts without newlines into sentences (default True, as bench).
    tokenizer: "default" (rouge_score's, ASCII a-z0-9 only) or "unicode".
    use_aggregator: True (default) gives the corpus means, False one score per example.
    rouge_types: the types to return (default all four).
Returns:
    {"rouge1": ..., "rouge2": ..., "rougeL": ..., "rougeLsum": ...}, each x 100.
"""

_CITATION = """
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    publisher = "Association for Computational Linguistics",
    pages = "74--81",
}
"""


class Rouge(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features({"predictions": datasets.Value("string", id="sequence"),
                                   "references": datasets.Sequence(datasets.Value("string", id="sequence"))}),
                datasets.Features({"predictions": datasets.Value("string", id="sequence"),
                                   "references": datasets.Value("string", id="sequence")}),
            ],
            reference_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
        )

    def _compute(self, predictions, references, use_stemmer=True, split_sentences=True, tokenizer="default",
                 use_aggregator=True, rouge_types=None):
        options = MetricOptions(stemmer=bool(use_stemmer), split_sentences=bool(split_sentences), tokenizer=tokenizer)
        result = score(list(predictions), [r if isinstance(r, str) else list(r) for r in references],
                       metric="rouge", options=options)
        types = list(rouge_types) if rouge_types else list(result["metrics"])
        if use_aggregator:
            return {t: result["metrics"][t] for t in types}
        return {t: [row[t] for row in result["per_example"]] for t in types}
