"""Faithfulness of a summary to its document: SummaC-ZS (Laban et al. 2022, "SummaC: Re-Visiting NLI-based
Models for Inconsistency Detection in Summarization", TACL).

An NLI model reads every (document sentence, summary sentence) pair, the
document sentence as the premise and the summary sentence as the hypothesis,
and gives P(entailment) and P(contradiction) (a softmax over its classes).
Each summary sentence scores its maximum P(entailment) over the document's
sentences minus its maximum P(contradiction) over them, as SummaC's own code
computes it (`SummaCZS.image2score`, op1 "max", use_ent and use_con: the two
maxima are taken separately, so they may come from different document
sentences); the summary's score is the mean over its sentences, x100, so
-100..100. Long documents are never cut: every sentence is a premise of its
own (a single pair longer than the model's limit is truncated, counted and
warned about).

The entailment and contradiction classes are read from the model's
``config.id2label`` (entailment/supports, contradiction/refutes, any case);
a model that names neither is refused, naming the labels it has, unless the
options name them (``entailment_label``, ``contradiction_label``: a label or
a class index) or it is an alias whose classes SummaC's own table gives.

Pairs are scored longest first in batches, and every pair's probabilities
are kept in the cache store of the metric's cache directory
(`bench.cache.tables.Pairs`, keyed by the model's identity and the two
sentences), so a rerun, or a second summarizer on the same documents, pays
only for pairs it has not seen.
Sentences are split by `bench.text.sentences` (nupunkt, offline).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.errors import EXIT_ENVIRONMENT, BenchError
from bench.metrics.metric import Metric, MetricInputs, MetricResult, signature
from bench.metrics.metric_options import check_model_options, with_model_options

if TYPE_CHECKING:
    from bench.cache.tables import Pairs

ENTAILMENT_NAMES = frozenset({"entailment", "entails", "entailed", "supports", "support", "supported"})
CONTRADICTION_NAMES = frozenset({"contradiction", "contradicts", "contradicted", "refutes", "refute", "refuted"})

SCORE_NAME = "summac_zs"


def nli_label_indices(id2label: Mapping[Any, str], model: str, entailment_label: str | None = None,
                      contradiction_label: str | None = None, alias_indices: tuple[int | None, int | None] = (None, None)
                      ) -> tuple[int, int]:
    """The class indices of entailment and contradiction in a model's ``id2label``."""
    labels = {int(k): str(v) for k, v in id2label.items()}
    shown = ", ".join(f"{k}: {v}" for k, v in sorted(labels.items())) or "none"

    def find(given: str | None, names: frozenset[str], what: str, from_alias: int | None) -> int:
        if given is not None and str(given).strip() != "":
            text = str(given).strip()
            if text.lstrip("-").isdigit() and int(text) in labels:
                return int(text)
            matches = [k for k, v in labels.items() if v.lower() == text.lower()]
            if len(matches) == 1:
                return matches[0]
            raise BenchError(f"NLI model {model!r} has no {what} label {text!r} (its labels: {shown})",
                             hint=f"name one of its labels or class indices with summac_zs.{what}_label")
        matches = [k for k, v in labels.items() if v.strip().lower() in names]
        if len(matches) == 1:
            return matches[0]
        generic = all(v.upper().startswith("LABEL_") for v in labels.values())
        if from_alias is not None and generic and from_alias in labels:
            return from_alias
        raise BenchError(
            f"NLI model {model!r} has no {what} label in its config.id2label (its labels: {shown})",
            hint=f"SummaC needs a model trained for NLI with entailment and contradiction classes; if this model "
                 f"has them under other names, pass --metric-opt summac_zs.{what}_label=NAME_OR_INDEX",
            exit_code=EXIT_ENVIRONMENT)

    ent = find(entailment_label, ENTAILMENT_NAMES, "entailment", alias_indices[0])
    con = find(contradiction_label, CONTRADICTION_NAMES, "contradiction", alias_indices[1])
    if ent == con:
        raise BenchError(f"NLI model {model!r}: entailment and contradiction are the same class {ent} "
                         f"(its labels: {shown})")
    return ent, con


@dataclass(frozen=True)
class SummacOutput:
    scores: np.ndarray
    """Per example, x100 (-100..100); NaN for an example that cannot be scored (a summary or a document
    without a sentence)."""
    details: list[list[dict[str, Any]]]
    """Per example, per summary sentence: its text, its score, its best P(entailment) and P(contradiction)
    (all x100) and the indices of the document sentences that gave them."""
    pairs: int
    """Distinct (document sentence, summary sentence) pairs."""
    computed: int
    """Pairs the model ran on (the others came from the cache)."""
    truncated: int
    empty_summaries: int
    empty_documents: int


class SummacZSScorer:
    """Scores summaries against documents with a loaded NLI model."""

    def __init__(self, model: Any, entailment: int, contradiction: int, cache: Pairs,
                 max_length: int | None = None) -> None:
        """`model`: a `bench.metrics.model_based.loading.MetricModel` of kind nli."""
        self.metric_model = model
        self.entailment = entailment
        self.contradiction = contradiction
        self.cache = cache
        self.max_length = max_length or model.max_length()

    def pair_probabilities(self, premises: Sequence[str], hypotheses: Sequence[str]) -> tuple[np.ndarray, int]:
        """(n, 2) float64 P(entailment), P(contradiction) of each pair, computed longest first; and the number
        of pairs truncated to the model's limit."""
        import torch

        from bench.runtime.devices import quiet_transformers

        n = len(premises)
        if n == 0:
            return np.zeros((0, 2)), 0
        tok = self.metric_model.tokenizer
        with quiet_transformers():
            lengths = np.array([len(x) for x in tok(list(premises), list(hypotheses))["input_ids"]], dtype=np.int64)
        truncated = int((lengths > self.max_length).sum())
        order = np.argsort(-lengths, kind="stable")
        device = self.metric_model.device

        def run(batch: Sequence[int]) -> list[np.ndarray]:
            with quiet_transformers():
                enc = tok([premises[i] for i in batch], [hypotheses[i] for i in batch], padding=True,
                          truncation=True, max_length=self.max_length, return_tensors="pt")
            enc = {k: v.to(device) for k, v in enc.items()}
            with torch.inference_mode():
                logits = self.metric_model.model(**enc).logits.float()
                probs = torch.softmax(logits, dim=-1)[:, [self.entailment, self.contradiction]]
            return list(probs.double().cpu().numpy())

        rows = self.metric_model.map_batches([int(i) for i in order], run)
        out = np.empty((n, 2), dtype=np.float64)
        out[order] = np.asarray(rows)
        return out, truncated

    def score(self, summaries: Sequence[str], documents: Sequence[str]) -> SummacOutput:
        from bench.text.sentences import split_sentences

        doc_sents = [split_sentences(d) for d in documents]
        sum_sents = [split_sentences(s) for s in summaries]
        index: dict[tuple[str, str], int] = {}
        for d, s in zip(doc_sents, sum_sents):
            for hypothesis in s:
                for premise in d:
                    index.setdefault((premise, hypothesis), len(index))
        pairs = list(index)
        keys = [self.cache.key(p, h) for p, h in pairs]
        known = self.cache.get(keys)
        probs = np.empty((len(pairs), 2), dtype=np.float64)
        todo = [i for i, k in enumerate(keys) if k not in known]
        for i, k in enumerate(keys):
            if k in known:
                probs[i] = known[k]
        truncated = computed = 0
        # Scored in chunks, each saved as it is done: an interrupted run keeps what it paid for, and another
        # process scoring the same pairs takes what this one has saved (and this one what it has).
        chunk = 4096
        for start in range(0, len(todo), chunk):
            part = todo[start:start + chunk]
            meanwhile = self.cache.get([keys[i] for i in part]) if start else {}
            for i in part:
                if keys[i] in meanwhile:
                    probs[i] = meanwhile[keys[i]]
            part = [i for i in part if keys[i] not in meanwhile]
            if not part:
                continue
            new, cut = self.pair_probabilities([pairs[i][0] for i in part], [pairs[i][1] for i in part])
            truncated += cut
            computed += len(part)
            probs[part] = new
            self.cache.put([(keys[i], float(e), float(c)) for i, (e, c) in zip(part, new)])

        scores = np.full(len(summaries), np.nan, dtype=np.float64)
        details: list[list[dict[str, Any]]] = []
        empty_summaries = empty_documents = 0
        for k, (d, s) in enumerate(zip(doc_sents, sum_sents)):
            if not s or not d:
                empty_summaries += not s
                empty_documents += bool(s) and not d
                details.append([])
                continue
            # (summary sentences, document sentences, [entailment, contradiction])
            grid = probs[[[index[(p, h)] for p in d] for h in s]] * 100.0
            entailed_by = grid[:, :, 0].argmax(axis=1)
            contradicted_by = grid[:, :, 1].argmax(axis=1)
            rows = np.arange(len(s))
            entailment = grid[rows, entailed_by, 0]
            contradiction = grid[rows, contradicted_by, 1]
            per_sentence = entailment - contradiction
            scores[k] = float(per_sentence.mean())
            details.append([{"sentence": h, "score": float(v), "entailment": float(e), "contradiction": float(c),
                             "entailed_by": int(eb), "contradicted_by": int(cb)}
                            for h, v, e, c, eb, cb in zip(s, per_sentence, entailment, contradiction, entailed_by,
                                                          contradicted_by)])
        return SummacOutput(scores, details, len(pairs), computed, truncated, empty_summaries, empty_documents)


def open_cache(cache_dir: Path | None, key: str) -> Pairs:
    from bench.cache.tables import Pairs

    return Pairs(cache_dir, key)


def model_key(model: Any, max_length: int | None = None) -> str:
    """What a pair's probabilities depend on besides its sentences: the weights, device type, dtype and the
    pair length limit (`model` is a loaded `MetricModel`)."""
    return f"{model.identity}|{max_length or model.max_length()}"


def check_range(values: np.ndarray) -> None:
    """Scores are differences of probabilities, x100."""
    if values.size and not (np.all(np.isfinite(values)) and values.min() >= -100 - 1e-9 and values.max() <= 100 + 1e-9):
        raise BenchError("SummaC-ZS gave a score outside -100..100 (the model's probabilities are not finite)",
                         hint="run the NLI model in float32 (dtype=float32)", exit_code=EXIT_ENVIRONMENT)


# ------------------------------------------------------------------ the metric


@with_model_options
@dataclass(frozen=True)
class SummacZSOptions:
    """The options of the `summac_zs` metric (``--metric-opt summac_zs.KEY=VALUE``): its own, then the model
    options (`ModelOptions`: batch_size (sentence pairs), device, dtype, max_length (tokens of one pair),
    revision)."""

    model: str = "vitc"
    """An NLI model: an alias (vitc: SummaC's tals/albert-xlarge-vitaminc-mnli; vitc-base: its smaller
    sibling), a hub id (from the Hugging Face cache) or a directory written by save_pretrained."""
    entailment_label: str | None = None
    """The entailment class (a label of config.id2label or an index), when its name is not a usual one."""
    contradiction_label: str | None = None
    """The contradiction class (a label or an index), when its name is not a usual one."""


class SummacZS(Metric):
    """SummaC-ZS faithfulness of a summary to its document (x100, -100..100)."""

    name = "summac_zs"
    needs = frozenset({"prediction", "document"})
    task_types = ("summarization",)
    score_ranges = {SCORE_NAME: (-100.0, 100.0)}
    #: summac_zs has its range above; this one is what a run's other scores are checked against
    #: (bench.results.store.score_range takes the union), so it widens nothing.
    value_range = (0.0, 100.0)
    Options = SummacZSOptions
    description = ("SummaC-ZS faithfulness: each summary sentence's best NLI entailment minus its strongest "
                   "contradiction by a document sentence, averaged")

    def __init__(self, options=None, settings=None, cache_dir=None) -> None:
        super().__init__(options, settings, cache_dir)
        from bench.metrics.model_based.loading import NLI, locate_metric_model

        s = self.settings
        check_model_options(s, "summac_zs", min_length=3)
        self.source = locate_metric_model(s.model, NLI, s.revision, "summac_zs.model")
        alias = self.source.alias
        self.labels = nli_label_indices(self.source.config.get("id2label") or {}, self.source.name,
                                        s.entailment_label, s.contradiction_label,
                                        (alias.entailment_index, alias.contradiction_index) if alias else (None, None))
        self.model = None
        self.scorer: SummacZSScorer | None = None

    def signature_of(self, dtype: str, max_length: int) -> str:
        from bench.text.sentences import splitter_id

        weights = self.source.commit or self.source.fingerprint
        return signature(SCORE_NAME, ("model", f"{self.source.name}@{weights[:12]}"),
                         ("labels", f"e{self.labels[0]}-c{self.labels[1]}"), ("split", splitter_id()),
                         ("trunc", str(max_length)), ("dtype", dtype), ("agg", "mean"))

    def compute(self, inputs: MetricInputs) -> MetricResult:
        assert inputs.documents is not None  # scoring checks `needs`
        s = self.settings
        if self.scorer is None:
            from bench.metrics.model_based.loading import NLI, MetricModel

            self.model = MetricModel(self.source, NLI, s.device, s.dtype, s.batch_size, s.revision)
            self.scorer = SummacZSScorer(self.model, *self.labels,
                                         open_cache(self.cache_dir, model_key(self.model, s.max_length)), s.max_length)
        out = self.scorer.score(inputs.predictions, inputs.documents)
        scored = out.scores[~np.isnan(out.scores)]
        check_range(scored)
        per_example = {SCORE_NAME: [None if math.isnan(v) else float(v) for v in out.scores]}
        warnings = list(self.model.warnings)
        if out.truncated:
            warnings.append(f"summac_zs: {out.truncated} sentence pair(s) longer than {self.scorer.max_length} "
                            f"tokens were truncated")
        if out.empty_summaries:
            warnings.append(f"summac_zs: {out.empty_summaries} empty prediction(s) (no sentence) left unscored")
        if out.empty_documents:
            warnings.append(f"summac_zs: {out.empty_documents} empty document(s) (no sentence) left unscored")
        counts = {"summac_zs_pairs": out.pairs, "summac_zs_truncated": out.truncated}
        return MetricResult(per_example=per_example,
                            signatures={SCORE_NAME: self.signature_of(self.model.dtype_name, self.scorer.max_length)},
                            counts=counts, warnings=warnings, details={SCORE_NAME: out.details})

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.cache.close()
        if self.model is not None:
            self.model.close()
        self.model = None
        self.scorer = None
