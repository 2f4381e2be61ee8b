"""The embedder's precisions: its int8 ONNX export, vectors close to float32's, and indexes that accept them."""

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from sentence_transformers import SentenceTransformer

from embeddings.encoder import SHIPPED_MODEL, Encoder, packaged_model_path
from embeddings.onnx_session import ENCODER_FILE, FLOAT32_ENCODER_FILE
from embeddings.torch_encoder import load_sentence_transformer
from qa.index.embedded import EmbeddedIndex
from qa.models import Document
from qa.training.export import export_embedder

pytestmark = pytest.mark.model

PASSAGES = [
    "Russian Defence Minister Sergei Shoigu met his Serbian counterpart Zoran Djordjevic in Moscow on Tuesday.",
    "The talks covered military cooperation, joint exercises and the situation in the region. " * 4,
    "Foreign Minister Sergey Lavrov met President Aleksandar Vucic in Belgrade.",
]
QUESTIONS = ["Whom did Shoigu meet in Moscow?", "Where did Lavrov meet Vucic?", "What did the talks cover?"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packaged MiniLM with its ONNX files written."""
    folder = tmp_path_factory.mktemp("minilm") / "model"
    shutil.copytree(packaged_model_path(), folder)
    assert export_embedder(folder) == [folder / FLOAT32_ENCODER_FILE, folder / ENCODER_FILE]
    return folder


def test_the_float32_file_embeds_as_torch_does(exported: Path) -> None:
    onnx_encoder, torch_model = Encoder(exported), SentenceTransformer(str(exported), local_files_only=True)
    want = torch_model.encode(PASSAGES + QUESTIONS, normalize_embeddings=True)
    np.testing.assert_allclose(onnx_encoder.encode(PASSAGES + QUESTIONS), want, atol=1e-5)
    np.testing.assert_allclose(onnx_encoder.identity_vector(QUESTIONS[0]), want[len(PASSAGES)], atol=1e-5)
    assert (onnx_encoder.max_tokens, onnx_encoder.dimension) == (torch_model.max_seq_length, want.shape[1])


@pytest.mark.parametrize("precision", ["bfloat16", "int8"])
def test_each_precision_embeds_texts_and_spans_as_float32_does(exported: Path, precision: str) -> None:
    reference, other = Encoder(exported, precision="float32"), Encoder(exported, precision=precision)
    assert other.precision == precision
    spans = [[(0, 23), (24, 37)], [(0, 40)], [(17, 30)]]
    want, want_spans = reference.encode_with_spans(PASSAGES, spans)
    got, got_spans = other.encode_with_spans(PASSAGES, spans)
    assert got.dtype == np.float32 and np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # A broken export (another pooling, padding read as text) gives cosines far below these.
    assert (got * want).sum(axis=1).min() > 0.98
    for got_rows, want_rows in zip(got_spans, want_spans, strict=True):
        assert got_rows.shape == want_rows.shape and (got_rows * want_rows).sum(axis=1).min() > 0.97
    # A text's vector alone is close to its vector in a batch of longer texts: the padding is not read as
    # text (int8's activation scales are the whole batch's, so the two are not equal).
    assert (other.encode(PASSAGES[2:]) * got[2:]).sum() > 0.98
    # Each question still finds its own passage first.
    questions = other.encode(QUESTIONS)
    assert list((questions @ got.T).argmax(axis=1)) == list((reference.encode(QUESTIONS) @ want.T).argmax(axis=1))


def test_the_int8_file_holds_fused_int8_layers_without_the_word_vectors(exported: Path) -> None:
    operators = [node.op_type for node in onnx.load(str(exported / ENCODER_FILE)).graph.node]
    layers = Encoder(exported).model[0].auto_model.config.num_hidden_layers
    assert operators.count("QAttention") == layers
    assert (exported / ENCODER_FILE).stat().st_size < (exported / "model.safetensors").stat().st_size / 4


def test_a_file_exported_from_other_weights_is_refused(exported: Path, tmp_path: Path) -> None:
    model = SentenceTransformer(str(exported), local_files_only=True)
    with_new_weights = tmp_path / "retrained"
    model[0].auto_model.encoder.layer[0].output.dense.bias.data += 0.01
    model.save(str(with_new_weights))
    for name in (ENCODER_FILE, FLOAT32_ENCODER_FILE):
        shutil.copy(exported / name, with_new_weights / name)
    with pytest.raises(ValueError, match="export-embedder"):
        Encoder(with_new_weights, precision="int8")
    with pytest.raises(ValueError, match="export-embedder"):
        Encoder(with_new_weights, precision="float32")


def test_the_shipped_float32_file_stores_its_bfloat16_weights_as_such() -> None:
    graph = onnx.load(str(SHIPPED_MODEL / FLOAT32_ENCODER_FILE))
    stored = {tensor.name for tensor in graph.graph.initializer if tensor.data_type == onnx.TensorProto.BFLOAT16}
    widened = {node.input[0] for node in graph.graph.node if node.op_type == "Cast" and node.input[0] in stored}
    assert len(stored) >= 30 and widened == stored
    assert (SHIPPED_MODEL / FLOAT32_ENCODER_FILE).stat().st_size < (
        SHIPPED_MODEL / "model.safetensors"
    ).stat().st_size / 2


def test_the_shipped_float32_file_embeds_as_its_weights_do_under_torch() -> None:
    want = load_sentence_transformer(SHIPPED_MODEL, "cpu").encode(PASSAGES + QUESTIONS, normalize_embeddings=True)
    np.testing.assert_allclose(Encoder().encode(PASSAGES + QUESTIONS), want, atol=1e-5)


def test_int8_without_its_file_names_the_export_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"reportqa export-embedder --model {packaged_model_path()}"):
        Encoder(packaged_model_path(), precision="int8")


def test_an_index_embedded_in_float32_opens_for_int8_questions_of_the_same_model(
    exported: Path, tmp_path: Path
) -> None:
    index = EmbeddedIndex(tmp_path / "index", Encoder(exported, precision="float32"))
    index.add_documents([Document(f"report-{n}", text) for n, text in enumerate(PASSAGES)])
    index.close()
    int8 = Encoder(exported, precision="int8")
    reopened = EmbeddedIndex(tmp_path / "index", int8)
    question = QUESTIONS[1]
    hits = reopened.retrieve(question, int8.encode([question])[0], 1, mode="dense")
    assert hits[0].passage.document_id == "report-2"


def test_texts_batched_by_length_come_back_in_their_own_order(encoder: Encoder) -> None:
    texts = [PASSAGES[1], QUESTIONS[0], PASSAGES[0], QUESTIONS[2], PASSAGES[2]] * 8  # more than one batch of 32
    spans = [[(0, min(len(text), 20))] for text in texts]
    vectors, span_vectors = encoder.encode_with_spans(texts, spans)
    for text, text_spans, vector, rows in zip(texts[:5], spans, vectors, span_vectors, strict=False):
        alone, alone_spans = encoder.encode_with_spans([text], [text_spans])
        assert np.allclose(vector, alone[0], atol=1e-5) and np.allclose(rows, alone_spans[0], atol=1e-5)
    assert np.allclose(encoder.encode(texts), vectors, atol=1e-5)
