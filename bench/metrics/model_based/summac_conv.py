"""SummaC-Conv (Laban et al. 2022, "SummaC: Re-Visiting NLI-based Models for Inconsistency Detection in
Summarization", TACL, section 3.3): the paper's trained variant of SummaC.

The NLI pairs are SummaC-ZS's (`bench.metrics.model_based.summac`: the same
premises, hypotheses, short-sentence rule, model and pair cache), except that
a document keeps only its first 100 premises, as SummaC's `SummaCImager`
(``max_doc_sents=100``) cut them when the weights were trained. For each of
the summary's first 10 sentences (SummaC's ``n_rows``), the P(entailment) of
the pairs it forms with the premises are counted into SummaC's "percentile"
bins (`PERCENTILE_BINS`, numpy's histogram rule: each bin holds its lower
edge, the last its upper edge too); a linear layer (``mlp``: the paper's 1-D
convolution, one output per histogram) turns each histogram into one number,
their mean m goes through a second layer (``layer_final``, 3 -> 2, its three
inputs all m) and the softmax of its two outputs; the score is the probability
of the second class ("consistent"), x100 (`SummaCConv.forward` and `score` in
summac/model_summac.py).

The weights are SummaC's published ones, ``summac_conv_vitc_sent_perc_e.bin``
(trained for the vitc model, sentence granularity, percentile bins and the
entailment probabilities), in the SummaC repository
(https://github.com/tingofurro/summac, Apache License 2.0); bench does not
ship them: ``--metric-opt summac_conv.weights=PATH`` names the file. It is read
as SummaC writes it, a PyTorch state dict (`torch.save`, the zip archive of
PyTorch 1.6 and later) holding ``mlp.weight`` (1 x 23), ``mlp.bias`` (1),
``layer_final.weight`` (2 x 3) and ``layer_final.bias`` (2), by
`bench.metrics.model_based.torch_state`, which reads tensors and runs nothing
in the file (torch's own reader rebuilds objects, and can run code).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError, relpath
from bench.io import read_bytes
from bench.metrics.metric import MetricInputs, MetricResult, signature
from bench.metrics.metric_options import with_model_options
from bench.metrics.model_based.summac import NLIOptions, SummacZS

SCORE_NAME = "summac_conv"
#: SummaC's 'percentile' bin edges (`SummaCConv.__init__`, bins="percentile"): 23 bins.
PERCENTILE_BINS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.07, 0.13, 0.37, 0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.955, 0.96,
                   0.965, 0.97, 0.975, 0.98, 0.985, 0.99, 0.995, 1.0)
#: Summary sentences read (`SummaCConv.n_rows`) and document premises kept (`SummaCImager.max_doc_sents`).
MAX_SUMMARY_SENTENCES = 10
MAX_PREMISES = 100
#: A state dict of four small tensors is under 2 KB; a file is read up to this size.
MAX_WEIGHTS_BYTES = 1 << 20
WEIGHTS_NAME = "summac_conv_vitc_sent_perc_e.bin"
WEIGHTS_URL = f"https://github.com/tingofurro/summac/raw/master/{WEIGHTS_NAME}"
SHAPES = {"mlp.weight": (1, len(PERCENTILE_BINS) - 1), "mlp.bias": (1,), "layer_final.weight": (2, 3),
          "layer_final.bias": (2,)}


@dataclass(frozen=True)
class ConvWeights:
    """SummaC-Conv's two layers, as float64 arrays."""

    mlp_weight: np.ndarray
    mlp_bias: np.ndarray
    final_weight: np.ndarray
    final_bias: np.ndarray
    sha256: str
    """Of the file's bytes, for the signature."""


def read_weights(path: str | Path, option: str = "summac_conv.weights") -> ConvWeights:
    """SummaC-Conv's weights from a file written by ``torch.save(state_dict)``, checked key by key (read by
    `bench.metrics.model_based.torch_state`, which runs nothing in the file)."""
    from bench.metrics.model_based.torch_state import read_state_dict

    path = Path(path).expanduser()
    hint = f"download {WEIGHTS_NAME} from {WEIGHTS_URL} and pass --metric-opt {option}=PATH"
    data = read_bytes(path, "SummaC-Conv's weights", hint, limit=MAX_WEIGHTS_BYTES)
    try:
        state = read_state_dict(data)
    except ValueError as e:
        raise BenchError(f"cannot read SummaC-Conv's weights: {e}", where=relpath(path), hint=hint) from None
    if set(state) != set(SHAPES):
        raise BenchError(f"SummaC-Conv's weights hold {', '.join(sorted(state)) or 'nothing'}, not "
                         f"{', '.join(SHAPES)}", where=relpath(path), hint=hint)
    arrays = {}
    for key, shape in SHAPES.items():
        value = state[key]
        if value.shape != shape or value.dtype.kind != "f":
            raise BenchError(f"SummaC-Conv's weights: {key} is {value.shape} of {value.dtype}, not {shape} of floats "
                             f"(the percentile bins' layers)", where=relpath(path), hint=hint)
        arrays[key] = value.astype(np.float64)
        if not np.all(np.isfinite(arrays[key])):
            raise BenchError(f"SummaC-Conv's weights: {key} is not finite", where=relpath(path), hint=hint)
    return ConvWeights(arrays["mlp.weight"][0], float(arrays["mlp.bias"][0]), arrays["layer_final.weight"],
                       arrays["layer_final.bias"], hashlib.sha256(data).hexdigest())


def histograms(entailment: np.ndarray) -> np.ndarray:
    """(summary sentences, premises) P(entailment) -> one row of bin counts per summary sentence."""
    return np.stack([np.histogram(row, bins=PERCENTILE_BINS, range=(0, 1))[0] for row in entailment]).astype(
        np.float64)


def conv_score(grid: np.ndarray, w: ConvWeights) -> tuple[float, np.ndarray]:
    """SummaC-Conv's probability of "consistent" for one example's grid ((hypotheses, premises, 2)), and the
    per-sentence outputs of the first layer it averaged."""
    rows = histograms(grid[:MAX_SUMMARY_SENTENCES, :, 0])
    per_sentence = rows @ w.mlp_weight + w.mlp_bias
    m = per_sentence.mean()
    logits = w.final_weight @ np.full(3, m) + w.final_bias
    return float(np.exp(-np.logaddexp(0.0, logits[0] - logits[1]))), per_sentence  # softmax(logits)[1]


@with_model_options
@dataclass(frozen=True)
class SummacConvOptions(NLIOptions):
    """The options of the `summac_conv` metric (``--metric-opt summac_conv.KEY=VALUE``): its own, then the model
    options (`ModelOptions`: batch_size (sentence pairs), device, dtype, max_length (tokens of one pair),
    revision)."""

    weights: str | None = None
    """SummaC's published weights, summac_conv_vitc_sent_perc_e.bin (a path; bench does not ship them)."""


class SummacConv(SummacZS):
    """SummaC-Conv: a summary's probability of being consistent with its document (x100, 0..100)."""

    name = "summac_conv"
    label = "SummaC-Conv"
    score_ranges = {SCORE_NAME: (0.0, 100.0)}
    Options = SummacConvOptions
    description = ("SummaC-Conv faithfulness: histograms of each summary sentence's NLI entailment over the "
                   "document's sentences through SummaC's trained weights")
    max_premises = MAX_PREMISES
    max_hypotheses = MAX_SUMMARY_SENTENCES

    def check_own_options(self) -> None:
        if not self.settings.weights:
            raise BenchError(f"metric 'summac_conv' needs SummaC-Conv's weights ({WEIGHTS_NAME})",
                             hint=f"download it from {WEIGHTS_URL} (SummaC's repository, Apache License 2.0) and "
                                  f"pass --metric-opt summac_conv.weights=PATH")
        self.weights = read_weights(self.settings.weights)

    def signature_of(self, dtype: str, max_length: int) -> str:
        return signature(SCORE_NAME, *self.signature_fields(dtype, max_length),
                         ("weights", self.weights.sha256[:12]), ("bins", "percentile"),
                         ("rows", str(MAX_SUMMARY_SENTENCES)), ("premises", str(MAX_PREMISES)), ("agg", "mean"))

    def compute(self, inputs: MetricInputs) -> MetricResult:
        images = self.images(inputs)
        scores = np.full(len(inputs), np.nan, dtype=np.float64)
        details: list[list[dict[str, Any]]] = []
        for k, (sentences, grid) in enumerate(zip(images.hypotheses, images.grids)):
            if grid is None:
                details.append([])
                continue
            value, per_sentence = conv_score(grid, self.weights)
            scores[k] = 100.0 * value
            details.append([{"sentence": h, "output": float(o), "entailment": 100.0 * float(grid[j, :, 0].max())}
                            for j, (h, o) in enumerate(zip(sentences, per_sentence))])
        result = self.result(scores, details, images)
        if images.cut_summaries:
            result.warnings.append(f"summac_conv: {images.cut_summaries} prediction(s) with more than "
                                   f"{MAX_SUMMARY_SENTENCES} "
                                   f"sentences were read up to their {MAX_SUMMARY_SENTENCES}th, as SummaC-Conv reads "
                                   f"them")
        if images.cut_documents:
            result.warnings.append(f"summac_conv: {images.cut_documents} document(s) with more than {MAX_PREMISES} "
                                   f"premises were read up to their {MAX_PREMISES}th, as SummaC-Conv reads them")
        return result
