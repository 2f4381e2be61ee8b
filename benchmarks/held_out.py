"""Write the held-out articles of training files as one SQuAD-format file, for `reportqa eval` to judge readers on.

The articles are those training never sees (`is_held_out(file, title, 8.0)`), so readers are compared
on training data alone, never on `eval/`:

    python benchmarks/held_out.py /tmp/held-out-wiki.json ../shared/data/train/squadshifts-new-wiki.json \
        ../shared/data/train/qed-dev.json
    reportqa eval /tmp/held-out-wiki.json --paragraph --precision int8

With `--whole-articles`, each article becomes one long document (its paragraphs joined by blank lines),
for measuring retrieval on long reports.
"""

import argparse
import json
from pathlib import Path

from qa.training.examples import is_held_out

HELD_OUT_PERCENT = 8.0  # as `train-reader` holds out


def held_out_articles(path: Path, held_out_percent: float = HELD_OUT_PERCENT) -> list[dict]:
    """The file's held-out articles as they are written there, titles prefixed with the file's name."""
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [
        {**article, "title": f"{path.stem}: {article.get('title', '')}"}
        for article in articles
        if is_held_out(path.name, article.get("title", ""), held_out_percent)
    ]


def whole_article(article: dict) -> dict:
    """The article as one paragraph: its contexts joined by blank lines, every answer moved with its context."""
    context, questions = "", []
    for paragraph in article["paragraphs"]:
        offset = len(context) + (2 if context else 0)
        context = f"{context}\n\n{paragraph['context']}" if context else paragraph["context"]
        for qa in paragraph["qas"]:
            answers = [{**answer, "answer_start": answer["answer_start"] + offset} for answer in qa["answers"]]
            questions.append({**qa, "answers": answers})
    return {**article, "paragraphs": [{"context": context, "qas": questions}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the SQuAD-format file to write")
    parser.add_argument("files", type=Path, nargs="+", help="training files (SQuAD v1.1 format)")
    parser.add_argument(
        "--percent",
        type=float,
        default=HELD_OUT_PERCENT,
        help=f"held-out share in percent (default {HELD_OUT_PERCENT:g}, the reader's; train-retriever holds out 5)",
    )
    parser.add_argument("--whole-articles", action="store_true", help="each article as one document")
    args = parser.parse_args()
    articles = [article for path in args.files for article in held_out_articles(path, args.percent)]
    if args.whole_articles:
        articles = [whole_article(article) for article in articles]
    questions = sum(len(p["qas"]) for article in articles for p in article["paragraphs"])
    args.out.write_text(json.dumps({"version": "held-out", "data": articles}), encoding="utf-8")
    print(f"{args.out}: {len(articles)} articles, {questions} questions")


if __name__ == "__main__":
    main()
