"""BERTScore (Zhang et al. 2020), equal to the bert-score package's numbers.

Reproduces ``bert_score.score`` (package bert-score 0.3.13) on the same
model, layer and options, without needing the package:

- Each text is stripped and tokenized with the model's tokenizer, special
  tokens included, truncated to the tokenizer's ``model_max_length``.
- The model keeps its first ``layer`` layers (the others are dropped, as the
  package does) and the output of the last one kept is the token embedding;
  an encoder-decoder model contributes its encoder.
- Greedy matching on cosine similarity: precision averages, over the
  prediction's tokens, each token's best cosine with a reference token;
  recall the other way round; F1 = 2PR / (P + R).
- Token weights: without idf, 1 for every token but the tokenizer's CLS and
  SEP tokens (0). With idf, ``log((M + 1) / (c + 1))`` where M is the number
  of references in the corpus (every reference of every example, repeats
  included) and c the number of references whose token set holds the token;
  a token no reference holds weighs ``log(M + 1)``.
- A text of exactly two tokens (the special tokens of an empty text) scores
  P = R = F = 0 against anything.
- Several references: P, R and F are each the maximum over the references
  (the package's rule, so the three may come from different references).
- Rescaling with a baseline b (the package's files: CSV ``LAYER,P,R,F``,
  one row per layer): ``(x - b) / (1 - b)``, after the maximum over references.

Where bench differs: the package lets a padded position win the max when
every cosine of a token is negative (its padding depends on how its batches
fall); bench masks padding, which is the definition. Scores are x100.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError
from bench.io import read_bytes
from bench.metrics.metric import Metric, MetricInputs, MetricResult, nrefs_field, signature
from bench.metrics.metric_options import check_model_options, with_model_options

#: Rescale baselines bundled for the encoder aliases: (layer, (P, R, F)), the row of that layer in the
#: bert-score package's English baseline files (bert_score/rescale_baseline/en/<model>.tsv, version 0.3.13).
BUNDLED_BASELINES: dict[str, tuple[int, tuple[float, float, float]]] = {
    "roberta-large": (17, (0.83150584, 0.8314941, 0.83122575)),
    "deberta-xlarge-mnli": (40, (0.5169066, 0.5170288, 0.5150192)),
    "deberta-large-mnli": (18, (0.45358238, 0.45362508, 0.45173016)),
    "distilbert-base-uncased": (5, (0.6666034, 0.66660464, 0.66620487)),
}

SCORE_NAMES = ("bertscore_precision", "bertscore_recall", "bertscore_f1")

#: Most elements of one batch's similarity tensor (pairs x prediction tokens x reference tokens).
MATCH_BUDGET = 1 << 24
#: Most bytes of token embeddings kept on a GPU at once; more stay in CPU memory until matched.
DEVICE_EMBEDDING_BUDGET = 4 << 30
#: A baseline file has a row per layer: a few kilobytes (the bert-score package's largest is under 10 KB).
MAX_BASELINE_BYTES = 1 << 20


def read_baseline(path: str | Path, layer: int) -> tuple[float, float, float]:
    """The (P, R, F) baseline of `layer` from a bert-score baseline file (CSV with columns LAYER,P,R,F)."""
    path = Path(path).expanduser()
    hint = ("pass a file like the bert-score package's rescale_baseline/<lang>/<model>.tsv (CSV: LAYER,P,R,F, "
            "one row per layer)")
    data = read_bytes(path, "the BERTScore baseline file", hint, limit=MAX_BASELINE_BYTES)
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as e:
        raise BenchError(f"cannot read the BERTScore baseline file: {e}", where=path, hint=hint) from None
    header = [c.strip() for c in rows[0]] if rows else []
    if header[:4] != ["LAYER", "P", "R", "F"]:
        raise BenchError(f"the BERTScore baseline file's first line is {','.join(header)!r}, not 'LAYER,P,R,F'",
                         where=f"{path}:1", hint="one row per layer: layer number, then the P, R and F baselines")
    for n, row in enumerate(rows[1:], start=2):
        try:
            values = [float(c) for c in row[:4]]
        except ValueError:
            raise BenchError(f"not four numbers: {','.join(row)!r}", where=f"{path}:{n}") from None
        if len(values) == 4 and values[0] == layer:
            p, r, f = values[1:]
            if not all(math.isfinite(v) and v < 1 for v in (p, r, f)):
                raise BenchError(f"the baselines of layer {layer} must be finite numbers below 1", where=f"{path}:{n}")
            return (p, r, f)
    raise BenchError(f"the BERTScore baseline file has no row for layer {layer}", where=path,
                     hint="use the baseline file made for this model, which has a row per layer")


def keep_layers(model: Any, layer: int) -> Any:
    """The encoder of `model` cut to its first `layer` layers (0: the embeddings), as the package does."""
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        model = model.get_encoder()
    import torch

    holders = [model, getattr(model, "encoder", None), getattr(model, "transformer", None)]
    for holder in holders:
        if holder is None:
            continue
        if hasattr(holder, "albert_layer_groups"):  # ALBERT: shared layers, run config.num_hidden_layers times
            total = holder.config.num_hidden_layers
            _check_layer(layer, total)
            holder.config.num_hidden_layers = layer
            return model
        for attribute in ("layer", "layers", "block"):
            layers = getattr(holder, attribute, None)
            if isinstance(layers, torch.nn.ModuleList):
                _check_layer(layer, len(layers))
                setattr(holder, attribute, torch.nn.ModuleList(list(layers)[:layer]))
                return model
    raise BenchError(f"cannot find the layers of {type(model).__name__} to take layer {layer}'s embeddings",
                     hint="use an encoder such as BERT, RoBERTa, DeBERTa, DistilBERT, ALBERT, ELECTRA, BART or T5")


def _check_layer(layer: int, total: int) -> None:
    if not 0 <= layer <= total:
        raise BenchError(f"bertscore layer {layer} does not exist: the model has layers 0 to {total}",
                         hint="layer 0 is the embeddings; the aliases' layers are in docs/metrics.md")


@dataclass(frozen=True)
class Encoded:
    """Token embeddings of unique texts, unit-normalised, in one flat tensor."""

    embeddings: Any
    """(total tokens, hidden) float32 tensor."""
    token_ids: np.ndarray
    """(total tokens,) the token id of each row."""
    offsets: np.ndarray
    lengths: np.ndarray


class BertScorer:
    """Embeds texts with a loaded encoder and scores predictions against references."""

    def __init__(self, model: Any, layer: int, max_length: int | None = None) -> None:
        """`model`: a `bench.metrics.model_based.loading.MetricModel` of kind encoder."""
        self.metric_model = model
        self.layer = layer
        self.encoder = keep_layers(model.model, layer)
        self.tokenizer = model.tokenizer
        self.max_length = max_length or model.max_length()
        from transformers import GPT2Tokenizer, RobertaTokenizer

        # The package asks GPT-2 and RoBERTa tokenizers for a prefix space (transformers 5 ignores it there).
        self._extra = {"add_prefix_space": True} if isinstance(self.tokenizer, (GPT2Tokenizer, RobertaTokenizer)) else {}
        self.truncated = 0

    # ------------------------------------------------------------ tokens

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, stripped, with special tokens, truncated to `max_length`."""
        if not texts:
            return []
        stripped = [t.strip() for t in texts]
        full = self.tokenizer(stripped, add_special_tokens=True, **self._extra)["input_ids"]
        self.truncated = sum(len(ids) > self.max_length for ids in full)
        if not self.truncated:
            return [list(ids) for ids in full]
        cut = self.tokenizer(stripped, add_special_tokens=True, truncation=True, max_length=self.max_length,
                             **self._extra)["input_ids"]
        return [list(ids) for ids in cut]

    def special_ids(self) -> list[int]:
        return [i for i in (self.tokenizer.cls_token_id, self.tokenizer.sep_token_id) if i is not None]

    # -------------------------------------------------------- embeddings

    def embed(self, ids: Sequence[Sequence[int]]) -> Encoded:
        """Embeddings of each token sequence, computed longest first in batches, unit-normalised."""
        import torch

        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")
        total = int(lengths.sum())
        hidden = self.encoder.config.hidden_size if hasattr(self.encoder.config, "hidden_size") else None
        device = self.metric_model.device
        keep_on_device = device.type == "cpu" or (hidden is not None and total * hidden * 4 <= DEVICE_EMBEDDING_BUDGET)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

        def run(batch: Sequence[int]) -> list[Any]:
            rows = [ids[i] for i in batch]
            lens = lengths[list(batch)]
            width = int(lens.max())
            flat = np.fromiter((t for r in rows for t in r), dtype=np.int64, count=int(lens.sum()))
            row_index = np.repeat(np.arange(len(rows)), lens)
            col_index = np.arange(flat.size) - np.repeat(np.cumsum(lens) - lens, lens)
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            input_ids[row_index, col_index] = flat
            mask = np.zeros((len(rows), width), dtype=np.int64)
            mask[row_index, col_index] = 1
            input_t = torch.from_numpy(input_ids).to(device)
            mask_t = torch.from_numpy(mask).to(device)
            with torch.inference_mode():
                out = self.encoder(input_ids=input_t, attention_mask=mask_t)[0]
                out = out[mask_t.bool()].float()
                out = out / torch.norm(out, dim=-1, keepdim=True)
            return [out if keep_on_device else out.cpu()]

        chunks = self.metric_model.map_batches([int(i) for i in order], run) if len(ids) else []
        emb_sorted = torch.cat(chunks) if chunks else torch.zeros((0, hidden or 1))
        # Rows are in `order`'s order; offsets say where each text's rows start.
        sorted_lengths = lengths[order]
        sorted_offsets = np.cumsum(sorted_lengths) - sorted_lengths
        offsets = np.empty_like(sorted_offsets)
        offsets[order] = sorted_offsets
        flat_ids = np.fromiter((t for i in order for t in ids[i]), dtype=np.int64, count=total)
        return Encoded(emb_sorted, flat_ids, offsets, lengths)

    # ------------------------------------------------------------ scores

    def idf_table(self, reference_ids: Sequence[Sequence[int]]) -> tuple[dict[int, float], float]:
        """idf per token id from the references (the package's formula), and the weight of an unseen token."""
        m = len(reference_ids)
        counts: dict[int, int] = {}
        for ids in reference_ids:
            for t in set(ids):
                counts[t] = counts.get(t, 0) + 1
        return {t: math.log((m + 1) / (c + 1)) for t, c in counts.items()}, math.log(m + 1)

    def score(self, predictions: Sequence[str], references: Sequence[Sequence[str]], idf: bool = False,
              ids: Sequence[str] | None = None) -> np.ndarray:
        """(n, 3) float32 array of raw P, R, F (0..1), the maximum of each over an example's references."""
        import torch

        if len(predictions) != len(references):
            raise BenchError(f"{len(predictions)} predictions but {len(references)} reference lists")
        for i, refs in enumerate(references):
            if not refs:
                name = ids[i] if ids is not None else str(i)
                raise BenchError(f"bertscore needs at least one reference, and example {name!r} has none",
                                 hint="leave bertscore out for examples without references (unanswerable questions)")
        texts: dict[str, int] = {}
        for t in predictions:
            texts.setdefault(t.strip(), len(texts))
        for refs in references:
            for t in refs:
                texts.setdefault(t.strip(), len(texts))
        unique = list(texts)
        token_ids = self.tokenize(unique)
        cand = np.array([texts[t.strip()] for t in predictions], dtype=np.int64)
        group_sizes = np.array([len(r) for r in references], dtype=np.int64)
        ref = np.array([texts[t.strip()] for refs in references for t in refs], dtype=np.int64)
        cand_per_pair = np.repeat(cand, group_sizes)

        encoded = self.embed(token_ids)
        if idf:
            table, unseen = self.idf_table([token_ids[j] for j in ref])
            weight_of = np.vectorize(lambda t: table.get(int(t), unseen), otypes=[np.float64])
        else:
            specials = set(self.special_ids())
            weight_of = np.vectorize(lambda t: 0.0 if int(t) in specials else 1.0, otypes=[np.float64])
        unique_tokens, inverse = np.unique(encoded.token_ids, return_inverse=True)
        token_weights = weight_of(unique_tokens)[inverse] if unique_tokens.size else np.zeros(0)
        # The package keeps idf weights in float32.
        weights = torch.from_numpy(token_weights.astype(np.float32)).to(encoded.embeddings.device)

        pairs = self._match(encoded, weights, cand_per_pair, ref)
        starts = np.cumsum(group_sizes) - group_sizes
        best = np.maximum.reduceat(pairs, starts, axis=0) if len(pairs) else np.zeros((0, 3), np.float32)
        bad = np.isnan(best).any(axis=1)
        if bad.any():
            name = ids[int(np.argmax(bad))] if ids is not None else str(int(np.argmax(bad)))
            raise BenchError(f"bertscore with idf is undefined for example {name!r}: every token of its prediction "
                             f"or of a reference occurs in every reference, so all its idf weights are 0 (the "
                             f"bert-score package gives NaN)", hint="turn idf off (idf=false), or score more examples")
        return best

    def _match(self, encoded: Encoded, weights: Any, cand: np.ndarray, ref: np.ndarray) -> np.ndarray:
        """Raw (P, R, F) of each (prediction, reference) pair of text indices, in float32."""
        import torch

        n = len(cand)
        out = np.zeros((n, 3), dtype=np.float32)
        if n == 0:
            return out
        lc, lr = encoded.lengths[cand], encoded.lengths[ref]
        order = np.argsort(-(lc * lr), kind="stable")
        device = self.metric_model.device
        emb = encoded.embeddings
        i = 0
        while i < n:
            window = order[i:i + 4096]
            cum_c = np.maximum.accumulate(lc[window])
            cum_r = np.maximum.accumulate(lr[window])
            sizes = np.arange(1, len(window) + 1) * cum_c * cum_r
            size = max(1, int(np.searchsorted(sizes, MATCH_BUDGET, side="right")))
            batch = window[:size]
            i += len(batch)
            c_idx, c_mask = self._gather(encoded, cand[batch])
            r_idx, r_mask = self._gather(encoded, ref[batch])
            c_idx_t, r_idx_t = torch.from_numpy(c_idx), torch.from_numpy(r_idx)
            c_mask_t = torch.from_numpy(c_mask).to(device)
            r_mask_t = torch.from_numpy(r_mask).to(device)
            with torch.inference_mode():
                ce = emb[c_idx_t.to(emb.device)].to(device)
                re_ = emb[r_idx_t.to(emb.device)].to(device)
                cw = weights[c_idx_t.to(weights.device)].to(device) * c_mask_t
                rw = weights[r_idx_t.to(weights.device)].to(device) * r_mask_t
                sim = torch.bmm(ce, re_.transpose(1, 2))
                word_precision = sim.masked_fill(~r_mask_t[:, None, :], -math.inf).max(dim=2)[0]
                word_recall = sim.masked_fill(~c_mask_t[:, :, None], -math.inf).max(dim=1)[0]
                word_precision = word_precision.masked_fill(~c_mask_t, 0.0)
                word_recall = word_recall.masked_fill(~r_mask_t, 0.0)
                cw = cw / cw.sum(dim=1, keepdim=True)
                rw = rw / rw.sum(dim=1, keepdim=True)
                p = (word_precision * cw).sum(dim=1)
                r = (word_recall * rw).sum(dim=1)
                f = 2 * p * r / (p + r)
                # A text of two tokens is an empty one (its special tokens): raw P and R are 0.
                empty = torch.from_numpy((lc[batch] == 2) | (lr[batch] == 2)).to(device)
                p = p.masked_fill(empty, 0.0)
                r = r.masked_fill(empty, 0.0)
                f = f.masked_fill(torch.isnan(f), 0.0)
                out[batch] = torch.stack((p, r, f), dim=-1).cpu().numpy()
        return out

    @staticmethod
    def _gather(encoded: Encoded, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lengths = encoded.lengths[texts]
        width = int(lengths.max())
        steps = np.arange(width)[None, :]
        mask = steps < lengths[:, None]
        index = np.where(mask, encoded.offsets[texts][:, None] + steps, 0)
        return index, mask


def rescale(scores: np.ndarray, baseline: tuple[float, float, float]) -> np.ndarray:
    """``(x - b) / (1 - b)`` per column, in float32 as the package computes it."""
    b = np.asarray(baseline, dtype=np.float32)
    return ((scores.astype(np.float32) - b) / (np.float32(1) - b)).astype(np.float32)


def bundled_baseline(alias: str | None, layer: int) -> tuple[float, float, float] | None:
    """The bundled baseline of an encoder alias at `layer`; None when bench has none for it."""
    entry = BUNDLED_BASELINES.get(alias) if alias else None
    return entry[1] if entry and entry[0] == layer else None


# ------------------------------------------------------------------ the metric


@with_model_options
@dataclass(frozen=True)
class BertScoreOptions:
    """The options of the `bertscore` metric (``--metric-opt bertscore.KEY=VALUE``): its own, then the model
    options (`ModelOptions`: batch_size, device, dtype, max_length, revision; the bert-score package runs in
    float32 and keeps the tokenizer's model_max_length tokens of each text)."""

    model: str = "roberta-large"
    """An encoder: an alias (roberta-large, deberta-xlarge-mnli, deberta-large-mnli, distilbert-base-uncased),
    a hub id (from the Hugging Face cache) or a directory written by save_pretrained."""
    layer: int | None = None
    """The layer whose token embeddings are matched (0: the embeddings); default: the alias's (bert-score's
    default for the model), else the model's last layer."""
    idf: bool = False
    """Weight tokens by their inverse document frequency over the references being scored."""
    rescale_with_baseline: bool = False
    """Rescale with a baseline b: (x - b) / (1 - b); bundled for the aliases at their layer, else baseline_path."""
    baseline_path: str | None = None
    """A bert-score baseline file (CSV LAYER,P,R,F) for rescale_with_baseline."""


class BertScore(Metric):
    """BERTScore precision, recall and F1 (x100), equal to the bert-score package's."""

    name = "bertscore"
    needs = frozenset({"prediction", "references"})
    task_types = ()
    #: Cosines are at most 1, but float32 rounding puts a text matched against itself a hair above
    #: (100.00001 x100, as in the package), so the upper bound has room for it.
    score_ranges = {name: (-math.inf, 100.001) for name in SCORE_NAMES}
    #: Every score of this metric has its range above; this one is what a run's other scores are checked
    #: against (bench.results.store.score_range takes the union), so it widens nothing.
    value_range = (0.0, 100.0)
    Options = BertScoreOptions
    description = "BERTScore P/R/F1 of token-embedding matches with the references (any encoder and layer)"

    def __init__(self, options=None, settings=None, cache_dir=None) -> None:
        super().__init__(options, settings, cache_dir)
        from bench.metrics.model_based.loading import ENCODER, locate_metric_model

        s = self.settings
        check_model_options(s, "bertscore", min_length=2)
        if s.layer is not None and s.layer < 0:
            raise BenchError(f"metric 'bertscore': layer must be 0 or more, not {s.layer}")
        if s.baseline_path is not None and not s.rescale_with_baseline:
            raise BenchError("metric 'bertscore': baseline_path is given but rescale_with_baseline is off",
                             hint="add --metric-opt bertscore.rescale_with_baseline=true")
        self.source = locate_metric_model(s.model, ENCODER, s.revision, "bertscore.model")
        alias = self.source.alias
        config = self.source.config
        total = next((config[k] for k in ("num_hidden_layers", "n_layers", "encoder_layers", "num_layers")
                      if isinstance(config.get(k), int)), None)
        self.layer = s.layer if s.layer is not None else (alias.layer if alias and alias.layer is not None else total)
        if self.layer is None:
            raise BenchError(f"metric 'bertscore': cannot tell how many layers {s.model!r} has",
                             hint="pass --metric-opt bertscore.layer=N")
        if total is not None:
            _check_layer(self.layer, total)
        self.baseline: tuple[float, float, float] | None = None
        if s.rescale_with_baseline:
            if s.baseline_path is not None:
                self.baseline = read_baseline(s.baseline_path, self.layer)
            else:
                self.baseline = bundled_baseline(alias.name if alias else None, self.layer)
                if self.baseline is None:
                    raise BenchError(
                        f"metric 'bertscore': no bundled rescale baseline for {s.model!r} at layer {self.layer}",
                        hint="pass --metric-opt bertscore.baseline_path=FILE (a bert-score baseline file, CSV "
                             "LAYER,P,R,F); bench bundles the aliases' baselines at their default layers")
        self.model = None
        self.scorer: BertScorer | None = None

    def signatures(self, references: Sequence[Sequence[str]], dtype: str, max_length: int) -> dict[str, str]:
        s = self.settings
        weights = self.source.commit or self.source.fingerprint
        rescaled = "no"
        if self.baseline is not None:
            rescaled = "file:" + Path(s.baseline_path).name if s.baseline_path else "bundled"
            rescaled += ":" + "/".join(f"{b:.8g}" for b in self.baseline)
        fields = (("model", f"{self.source.name}@{weights[:12]}"), ("layer", str(self.layer)),
                  ("idf", "refs" if s.idf else "no"), ("rescaled", rescaled), ("nrefs", nrefs_field(references)),
                  ("multiref", "max"), ("trunc", str(max_length)), ("dtype", dtype))
        return {name: signature(name, *fields) for name in SCORE_NAMES}

    def compute(self, inputs: MetricInputs) -> MetricResult:
        s = self.settings
        if self.scorer is None:
            from bench.metrics.model_based.loading import ENCODER, MetricModel

            self.model = MetricModel(self.source, ENCODER, s.device, s.dtype, s.batch_size, s.revision)
            self.scorer = BertScorer(self.model, self.layer, s.max_length)
        from bench.runtime.devices import quiet_transformers

        # An example without references (an unanswerable question) has nothing to be compared with: unscored.
        scored = [i for i, refs in enumerate(inputs.references) if refs]
        with quiet_transformers():
            raw = self.scorer.score([inputs.predictions[i] for i in scored], [inputs.references[i] for i in scored],
                                    idf=s.idf, ids=[inputs.ids[i] for i in scored])
        if self.baseline is not None:
            raw = rescale(raw, self.baseline)
        values = raw.astype(np.float64) * 100.0
        per_example: dict[str, list[float | None]] = {}
        for k, name in enumerate(SCORE_NAMES):
            column: list[float | None] = [None] * len(inputs)
            for row, i in enumerate(scored):
                column[i] = float(values[row, k])
            per_example[name] = column
        warnings = list(self.model.warnings)
        counts = {"bertscore_truncated": self.scorer.truncated}
        unscored = len(inputs) - len(scored)
        if unscored:  # (counted by the scoring step)
            warnings.append(f"bertscore: {unscored} example(s) without references left unscored")
        if self.scorer.truncated:
            warnings.append(f"bertscore: {self.scorer.truncated} text(s) longer than {self.scorer.max_length} "
                            f"tokens were truncated (as the bert-score package does)")
        return MetricResult(per_example=per_example,
                            signatures=self.signatures([r for r in inputs.references if r], self.model.dtype_name,
                                                       self.scorer.max_length),
                            counts=counts, warnings=warnings)

    def close(self) -> None:
        if self.model is not None:
            self.model.close()
        self.model = None
        self.scorer = None
