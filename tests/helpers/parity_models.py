"""Tiny seeded QA and summarization models beyond `tiny_models`, for the decoding tests and the parity script.

Everything here uses only what transformers 4.57 and 5 share, so the same
builders write the models `benchmarks/parity/parity.py` runs through the
transformers 4 pipelines and through bench.

- `build_bert_qa`, `build_roberta_qa`, `build_albert_qa`: random QA models
  with two segment types (BERT, ALBERT) or one (RoBERTa). BERT's tokenizer is
  a generic `tokenizer.json` tokenizer, which under transformers 5 no longer
  returns segment ids unless asked.
- `build_distilbert_qa`: tiny_models' DistilBERT QA model, its tokenizer
  listing the inputs DistilBERT takes.
- `build_bart_plain`: BART saved without generation settings (only its token
  ids), so the pipeline's own defaults apply.
- `build_bart_cnn_like`: BART with generation settings shaped like
  distilbart-cnn's (4 beams, length penalty 2.0, min/max length, no-repeat
  3-grams), scaled down; `build_bart_two_beams`: the same with 2 beams.
- `build_segment_pointer_bert`: a BERT whose answer is decided by the segment
  ids: with them it points from one word to another; fed all-zero ids it
  points at a third word.
- `build_weighted_pointer_qa`: a DistilBERT whose start (end) logit of a token
  is the dot product of its normed embedding with a weighted sum of chosen
  words' normed embeddings, so a test can work out which spans win, and by
  how much.

The pointer models zero every layer's residual branch (and the position
embeddings), so each token's final hidden state is the layer-normed embedding
of its own word (plus its segment's), and the QA head's weights are such
vectors. By Cauchy-Schwarz a token scores highest against the vector it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import tiny_models

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def wordpiece_tokenizer(max_positions: int = 128):
    """A BERT-style WordPiece tokenizer trained on the seed article, as a generic `PreTrainedTokenizerFast`."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(corpus(), trainers.WordPieceTrainer(vocab_size=tiny_models.VOCAB_SIZE,
                                                                special_tokens=SPECIALS, show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
                                   unk_token="[UNK]", mask_token="[MASK]", model_max_length=max_positions)


def corpus() -> list[str]:
    lines = [line for line in tiny_models.seed_text().splitlines() if line.strip()]
    lines.append("Who What When Where Which Why How many did does is was the of Answer Question ? : ! ;")
    return lines


def save(model, tokenizer, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_bert_qa(path: Path, max_positions: int = 128, seed: int = 10) -> Path:
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(seed)
    tok = wordpiece_tokenizer(max_positions)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_positions, type_vocab_size=2,
                        pad_token_id=tok.pad_token_id)
    model = BertForQuestionAnswering(config)
    with torch.no_grad():  # segment embeddings as large as the word embeddings, so that they matter
        model.bert.embeddings.token_type_embeddings.weight.normal_(0.0, 0.5)
        model.bert.embeddings.word_embeddings.weight.normal_(0.0, 0.5)
    return save(model, tok, path)


def build_albert_qa(path: Path, max_positions: int = 128, seed: int = 11) -> Path:
    import torch
    from transformers import AlbertConfig, AlbertForQuestionAnswering

    torch.manual_seed(seed)
    tok = wordpiece_tokenizer(max_positions)
    config = AlbertConfig(vocab_size=len(tok), embedding_size=16, hidden_size=32, num_hidden_layers=2,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=max_positions,
                          type_vocab_size=2, pad_token_id=tok.pad_token_id)
    model = AlbertForQuestionAnswering(config)
    with torch.no_grad():
        model.albert.embeddings.token_type_embeddings.weight.normal_(0.0, 0.5)
        model.albert.embeddings.word_embeddings.weight.normal_(0.0, 0.5)
    return save(model, tok, path)


def build_roberta_qa(path: Path, max_positions: int = 130, seed: int = 12) -> Path:
    """RoBERTa (one segment type) with a byte-level BPE tokenizer: <s> question </s></s> context </s>."""
    import torch
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import (
        PreTrainedTokenizerFast,
        RobertaConfig,
        RobertaForQuestionAnswering,
    )

    torch.manual_seed(seed)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    raw = Tokenizer(models.BPE(unk_token=None))
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(corpus(), trainers.BpeTrainer(
        vocab_size=tiny_models.VOCAB_SIZE, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    raw.post_processor = processors.RobertaProcessing(("</s>", raw.token_to_id("</s>")), ("<s>", raw.token_to_id("<s>")),
                                                      trim_offsets=True, add_prefix_space=False)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                  cls_token="<s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
                                  model_max_length=max_positions - 2)
    config = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=max_positions, type_vocab_size=1,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return save(RobertaForQuestionAnswering(config), tok, path)


#: Generation settings shaped like sshleifer/distilbart-cnn-12-6's, scaled down (its 4 beams).
CNN_LIKE = {"num_beams": 4, "length_penalty": 2.0, "max_length": 40, "min_length": 6, "no_repeat_ngram_size": 3,
            "early_stopping": True}


def build_bart_varied(path: Path, generation: Mapping[str, object] | None = None, max_positions: int = 128,
                      seed: int = 6) -> Path:
    """BART with tiny_models' tokenizer and weights drawn 10 x wider than usual (init_std 0.2), so that its
    summaries depend on the document (at the usual 0.02 nearly every document gets the same summary), and the
    given generation settings besides its token ids (none: the checkpoint sets no generation settings)."""
    import torch
    from transformers import (
        AutoTokenizer,
        BartConfig,
        BartForConditionalGeneration,
        GenerationConfig,
    )

    tiny_models.build_bart(path, max_positions)
    tok = AutoTokenizer.from_pretrained(path)
    for f in path.iterdir():
        f.unlink()
    torch.manual_seed(seed)
    ids = {"pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
           "decoder_start_token_id": tok.eos_token_id, "forced_eos_token_id": tok.eos_token_id}
    config = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
                        max_position_embeddings=max_positions, init_std=0.2, **ids)
    model = BartForConditionalGeneration(config)
    model.generation_config = GenerationConfig(**ids, **dict(generation or {}))
    return save(model, tok, path)


def build_bart_plain(path: Path) -> Path:
    """BART saved without generation settings (only its token ids), with 512 positions: room for the
    pipeline's default of 256 new tokens."""
    return build_bart_varied(path, None, max_positions=512)


def build_bart_cnn_like(path: Path) -> Path:
    """BART with generation settings shaped like distilbart-cnn's (4 beams)."""
    return build_bart_varied(path, CNN_LIKE)


def build_bart_two_beams(path: Path) -> Path:
    """BART whose own generation settings ask for 2 beams (the 4.57 pipeline used 4 all the same)."""
    return build_bart_varied(path, {**CNN_LIKE, "num_beams": 2})


def build_distilbert_qa(path: Path) -> Path:
    """tiny_models' DistilBERT QA model with a tokenizer that, like DistilBERT's own, lists no segment ids among
    the model's inputs (the transformers 4 pipeline passes every input the tokenizer lists, and DistilBERT takes
    no token_type_ids)."""
    from transformers import AutoTokenizer

    tiny_models.build_distilbert_qa(path)
    AutoTokenizer.from_pretrained(path, model_input_names=["input_ids", "attention_mask"]).save_pretrained(path)
    return path


# ------------------------------------------------------------ pointer models


def _token_id(tok, word: str) -> int:
    pieces = tok.tokenize(word) if not word.startswith("[") else [word]
    if len(pieces) != 1:
        raise ValueError(f"{word!r} is not one token of the tiny vocabulary: {pieces}")
    return tok.convert_tokens_to_ids(pieces[0])


def build_segment_pointer_bert(path: Path, start_word: str, end_word: str, decoy_word: str,
                               scale: float = 1.0, max_positions: int = 128) -> Path:
    """BERT whose answer runs from `start_word` to `end_word` when it is given segment ids, and sits on
    `decoy_word` when every segment id is 0.

    The second segment's embedding is 4 x the decoy's word embedding (the first segment's is zero). The
    head's start vector is LN(e_start + 4 e_decoy) and its end vector LN(e_end + 4 e_decoy): with segment
    ids, the context's start and end tokens are exactly those vectors; with zeros, every context token is
    LN(e_word), closest to them for the decoy (cosine about 0.97, against about 0.24 for the start word).
    The head's weights are multiplied by `scale`, which sharpens the softmax without moving the maximum.
    """
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(5)
    tok = wordpiece_tokenizer(max_positions)
    ids = [_token_id(tok, w) for w in (start_word, end_word, decoy_word)]
    config = BertConfig(vocab_size=len(tok), hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=max_positions, type_vocab_size=2,
                        pad_token_id=tok.pad_token_id)
    model = BertForQuestionAnswering(config).eval()
    with torch.no_grad():
        emb = model.bert.embeddings
        emb.position_embeddings.weight.zero_()
        words = emb.word_embeddings.weight
        emb.token_type_embeddings.weight[0].zero_()
        emb.token_type_embeddings.weight[1].copy_(4 * words[ids[2]])
        for layer in model.bert.encoder.layer:
            for linear in (layer.attention.output.dense, layer.output.dense):
                linear.weight.zero_()
                linear.bias.zero_()
        ln = emb.LayerNorm
        targets = [words[ids[0]] + 4 * words[ids[2]], words[ids[1]] + 4 * words[ids[2]]]
        normed = torch.nn.functional.layer_norm(torch.stack(targets), (config.hidden_size,), ln.weight, ln.bias,
                                                ln.eps)
        model.qa_outputs.weight.copy_(scale * normed)
        model.qa_outputs.bias.zero_()
    return save(model, tok, path)


def build_weighted_pointer_qa(path: Path, start: Mapping[str, float], end: Mapping[str, float],
                              scale: float = 1.0, max_positions: int = 128) -> Path:
    """DistilBERT whose start (end) logit of a token is `scale` x <LN(e_token), sum of w x LN(e_word)> over
    the words of `start` (`end`) and their weights. Words are single tokens of the vocabulary (a WordPiece
    continuation such as "##s" too), or "[CLS]"."""
    import torch
    from transformers import AutoTokenizer

    tok = wordpiece_tokenizer(max_positions)
    model, normed = tiny_models.token_matching_distilbert_qa(tok, max_positions)

    def vector(weights: Mapping[str, float]):
        piece_ids = {w: (tok.convert_tokens_to_ids(w) if w.startswith("##") else _token_id(tok, w))
                     for w in weights}
        return scale * sum(weight * normed[piece_ids[w]] for w, weight in weights.items())

    with torch.no_grad():
        model.qa_outputs.weight.copy_(torch.stack([vector(start), vector(end)]))
        model.qa_outputs.bias.zero_()
    save(model, tok, path)
    # DistilBERT takes no segment ids: its tokenizer does not list them (the transformers 4 pipeline passes what
    # the tokenizer lists)
    AutoTokenizer.from_pretrained(path, model_input_names=["input_ids", "attention_mask"]).save_pretrained(path)
    return path
