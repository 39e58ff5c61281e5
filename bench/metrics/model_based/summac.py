"""Faithfulness of a summary to its document: SummaC-ZS (Laban et al. 2022, "SummaC: Re-Visiting NLI-based
Models for Inconsistency Detection in Summarization", TACL), and the NLI pairs SummaC-Conv reads too
(`bench.metrics.model_based.summac_conv`).

The document is cut into premises (its sentences, by default; or its
paragraphs, runs of two sentences, or the whole document: ``granularity``),
the summary into sentences, the hypotheses. Sentences of 10 characters or
fewer are dropped on both sides before any pair is scored, as SummaC's own
code drops them (`SummaCImager.split_sentences` and `split_paragraphs` in
summac/model_summac.py keep ``len(sentence) > 10``): "Yes." or a date line is
no sentence to judge. An NLI model reads every (premise, hypothesis) pair and
gives P(entailment) and P(contradiction) (a softmax over its classes): the
example's "image", in SummaC's word. SummaC-ZS scores each hypothesis by its
maximum P(entailment) over the premises minus its maximum P(contradiction)
over them, as SummaC's code computes it (`SummaCZS.image2score`, op1 "max",
use_ent and use_con: the two maxima are taken separately, so they may come
from different premises); the summary's score is the mean over its sentences,
x100, so -100..100. Long documents are never cut: every premise is scored (a
single pair longer than the model's limit is truncated, counted and warned
about). A summary or a document left with no sentence is unscored and
counted.

The entailment and contradiction classes are read from the model's
``config.id2label`` (entailment/supports, contradiction/refutes, any case);
a model that names neither is refused, naming the labels it has, unless the
options name them (``entailment_label``, ``contradiction_label``: a label or
a class index) or it is an alias whose classes SummaC's own table gives.

Pairs are scored longest first in batches, and every pair's probabilities
are kept in the cache store of the metric's cache directory
(`bench.cache.tables.Pairs`, keyed by the model's identity and the two
texts), so a rerun, a second summarizer on the same documents, or the other
SummaC metric on the same model, pays only for pairs it has not seen.
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

#: SummaC keeps a sentence (or paragraph) only when it is longer than this, in characters.
MAX_DROPPED_CHARS = 10
#: The premise side: SummaC's granularities (`SummaCImager.split_text`).
GRANULARITIES = ("sentence", "paragraph", "2sents", "document")


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


def summary_sentences(text: str) -> list[str]:
    """The sentences of `text` longer than 10 characters (SummaC's `split_sentences`)."""
    from bench.text.sentences import split_sentences

    return [s for s in split_sentences(text) if len(s) > MAX_DROPPED_CHARS]


def document_premises(text: str, granularity: str = "sentence") -> list[str]:
    """The premises of a document, as SummaC's `SummaCImager.split_text` cuts it: its sentences longer than 10
    characters; its paragraphs longer than 10 characters (split on blank lines, or on line breaks when it has
    none); each of those sentences joined with the next one ("2sents": the last one stands alone); or the
    whole document."""
    if granularity == "document":
        return [text] if text.strip() else []
    if granularity == "paragraph":
        parts = text.split("\n\n") if "\n\n" in text else text.split("\n")
        return [p.strip() for p in parts if len(p.strip()) > MAX_DROPPED_CHARS]
    sentences = summary_sentences(text)
    if granularity == "2sents":
        return [" ".join(sentences[i:i + 2]) for i in range(len(sentences))]
    return sentences


@dataclass(frozen=True)
class Images:
    """SummaC's "images" of a batch of examples: per example its premises, its hypotheses (the summary's
    sentences) and the (hypotheses, premises, 2) grid of P(entailment), P(contradiction); None where the summary
    or the document has no sentence."""

    premises: list[list[str]]
    hypotheses: list[list[str]]
    grids: list[np.ndarray | None]
    pairs: int
    """Distinct (premise, hypothesis) pairs."""
    computed: int
    """Pairs the model ran on (the others came from the cache)."""
    truncated: int
    cut_documents: int = 0
    """Documents with more premises than `SummacZSScorer.max_premises` (their first ones kept)."""
    cut_summaries: int = 0
    """Summaries with more sentences than `SummacZSScorer.max_hypotheses` (their first ones kept)."""

    @property
    def empty_summaries(self) -> int:
        return sum(not h for h in self.hypotheses)

    @property
    def empty_documents(self) -> int:
        return sum(bool(h) and not p for h, p in zip(self.hypotheses, self.premises))


@dataclass(frozen=True)
class SummacOutput:
    scores: np.ndarray
    """Per example, x100 (-100..100); NaN for an example that cannot be scored (a summary or a document
    without a sentence)."""
    details: list[list[dict[str, Any]]]
    """Per example, per summary sentence: its text, its score, its best P(entailment) and P(contradiction)
    (all x100) and the indices of the premises that gave them."""
    pairs: int
    computed: int
    truncated: int
    empty_summaries: int
    empty_documents: int


class SummacZSScorer:
    """Scores summaries against documents with a loaded NLI model."""

    def __init__(self, model: Any, entailment: int, contradiction: int, cache: Pairs,
                 max_length: int | None = None, granularity: str = "sentence",
                 max_premises: int | None = None, max_hypotheses: int | None = None) -> None:
        """`model`: a `bench.metrics.model_based.loading.MetricModel` of kind nli; `max_premises`,
        `max_hypotheses`: keep only a document's first premises, a summary's first sentences (None: all)."""
        self.metric_model = model
        self.entailment = entailment
        self.contradiction = contradiction
        self.cache = cache
        self.max_length = max_length or model.max_length()
        self.granularity = granularity
        self.max_premises = max_premises
        self.max_hypotheses = max_hypotheses

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

    def images(self, summaries: Sequence[str], documents: Sequence[str]) -> Images:
        """Every example's grid of pair probabilities, each distinct pair scored once (or read from the cache)."""
        whole = [document_premises(d, self.granularity) for d in documents]
        doc_premises = [d[:self.max_premises] for d in whole]
        every_sentence = [summary_sentences(s) for s in summaries]
        hypotheses = [h[:self.max_hypotheses] for h in every_sentence]
        index: dict[tuple[str, str], int] = {}
        for d, s in zip(doc_premises, hypotheses):
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
        grids = [probs[[[index[(p, h)] for p in d] for h in s]] if s and d else None
                 for d, s in zip(doc_premises, hypotheses)]
        cut = sum(len(d) > len(kept) for d, kept in zip(whole, doc_premises))
        cut_summaries = sum(len(h) > len(kept) for h, kept in zip(every_sentence, hypotheses))
        return Images(doc_premises, hypotheses, grids, len(pairs), computed, truncated, cut, cut_summaries)

    def score(self, summaries: Sequence[str], documents: Sequence[str]) -> SummacOutput:
        images = self.images(summaries, documents)
        scores, details = zs_scores(images)
        return SummacOutput(scores, details, images.pairs, images.computed, images.truncated,
                            images.empty_summaries, images.empty_documents)


def zs_scores(images: Images) -> tuple[np.ndarray, list[list[dict[str, Any]]]]:
    """SummaC-ZS of each example (x100; NaN where there is no grid) and its per-sentence details."""
    scores = np.full(len(images.grids), np.nan, dtype=np.float64)
    details: list[list[dict[str, Any]]] = []
    for k, (s, grid) in enumerate(zip(images.hypotheses, images.grids)):
        if grid is None:
            details.append([])
            continue
        grid = grid * 100.0  # (hypotheses, premises, [entailment, contradiction])
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
    return scores, details


def open_cache(cache_dir: Path | None, key: str) -> Pairs:
    from bench.cache.tables import Pairs

    return Pairs(cache_dir, key)


def model_key(model: Any, max_length: int | None = None) -> str:
    """What a pair's probabilities depend on besides its texts: the weights, device type, dtype and the
    pair length limit (`model` is a loaded `MetricModel`)."""
    return f"{model.identity}|{max_length or model.max_length()}"


def check_range(values: np.ndarray, low: float = -100.0, what: str = "SummaC-ZS") -> None:
    """Scores are differences of probabilities (SummaC-Conv: probabilities), x100."""
    if values.size and not (np.all(np.isfinite(values)) and values.min() >= low - 1e-9 and values.max() <= 100 + 1e-9):
        raise BenchError(f"{what} gave a score outside {low:g}..100 (the model's probabilities are not finite)",
                         hint="run the NLI model in float32 (dtype=float32)", exit_code=EXIT_ENVIRONMENT)


# ------------------------------------------------------------------ the metric


@dataclass(frozen=True)
class NLIOptions:
    """The options both SummaC metrics take before the model options."""

    model: str = "vitc"
    """An NLI model: an alias (vitc: SummaC's tals/albert-xlarge-vitaminc-mnli; vitc-base: its smaller
    sibling), a hub id (from the Hugging Face cache) or a directory written by save_pretrained."""
    entailment_label: str | None = None
    """The entailment class (a label of config.id2label or an index), when its name is not a usual one."""
    contradiction_label: str | None = None
    """The contradiction class (a label or an index), when its name is not a usual one."""
    granularity: str = "sentence"
    """The premises: sentence, paragraph, 2sents (each sentence with the next) or document (SummaC's)."""


@with_model_options
@dataclass(frozen=True)
class SummacZSOptions(NLIOptions):
    """The options of the `summac_zs` metric (``--metric-opt summac_zs.KEY=VALUE``): its own, then the model
    options (`ModelOptions`: batch_size (sentence pairs), device, dtype, max_length (tokens of one pair),
    revision)."""


class SummacZS(Metric):
    """SummaC-ZS faithfulness of a summary to its document (x100, -100..100)."""

    name = "summac_zs"
    #: The metric's name in messages.
    label = "SummaC-ZS"
    needs = frozenset({"prediction", "document"})
    task_types = ("summarization",)
    score_ranges = {SCORE_NAME: (-100.0, 100.0)}
    #: summac_zs has its range above; this one is what a run's other scores are checked against
    #: (bench.results.store.score_range takes the union), so it widens nothing.
    value_range = (0.0, 100.0)
    Options = SummacZSOptions
    description = ("SummaC-ZS faithfulness: each summary sentence's best NLI entailment minus its strongest "
                   "contradiction by a document sentence, averaged")
    #: Premises kept of a document, sentences kept of a summary (None: all).
    max_premises: int | None = None
    max_hypotheses: int | None = None

    def __init__(self, options=None, settings=None, cache_dir=None) -> None:
        super().__init__(options, settings, cache_dir)
        from bench.metrics.model_based.loading import NLI, locate_metric_model

        s = self.settings
        check_model_options(s, self.name, min_length=3)
        if s.granularity not in GRANULARITIES:
            raise BenchError(f"metric {self.name!r}: granularity must be one of {', '.join(GRANULARITIES)}, not "
                             f"{s.granularity!r}", hint=f"e.g. --metric-opt {self.name}.granularity=sentence")
        self.check_own_options()
        self.source = locate_metric_model(s.model, NLI, s.revision, f"{self.name}.model")
        alias = self.source.alias
        self.labels = nli_label_indices(self.source.config.get("id2label") or {}, self.source.name,
                                        s.entailment_label, s.contradiction_label,
                                        (alias.entailment_index, alias.contradiction_index) if alias else (None, None))
        self.model = None
        self.scorer: SummacZSScorer | None = None

    def check_own_options(self) -> None:
        """Refuse what a subclass's own options cannot run with, before the model is looked for."""

    def signature_fields(self, dtype: str, max_length: int) -> list[tuple[str, str]]:
        """What a SummaC number depends on: the model, its classes, how texts are cut, the pair limit, dtype."""
        from bench.text.sentences import splitter_id

        weights = self.source.commit or self.source.fingerprint
        return [("model", f"{self.source.name}@{weights[:12]}"), ("labels", f"e{self.labels[0]}-c{self.labels[1]}"),
                ("split", splitter_id()), ("minlen", str(MAX_DROPPED_CHARS + 1)),
                ("gran", self.settings.granularity), ("trunc", str(max_length)), ("dtype", dtype)]

    def signature_of(self, dtype: str, max_length: int) -> str:
        return signature(SCORE_NAME, *self.signature_fields(dtype, max_length), ("agg", "mean"))

    def images(self, inputs: MetricInputs) -> Images:
        """The pair probabilities of every example (the model loaded on first use)."""
        assert inputs.documents is not None  # scoring checks `needs`
        s = self.settings
        if self.scorer is None:
            from bench.metrics.model_based.loading import NLI, MetricModel

            self.model = MetricModel(self.source, NLI, s.device, s.dtype, s.batch_size, s.revision)
            self.scorer = SummacZSScorer(self.model, *self.labels,
                                         open_cache(self.cache_dir, model_key(self.model, s.max_length)), s.max_length,
                                         s.granularity, self.max_premises, self.max_hypotheses)
        return self.scorer.images(inputs.predictions, inputs.documents)

    def notes(self, images: Images) -> list[str]:
        """The model's warnings, and what was truncated or left unscored."""
        assert self.model is not None and self.scorer is not None
        warnings = list(self.model.warnings)
        if images.truncated:
            warnings.append(f"{self.name}: {images.truncated} sentence pair(s) longer than {self.scorer.max_length} "
                            f"tokens were truncated")
        if images.empty_summaries:
            warnings.append(f"{self.name}: {images.empty_summaries} prediction(s) with no sentence over "
                            f"{MAX_DROPPED_CHARS} characters left unscored")
        if images.empty_documents:
            warnings.append(f"{self.name}: {images.empty_documents} document(s) with no "
                            f"{'sentence' if self.settings.granularity != 'paragraph' else 'paragraph'} over "
                            f"{MAX_DROPPED_CHARS} characters left unscored")
        return warnings

    def compute(self, inputs: MetricInputs) -> MetricResult:
        images = self.images(inputs)
        return self.result(*zs_scores(images), images)

    def result(self, scores: np.ndarray, details: list[Any], images: Images) -> MetricResult:
        assert self.scorer is not None and self.model is not None
        name = self.name
        low, _ = self.score_ranges[name]
        check_range(scores[~np.isnan(scores)], low, self.label)
        counts = {f"{name}_pairs": images.pairs, f"{name}_truncated": images.truncated}
        return MetricResult(per_example={name: [None if math.isnan(v) else float(v) for v in scores]},
                            signatures={name: self.signature_of(self.model.dtype_name, self.scorer.max_length)},
                            counts=counts, warnings=self.notes(images), details={name: details})

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.cache.close()
        if self.model is not None:
            self.model.close()
        self.model = None
        self.scorer = None
