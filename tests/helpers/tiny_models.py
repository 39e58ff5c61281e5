"""Tiny randomly initialised transformers models, built locally for the tests.

The hub is unreachable where the tests run, so each model is made here from a
config (d_model 32, 2 layers), given a tokenizer trained on the bundled seed
article, and written with `save_pretrained`: `bench run --model <dir>` then
reads it back with `from_pretrained`, the same code path as a hub model.

- `build_bart`: BART with a generation config shaped like distilbart's
  (beams, length penalty, min/max length, no-repeat n-gram size).
- `build_t5`: T5 with the `task_specific_params` "summarize: " prefix that
  google-t5/t5-small ships.
- `build_gpt2`: a GPT-2 causal LM whose tokenizer has a chat template.
- `build_distilbert_qa`: DistilBERT with a random question-answering head.
- `build_pointer_qa`: DistilBERT whose QA head deterministically points at
  two chosen words (start and end): every layer's residual branch is zeroed,
  so each token's final hidden state is the layer-normed embedding of its own
  word, and the head's weights are those normed embeddings. It lets a test
  know where the answer must be without a trained model.
"""

from __future__ import annotations

from pathlib import Path

SEED_ARTICLE = Path(__file__).resolve().parents[2] / "fixtures" / "source" / "seed_article.txt"
VOCAB_SIZE = 1200


def seed_text() -> str:
    """The bundled seed article (headline, date, URL, body), the source of the bundled fixtures."""
    return SEED_ARTICLE.read_text(encoding="utf-8")


def _corpus() -> list[str]:
    lines = [line for line in seed_text().splitlines() if line.strip()]
    # Question words and the QA prompt's words, so prompts tokenize into words, not bytes.
    lines.append("Who What When Where Which Why How many did does is was the of Answer Question Article ? : ! ; "
                 "unanswerable Summarize following news article headline sentences")
    return lines


def _byte_level_tokenizer(specials: list[str], post_template: str | None = None):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer)
    if post_template:
        tok.post_processor = processors.TemplateProcessing(
            single=post_template, pair=post_template.replace("$A", "$A $B"),
            special_tokens=[(s, tok.token_to_id(s)) for s in specials if s in post_template])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=True)
    return tok


def _wordpiece_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(_corpus(), trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                                 show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def _save(model, tokenizer, path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_bart(path: Path, max_positions: int = 128) -> Path:
    import torch
    from transformers import BartConfig, BartForConditionalGeneration, GenerationConfig, PreTrainedTokenizerFast

    torch.manual_seed(0)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = PreTrainedTokenizerFast(tokenizer_object=_byte_level_tokenizer(specials, "<s> $A </s>"),
                                  bos_token="<s>", pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                  mask_token="<mask>", model_max_length=max_positions)
    config = BartConfig(
        vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=max_positions,
        pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id,
    )
    model = BartForConditionalGeneration(config)
    # Shaped like sshleifer/distilbart-cnn-12-6's generation settings, scaled down.
    model.generation_config = GenerationConfig(
        num_beams=2, length_penalty=2.0, max_length=40, min_length=6, no_repeat_ngram_size=3, early_stopping=True,
        decoder_start_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        forced_bos_token_id=tok.bos_token_id, forced_eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    return _save(model, tok, path)


def build_t5(path: Path) -> Path:
    import torch
    from transformers import GenerationConfig, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    torch.manual_seed(1)
    specials = ["<pad>", "</s>", "<unk>"]
    tok = PreTrainedTokenizerFast(tokenizer_object=_byte_level_tokenizer(specials, "$A </s>"),
                                  pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=128)
    config = T5Config(
        vocab_size=len(tok), d_model=32, d_kv=16, d_ff=64, num_layers=2, num_decoder_layers=2, num_heads=2,
        pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
        # What google-t5/t5-small's config.json carries for summarization.
        task_specific_params={"summarization": {
            "prefix": "summarize: ", "early_stopping": True, "length_penalty": 2.0, "max_length": 30,
            "min_length": 4, "no_repeat_ngram_size": 3, "num_beams": 2}},
    )
    model = T5ForConditionalGeneration(config)
    model.generation_config = GenerationConfig(decoder_start_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    return _save(model, tok, path)


CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def build_gpt2(path: Path, chat_template: bool = True) -> Path:
    import torch
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(2)
    specials = ["<|endoftext|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    tok = PreTrainedTokenizerFast(tokenizer_object=_byte_level_tokenizer(specials),
                                  bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=specials[1:], model_max_length=256)
    if chat_template:
        tok.chat_template = CHAT_TEMPLATE
    config = GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    model = GPT2LMHeadModel(config)
    # Like many instruction-tuned checkpoints, its own config asks for sampling.
    model.generation_config = GenerationConfig(
        bos_token_id=tok.bos_token_id, eos_token_id=[tok.eos_token_id, tok.convert_tokens_to_ids("<|end|>")],
        pad_token_id=tok.pad_token_id, do_sample=True, temperature=0.7, top_p=0.8)
    return _save(model, tok, path)


def _qa_tokenizer(max_positions: int):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=_wordpiece_tokenizer(), cls_token="[CLS]", sep_token="[SEP]",
                                   pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]",
                                   model_max_length=max_positions)


def build_distilbert_qa(path: Path, max_positions: int = 128):
    import torch
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering

    torch.manual_seed(3)
    tok = _qa_tokenizer(max_positions)
    config = DistilBertConfig(vocab_size=len(tok), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id)
    return _save(DistilBertForQuestionAnswering(config), tok, path)


def token_matching_distilbert_qa(tok, max_positions: int = 128):
    """(model, normed): DistilBERT for QA over `tok` (seed 4, width 64, 2 layers) whose attention and
    feed-forward outputs and position embeddings are zero, so that a token's last hidden state is LN(its
    embedding); `normed` holds LN(e) of every vocabulary entry. The caller sets `qa_outputs` from them."""
    import torch
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering

    torch.manual_seed(4)
    config = DistilBertConfig(vocab_size=len(tok), dim=64, n_layers=2, n_heads=2, hidden_dim=64,
                              max_position_embeddings=max_positions, pad_token_id=tok.pad_token_id)
    model = DistilBertForQuestionAnswering(config).eval()
    with torch.no_grad():
        model.distilbert.embeddings.position_embeddings.weight.zero_()
        for layer in model.distilbert.transformer.layer:
            for linear in (layer.attention.out_lin, layer.ffn.lin2):
                linear.weight.zero_()
                linear.bias.zero_()
        ln = model.distilbert.embeddings.LayerNorm
        normed = torch.nn.functional.layer_norm(model.distilbert.embeddings.word_embeddings.weight,
                                                (config.dim,), ln.weight, ln.bias, ln.eps)
    return model, normed


def build_pointer_qa(path: Path, start_word: str, end_word: str, max_positions: int = 128) -> Path:
    """DistilBERT whose best span runs from the token `start_word` to the token `end_word`.

    Either word may be "[CLS]": the null answer. Both must be single tokens of the vocabulary.
    """
    import torch

    tok = _qa_tokenizer(max_positions)
    ids = []
    for word in (start_word, end_word):
        pieces = tok.tokenize(word) if not word.startswith("[") else [word]
        if len(pieces) != 1:
            raise ValueError(f"{word!r} is not one token of the tiny vocabulary: {pieces}")
        ids.append(tok.convert_tokens_to_ids(pieces[0]))
    model, normed = token_matching_distilbert_qa(tok, max_positions)
    with torch.no_grad():
        model.qa_outputs.weight.copy_(torch.stack([normed[ids[0]], normed[ids[1]]]))
        model.qa_outputs.bias.zero_()
    return _save(model, tok, path)


def build_all(root: Path) -> dict[str, Path]:
    """Every tiny model under `root`, by kind."""
    return {
        "bart": build_bart(root / "tiny-bart"),
        "t5": build_t5(root / "tiny-t5"),
        "gpt2": build_gpt2(root / "tiny-gpt2"),
        "distilbert-qa": build_distilbert_qa(root / "tiny-distilbert-qa"),
    }


if __name__ == "__main__":  # pragma: no cover - a manual aid: python tests/tiny_models.py OUT_DIR
    import sys

    for kind, p in build_all(Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-models")).items():
        print(kind, p)
