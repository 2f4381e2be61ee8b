"""`benchmarks/held_out.py`: held-out articles written whole, as long reports with their answers in place."""

from benchmarks.held_out import whole_article


def test_a_whole_article_keeps_every_answer_where_its_text_is() -> None:
    article = {
        "title": "Kotor",
        "paragraphs": [
            {
                "context": "The harbour reopened in June.",
                "qas": [{"id": "1", "question": "When?", "answers": [{"answer_start": 24, "text": "June"}]}],
            },
            {
                "context": "Storms damaged the piers.",
                "qas": [
                    {
                        "id": "2",
                        "question": "What?",
                        "answers": [{"answer_start": 0, "text": "Storms"}, {"answer_start": 19, "text": "piers"}],
                    }
                ],
            },
        ],
    }
    (whole,) = whole_article(article)["paragraphs"]
    assert whole["context"] == "The harbour reopened in June.\n\nStorms damaged the piers."
    found = [
        whole["context"][a["answer_start"] : a["answer_start"] + len(a["text"])]
        for q in whole["qas"]
        for a in q["answers"]
    ]
    assert found == ["June", "Storms", "piers"]
