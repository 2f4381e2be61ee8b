"""A trained reader's weights in parts small enough to carry, less the word embeddings it never trained."""

import hashlib
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from embeddings.tokenizer import load_tokenizer

# train_reader freezes them: a trained reader holds its init model's word embeddings unchanged
FROZEN = "bert.embeddings.word_embeddings.weight"
WEIGHTS = "model.safetensors"
# Files that travel as text in the manifest; the tokenizer is no weight and is made again from init
FILES = ("config.json", "training.json")


def pack_weights(model: Path, init: Path, out: Path, name: str, part_bytes: int = 15 * 2**20) -> dict:
    """Write `model`'s trained weights as `{name}.part{i}.safetensors` files; return what rebuilds them.

    Args:
        model: a folder written by `train_reader` (fp16 `model.safetensors`, config, tokenizer, recipe).
        init: the folder it was trained from, which holds the same word embeddings.
        out: folder for the parts.
        name: prefix of the files.
        part_bytes: most tensor bytes per part (default 15 MiB).

    Returns:
        The manifest (plain JSON): the part names, a digest of every weight (word embeddings
        included), and the text of the model's config and training recipe.

    Raises:
        ValueError: the word embeddings differ from `init`'s, or one tensor exceeds `part_bytes`.
    """
    tensors = load_file(model / WEIGHTS)
    part_files: list[str] = []
    manifest = {
        "name": name,
        "digest": tensor_digest(tensors),
        "parts": part_files,
        "files": {file: (model / file).read_text(encoding="utf-8") for file in FILES},
    }
    # Left out, the embeddings must come back bit for bit from init's copy
    if not torch.equal(tensors.pop(FROZEN), _init_embeddings(init)):
        raise ValueError(f"{model}: its word embeddings differ from {init}'s; pack the whole folder instead")

    # Fill each part up to part_bytes, in a fixed key order
    parts: list[dict[str, torch.Tensor]] = [{}]
    filled = 0
    for key in sorted(tensors):
        size = tensors[key].numel() * tensors[key].element_size()
        if size > part_bytes:
            raise ValueError(f"{key} holds {size:,} bytes, more than a part's {part_bytes:,}")
        if filled + size > part_bytes:
            parts.append({})
            filled = 0
        parts[-1][key] = tensors[key]
        filled += size
    out.mkdir(parents=True, exist_ok=True)
    for number, part in enumerate(parts):
        file = f"{name}.part{number}.safetensors"
        save_file(part, out / file)
        part_files.append(file)
    return manifest


def unpack_weights(source: Path, manifest: dict, init: Path, folder: Path) -> None:
    """Rebuild the model folder that `pack_weights` took apart, checking every weight's digest.

    Args:
        source: the folder holding the parts.
        manifest: what `pack_weights` returned.
        init: the folder the model was trained from, for its word embeddings and tokenizer.
        folder: the model folder to write.

    Raises:
        ValueError: the rebuilt weights do not match the manifest's digest.
    """
    tensors = {FROZEN: _init_embeddings(init)}
    for part in manifest["parts"]:
        tensors.update(load_file(source / part))
    if tensor_digest(tensors) != manifest["digest"]:
        raise ValueError(
            f"{manifest['name']}: the rebuilt weights do not match the packed ones (another --init, or a damaged part)"
        )

    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, folder / WEIGHTS, metadata={"format": "pt"})
    for file, text in manifest["files"].items():
        (folder / file).write_text(text, encoding="utf-8")
    # Training saved the tokenizer as this call reads it from init (truncation aside, set at each reading)
    load_tokenizer(init).save_pretrained(folder)


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    # Not the file's SHA-256 (onnx_encoder.weights_file_sha256): the GPU machine's safetensors and
    # transformers may lay out or annotate the file otherwise than the versions here
    digest = hashlib.sha256()
    for key in sorted(tensors):
        tensor = tensors[key].contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.flatten().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _init_embeddings(init: Path) -> torch.Tensor:
    with safe_open(str(init / WEIGHTS), "pt") as weights:
        names = weights.keys()
        if FROZEN not in names:
            raise ValueError(f"{init} is not a span reader's folder: its weights have no {FROZEN}")
        return weights.get_tensor(FROZEN)
