"""The `reportqa` command in-process: ingest, ask, documents, delete, eval."""

import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from qa import cli
from tests.conftest import CORPUS, SPUTNIK_ID, TASS_ID


@pytest.fixture(autouse=True)
def _share_the_loaded_model(monkeypatch, encoder) -> None:
    """The CLI loads the model per command; tests reuse the session's copy to stay quick."""
    monkeypatch.setattr("qa.factory.Encoder", lambda *args, **kwargs: encoder)
    monkeypatch.setattr("embeddings.encoder.Encoder", lambda *args, **kwargs: encoder)


def test_ingest_ask_list_delete(tmp_path: Path, capsys) -> None:
    index = str(tmp_path / "index")
    assert cli.main(["ingest", "--index-dir", index, str(CORPUS)]) == 0
    assert "added 2" in capsys.readouterr().out
    assert cli.main(["ingest", "--index-dir", index, str(CORPUS)]) == 0
    assert "unchanged 2" in capsys.readouterr().out

    assert cli.main(["ask", "--index-dir", index, "--json", "Who is the Russian defence minister?"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "Sergei Shoigu" in result["answers"][0]["text"]
    assert result["answers"][0]["citation"]["document_id"] == SPUTNIK_ID

    assert cli.main(["ask", "--index-dir", index, "Who is the Russian defence minister?"]) == 0
    assert "Sergei Shoigu" in capsys.readouterr().out

    assert cli.main(["documents", "--index-dir", index]) == 0
    listing = capsys.readouterr().out
    assert f"{SPUTNIK_ID}\t2017-04-25\tSputnik\t" in listing and f"{TASS_ID}\t2017-09-19\tTASS\t" in listing
    assert cli.main(["delete", "--index-dir", index, SPUTNIK_ID]) == 0
    assert cli.main(["delete", "--index-dir", index, SPUTNIK_ID]) == 1
    assert "no document has id" in capsys.readouterr().err
    # Deleted without the model; the index opens with it afterwards, its vectors agreeing with its store.
    assert cli.main(["ask", "--index-dir", index, "--json", "Who is the Russian defence minister?"]) == 0
    cited = {answer["citation"]["document_id"] for answer in json.loads(capsys.readouterr().out)["answers"]}
    assert SPUTNIK_ID not in cited
    assert cli.main(["reindex", "--index-dir", index]) == 0
    assert re.fullmatch(r"rebuilt (\d+) vectors from \1 stored passages\n", capsys.readouterr().out)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_line_on_a_terminal_while_the_models_load(tmp_path: Path, capsys, monkeypatch) -> None:
    index = str(tmp_path / "index")
    assert cli.main(["ingest", "--index-dir", index, str(CORPUS)]) == 0
    capsys.readouterr()
    terminal, plain = _Terminal(), sys.stderr
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["ask", "--index-dir", index, "Who is the Russian defence minister?"]) == 0
    drawn = terminal.getvalue()
    assert drawn.startswith("\r| loading the models… 0 s") and drawn.endswith("\r\x1b[K"), drawn
    assert "Sergei Shoigu" in capsys.readouterr().out
    # Not in a pipe or a log: there it would be a line per frame.
    monkeypatch.setattr(sys, "stderr", plain)
    assert cli.main(["ask", "--index-dir", index, "Who is the Russian defence minister?"]) == 0
    assert capsys.readouterr().err == ""


def test_ingest_names_files_it_does_not_read(tmp_path: Path, capsys) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "brief.md").write_text("date 2021-02-03 source Wire\n# Harbour brief\n\nThe harbour reopened.", "utf-8")
    (reports / "report.docx").write_bytes(b"PK")
    (reports / ".DS_Store").write_bytes(b"\0")
    assert cli.main(["ingest", "--index-dir", str(tmp_path / "index"), str(reports)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("added 1, replaced 0, unchanged 0 documents")
    assert captured.err.splitlines()[-1] == (
        f"skipped {reports / 'report.docx'}: .docx is not supported; save it as PDF or text "
        "(.txt, .md, .html, .htm, .pdf, .jsonl)"
    )
    assert cli.main(["documents", "--index-dir", str(tmp_path / "index")]) == 0
    assert capsys.readouterr().out == "brief\t2021-02-03\tWire\t1 passages\tHarbour brief\n"


def test_ingest_reports_failures_by_name_and_exits_nonzero(tmp_path: Path, capsys) -> None:
    (tmp_path / "ok.md").write_text("# Fine\n\nA fine report.", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"junk")
    assert cli.main(["ingest", "--index-dir", str(tmp_path / "index"), str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "added 1" in captured.out and "broken.pdf" in captured.err


def test_commands_on_a_missing_index_say_so_and_create_nothing(tmp_path: Path, capsys) -> None:
    for command in (["ask", "Who?"], ["delete", "brief"], ["reindex"], ["documents"]):
        assert cli.main([*command, "--index-dir", str(tmp_path / "empty")]) == 1
        assert "holds no index" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists(), "a mistyped --index-dir must not become an empty index"


def test_bad_options_are_clear_errors(tmp_path: Path, capsys) -> None:
    index = str(tmp_path / "index")
    cli.main(["ingest", "--index-dir", index, str(CORPUS)])
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ask", "--index-dir", index, "--date-from", "last week", "Who?"])
    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert cli.main(["ask", "--index-dir", index, "--date-from", "2019-01-01", "--date-to", "2017-01-01", "Who?"]) == 2
    assert "--date-from 2019-01-01 is after --date-to 2017-01-01; swap them" in capsys.readouterr().err
    for option, value, message in [
        ("--top-k", "0", "--top-k: must be a whole number from 1 to 50, not '0'"),
        ("--top-k", "51", "--top-k: must be a whole number from 1 to 50"),
        ("--max-answers", "-1", "--max-answers: must be a whole number from 1 to 20, not '-1'"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["ask", "--index-dir", index, option, value, "Who?"])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    typo = tmp_path / "indx"
    assert cli.main(["documents", "--index-dir", str(typo)]) == 1
    assert "holds no index" in capsys.readouterr().err and not typo.exists()


def test_names_and_arguments_that_are_not_utf8(tmp_path: Path, capsys) -> None:
    # Bytes that are not UTF-8 in a file, folder or index name: the report goes in under escaped names.
    reports = tmp_path / os.fsdecode(b"r\xe9ports")
    reports.mkdir()
    (reports / os.fsdecode(b"caf\xe9.txt")).write_text("The caf\u00e9 opened in 1920.", encoding="utf-8")
    index = str(tmp_path / os.fsdecode(b"index-\xff"))
    assert cli.main(["ingest", "--index-dir", index, str(reports)]) == 0
    assert cli.main(["documents", "--index-dir", index]) == 0
    assert "r\\xe9ports\t1 passages\tcaf\\xe9.txt" in capsys.readouterr().out
    os.remove(os.path.join(index, "vectors.faiss"))
    assert cli.main(["ask", "--index-dir", index, "When did the café open?"]) == 2
    assert "index-\\xff/vectors.faiss is missing" in capsys.readouterr().err
    # Text arguments in another encoding are refused by name, not failed on deep inside.
    for arguments in (
        ["ask", "When did it open? \udce9"],
        ["ask", "--source", "r\udce9ports", "When?"],
        ["ingest", "--source", "r\udce9ports", str(reports)],
        ["delete", "caf\udce9"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*arguments, "--index-dir", index])
        assert exit_info.value.code == 2
        assert "is not valid UTF-8" in capsys.readouterr().err


def test_a_bad_setting_is_named_without_a_traceback(monkeypatch, capsys) -> None:
    monkeypatch.setenv("REPORTQA_READER_PRECISION", "int16")
    assert cli.main(["documents"]) == 2
    error = capsys.readouterr().err
    assert "REPORTQA_READER_PRECISION='int16'" in error and "'int8'" in error and "Traceback" not in error


def test_export_and_calibrate_reader_need_a_trained_folder(tmp_path: Path, capsys) -> None:
    assert cli.main(["export-reader", "--model", str(tmp_path)]) == 2
    assert "has no model.safetensors" in capsys.readouterr().err
    data = tmp_path / "train.json"
    data.write_text('{"data": []}', encoding="utf-8")
    assert cli.main(["calibrate-reader", "--data", str(data), "--model", str(tmp_path)]) == 2
    assert "has no training.json: pass a folder written by train-reader" in capsys.readouterr().err
