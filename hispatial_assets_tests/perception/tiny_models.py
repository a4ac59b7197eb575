"""Tiny random-init checkpoints for the real-model backends, written with ``save_pretrained``.

Every builder writes a complete local checkpoint directory (weights + processor + tokenizer) that the
backend then loads through its real loading code. Tokenizers are built offline from word lists, so
nothing here touches the network. Sizes are chosen so a forward pass takes milliseconds on a CPU.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

VOCABULARY = ["chair", "table", "lamp", "red cup", "sofa"]
_WORDS = ["chair", "table", "lamp", "red", "cup", "sofa", "the", "a", "blue", "left", "right", "of", "box", "in"]


def _seed(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def bert_tokenizer(words: list[str] = _WORDS):
    """A WordPiece tokenizer over ``words`` plus single letters, so any lowercase text tokenizes."""
    from transformers import BertTokenizer

    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "'", "-", *string.digits]
    tokens += list(string.ascii_lowercase) + ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens += [w for w in words if w not in tokens]
    return BertTokenizer(vocab={t: i for i, t in enumerate(tokens)})


def save_grounding_dino(path: str | Path, seed: int = 0) -> str:
    """GroundingDINO with a 4-stage 8-dim Swin, 1-layer BERT, d_model 32, 20 queries."""
    from transformers import BertConfig, GroundingDinoConfig, GroundingDinoForObjectDetection, GroundingDinoProcessor, SwinConfig
    from transformers.models.grounding_dino.image_processing_pil_grounding_dino import GroundingDinoImageProcessorPil

    tokenizer = bert_tokenizer()
    backbone = SwinConfig(image_size=64, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                          window_size=4, out_indices=[2, 3, 4])
    text = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=64)
    config = GroundingDinoConfig(backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1,
                                 decoder_layers=2, encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2,
                                 decoder_attention_heads=2, num_queries=20, max_text_len=32, encoder_n_points=2,
                                 decoder_n_points=2)
    _seed(seed)
    model = GroundingDinoForObjectDetection(config)
    processor = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(size={"shortest_edge": 64, "longest_edge": 96}),
        tokenizer=tokenizer)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)


def save_sam(path: str | Path, image_size: int = 64, seed: int = 0) -> str:
    """SAM with a 2-layer 16-dim ViT on 64 px inputs (8x8 patches -> 32x32 low-res masks)."""
    from transformers import SamConfig, SamMaskDecoderConfig, SamModel, SamProcessor, SamPromptEncoderConfig, SamVisionConfig
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    s = image_size
    config = SamConfig(
        vision_config=SamVisionConfig(hidden_size=16, output_channels=16, num_hidden_layers=2, num_attention_heads=2,
                                      image_size=s, patch_size=8, window_size=4, global_attn_indexes=[1], mlp_dim=32,
                                      num_pos_feats=8),
        prompt_encoder_config=SamPromptEncoderConfig(hidden_size=16, image_size=s, patch_size=8, mask_input_channels=4),
        mask_decoder_config=SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2,
                                                 iou_head_hidden_dim=16))
    _seed(seed)
    model = SamModel(config)
    image_processor = SamImageProcessorPil(size={"longest_edge": s}, pad_size={"height": s, "width": s},
                                           mask_size={"longest_edge": s // 4},
                                           mask_pad_size={"height": s // 4, "width": s // 4})
    model.save_pretrained(path)
    SamProcessor(image_processor=image_processor).save_pretrained(path)
    return str(path)


def _dinov2(**kw) -> dict:
    return dict(model_type="dinov2", hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=32, **kw)


def save_depth_anything(path: str | Path, max_depth: int = 20, seed: int = 0, varied: bool = False) -> str:
    """Metric Depth Anything (V2-style head) on a 2-layer 16-dim DINOv2, 56 px inputs. At random init
    the head's last convolution outputs ~0 everywhere, so the depth is ``max_depth / 2`` up to 1e-5;
    ``varied`` rescales that convolution to unit spread on a random image, so depth varies across it."""
    import torch
    from transformers import AutoModelForDepthEstimation, DepthAnythingConfig, Dinov2Config
    from transformers.models.dpt.image_processing_pil_dpt import DPTImageProcessorPil

    backbone = Dinov2Config(**{k: v for k, v in _dinov2(image_size=56, patch_size=14).items() if k != "model_type"},
                            out_indices=[1, 2], reshape_hidden_states=False, apply_layernorm=True)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16, neck_hidden_sizes=[8, 16],
                                 fusion_hidden_size=16, head_hidden_size=8, reassemble_factors=[2, 1],
                                 depth_estimation_type="metric", max_depth=max_depth)
    _seed(seed)
    model = AutoModelForDepthEstimation.from_config(config)
    if varied:
        seen = []
        hook = model.head.conv3.register_forward_hook(lambda _m, _i, out: seen.append(out))
        with torch.no_grad():
            model(pixel_values=torch.randn(1, 3, 56, 56))
            hook.remove()
            model.head.conv3.weight.div_(seen[0].std())
            model.head.conv3.bias.zero_()
    model.save_pretrained(path)
    DPTImageProcessorPil(size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14,
                         do_pad=False).save_pretrained(path)
    return str(path)


def save_depth_pro(path: str | Path, use_fov_model: bool = True, seed: int = 0) -> str:
    """DepthPro with 2-layer 16-dim DINOv2 encoders on 32 px patches (64 px inputs), optional FOV head."""
    import json

    from transformers import DepthProConfig, DepthProForDepthEstimation

    dino = _dinov2(image_size=32, patch_size=8)
    config = DepthProConfig(fusion_hidden_size=16, patch_size=32, intermediate_hook_ids=[1, 0],
                            intermediate_feature_dims=[8, 8], scaled_images_ratios=[0.5, 1],
                            scaled_images_overlap_ratios=[0.0, 0.5], scaled_images_feature_dims=[16, 8],
                            merge_padding_value=1, use_fov_model=use_fov_model, num_fov_head_layers=1,
                            image_model_config=dict(dino), patch_model_config=dict(dino), fov_model_config=dict(dino))
    _seed(seed)
    model = DepthProForDepthEstimation(config)
    model.save_pretrained(path)
    # what DepthProImageProcessor.save_pretrained writes (that class needs torchvision, so write it by hand)
    with open(Path(path) / "preprocessor_config.json", "w") as f:
        json.dump({"image_processor_type": "DepthProImageProcessor", "size": {"height": 64, "width": 64},
                   "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                   "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}, f)
    return str(path)


def save_orient_anything(path: str | Path, seed: int = 0, azimuth_deg: int | None = None,
                         azimuth_sign: int = 1) -> str:
    """OrientAnything layout: 2-layer 16-dim DINOv2 + the MLP head (360 + 180 + 180 + 2 outputs), 28 px crops.

    With ``azimuth_deg`` the head answers every crop with that azimuth bin and full confidence: its
    last BatchNorm (eval mode) is given zero scale and the wanted logits as shift."""
    import torch

    from hispatial_assets.perception.orient_anything import OrientAnythingNet

    _seed(seed)
    net = OrientAnythingNet.from_config({"backbone_config": _dinov2(image_size=28, patch_size=14),
                                         "azimuth_sign": azimuth_sign})
    if azimuth_deg is not None:
        logits = torch.zeros(360 + 180 + 180 + 2)
        logits[azimuth_deg % 360] = 20.0
        logits[-2] = 20.0  # "has an orientation"
        bn = net.down_sampler.net2[1]
        with torch.no_grad():
            bn.weight.zero_()
            bn.bias.copy_(logits)
    net.save_pretrained(path, image_size=28)
    return str(path)


# Reduced widths of each MoGe-2 size's architecture: the backbone keeps its depth and tapped blocks
# (12 blocks tapped at 2, 5, 8, 11 for ViT-S/B; 24 at 5, 11, 17, 23 for ViT-L), every width shrinks.
MOGE2_REDUCED = {
    "vits": {"dim": 16, "dims": (8, 8, 8, 8), "backbone_config": {"hidden_size": 16, "num_attention_heads": 2}},
    "vitb": {"dim": 24, "dims": (12, 8, 8, 8), "backbone_config": {"hidden_size": 24, "num_attention_heads": 3}},
    "vitl": {"dim": 32, "dims": (16, 8, 8, 8), "backbone_config": {"hidden_size": 32, "num_attention_heads": 4}},
}


def moge2_net(size: str = "vits", normal: bool = True, seed: int = 0):
    """A reduced random-init MoGe-2 of ``size``'s architecture and its config. The mask head's last
    bias is raised so most pixels are valid (a random mask head would reject about half)."""
    import torch

    from hispatial_assets.perception import moge2

    config = moge2.moge2_config(size, normal, **MOGE2_REDUCED[size])
    _seed(seed)
    net = moge2.build(config).eval()
    with torch.no_grad():
        net.mask_head.output_blocks[-1].bias.fill_(4.0)
    return net, config


def save_moge2(path: str | Path, size: str = "vits", normal: bool = True, seed: int = 0) -> str:
    """A reduced random-init MoGe-2 written as an official ``model.pt`` (``path`` is a folder)."""
    from hispatial_assets.perception import moge2

    net, config = moge2_net(size, normal, seed)
    return moge2.save_checkpoint(net, config, str(Path(path) / "model.pt"))


def save_siglip(path: str | Path, seed: int = 0) -> str:
    """SigLIP with 1-layer 16-dim text and vision towers on 32 px images, a byte-level BPE tokenizer."""
    from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipModel
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    from hispatial_assets.perception.vocabulary import EVERYDAY_OBJECTS, PROMPT_TEMPLATES

    corpus = [t.format(tag) for t in PROMPT_TEMPLATES for tag in EVERYDAY_OBJECTS]
    tk = byte_bpe_tokenizer(["<pad>", "</s>", "<unk>"], corpus, vocab_size=400)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    tower = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    config = SiglipConfig(text_config=dict(tower, vocab_size=tk.get_vocab_size(), max_position_embeddings=32,
                                           pad_token_id=tk.token_to_id("<pad>"), bos_token_id=None,
                                           eos_token_id=tk.token_to_id("</s>")),
                          vision_config=dict(tower, image_size=32, patch_size=8))
    _seed(seed)
    model = SiglipModel(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    SiglipImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(path)
    return str(path)


def byte_bpe_tokenizer(special: list[str], corpus: list[str], vocab_size: int = 300):
    """A byte-level BPE trained in memory on ``corpus``: every string encodes, nothing is downloaded."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(corpus, trainer=trainer)
    return tk


CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{% endif %}</s>\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
)


def save_vlm(path: str | Path, seed: int = 0, reply: str | None = None) -> str:
    """A LLaVA-style VLM (2-layer CLIP ViT on 28 px + 1-layer Llama) with a chat template.

    With ``reply`` (words that are single tokens, e.g. "red box") the language model is wired to answer
    every prompt with exactly that text, then end: see `_wire_reply`."""
    from transformers import (CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor, PreTrainedTokenizerFast)
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    special = ["<pad>", "<s>", "</s>", "<image>"]
    corpus = ["the red chair next to the table", "the lamp on the left of the sofa", "a blue cup in the box",
              "describe the object in the red box", "user assistant"]
    tk = byte_bpe_tokenizer(special, corpus)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        extra_special_tokens={"image_token": "<image>"})
    processor = LlavaProcessor(image_processor=CLIPImageProcessorPil(size={"shortest_edge": 28},
                                                                     crop_size={"height": 28, "width": 28}),
                               tokenizer=tokenizer, patch_size=7, vision_feature_select_strategy="default",
                               chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                                       image_size=28, patch_size=7, projection_dim=16),
        text_config=LlamaConfig(vocab_size=tk.get_vocab_size(), hidden_size=32, intermediate_size=64,
                                num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                max_position_embeddings=256, bos_token_id=tk.token_to_id("<s>"),
                                eos_token_id=tk.token_to_id("</s>"), pad_token_id=tk.token_to_id("<pad>")),
        image_token_index=tk.token_to_id("<image>"), image_seq_length=16, vision_feature_layer=-1)
    _seed(seed)
    model = LlavaForConditionalGeneration(config)
    if reply is not None:
        prompt = processor.apply_chat_template([{"role": "user", "content": [{"type": "text", "text": "?"}]}],
                                               add_generation_prompt=True, tokenize=False)
        words = [tk.token_to_id("Ġ" + w) for w in reply.split()]
        assert None not in words, f"every word of {reply!r} must be one token"
        _wire_reply(model, tk.encode(prompt).ids[-1], words, tk.token_to_id("</s>"))
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)


def _wire_reply(model, last_prompt_token: int, reply: list[int], eos: int) -> None:
    """Make greedy decoding continue the prompt with ``reply`` then ``eos``: the decoder layers write
    nothing into the residual stream, so at every position the final hidden state is the current
    token's embedding; token k of the chain embeds as basis vector k, and the LM head maps basis
    vector k to the next token of the chain."""
    import torch

    lm = model.model.language_model
    chain = [last_prompt_token, *reply]
    assert len(set(chain)) == len(chain) <= lm.config.hidden_size
    with torch.no_grad():
        lm.embed_tokens.weight.zero_()
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        lm.norm.weight.fill_(1.0)
        model.lm_head.weight.zero_()
        for k, (token, following) in enumerate(zip(chain, [*reply, eos])):
            lm.embed_tokens.weight[token, k] = 1.0
            model.lm_head.weight[following, k] = 10.0


def random_rgb(width: int = 512, height: int = 384, seed: int = 0) -> np.ndarray:
    """A smooth random image (blocky colours), closer to a photo than white noise."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(height // 32 + 1, width // 32 + 1, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, 32, axis=0), 32, axis=1)[:height, :width].copy()


def write_image(directory: str | Path, rgb: np.ndarray, image_id: str = "img0", drop_id: str = "tiny"):
    """Save ``rgb`` as PNG and return the `ImageRef` backends read it through."""
    from hispatial_assets.storage.images import ImageRef
    from hispatial_assets.storage import io

    uri = str(Path(directory) / f"{image_id}.png")
    io.write_bytes(uri, io.encode_png(rgb))
    return ImageRef(drop_id=drop_id, image_id=image_id, uri=uri, width=rgb.shape[1], height=rgb.shape[0])
