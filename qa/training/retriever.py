"""Fine-tune the packaged MiniLM as reportqa's retriever: in-batch and BM25 hard negatives, checkpointed, resumable."""

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from sentence_transformers.util import batch_to_device
from tqdm import tqdm

from embeddings.encoder import Encoder, packaged_model_path
from embeddings.precision import cpu_has_bf16
from qa.training.checkpoints import resume, save_checkpoint, seed_everything
from qa.training.retriever_card import write_model_card
from qa.training.retriever_data import HeldOutSet, RetrieverData, Triple, batch_order, load_retriever_data

CHECKPOINT = "checkpoint.pt"
RECIPE = "training.json"
REPORT = "report.json"
RECALL_AT = (1, 5, 20)


@dataclass
class RetrieverConfig:
    """Everything that decides the trained weights; a resumed run must use the same values.

    Args:
        data: SQuAD-format training files.
        epochs: passes over the triples (default 1).
        batch_size: triples per step (default 64); each question is scored against the batch's
            positives and negatives, so a larger batch is a harder lesson.
        learning_rate: peak AdamW learning rate (default 2e-5, sentence-transformers' own), reached after
            `warmup` of the steps, then falling linearly to 0.
        warmup: share of steps with a rising learning rate (default 0.1).
        scale: the loss's inverse temperature on cosine similarities (default 20, the library's).
        held_out_percent: articles of each file kept out for validation, in percent (default 5; at least one).
        pairs_per_file: at most this many training questions sampled from the named files (default: all).
        seed: seeds question sampling, negatives, batch order and dropout (default 13).
        bf16: bfloat16 autocast on a GPU, and on a CPU that supports it (default True).
        freeze_word_embeddings: leave the word embeddings as MiniLM has them (default True): they are half
            the weights, the optimiser's work halves, and words rare in the data keep their vectors.
    """

    data: list[str] = field(default_factory=list)
    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-5
    warmup: float = 0.1
    scale: float = 20.0
    held_out_percent: float = 5.0
    pairs_per_file: dict[str, int] = field(default_factory=dict)
    seed: int = 13
    bf16: bool = True
    freeze_word_embeddings: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch size must be at least 1, got {self.epochs} and {self.batch_size}")
        if not self.learning_rate >= 0:
            raise ValueError(f"the learning rate must be 0 or more, got {self.learning_rate}")
        names = {Path(p).name for p in self.data}
        unknown = sorted(set(self.pairs_per_file) - names)
        if unknown:
            # A misspelt name would silently leave that file uncapped.
            raise ValueError(
                f"pairs per file for {', '.join(unknown)}: not among the data ({', '.join(sorted(names))})"
            )


# Over 60 lines: the training recipe reads top to bottom (load, schedule, resume, loop, validate, export).
def train_retriever(
    config: RetrieverConfig,
    out: Path,
    time_budget_s: float | None = None,
    device: str = "cpu",
    command: str | None = None,
    export_stopped: bool = False,
) -> dict | None:
    """Train, checkpointing to `out`; when done, write `out/model/` and `out/report.json`.

    Args:
        config: the training settings.
        out: folder for `checkpoint.pt`, and at the end `model/` (a sentence-transformers folder with a
            model card) and `report.json` (recall on the held-out articles, base MiniLM and trained).
        time_budget_s: stop after about this many seconds, with a checkpoint to resume from (default: none).
        device: "cpu" or "cuda".
        command: the command line that trained it, for the model card.
        export_stopped: when the budget stops the run, write `model/` and the report as they stand too,
            the recipe and report saying where it stopped (`stopped_at_step`) (default: False).

    Returns:
        The report when `model/` was written (with `stopped_at_step` when the budget stopped it); None when
        the budget ran out first and `export_stopped` is False.
    """
    began = time.monotonic()
    if device not in ("cpu", "cuda") or (device == "cuda" and not torch.cuda.is_available()):
        raise ValueError(f"device {device!r}: use cpu, or cuda where torch sees a CUDA GPU")
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    encoder = Encoder(packaged_model_path(), device=device)
    model = encoder.model
    files = [Path(p) for p in config.data]
    data = load_retriever_data(files, encoder.tokenize, config.held_out_percent, config.seed, config.pairs_per_file)
    if not data.triples:
        raise ValueError(f"no training questions with an answer inside a passage in {', '.join(config.data)}")
    # Every epoch's order is fixed by the seed, so a resumed run takes the same batches from where it stopped.
    batches = [
        b for epoch in range(config.epochs) for b in batch_order(data.triples, config.batch_size, config.seed + epoch)
    ]
    print(f"{len(data.triples):,} training triples, {len(batches):,} steps; {json.dumps(data.counts)}", flush=True)
    autocast = device != "cpu" or (config.bf16 and cpu_has_bf16())

    if config.freeze_word_embeddings:
        for name, parameter in model.named_parameters():
            if name.endswith("embeddings.word_embeddings.weight"):
                parameter.requires_grad_(False)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=0.01)
    total_steps = len(batches)
    warmup_steps = max(1, int(total_steps * config.warmup))
    decay_steps = max(1, total_steps - warmup_steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup_steps, max(0.0, (total_steps - step) / decay_steps))
    )
    loss_function = MultipleNegativesRankingLoss(model, scale=config.scale)
    step = resume(out / CHECKPOINT, config, model, optimizer, schedule)

    model.train()
    progress = tqdm(total=total_steps, initial=step, unit="step", dynamic_ncols=True)
    last_checkpoint = time.monotonic()
    while step < total_steps:
        loss = _step(model, loss_function, [data.triples[i] for i in batches[step]], device, autocast)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.3f}", lr=f"{schedule.get_last_lr()[0]:.2e}")
        out_of_time = time_budget_s is not None and time.monotonic() - began > time_budget_s
        if out_of_time or time.monotonic() - last_checkpoint > 600 or step == total_steps:
            save_checkpoint(out / CHECKPOINT, config, model, optimizer, schedule, step)
            last_checkpoint = time.monotonic()
        if out_of_time and step < total_steps:
            progress.close()
            print(f"time budget reached at step {step:,} of {total_steps:,}; run the same command again to resume")
            if not export_stopped:
                return None
            run = {"steps": total_steps, "stopped_at_step": step, "command": command}
            return _finish(model, data, config, out, device, run)
    progress.close()
    return _finish(model, data, config, out, device, {"steps": total_steps, "command": command})


def _step(
    model: SentenceTransformer, loss_function: torch.nn.Module, batch: list[Triple], device: str, autocast: bool
) -> torch.Tensor:
    """The loss of one batch: each question against every positive and negative passage of the batch."""
    columns = [[triple.texts()[column] for triple in batch] for column in range(3)]
    features = [batch_to_device(model.preprocess(texts), device) for texts in columns]
    with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
        return loss_function(features, torch.empty(0))


def _finish(
    model: SentenceTransformer, data: RetrieverData, config: RetrieverConfig, out: Path, device: str, run: dict
):
    """Save the model folder, then measure it and the base MiniLM on the held-out articles; the report."""
    folder = out / "model"
    model.eval()
    # float32: loaded in float16, sentence-transformers would run it so on a CPU, slowly.
    model.to("cpu").float().save(str(folder), create_model_card=False)
    recipe = {**asdict(config), "data": [Path(p).name for p in config.data], **run}
    (folder / RECIPE).write_text(json.dumps(recipe, indent=2) + "\n")
    report = {
        **({"stopped_at_step": run["stopped_at_step"]} if "stopped_at_step" in run else {}),
        "held_out": {s.file: {"articles": s.titles, "passages": len(s.passages)} for s in data.held_out},
        "counts": data.counts,
        "base": held_out_recall(Encoder(packaged_model_path(), device=device), data.held_out),
        "trained": held_out_recall(Encoder(folder, device=device), data.held_out),
    }
    (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    write_model_card(folder, recipe, report)
    return report


def held_out_recall(encoder: Encoder, held_out: list[HeldOutSet]) -> dict[str, dict[str, float]]:
    """Recall@k of each file's held-out questions among its held-out passages, by cosine (dense only).

    A question is found at k when one of its top k passages holds one of its answers' spans in its own
    paragraph; "all" weighs the files by their questions.
    """
    recall: dict[str, dict[str, float]] = {}
    found_all = np.zeros(len(RECALL_AT))
    for held in held_out:
        if not held.questions or not held.passages:
            continue
        passages = encoder.encode([p.text for p in held.passages])
        questions = encoder.encode([q.question for q in held.questions])
        ranks = np.argsort(-(questions @ passages.T), axis=1, kind="stable")[:, : max(RECALL_AT)]
        first = [
            next((r for r, i in enumerate(row) if held.passages[i].holds(q.document_id, q.answers)), None)
            for q, row in zip(held.questions, ranks, strict=True)
        ]
        found = np.array([sum(r is not None and r < k for r in first) for k in RECALL_AT])
        found_all += found
        recall[held.file] = {"questions": len(held.questions), **_at(found / len(held.questions))}
    asked = sum(v["questions"] for v in recall.values())
    recall["all"] = {"questions": asked, **_at(found_all / max(asked, 1))}
    return recall


def _at(shares: np.ndarray) -> dict[str, float]:
    return {f"recall@{k}": round(float(share), 4) for k, share in zip(RECALL_AT, shares, strict=True)}
