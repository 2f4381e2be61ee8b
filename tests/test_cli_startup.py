"""Commands that need no model start without one: each runs in its own process, which must not import torch."""

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from embeddings.index import VectorIndex
from qa.cli import arguments
from qa.cli.offline import delete_document
from qa.cli.progress import loading
from qa.index.base import UnknownDocumentError
from qa.index.folder import STORE_FILE, VECTORS_FILE
from qa.index.passages import NewPassage
from qa.index.store import DocumentStore
from qa.models import Document

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "sentence_transformers")
# Runs `reportqa ARGS` as `python -m qa.cli` does, then says which heavy modules the process imported.
PROBE = (
    "import atexit, json, runpy, sys\n"
    f"atexit.register(lambda: print('LOADED ' + json.dumps([m for m in {HEAVY!r} if m in sys.modules])))\n"
    "runpy.run_module('qa.cli', run_name='__main__', alter_sys=True)\n"
)


def _reportqa(*arguments: str, env: dict[str, str] | None = None) -> tuple[int, str, str, list[str]]:
    """Exit status, stdout (without the probe's line), stderr, and the heavy modules it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    out, _, loaded = done.stdout.rpartition("LOADED ")
    return done.returncode, out, done.stderr, json.loads(loaded)


def _tiny_index(index_dir: Path) -> list[int]:
    """An index of two documents with one passage each, written without a model; the passage ids."""
    store = DocumentStore(index_dir / STORE_FILE)
    vectors = VectorIndex(4)
    ids = []
    with store.transaction():
        for number, name in enumerate(("brief", "memo")):
            vector = np.eye(4, dtype=np.float32)[number]
            passage = NewPassage(0, 12, "A short one.", ((0, 12),), vector[None, :], vector)
            document = Document(name, "A short one.", name.title(), "2020-01-02", "desk", f"/reports/{name}.txt")
            (passage_id,), _ = store.put_document(document, f"digest-{name}", [passage])
            vectors.add(np.array([passage_id], np.int64), vector[None, :])
            ids.append(passage_id)
        store.bump_generation()
        vectors.save(index_dir / VECTORS_FILE)
    store.close()
    return ids


def test_documents_and_delete_load_no_model(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    _tiny_index(index_dir)
    status, out, err, loaded = _reportqa("documents", "--index-dir", str(index_dir))
    assert status == 0, err
    assert out.splitlines() == [
        "brief\t2020-01-02\tdesk\t1 passages\tBrief",
        "memo\t2020-01-02\tdesk\t1 passages\tMemo",
    ]
    assert loaded == []
    status, out, err, loaded = _reportqa("delete", "--index-dir", str(index_dir), "brief")
    assert (status, out, err, loaded) == (0, "deleted brief\n", "", [])
    status, _, err, loaded = _reportqa("delete", "--index-dir", str(index_dir), "brief")
    assert (status, err, loaded) == (1, "reportqa: no document has id 'brief'\n", [])


def test_a_missing_index_is_said_before_any_model_loads(tmp_path: Path) -> None:
    for command in (["ask", "Who?"], ["delete", "brief"], ["documents"], ["reindex"]):
        status, _, err, loaded = _reportqa(*command, "--index-dir", str(tmp_path / "none"))
        assert status == 1 and "holds no index" in err and loaded == []
    assert not (tmp_path / "none").exists()


def test_deleting_without_a_model_removes_the_passages_and_their_vectors(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    brief_passage, memo_passage = _tiny_index(index_dir)
    delete_document(index_dir, "brief")
    store = DocumentStore(index_dir / STORE_FILE)
    assert [info.id for info in store.list_documents()] == ["memo"]
    # Gone from the vectors file too, and a new generation, so a server on this index reloads its vectors.
    assert store.passage_ids().tolist() == [memo_passage] and store.generation() == 2
    assert VectorIndex.load(index_dir / VECTORS_FILE).ids().tolist() == [memo_passage] != [brief_passage]
    with pytest.raises(UnknownDocumentError):
        delete_document(index_dir, "brief")
    assert store.generation() == 2, "a refused delete writes nothing"


def test_delete_names_the_repair_when_the_vectors_file_is_gone(tmp_path: Path, capsys) -> None:
    from qa import cli

    index_dir = tmp_path / "index"
    _tiny_index(index_dir)
    (index_dir / VECTORS_FILE).unlink()
    assert cli.main(["delete", "--index-dir", str(index_dir), "brief"]) == 2
    err = capsys.readouterr().err
    assert "vectors.faiss is missing, but store.sqlite3 holds 2 passages" in err
    assert f"run `reportqa reindex --index-dir {index_dir}`" in err
    assert len(DocumentStore(index_dir / STORE_FILE).list_documents()) == 2, "nothing deleted"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["ask", "--top-k", "0", "x"], "argument --top-k: must be a whole number from 1 to 50, not '0'"),
        (["ask", "--top-k", "five", "x"], "argument --top-k: must be a whole number from 1 to 50, not 'five'"),
        (["ask", "--max-answers", "21", "x"], "argument --max-answers: must be a whole number from 1 to 20, not '21'"),
        (["ask", "   "], "argument question: a question must be 1 to 1000 characters (after trimming spaces)"),
        (["ask", "--date-from", "last week", "x"], "argument --date-from: date must be a real date"),
        (["eval", "--top-k", "51", "squad.json"], "argument --top-k: must be a whole number from 1 to 50"),
        (["eval", "--limit", "0", "squad.json"], "argument --limit: must be a whole number of 1 or more, not '0'"),
        (["serve", "--port", "70000"], "argument --port: must be a whole number from 1 to 65535, not '70000'"),
        (["serve", "--workers", "0"], "argument --workers: must be a whole number of 1 or more, not '0'"),
    ],
)
def test_argument_errors_are_refused_before_any_model_loads(command: list[str], message: str) -> None:
    status, _, err, loaded = _reportqa(*command)
    assert status == 2 and message in err, err
    assert loaded == []


@pytest.mark.parametrize("command", [["--help"], ["ask", "--help"], ["keys", "--file", "keys.json", "list"]])
def test_help_and_keys_load_no_model(tmp_path: Path, command: list[str]) -> None:
    status, _, err, loaded = _reportqa(*[str(tmp_path / c) if c == "keys.json" else c for c in command])
    assert status == 0, err
    assert loaded == []


def test_eval_of_a_missing_file_is_said_before_any_model_loads(tmp_path: Path) -> None:
    status, _, err, loaded = _reportqa("eval", str(tmp_path / "squad.json"))
    assert status == 2 and "squad.json is not a file; pass a SQuAD v1.1-format .json file" in err
    assert loaded == []


def test_an_eval_overlap_as_long_as_its_passages_is_refused_before_any_model_loads(tmp_path: Path) -> None:
    (tmp_path / "squad.json").write_text('{"data": []}', encoding="utf-8")
    arguments = ("eval", str(tmp_path / "squad.json"), "--passage-tokens", "100", "--overlap-tokens", "100")
    status, _, err, loaded = _reportqa(*arguments)
    assert status == 2 and "--overlap-tokens 100 must be below --passage-tokens 100" in err
    assert loaded == []


def test_an_ingest_with_nothing_to_read_loads_no_model_and_names_what_it_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "report.docx").write_bytes(b"PK")
    (folder / ".DS_Store").write_bytes(b"\0")
    status, out, err, loaded = _reportqa("ingest", "--index-dir", str(tmp_path / "index"), str(folder))
    assert status == 0 and out.startswith("added 0, replaced 0, unchanged 0 documents")
    assert err.splitlines() == [
        f"skipped {folder / 'report.docx'}: .docx is not supported; save it as PDF or text "
        "(.txt, .md, .html, .htm, .pdf, .jsonl)"
    ]
    assert loaded == [] and not (tmp_path / "index").exists()


def _busy_port() -> socket.socket:
    """A loopback port that another program listens on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


@pytest.mark.parametrize("through", ["--port", "REPORTQA_PORT"])
def test_serve_on_a_busy_port_is_one_sentence_that_says_what_to_do(tmp_path: Path, through: str) -> None:
    with _busy_port() as holder:
        port = holder.getsockname()[1]
        options = ["--port", str(port)] if through == "--port" else []
        env = {"REPORTQA_PORT": str(port)} if through == "REPORTQA_PORT" else {}
        status, out, err, loaded = _reportqa("serve", "--index-dir", str(tmp_path / "index"), *options, env=env)
    assert status == 1 and out == ""
    assert err == (
        f"reportqa: port {port} on 127.0.0.1 is already in use, by another program or another `reportqa serve`; "
        f"stop it, or choose another port with --port or REPORTQA_PORT (e.g. --port {port + 1})\n"
    )
    assert loaded == [], "the port is checked before the models load"


def test_serve_on_an_address_of_another_machine_says_so(tmp_path: Path) -> None:
    status, _, err, _ = _reportqa("serve", "--host", "192.0.2.1", "--index-dir", str(tmp_path / "index"))
    assert status == 1 and len(err.splitlines()) == 1
    assert "cannot listen on 192.0.2.1: it is not an address of this machine" in err and "--host" in err


def test_the_options_limits_are_the_pipelines() -> None:
    from qa import pipeline

    assert (arguments.MAX_TOP_K, arguments.MAX_ANSWERS) == (pipeline.MAX_TOP_K, pipeline.MAX_ANSWERS)
    assert arguments.MAX_QUESTION_CHARS == pipeline.MAX_QUESTION_CHARS


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_loading_line_is_drawn_on_a_terminal_only() -> None:
    terminal, pipe = _Terminal(), io.StringIO()
    with loading("the models", terminal):
        time.sleep(0.25)
    frames = terminal.getvalue().split("\r")[1:]
    assert frames[0] == "| loading the models… 0 s" and frames[1].startswith("/ loading the models…")
    assert frames[-1] == "\x1b[K", "erased at the end, so what follows starts on a clean line"
    with loading("the models", pipe):
        time.sleep(0.15)
    assert pipe.getvalue() == ""


def test_ctrl_c_stops_a_command_without_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from qa import cli

    def interrupted(*_: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("qa.cli.documents._documents", interrupted)
    assert cli.main(["documents"]) == 130
    assert capsys.readouterr().err == "reportqa: stopped\n"
