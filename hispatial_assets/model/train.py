"""Supervised fine-tuning of the RGB-XYZ VLM: one readable loop (paper "Loss & Training").

    cfg = TrainConfig(rows_uri=".../tables/sft/recipe=full/part.parquet", out_dir="models/recipe=full/run=...")
    last = train(cfg)          # -> out_dir/step_000300

Cross-entropy on answer tokens (the processor masks the prompt), AdamW, linear warmup then cosine
decay, gradient accumulation and clipping. The vision tower is frozen; the XYZ patchify conv, both
projectors and the LLM train. On CUDA: bf16 autocast over float32 master weights and gradient
checkpointing. DDP iff ``RANK`` is set (``torchrun --nproc-per-node N -m hispatial_assets.model.train
CONFIG.json``); gradients sync on the last micro-step; rank 0 logs and saves.

A checkpoint is ``out_dir/step_NNNNNN/``: ``model.safetensors`` + ``config.json`` (``save_pretrained``),
the processor, ``training_state.pt`` (optimizer, step, RNG) and ``trainer_state.json`` (losses,
history, config). Each is written to a temporary folder and renamed, so a kill never leaves a torn one,
and ``resume=True`` continues from the newest: the data order and the learning rate are functions of
the step, so the resumed run reaches the same weights as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
import uuid
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import polars as pl
import torch

STEP_PREFIX = "step_"
STATE_FILE = "training_state.pt"
TRAINER_STATE_FILE = "trainer_state.json"


@dataclass(frozen=True)
class TrainConfig:
    rows_uri: str  # SFT rows (Parquet): question, answer, image_uri, point_map_uri, split
    out_dir: str  # a local folder; checkpoints go to out_dir/step_NNNNNN
    input_mode: str = "rgb_xyz"
    recipe: str = ""  # recorded in the checkpoint, for the predictor
    base_path: str | None = None  # local PaliGemma2 checkpoint; None: the tiny random-init default
    model: dict = field(default_factory=dict)  # HiSpatialConfig overrides for the tiny default
    vocab_size: int = 1024  # BPE size of the tiny default's tokenizer
    max_steps: int = 300
    batch_size: int = 8  # per device and micro-step
    grad_accum: int = 1
    lr: float = 1e-3  # the paper's 2e-5 is for the 3B base
    weight_decay: float = 0.01
    warmup_steps: int = 20
    min_lr_ratio: float = 0.1
    clip_norm: float = 1.0
    seed: int = 0
    save_every: int = 100
    log_every: int = 20
    max_val_rows: int = 64
    device: str = "auto"  # auto: cuda:LOCAL_RANK when available, else cpu
    bf16: bool | None = None  # None: on CUDA
    gradient_checkpointing: bool | None = None  # None: on CUDA
    num_workers: int = 0
    resume: bool = True
    # Intra-op threads on CPU. The tiny model's ops are too small to gain from more, and on a shared
    # machine spinning OpenMP threads lose badly (measured here under load: 1 thread 8x faster than 2).
    cpu_threads: int = 1


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to ``lr``, then cosine down to ``min_lr_ratio * lr`` at ``max_steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def step_dirs(out_dir: str | Path) -> list[Path]:
    """Complete checkpoints (renamed into place), oldest first."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    return sorted(p for p in out.iterdir() if p.is_dir() and p.name.startswith(STEP_PREFIX)
                  and (p / STATE_FILE).exists())


def read_trainer_state(path: str | Path) -> dict:
    return json.loads((Path(path) / TRAINER_STATE_FILE).read_text())


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank); (0, 1, 0) unless launched by torchrun."""
    if "RANK" not in os.environ:
        return 0, 1, 0
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))


@contextmanager
def torch_threads(n: int | None):
    """Run with ``n`` intra-op threads (None or 0: leave as is), restoring the process's setting after."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if name == "cuda":
        return torch.device(f"cuda:{local_rank}")
    return torch.device(name)


def _build_model(cfg: TrainConfig, train_rows: pl.DataFrame):
    from hispatial_assets.model.loading import build_default, load_base, load_trained

    if (last := (step_dirs(cfg.out_dir) if cfg.resume else [])):
        return (*load_trained(str(last[-1])), last[-1])
    if cfg.base_path:
        return (*load_base(cfg.base_path, cfg.input_mode), None)
    torch.manual_seed(cfg.seed)
    texts = train_rows["question"].to_list() + train_rows["answer"].to_list()
    return (*build_default(texts, cfg.input_mode, vocab_size=cfg.vocab_size, **cfg.model), None)


def trainable_parameters(model, input_mode: str) -> list[tuple[str, torch.nn.Parameter]]:
    """Freeze the vision tower (and the XYZ branch in ``rgb`` mode, where it never runs); the rest trains."""
    for name, p in model.named_parameters():
        frozen = ".vision_tower." in f".{name}" or (input_mode == "rgb" and ".xyz_" in f".{name}")
        p.requires_grad_(not frozen)
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _optimizer(params: list[tuple[str, torch.nn.Parameter]], cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms, biases)."""
    decay = [p for _, p in params if p.ndim >= 2]
    no_decay = [p for _, p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = all(p.is_cuda for _, p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8, fused=fused or None)


def answer_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy over the answer tokens (the processor's labels), with logits computed only
    where a label is: the same value as the model's own loss, without projecting every image and
    prompt position onto the vocabulary (most of a small model's compute)."""
    batch = dict(batch)
    labels = batch.pop("labels")
    targets = torch.nn.functional.pad(labels[:, 1:], (0, 1), value=-100)  # position t predicts token t + 1
    keep = targets != -100
    logits = model(**batch, logits_to_keep=keep, use_cache=False).logits
    return torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets[keep])


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def evaluate_loss(model, batches, device: torch.device, autocast) -> float | None:
    """Mean loss over the batches (eval mode), or None when there are none."""
    was_training, losses = model.training, []
    model.eval()
    for batch in batches:
        with autocast():
            losses.append(float(answer_loss(model, _to(batch, device))))
    model.train(was_training)
    return sum(losses) / len(losses) if losses else None


def save_checkpoint(out_dir: str | Path, step: int, model, processor, optimizer, trainer_state: dict) -> Path:
    """Write ``step_NNNNNN/`` atomically (a temporary folder renamed into place)."""
    out = Path(out_dir)
    final = out / f"{STEP_PREFIX}{step:06d}"
    tmp = out / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"optimizer": optimizer.state_dict(), "step": step, "rng": rng}, tmp / STATE_FILE)
    (tmp / TRAINER_STATE_FILE).write_text(json.dumps(trainer_state, indent=1, default=str))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _restore(state_dir: Path, optimizer) -> tuple[int, list[dict]]:
    state = torch.load(state_dir / STATE_FILE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return int(state["step"]), read_trainer_state(state_dir).get("history", [])


def train(cfg: TrainConfig, *, log: Callable[[str], Any] = print,
          progress: Callable[[int], Any] | None = None) -> Path:
    """Train (or resume) to ``cfg.max_steps``; returns the last checkpoint's folder. ``progress(n)``:
    n more steps done (the steps a resumed run skips come first)."""
    device = _device(cfg.device, _distributed()[2])
    with torch_threads(cfg.cpu_threads if device.type == "cpu" else None):
        return _train(cfg, device, log, progress or (lambda n: None))


def _train(cfg: TrainConfig, device: torch.device, log: Callable[[str], Any], progress: Callable[[int], Any]) -> Path:
    import torch.distributed as dist

    from hispatial_assets.model.data import Collator, SftDataset, StepSampler
    from hispatial_assets.storage.io import read_parquet

    rank, world, local_rank = _distributed()
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    on_cuda = device.type == "cuda"
    bf16 = on_cuda if cfg.bf16 is None else cfg.bf16
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if bf16 else nullcontext

    rows = read_parquet(cfg.rows_uri)
    train_rows, val_rows = rows.filter(pl.col("split") == "train"), rows.filter(pl.col("split") == "val")
    if not len(train_rows):
        raise ValueError(f"{cfg.rows_uri}: no training rows (split 'train'); are there train drops with QA?")
    model, processor, resumed_from = _build_model(cfg, train_rows)
    model.to(device).train()
    params = trainable_parameters(model, cfg.input_mode)
    if cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else on_cuda:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    optimizer = _optimizer(params, cfg)
    step, history = _restore(resumed_from, optimizer) if resumed_from else (0, [])
    if resumed_from and rank == 0:
        log(f"resumed from {resumed_from} at step {step}")
    progress(step)
    ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if on_cuda else None) \
        if world > 1 else model

    size = model.config.vision_config.image_size
    collate = Collator(processor)
    loader = torch.utils.data.DataLoader(
        SftDataset(train_rows, cfg.input_mode, size),
        batch_sampler=StepSampler(len(train_rows), cfg.batch_size, step * cfg.grad_accum, cfg.max_steps * cfg.grad_accum,
                                  seed=cfg.seed, rank=rank, world=world),
        collate_fn=collate, num_workers=cfg.num_workers, pin_memory=on_cuda)
    val_data = SftDataset(val_rows.head(cfg.max_val_rows), cfg.input_mode, size)
    val_batches = [collate([val_data[i] for i in range(s, min(s + cfg.batch_size, len(val_data)))])
                   for s in range(0, len(val_data), cfg.batch_size)]

    batches, last_dir, t0, window = iter(loader), resumed_from, time.time(), []
    while step < cfg.max_steps:
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_sum = 0.0
        for micro in range(cfg.grad_accum):
            batch = _to(next(batches), device)
            sync = micro == cfg.grad_accum - 1
            with (ddp_model.no_sync() if world > 1 and not sync else nullcontext()):
                with autocast():
                    loss = answer_loss(ddp_model, batch) / cfg.grad_accum
                loss.backward()
            loss_sum += loss.detach()
        grad_norm = torch.nn.utils.clip_grad_norm_([p for _, p in params], cfg.clip_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if world > 1:
            dist.all_reduce(loss_sum)  # SUM: gloo has no AVG
            loss_sum = loss_sum / world
        step += 1
        progress(1)
        history.append({"step": step, "loss": float(loss_sum), "lr": lr, "grad_norm": float(grad_norm)})
        window.append(float(loss_sum))
        if rank == 0 and (step % cfg.log_every == 0 or step == cfg.max_steps):
            rate = len(window) / max(time.time() - t0, 1e-9)
            log(f"step {step}/{cfg.max_steps} loss {sum(window) / len(window):.4f} lr {lr:.2e} "
                f"grad_norm {float(grad_norm):.3f} ({rate:.2f} steps/s)")
        if step % cfg.save_every == 0 or step == cfg.max_steps:
            if rank == 0:
                recent = [h["loss"] for h in history[-cfg.log_every:]]
                val_loss = evaluate_loss(model, val_batches, device, autocast)
                last_dir = save_checkpoint(cfg.out_dir, step, model, processor, optimizer, {
                    "step": step, "recipe": cfg.recipe, "input_mode": cfg.input_mode,
                    "train_loss": sum(recent) / len(recent), "val_loss": val_loss,
                    "train_rows": len(train_rows), "val_rows": len(val_data), "history": history,
                    "saved_at": datetime.now(timezone.utc).isoformat(), "config": dataclasses.asdict(cfg)})
                log(f"saved {last_dir}" + (f" (val loss {val_loss:.4f})" if val_loss is not None else ""))
            if world > 1:
                dist.barrier()
        if step % cfg.log_every == 0:
            t0, window = time.time(), []
    if world > 1:
        dist.destroy_process_group()
    return Path(last_dir) if last_dir else step_dirs(cfg.out_dir)[-1]


def main(argv: list[str] | None = None) -> int:
    """``python -m hispatial_assets.model.train CONFIG.json`` (what ``torchrun`` launches per GPU)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hispatial_assets.model.train CONFIG.json  (TrainConfig fields as JSON)", file=sys.stderr)
        return 2
    cfg = TrainConfig(**json.loads(Path(args[0]).read_text()))
    print(train(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
