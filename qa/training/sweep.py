"""Train several reader candidates side by side on one GPU, and pack each for a small file transfer.

Run from the repository root, with nothing but torch, transformers and sentence-transformers
installed (no `pip install` of the project):

    python3 -m qa.training.sweep train --data /tmp/train --out OUT --budget 420 \\
        --candidate 'A={"epochs": 3, "learning_rate": 5e-5, "seed": 20}' \\
        --candidate 'B={"epochs": 2, "learning_rate": 3e-5, "seed": 21}'
    python -m qa.training.sweep unpack OUT A /tmp/reader-A/model

Each candidate continues from `--init` (default: the shipped reader) with `TrainingConfig` fields
from its JSON. A candidate its budget stops is still packed, from its last step, and its recipe
says where it stopped (`stopped_at_step`), since no `train-reader` command repeats it exactly.
"""

import argparse
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
from pathlib import Path

from qa.readers.span import SHIPPED_MODEL
from qa.training.parts import pack_weights, unpack_weights
from qa.training.trainer import TrainingConfig, train_reader, training_recipe

# The file beside the parts that names them; one file for all candidates, since few files may travel
SWEEP = "sweep.json"


def train_candidate(name: str, config: TrainingConfig, run: Path, budget_s: float, device: str) -> None:
    """Train one candidate in `run` from scratch, leaving its model in `run/model` even when stopped."""
    # A leftover checkpoint from other settings would refuse to resume; this sweep always starts afresh
    shutil.rmtree(run, ignore_errors=True)
    began = time.monotonic()
    finished = train_reader(config, run, time_budget_s=budget_s, device=device, export_stopped=True)
    print(f"{name}: {'finished' if finished else 'stopped'} in {time.monotonic() - began:.0f} s", flush=True)


def _candidates(values: list[str], data: list[str], init: Path) -> dict[str, TrainingConfig]:
    candidates = {}
    for value in values:
        name, _, settings = value.partition("=")
        # The name goes into file names that must survive the trip back
        if not re.fullmatch(r"[A-Za-z0-9_]+", name) or name in candidates:
            raise SystemExit(f"--candidate {value!r}: expected a new NAME=JSON, NAME of ASCII letters, digits and _")
        try:
            candidates[name] = TrainingConfig(**{**json.loads(settings), "data": data, "init": str(init)})
            # Settings that training would refuse fail here, before any candidate starts
            training_recipe(candidates[name])
        except (json.JSONDecodeError, TypeError, ValueError) as error:
            raise SystemExit(f"--candidate {name}: {error}") from None
    return candidates


# Over 60 lines: the sweep's whole command line, then one loop that starts, waits for and packs each candidate.
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qa.training.sweep", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train the candidates at once and pack each into --out")
    train.add_argument("--data", type=Path, required=True, help="a folder of SQuAD-format .json files")
    train.add_argument("--out", type=Path, required=True, help="folder for the packed weights")
    train.add_argument(
        "--candidate",
        action="append",
        required=True,
        metavar="NAME=JSON",
        help="TrainingConfig fields of one candidate; repeatable",
    )
    train.add_argument("--init", type=Path, default=SHIPPED_MODEL, help="reader to continue from (default: shipped)")
    train.add_argument("--budget", type=float, required=True, help="seconds each candidate may train")
    train.add_argument("--work", type=Path, default=Path("/tmp"), help="folder for the runs (default /tmp)")
    train.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cuda (default) or cpu")
    unpack = commands.add_parser("unpack", help="rebuild a packed candidate's model folder")
    unpack.add_argument("source", type=Path, help="the folder the packed files came back to")
    unpack.add_argument("name", help="the candidate's NAME")
    unpack.add_argument("folder", type=Path, help="model folder to write")
    unpack.add_argument("--init", type=Path, default=SHIPPED_MODEL, help="the --init it was trained from")
    args = parser.parse_args(argv)

    if args.command == "unpack":
        try:
            manifests = json.loads((args.source / SWEEP).read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"{args.source}: no readable {SWEEP} from a sweep ({error})") from None
        if args.name not in manifests:
            raise SystemExit(f"{args.source / SWEEP} names {', '.join(manifests)}, not {args.name}")
        # A missing or damaged part, or another --init, is a message, not a traceback
        try:
            unpack_weights(args.source, manifests[args.name], args.init, args.folder)
        except (OSError, ValueError) as error:
            raise SystemExit(str(error)) from None
        print(f"{args.folder}: weights match the packed digest")
        return 0
    data = [str(path) for path in sorted(args.data.glob("*.json"))]
    if not data:
        raise SystemExit(f"--data {args.data}: no .json files")
    init = args.init.resolve()
    candidates = _candidates(args.candidate, data, init)
    # The candidates share one log: a progress line each half minute is enough
    os.environ.setdefault("TQDM_MININTERVAL", "30")
    args.out.mkdir(parents=True, exist_ok=True)
    # One process per candidate: they share the GPU, each with its own CUDA context
    context = multiprocessing.get_context("spawn")
    runs = {name: args.work / f"run-{name}" for name in candidates}
    processes = [
        context.Process(target=train_candidate, name=name, args=(name, config, runs[name], args.budget, args.device))
        for name, config in candidates.items()
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [process.name for process in processes if process.exitcode != 0]
    # Packing takes seconds on the CPU, once every candidate is done with the GPU
    packed = {
        name: pack_weights(runs[name] / "model", init, args.out, name) for name in candidates if name not in failed
    }
    (args.out / SWEEP).write_text(json.dumps(packed, indent=2) + "\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
