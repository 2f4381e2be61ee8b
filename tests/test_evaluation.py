"""SQuAD scoring and the open-book evaluation on a small SQuAD-format file."""

import json
import shutil
from pathlib import Path

import pytest

from qa.evaluation.evaluate import evaluate, evaluate_paragraphs
from qa.evaluation.squad import best_score, exact_match, f1_score, load_squad
from qa.readers.span import SHIPPED_MODEL
from qa.text import normalize_answer


def test_official_normalisation_and_scores() -> None:
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple and a pear") == "apple and pear"
    assert exact_match("the Denver Broncos", "Denver Broncos") == 1.0
    assert f1_score("Denver Broncos won", "Denver Broncos") == pytest.approx(0.8)
    assert f1_score("nothing alike", "Denver Broncos") == 0.0
    assert best_score(f1_score, "Broncos", ["Panthers", "Denver Broncos"]) == pytest.approx(2 / 3)


def _squad_file(tmp_path: Path) -> Path:
    paragraphs = [
        (
            "Sergei Shoigu is the Russian defence minister. He met Zoran Djordjevic in Moscow.",
            [
                ("Who is the Russian defence minister?", "Sergei Shoigu"),
                ("Where did Shoigu meet Djordjevic?", "Moscow"),
            ],
        ),
        (
            "The harbour of Kotor reopened in June after the storm damaged its piers.",
            [("When did the harbour of Kotor reopen?", "June")],
        ),
        (
            "Wheat harvests in Serbia rose by ten percent thanks to a wet spring.",
            [("Why did wheat harvests rise?", "a wet spring")],
        ),
    ]
    data = {
        "data": [
            {
                "title": "Test",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": f"q{i}-{j}",
                                "question": question,
                                "answers": [{"text": answer, "answer_start": context.index(answer)}],
                            }
                            for j, (question, answer) in enumerate(qas)
                        ],
                    }
                    for i, (context, qas) in enumerate(paragraphs)
                ],
            }
        ]
    }
    path = tmp_path / "tiny-squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_squad_keeps_offsets(tmp_path: Path) -> None:
    documents, questions = load_squad(_squad_file(tmp_path))
    assert len(documents) == 3 and len(questions) == 4
    by_id = {d.id: d for d in documents}
    for question in questions:
        start, end, text = question.answers[0]
        assert by_id[question.document_id].text[start:end] == text


def test_evaluate_reports_every_figure(tmp_path: Path, encoder) -> None:
    report = evaluate(_squad_file(tmp_path), encoder=encoder, compare_encode=True)
    assert report["questions"] == 4 and report["documents"] == 3
    for mode in ("dense", "bm25", "hybrid"):
        recall = report["retrieval"][mode]
        assert recall["recall@1"] <= recall["recall@5"] <= recall["recall@20"]
    assert report["retrieval"]["hybrid"]["recall@5"] == 1.0  # three passages: all are in the top 5
    assert report["retrieval"]["dense"]["recall@1"] >= 0.75
    # The span reader (the default) extracts these short answers; its scores are probabilities.
    answers = report["answers"]
    assert answers["exact_match"] >= 50 and answers["f1"] >= answers["exact_match"]
    assert 0 <= answers["ece"] <= 1 and 0 <= answers["f1_with_threshold"] <= answers["f1"]
    assert sum(row["count"] for row in answers["reliability"]) == report["questions"]
    # Every question has a score of at least 0: the lowest threshold answers all of them.
    curve = answers["risk_coverage"]
    assert curve[0]["answered"] == 1.0 and 0 <= curve[0]["right_of_answered"] <= 1
    at_threshold = [row for row in curve if row["threshold"] <= answers["threshold"]][-1]
    assert answers["answered"] <= at_threshold["answered"]
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["read_p50"] > 0
    assert report["ingestion"]["passages_per_s"] > 0 and report["ingestion"]["bare_encode_passages_per_s"] > 0


def test_the_sentence_reader_answers_with_whole_sentences(tmp_path: Path, encoder) -> None:
    report = evaluate(_squad_file(tmp_path), encoder=encoder, reader="sentence", retrieval=False)
    assert report["retrieval"] is None and report["reader"]["name"] == "sentence"
    # Whole sentences against short golds: F1 above 0, EM 0.
    assert 0 < report["answers"]["f1"] < 100 and report["answers"]["exact_match"] == 0


def test_a_retrieval_only_evaluation_asks_nothing(tmp_path: Path, encoder) -> None:
    report = evaluate(_squad_file(tmp_path), encoder=encoder, answers=False)
    assert report["answers"] is None and report["latency_ms"] is None
    assert 0 < report["retrieval"]["dense"]["recall@5"] <= 1 and report["ingestion"]["passages_per_s"] > 0


def test_the_passage_size_sets_how_documents_are_split(tmp_path: Path, encoder) -> None:
    default = evaluate(_squad_file(tmp_path), encoder=encoder, answers=False)
    short = evaluate(_squad_file(tmp_path), encoder=encoder, answers=False, passage_tokens=16, overlap_tokens=0)
    # The first report's two sentences no longer fit one passage.
    assert (default["passages"], short["passages"]) == (3, 4)


def test_open_book_evaluation_reads_with_the_model_it_is_given(tmp_path: Path, encoder) -> None:
    # A copy of the shipped model with its own threshold: the report must carry that threshold.
    model = shutil.copytree(SHIPPED_MODEL, tmp_path / "model")
    calibration = json.loads((model / "calibration.json").read_text())
    (model / "calibration.json").write_text(json.dumps({**calibration, "threshold": 0.99}))
    report = evaluate(_squad_file(tmp_path), encoder=encoder, retrieval=False, model_dir=model)
    assert report["answers"]["threshold"] == 0.99


@pytest.mark.model
def test_paragraph_mode_reads_each_question_against_its_own_paragraph(tmp_path: Path) -> None:
    report = evaluate_paragraphs(_squad_file(tmp_path))
    assert report["mode"] == "paragraph" and report["questions"] == 4 and report["windows"] == 4
    assert report["exact_match"] >= 50 and report["f1"] >= report["exact_match"]
    assert report["windows_per_s"] > 0 and report["latency_ms"]["p50"] > 0
    # The scores given the paragraph are judged as open-book ones are.
    scores = report["scores"]
    assert sum(row["count"] for row in scores["reliability"]) == 4 and 0 <= scores["ece"] <= 1
    assert scores["risk_coverage"][0]["answered"] == 1.0


def test_not_squad_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"rows": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="SQuAD-format"):
        load_squad(path)
    path.write_text('{"data": [{"title": "x"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="not SQuAD v1.1 format .*'paragraphs'"):
        load_squad(path)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"reader": "bogus"}, r"reader must be one of \['sentence', 'span'\], not 'bogus'"), ({"limit": 0}, "at least 1")],
)
def test_bad_evaluation_options_are_refused_before_indexing(tmp_path: Path, options: dict, message: str) -> None:
    # No encoder is given: refusing after building the index would first load one.
    with pytest.raises(ValueError, match=message):
        evaluate(_squad_file(tmp_path), index_dir=tmp_path / "index", **options)
    assert not (tmp_path / "index").exists()
