"""The tiny model's tokenizer: BPE trained here on the QA corpus with `tokenizers` (no download).

Digits are split one per token (numbers are what spatial answers are made of, and a model reads
"2.35" better as 2 . 3 5 than as arbitrary merges); every printable ASCII character is in the
initial alphabet, so "\\n" (the end of PaliGemma's prefix) and rare punctuation are never ``<unk>``.
Special tokens are fixed constants with fixed ids, in Gemma's order.
"""

from __future__ import annotations

import string
from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN, IMAGE_TOKEN = "<pad>", "<eos>", "<bos>", "<unk>", "<image>"
SPECIAL_TOKENS: tuple[str, ...] = (PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN, IMAGE_TOKEN)  # ids 0..4
SPACE = "▁"  # spaces become this, as in Gemma, so they survive pre-tokenization
ALPHABET: tuple[str, ...] = tuple(sorted(set(string.printable) - {" "} | {SPACE}))
DEFAULT_VOCAB_SIZE = 1024


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE):
    """A transformers fast tokenizer trained on ``texts`` (deterministic for the same texts)."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=UNK_TOKEN))
    tok.normalizer = normalizers.Replace(" ", SPACE)
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(SPACE, behavior="merged_with_next"),
        pre_tokenizers.Digits(individual_digits=True),
    ])
    tok.decoder = decoders.Sequence([decoders.Replace(SPACE, " "), decoders.Fuse()])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=list(ALPHABET), min_frequency=2, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD_TOKEN, eos_token=EOS_TOKEN,
                                   bos_token=BOS_TOKEN, unk_token=UNK_TOKEN, padding_side="right")
