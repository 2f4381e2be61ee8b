"""Seeding, and checkpoints a killed or time-boxed training run resumes from, for every trainer here."""

import os
import random
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def save_checkpoint(path: Path, config: Any, model, optimizer, schedule, step: int) -> None:
    """Write the run's state at `step`; `config` is the run's settings dataclass, checked on resume."""
    state = {
        "config": asdict(config),
        "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    # Write then rename, so that a kill mid-save leaves the previous checkpoint intact
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def resume(path: Path, config: Any, model, optimizer, schedule) -> int:
    """Load the checkpoint at `path` into the run, if there is one; the step to go on from (0 for none).

    Raises:
        ValueError: the checkpoint was made with other settings than `config`.
    """
    if not path.exists():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["config"] != asdict(config):
        raise ValueError(f"{path} was made with other settings ({state['config']}); use them or another --out")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    torch.set_rng_state(state["torch_rng"])
    # Checkpoints written before CUDA's generators were saved have no "cuda_rng".
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    print(f"resuming from step {state['step']:,}", flush=True)
    return state["step"]
