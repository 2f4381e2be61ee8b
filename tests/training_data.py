"""A tiny SQuAD-format training file and the settings that train on it in seconds."""

import json
from pathlib import Path

from qa.training.trainer import TrainingConfig

FACTS = [
    ("Sergei Shoigu is the defence minister of Russia.", "Who is the defence minister of Russia?", "Sergei Shoigu"),
    ("The summit took place in Beijing in June.", "Where did the summit take place?", "Beijing"),
    ("The agreement was signed by twelve countries.", "How many countries signed the agreement?", "twelve"),
    ("Exports of grain rose by ten percent last year.", "What rose by ten percent?", "Exports of grain"),
]


def squad_file(tmp_path: Path) -> Path:
    articles = []
    for a, (fact, question, answer) in enumerate(FACTS * 3):
        context = f"Report {a}. {fact}"
        qa = {"id": f"q{a}", "question": question, "answers": [{"text": answer, "answer_start": context.index(answer)}]}
        articles.append({"title": f"article {a}", "paragraphs": [{"context": context, "qas": [qa]}]})
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"data": articles}), encoding="utf-8")
    return path


def tiny_config(path: Path) -> TrainingConfig:
    return TrainingConfig(data=[str(path)], batch_size=4, max_length=48, stride=16, held_out_percent=20.0, bf16=False)
