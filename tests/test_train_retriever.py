"""`reportqa train-retriever`: triples from SQuAD-format files, held-out articles, a tiny run that resumes."""

import json
from pathlib import Path

import numpy as np
import pytest

from embeddings.encoder import Encoder
from qa.training import retriever
from qa.training.retriever import RetrieverConfig, train_retriever
from qa.training.retriever_data import batch_order, contains_answer, load_retriever_data

PEOPLE = ["Ada Brill", "Ben Corso", "Cleo Dunmore", "Dov Ellery", "Eva Fairlie", "Finn Garrow", "Gil Hartwell"]
RIVERS = ["Kell", "Lune", "Mardle", "Nith", "Orrin", "Pell", "Quarle", "Rusk"]
CROPS = ["barley", "flax", "hops", "oats", "rye", "sorghum", "spelt", "teff"]


def _paragraph(town: str, number: int, seed: int) -> tuple[str, list[dict]]:
    """A paragraph about `town` with two questions; the third of each article is long enough for two passages."""
    person, river, crop = PEOPLE[seed % 7], RIVERS[(seed + number) % 8], CROPS[(seed * 3 + number) % 8]
    year = 1800 + 7 * seed + number
    filler = " ".join(f"The {town} archive keeps ledger {i} of the parish, bound in leather." for i in range(18))
    head = filler + " " if number == 2 else ""
    text = (
        f"{head}In {year}, {person} founded the mill of {town} on the {river}. The mill ground {crop} for the valley."
    )
    questions = [
        (f"Who founded the mill of {town} in {year}?", person),
        (f"What did the {town} mill on the {river} grind?", crop),
    ]
    qas = [
        {"id": f"{town}-{number}-{i}", "question": q, "answers": [{"text": a, "answer_start": text.index(a)}]}
        for i, (q, a) in enumerate(questions)
    ]
    return text, qas


def _squad_file(folder: Path, articles: int = 8) -> Path:
    data = []
    for seed in range(articles):
        town = f"Town{chr(65 + seed)}ville"
        paragraphs = [dict(zip(("context", "qas"), _paragraph(town, n, seed), strict=True)) for n in range(3)]
        data.append({"title": town, "paragraphs": paragraphs})
    path = folder / "towns.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return path


def test_triples_hold_the_answer_in_the_positive_only_and_never_a_held_out_article(tmp_path, encoder) -> None:
    path = _squad_file(tmp_path)
    data = load_retriever_data([path], encoder.tokenize, held_out_percent=5.0, seed=13)
    (held,) = data.held_out
    assert len(held.titles) >= 1, "a small file still keeps an article out"
    counts = data.counts["towns.json"]
    assert counts["pairs"] == len(data.triples) == 48 - 6 * len(held.titles)
    assert counts["held_out_questions"] == 6 * len(held.titles)
    held_texts = {p.text for p in held.passages}
    held_questions = {q.question for q in held.questions}
    for triple in data.triples:
        assert all(answer in triple.positive for answer in triple.answers)
        assert not contains_answer(triple.negative, triple.answers)
        assert triple.title not in held.titles and triple.question not in held_questions
        assert triple.positive not in held_texts and triple.negative not in held_texts
        assert not any(title in triple.positive or title in triple.negative for title in held.titles)
    # The long paragraphs are split: the positive is the passage with the answer, not the whole paragraph.
    long_ones = [t for t in data.triples if "ledger" in t.positive]
    assert long_ones and all("ledger 0 " not in t.positive for t in long_ones)

    batches = batch_order(data.triples, 8, seed=1)
    assert sorted(i for batch in batches for i in batch) == list(range(len(data.triples)))
    for batch in batches:
        texts = [text for i in batch for text in set(data.triples[i].texts())]
        assert len(texts) == len(set(texts)) and len(batch) <= 8


def test_a_stopped_run_resumes_and_writes_a_model_the_encoder_loads(tmp_path, encoder, monkeypatch, capsys) -> None:
    path = _squad_file(tmp_path, articles=3)  # 12 training questions, in 4 steps: no text twice in a batch
    config = RetrieverConfig(data=[str(path)], batch_size=4, learning_rate=1e-4, seed=3)
    steps: list[int] = []
    step = retriever._step

    def counted(*args):
        steps.append(1)
        return step(*args)

    monkeypatch.setattr(retriever, "_step", counted)
    out = tmp_path / "run"

    assert train_retriever(config, out, time_budget_s=0) is None, "the budget stops it after one step"
    assert len(steps) == 1 and (out / "checkpoint.pt").exists() and not (out / "model").exists()
    with pytest.raises(ValueError, match="other settings"):
        train_retriever(RetrieverConfig(data=[str(path)], batch_size=4, seed=4), out)

    report = train_retriever(config, out)
    assert report is not None and "resuming from step 1" in capsys.readouterr().out
    recipe = json.loads((out / "model" / "training.json").read_text())
    assert recipe["steps"] >= 2 and len(steps) == recipe["steps"], "the second run did only the steps left"
    assert json.loads((out / "report.json").read_text()) == report
    assert set(report["trained"]) == {"towns.json", "all"} and 0 <= report["trained"]["all"]["recall@1"] <= 1
    assert "this model" in (out / "model" / "README.md").read_text()

    trained = Encoder(out / "model")
    texts = ["Who founded the mill of TownAville?", "The mill ground barley for the valley."]
    vectors = trained.encode(texts)
    assert vectors.shape == (2, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert not np.allclose(vectors, encoder.encode(texts), atol=1e-4), "training changed the weights"
