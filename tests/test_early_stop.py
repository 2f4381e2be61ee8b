"""The span reader's early stop: the top passage alone when its answer is confident, else every passage once."""

from pathlib import Path

import numpy as np
import pydantic
import pytest

from qa import cli
from qa.factory import open_pipeline
from qa.models import Passage, ScoredPassage
from qa.readers import Question, SpanReader
from qa.settings import Settings

MINISTER = "Russian Defence Minister Sergei Shoigu met his Serbian counterpart in Moscow on Tuesday."
WEATHER = "Rain is expected across the north of the country on Thursday, with snow on high ground."
QUESTION = Question("Who is the Russian defence minister?", np.zeros(0))  # the span reader reads no vector


@pytest.fixture(scope="module")
def reader() -> SpanReader:
    return SpanReader(precision="float32")


def _ranked(*texts: str) -> list[ScoredPassage]:
    return [
        ScoredPassage(Passage(rank, f"report-{rank}", 0, len(text), text, ()), 1.0 / rank, rank)
        for rank, text in enumerate(texts, start=1)
    ]


def _read(reader: SpanReader, early_stop_score: float, passages: list[ScoredPassage]) -> tuple[list, int]:
    """The spans read at this early-stop score, and how many windows reading them took."""
    reader.early_stop_score = early_stop_score
    before = reader.model.windows_read
    spans = reader.read(QUESTION, passages, max_spans=3)
    return spans, reader.model.windows_read - before


@pytest.mark.model
def test_a_confident_top_passage_is_read_alone(reader: SpanReader) -> None:
    passages = _ranked(MINISTER, WEATHER)
    alone, _ = _read(reader, 1.0, passages[:1])
    spans, windows = _read(reader, alone[0].score, passages)
    assert windows == 1
    assert [(s.document_id, s.start, s.end, s.score) for s in spans] == [
        (s.document_id, s.start, s.end, s.score) for s in alone
    ]
    assert MINISTER[spans[0].start : spans[0].end] == "Sergei Shoigu"


@pytest.mark.model
def test_an_unsure_top_passage_leads_to_the_others_without_reading_it_twice(reader: SpanReader) -> None:
    passages = _ranked(WEATHER, MINISTER, WEATHER + " " + MINISTER)
    alone, _ = _read(reader, 1.0, passages[:1])
    full, full_windows = _read(reader, 1.0, passages)
    spans, windows = _read(reader, min(1.0, alone[0].score + 0.01), passages)
    assert windows == full_windows == 3
    assert [(s.document_id, s.start, s.end) for s in spans] == [(s.document_id, s.start, s.end) for s in full]
    assert [s.score for s in spans] == pytest.approx([s.score for s in full], abs=1e-4)
    assert spans[0].document_id != "report-1"


@pytest.mark.model
def test_one_passage_or_a_stop_score_of_one_reads_everything(reader: SpanReader) -> None:
    assert _read(reader, 0.0, _ranked(MINISTER))[1] == 1
    assert _read(reader, 1.0, _ranked(MINISTER, WEATHER))[1] == 2


@pytest.mark.model
def test_the_service_reads_with_the_setting_s_early_stop(tmp_path: Path) -> None:
    pipeline = open_pipeline(Settings(index_dir=tmp_path / "index", reader_early_stop_score=0.5))
    assert pipeline.readers["span"].to_dict()["early_stop_score"] == 0.5
    pipeline.index.close()


def test_the_setting_and_the_eval_option_are_scores(monkeypatch, capsys) -> None:
    assert Settings().reader_early_stop_score == 0.8
    with pytest.raises(pydantic.ValidationError, match="reader_early_stop_score"):
        Settings(reader_early_stop_score=1.5)
    for value in ("1.5", "-0.1", "nan", "high"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["eval", "questions.json", "--early-stop-score", value])
        assert exit_info.value.code == 2
        assert f"--early-stop-score: must be a number from 0 to 1, not '{value}'" in capsys.readouterr().err
    monkeypatch.setenv("REPORTQA_READER_EARLY_STOP_SCORE", "2")
    assert cli.main(["documents"]) == 2
    assert "REPORTQA_READER_EARLY_STOP_SCORE" in capsys.readouterr().err
