"""Tiny randomly initialised encoders and NLI classifiers for the model-based metrics' tests.

Built like `tiny_models`: a config with a few small layers, a tokenizer trained
on the bundled seed article, written with `save_pretrained` and read back by
bench with `from_pretrained`, the same path as a hub model.

- `build_bert_encoder`: a BERT encoder (WordPiece, [CLS] ... [SEP]), saved
  with `BertTokenizer` as its tokenizer class.
- `build_roberta_encoder`: a RoBERTa encoder (byte-level BPE, <s> ... </s>),
  saved with `RobertaTokenizer` as its tokenizer class, so that tools which
  treat RoBERTa/GPT-2 tokenizers specially (the bert-score package adds a
  prefix space) see one.
- `build_nli`: a sequence classifier with three labels; `labels` sets its
  `id2label` (entailment, neutral, contradiction by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tiny_models import _byte_level_tokenizer, _wordpiece_tokenizer

DEFAULT_NLI_LABELS = ("entailment", "neutral", "contradiction")


def bert_tokenizer(max_positions: int):
    from transformers import BertTokenizer

    backend = _wordpiece_tokenizer()
    return BertTokenizer(vocab=backend.get_vocab(), do_lower_case=False, model_max_length=max_positions)


def roberta_tokenizer(max_positions: int):
    import json

    from transformers import RobertaTokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    backend = _byte_level_tokenizer(specials)
    model = json.loads(backend.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return RobertaTokenizer(vocab=model["vocab"], merges=merges, model_max_length=max_positions)


def build_bert_encoder(path: Path, layers: int = 3, max_positions: int = 64, seed: int = 10) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    tok = bert_tokenizer(max_positions)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id)
    return _save(BertModel(config), tok, path)


def build_roberta_encoder(path: Path, layers: int = 3, max_positions: int = 64, seed: int = 11) -> Path:
    import torch
    from transformers import RobertaConfig, RobertaModel

    torch.manual_seed(seed)
    tok = roberta_tokenizer(max_positions)
    # RoBERTa's positions start after the padding index, so it needs two more position embeddings than tokens.
    config = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=max_positions + 2,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id)
    return _save(RobertaModel(config), tok, path)


def build_nli(path: Path, labels: Sequence[str] = DEFAULT_NLI_LABELS, style: str = "bert",
              max_positions: int = 128, seed: int = 12, initializer_range: float = 0.2) -> Path:
    """A random sequence classifier whose config's id2label is `labels` (in order)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, RobertaConfig, RobertaForSequenceClassification

    torch.manual_seed(seed)
    id2label = dict(enumerate(labels))
    label2id = {v: k for k, v in id2label.items()}
    if style == "bert":
        tok = bert_tokenizer(max_positions)
        config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=max_positions,
                            pad_token_id=tok.pad_token_id, id2label=id2label, label2id=label2id,
                            initializer_range=initializer_range)
        model = BertForSequenceClassification(config)
    else:
        tok = roberta_tokenizer(max_positions)
        config = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=max_positions + 2,
                               pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                               eos_token_id=tok.eos_token_id, id2label=id2label, label2id=label2id,
                               initializer_range=initializer_range)
        model = RobertaForSequenceClassification(config)
    # Weights ten times the usual initial scale, so that the tiny model's probabilities vary from pair to
    # pair and the max over document sentences matters in the tests.
    return _save(model, tok, path)


def _save(model, tokenizer, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
