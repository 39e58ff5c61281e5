"""A tiny causal LM that writes numbers, for the judge's weighted (G-Eval) scores.

`build_rating_gpt2` starts from `tiny_models.build_gpt2` (no chat template)
and gives it an output layer of its own (untied from the input embeddings)
that is zero except on the tokens of a single digit and four separators
(space, '.', ',', ':'): its greedy replies are runs of digits and separators,
so some hold a number on a 1-5 scale at their first token, some further on,
and some none at all, and its next-token distribution spreads over the
scale's values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tiny_models import build_gpt2


def build_rating_gpt2(path: Path, seed: int = 0, spread: float = 1.5) -> Path:
    return _build_writer_gpt2(path, lambda t: len(t.strip()) == 1 and t.strip().isdigit(), seed, spread)


def build_verdict_gpt2(path: Path, seed: int = 0, spread: float = 1.5) -> Path:
    """A tiny causal LM whose replies are runs of the verdict letters A, B and C and separators (space, '.',
    ',', ':'), for the pairwise judge: its output layer is zero except on those tokens, so its greedy replies
    hold a verdict at their first token or further on (or none), and its next-token distribution spreads over
    the three verdicts."""
    return _build_writer_gpt2(path, lambda t: t.strip() in ("A", "B", "C"), seed, spread)


def _build_writer_gpt2(path: Path, writes: Callable[[str], bool], seed: int, spread: float) -> Path:
    """`tiny_models.build_gpt2` with an output layer of its own, zero except on the tokens whose text `writes`
    accepts and on the four separators (the separators' weights `spread` times larger)."""
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel

    build_gpt2(path, chat_template=False)
    tok = AutoTokenizer.from_pretrained(path)
    model = GPT2LMHeadModel.from_pretrained(path)
    texts = {i: tok.decode([i]) for i in sorted(tok.get_vocab().values())}
    written = [i for i, t in texts.items() if writes(t)]
    separators = [i for i, t in texts.items() if t in (" ", ".", ",", ":")]
    torch.manual_seed(seed)
    weight = torch.zeros_like(model.lm_head.weight)
    weight[written] = torch.randn(len(written), weight.shape[1])
    weight[separators] = torch.randn(len(separators), weight.shape[1]) * spread
    model.config.tie_word_embeddings = False
    model.lm_head.weight = torch.nn.Parameter(weight)
    model.save_pretrained(path)
    return path
