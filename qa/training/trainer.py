"""Fine-tune a span reader from the packaged MiniLM weights (or a trained reader): seeded, checkpointed, resumable."""

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from tqdm import tqdm
from transformers import BertForQuestionAnswering
from transformers.utils import logging as transformers_logging

from embeddings.encoder import packaged_model_path
from embeddings.precision import cpu_has_bf16
from embeddings.tokenizer import load_tokenizer
from qa.readers.windows import pad_windows
from qa.training.checkpoints import resume, save_checkpoint, seed_everything
from qa.training.examples import LabelledWindow, batch_order, label_windows, load_examples

CHECKPOINT = "checkpoint.pt"
RECIPE = "training.json"


@dataclass
class TrainingConfig:
    """Everything that decides the trained weights; a resumed run must use the same values.

    Args:
        data: SQuAD-format training files.
        epochs: passes over the training windows (default 1).
        batch_size: windows per step (default 32).
        learning_rate: peak AdamW learning rate (default 1e-4), reached after `warmup` of the steps.
        warmup: share of steps with a rising learning rate (default 0.06); it then falls linearly to 0.
        max_length: tokens per window (default 256).
        stride: tokens shared by consecutive windows of a long context (default 96).
        negative_rate: share of questions also paired with a paragraph that lacks the answer (default 0.2).
        held_out_percent: articles kept out for calibration, in percent of each file (default 8).
        max_questions_per_file: questions sampled from each file at most (default 10,000).
        questions_per_file: caps for named files in place of `max_questions_per_file`, e.g.
            `{"qamr.json": 3000}` (default: none).
        seed: seeds data order, negatives and the new head's initialisation (default 13).
        bf16: bfloat16 mixed precision (default True; always on a GPU, and on a CPU only where it
            supports bfloat16: emulated, it is many times slower than float32).
        init: a trained reader's folder to continue from (default: none, start from the packaged MiniLM).
    """

    data: list[str] = field(default_factory=list)
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.06
    max_length: int = 256
    stride: int = 96
    negative_rate: float = 0.2
    held_out_percent: float = 8.0
    max_questions_per_file: int | None = 10_000
    questions_per_file: dict[str, int] = field(default_factory=dict)
    seed: int = 13
    bf16: bool = True
    init: str | None = None

    def __post_init__(self) -> None:
        # Refused before hours of data loading and training, not by the optimiser or as a 0-step "model".
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch size must be at least 1, got {self.epochs} and {self.batch_size}")
        if not self.learning_rate >= 0:
            raise ValueError(f"the learning rate must be 0 or more, got {self.learning_rate}")


# Over 60 lines: the training recipe reads top to bottom (load, label, schedule, resume, loop, export).
def train_reader(
    config: TrainingConfig,
    out: Path,
    time_budget_s: float | None = None,
    device: str = "cpu",
    export_stopped: bool = False,
) -> bool:
    """Train, checkpointing to `out`, and write the final fp16 model to `out/model` when done.

    Args:
        config: the training settings.
        out: folder for `checkpoint.pt` and, at the end, `model/`.
        time_budget_s: stop after about this many seconds, with a checkpoint to resume from (default: none).
        device: "cpu" or "cuda".
        export_stopped: when the budget stops the run, write `model/` as it stands too, its recipe
            saying where it stopped (`stopped_at_step`) (default: False).

    Returns:
        True when training finished and the model was written; False when the budget ran out first.
    """
    began = time.monotonic()
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise ValueError(f"device {device!r}: use cpu, or cuda where torch sees a CUDA GPU")
    # Read the recipe first: a bad --init must fail now, not at export after hours of training
    recipe = training_recipe(config)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    transformers_logging.set_verbosity_error()
    base = Path(config.init) if config.init else packaged_model_path()
    tokenizer = load_tokenizer(base)
    # A shipped reader is stored in fp16; the optimiser needs fp32 master weights
    model = BertForQuestionAnswering.from_pretrained(str(base), dtype=torch.float32).to(device)
    # The word embeddings are half the weights and the embedder already tuned them; freezing them
    # halves the optimiser's work.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)

    # Read and label the training windows (a deterministic function of the config)
    examples = load_examples(
        [Path(p) for p in config.data],
        config.held_out_percent,
        "train",
        config.negative_rate,
        config.seed,
        config.max_questions_per_file,
        config.questions_per_file,
    )
    windows = label_windows(tokenizer, examples, config.max_length, config.stride)
    if not windows:
        raise ValueError(f"no training questions with answers in {', '.join(config.data)}")
    # One epoch's order is kept at a time; every epoch has the same number of batches.
    orders = {0: batch_order(windows, config.batch_size, config.seed)}
    steps_per_epoch = len(orders[0])
    total_steps = steps_per_epoch * config.epochs
    print(f"{len(examples):,} examples, {len(windows):,} windows, {total_steps:,} steps", flush=True)
    autocast = device != "cpu" or (config.bf16 and cpu_has_bf16())
    if config.bf16 and not autocast:
        print("this CPU has no bfloat16 support: training in float32", flush=True)

    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=0.01)
    warmup_steps = max(1, int(total_steps * config.warmup))
    # A run of one step (a small file) is all warm-up: the decay must not divide by zero.
    decay_steps = max(1, total_steps - warmup_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup_steps, max(0.0, (total_steps - step) / decay_steps))
    )
    step = resume(out / CHECKPOINT, config, model, optimizer, schedule)

    # Train from `step` on; each epoch's order depends only on the seed and the epoch
    model.train()
    progress = tqdm(total=total_steps, initial=step, unit="step", dynamic_ncols=True)
    last_checkpoint = time.monotonic()
    while step < total_steps:
        epoch, position = divmod(step, steps_per_epoch)
        if epoch not in orders:
            orders = {epoch: batch_order(windows, config.batch_size, config.seed + epoch)}
        batch = orders[epoch][position]
        loss = _step(model, [windows[i] for i in batch], tokenizer.pad_token_id, device, autocast)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        progress.update(1)
        progress.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", lr=f"{schedule.get_last_lr()[0]:.2e}")
        out_of_time = time_budget_s is not None and time.monotonic() - began > time_budget_s
        if out_of_time or time.monotonic() - last_checkpoint > 600 or step == total_steps:
            save_checkpoint(out / CHECKPOINT, config, model, optimizer, schedule, step)
            last_checkpoint = time.monotonic()
        if out_of_time and step < total_steps:
            progress.close()
            print(f"time budget reached at step {step:,} of {total_steps:,}; run the same command again to resume")
            if export_stopped:
                export_model(model, tokenizer, out / "model", {**recipe, "stopped_at_step": step})
            return False
    progress.close()
    export_model(model, tokenizer, out / "model", recipe)
    return True


def _step(model: BertForQuestionAnswering, batch: list[LabelledWindow], pad_id: int, device: str, autocast: bool):
    inputs = {k: torch.from_numpy(v).to(device) for k, v in pad_windows([w.window for w in batch], pad_id).items()}
    starts = torch.tensor([w.start_token for w in batch], device=device)
    ends = torch.tensor([w.end_token for w in batch], device=device)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
        return model(**inputs, start_positions=starts, end_positions=ends).loss


def training_recipe(config: TrainingConfig) -> dict:
    """The settings written to `training.json`; a continued run nests its init model's recipe under `init`.

    Raises:
        ValueError: `config.init` is not a folder written by `reportqa train-reader`, or
            `config.questions_per_file` names a file that is not among the data.
    """
    recipe = {**asdict(config), "data": [Path(p).name for p in config.data]}
    unknown = sorted(set(config.questions_per_file) - set(recipe["data"]))
    if unknown:
        # A misspelt name would silently leave that file at the general cap.
        raise ValueError(
            f"questions per file for {', '.join(unknown)}: not among the data files "
            f"({', '.join(sorted(recipe['data']))})"
        )
    if config.init:
        # The chain of recipes lets the whole model be replayed
        recipe["init"] = read_recipe(Path(config.init), "--init")
    return recipe


def read_recipe(folder: Path, option: str) -> dict:
    """The recipe in a folder written by `train-reader`; `option` names where the folder was given."""
    path = folder / RECIPE
    if not path.is_file():
        raise ValueError(f"{option} {folder} has no {RECIPE}: pass a folder written by train-reader")
    return json.loads(path.read_text())


def export_model(model: BertForQuestionAnswering, tokenizer, folder: Path, recipe: dict) -> None:
    """Write fp16 safetensors weights, the tokenizer and the training recipe to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    model.to("cpu").half().save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    (folder / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n")
