"""Training the span reader: held-out split, reproducible runs, and resuming from a checkpoint."""

import json
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from qa.cli import main
from qa.evaluation.squad import SquadQuestion
from qa.readers.calibration import Calibration, expected_calibration_error
from qa.readers.span import SHIPPED_MODEL
from qa.training import trainer
from qa.training.calibrate import (
    Reading,
    balanced_sample,
    calibrate_reader,
    choose_threshold,
    ece_on_unseen_files,
    fit_at_standard,
)
from qa.training.examples import is_held_out, load_examples
from qa.training.trainer import TrainingConfig, train_reader
from tests.training_data import squad_file, tiny_config

pytestmark = pytest.mark.model


def test_held_out_articles_never_reach_training(tmp_path: Path) -> None:
    path = squad_file(tmp_path)
    train = load_examples([path], 20.0, "train", negative_rate=0.0, seed=1)
    held_out = load_examples([path], 20.0, "held-out", negative_rate=0.0, seed=1)
    assert len(train) + len(held_out) == 12 and held_out
    held_out_titles = {f"article {a}" for a in range(12) if is_held_out(path.name, f"article {a}", 20.0)}
    assert len(held_out) == len(held_out_titles)


def test_negatives_pair_questions_with_other_paragraphs(tmp_path: Path) -> None:
    examples = load_examples([squad_file(tmp_path)], 0.0, "train", negative_rate=1.0, seed=1)
    # Each negative follows its question's own example and reads another paragraph.
    pairs = [(examples[i - 1], e) for i, e in enumerate(examples) if e.answer is None]
    assert len(pairs) >= 6  # a random pick of its own paragraph, or of one that repeats its fact, is skipped
    assert all(own.answer and own.question == other.question and own.context != other.context for own, other in pairs)
    # Each fact is in three articles: no negative reads one that holds the answer.
    answers = [own.context[own.answer[0] : own.answer[1]] for own, _ in pairs]
    assert all(answer not in other.context for answer, (_, other) in zip(answers, pairs, strict=True))


def test_a_cap_for_one_file_samples_that_file_only(tmp_path: Path) -> None:
    tiny = squad_file(tmp_path)
    other = tmp_path / "other.json"
    shutil.copy(tiny, other)
    examples = load_examples(
        [tiny, other], 0.0, "train", negative_rate=0.0, seed=1, questions_per_file={"tiny.json": 5}
    )
    contexts = [example.context for example in examples]
    # Both files hold the same 12 contexts: the capped file gives 5 of them, the other all 12.
    assert len(examples) == 17 and sum(contexts.count(context) == 2 for context in set(contexts)) == 5
    # The named cap replaces the general one for its file.
    capped = load_examples([tiny], 0.0, "train", 0.0, 1, max_questions_per_file=3, questions_per_file={"tiny.json": 7})
    assert len(capped) == 7


def test_a_cap_for_a_file_that_is_not_in_the_data_is_refused(tmp_path: Path, capsys) -> None:
    path = squad_file(tmp_path)
    code = main(["train-reader", "--data", str(path), "--out", str(tmp_path / "run"), "--questions", "qamr.json=10"])
    assert code == 2 and "tiny.json" in capsys.readouterr().err and not (tmp_path / "run").exists()
    code = main(["train-reader", "--data", str(path), "--out", str(tmp_path / "run"), "--questions", "tiny.json=0"])
    assert code == 2 and "positive whole number" in capsys.readouterr().err


def test_a_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path: Path) -> None:
    path = squad_file(tmp_path)
    config = tiny_config(path)
    assert train_reader(config, tmp_path / "straight")
    # A zero budget stops after the first step with a checkpoint; the second call finishes.
    assert not train_reader(config, tmp_path / "resumed", time_budget_s=0)
    assert (tmp_path / "resumed" / "checkpoint.pt").exists() and not (tmp_path / "resumed" / "model").exists()
    assert train_reader(config, tmp_path / "resumed")
    straight = load_file(tmp_path / "straight" / "model" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model" / "model.safetensors")
    assert straight.keys() == resumed.keys()
    assert all((straight[name] == resumed[name]).all() for name in straight)
    assert straight["qa_outputs.weight"].dtype.name == "float16"
    written = json.loads((tmp_path / "straight" / "model" / "training.json").read_text())
    assert written["data"] == ["tiny.json"] and written["seed"] == config.seed


def test_a_cpu_without_bfloat16_trains_in_float32(tmp_path: Path, monkeypatch, capsys) -> None:
    # Emulated bfloat16 made a training step about 20 times slower than float32 on an AVX2-only CPU.
    flags, step = [], trainer._step
    monkeypatch.setattr(trainer, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(trainer, "_step", lambda *args: flags.append(args[-1]) or step(*args))
    assert train_reader(replace(tiny_config(squad_file(tmp_path)), bf16=True), tmp_path / "run")
    assert flags and not any(flags)
    assert "training in float32" in capsys.readouterr().out


def test_resuming_with_other_settings_is_refused(tmp_path: Path, capsys) -> None:
    path = squad_file(tmp_path)
    assert not train_reader(tiny_config(path), tmp_path / "run", time_budget_s=0)
    code = main(["train-reader", "--data", str(path), "--out", str(tmp_path / "run"), "--batch-size", "2"])
    assert code == 2 and "other settings" in capsys.readouterr().err


def test_a_continued_run_starts_from_its_init_model_and_records_its_recipe(tmp_path: Path) -> None:
    config = tiny_config(squad_file(tmp_path))
    assert train_reader(config, tmp_path / "first")
    first = tmp_path / "first" / "model"
    # With a learning rate of 0 the continued run must end where its init model is, new head and all.
    assert train_reader(replace(config, learning_rate=0.0, init=str(first)), tmp_path / "second")
    before = load_file(first / "model.safetensors")
    after = load_file(tmp_path / "second" / "model" / "model.safetensors")
    assert all((before[name] == after[name]).all() for name in before)
    written = json.loads((tmp_path / "second" / "model" / "training.json").read_text())
    assert written["init"] == json.loads((first / "training.json").read_text())


def test_an_init_folder_not_written_by_training_fails_before_training(tmp_path: Path) -> None:
    config = tiny_config(squad_file(tmp_path))
    with pytest.raises(ValueError, match="no training.json"):
        train_reader(replace(config, init=str(tmp_path / "elsewhere")), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_calibration_sample_gives_each_file_an_equal_share() -> None:
    sizes = {"big": 900, "middle": 300, "small": 40}
    by_file = {n: [SquadQuestion(f"{n}{i}", "q", f"{n}/{i}", ()) for i in range(size)] for n, size in sizes.items()}
    sample = balanced_sample(by_file, 600, random.Random(1))
    counts = {name: sum(q.document_id.startswith(f"{name}/") for q in sample) for name in sizes}
    # "small" gives all it has; the other two split what is left evenly.
    assert counts == {"big": 280, "middle": 280, "small": 40}
    assert len({q.id for q in sample}) == 600
    assert len(balanced_sample(by_file, 5000, random.Random(1))) == 1240


def _readings(source: str, shift: float, rng: np.random.Generator) -> list[Reading]:
    # One candidate per question; the odds of being right grow with its feature, offset by `shift`.
    evidence = rng.normal(size=3000)
    right = rng.random(3000) < 1 / (1 + np.exp(-(2 * evidence + shift)))
    return [
        Reading(np.array([[x]]), np.array([float(r)]), [(f"{source}/{i}", 0, 1)], True, source)
        for i, (x, r) in enumerate(zip(evidence, right, strict=True))
    ]


def test_calibration_drift_on_an_unseen_file_is_measured() -> None:
    rng = np.random.default_rng(3)
    alike = ece_on_unseen_files(_readings("a", 0.0, rng) + _readings("b", 0.0, rng))
    assert set(alike) == {"a", "b"} and max(alike.values()) < 0.04
    # A file whose answers are right far more often for the same evidence is miscalibrated when left out.
    drifted = ece_on_unseen_files(_readings("a", 0.0, rng) + _readings("b", 2.5, rng))
    assert drifted["b"] > 0.15
    assert ece_on_unseen_files(_readings("a", 0.0, rng)) == {}


def test_scores_are_set_at_three_references_when_most_questions_have_one() -> None:
    rng = np.random.default_rng(5)
    evidence, references = rng.normal(size=6000), rng.choice([1, 3], size=6000, p=[0.7, 0.3])
    # More references let more wordings count as right: the same evidence is right more often.
    right = rng.random(6000) < 1 / (1 + np.exp(-(2 * evidence + 1.2 * np.log(references) - 0.5)))

    def readings(counts: np.ndarray) -> list[Reading]:
        return [
            Reading(np.array([[x, np.log(n)]]), np.array([float(r)]), [(f"a/{i}", 0, 1)], True, "a")
            for i, (x, n, r) in enumerate(zip(evidence, counts, right, strict=True))
        ]

    three = references == 3
    calibration, per_log_reference = fit_at_standard(readings(references))
    assert len(calibration.weights) == 1 and 0.9 < per_log_reference < 1.5
    scores = calibration.probability(evidence[three][:, None])
    assert expected_calibration_error(scores, right[three]) < 0.04
    # A fit blind to the reference count scores the three-reference questions too low.
    blind, _ = fit_at_standard(readings(np.ones_like(references)))
    assert blind.probability(evidence[three][:, None]).mean() < right[three].mean() - 0.1


def test_the_threshold_is_the_lowest_score_whose_answers_are_right_often_enough() -> None:
    rng = np.random.default_rng(8)
    evidence = rng.uniform(-4, 4, size=4000)
    right = rng.random(4000) < 1 / (1 + np.exp(-evidence))
    # Half the questions have three references (the shipped standard), half one; the one-reference
    # ones are judged wrong whatever they say, so they would push the threshold to the top if read.
    references = np.where(np.arange(4000) % 2 == 0, 3, 1)
    readings = [
        Reading(np.array([[x, np.log(n)]]), np.array([float(r and n == 3)]), [(f"a/{i}", 0, 1)], True, "a")
        for i, (x, n, r) in enumerate(zip(evidence, references, right, strict=True))
    ]
    identity = Calibration((1.0,), 0.0, 0.5)
    threshold, answered = choose_threshold(identity, readings, precision=0.88)
    scores, judged = 1 / (1 + np.exp(-evidence[::2])), right[::2]
    share_right = judged[scores >= threshold].mean()
    assert share_right >= 0.88 and judged[scores >= threshold - 0.02].mean() < 0.88
    assert answered["questions"] == 2000 and answered["right_of_answered"] == round(float(share_right), 4)
    assert answered["answerable"] == round(float((scores >= threshold).mean()), 4) and answered["unanswerable"] is None
    # A looser target answers more.
    assert choose_threshold(identity, readings, precision=0.7)[0] < threshold


def test_a_deployment_recalibrates_on_every_article_of_its_own_questions(tmp_path: Path, encoder) -> None:
    model = tmp_path / "model"
    shutil.copytree(SHIPPED_MODEL, model)
    path = squad_file(tmp_path)
    report = calibrate_reader(model, [path], encoder, all_articles=True)
    # Every question is read, not only the articles that hash into the held-out slice.
    assert report["questions"] == 12
    written = Calibration.load(model / "calibration.json")
    assert written.fitted_on == "12 questions from every article of (tiny.json)"
    assert list(written.weights) == report["weights"] and written.threshold == report["threshold"]
    assert Calibration.load(SHIPPED_MODEL / "calibration.json").weights != written.weights


def test_a_run_of_a_single_step_finishes(tmp_path: Path) -> None:
    # All 12 questions fit one batch: the whole run is warm-up, with no steps left to decay over.
    assert train_reader(replace(tiny_config(squad_file(tmp_path)), batch_size=64), tmp_path / "run")
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


def test_training_runs_without_faiss_or_the_web_stack(tmp_path: Path) -> None:
    # A GPU machine's bare image has torch and transformers but not the index or the API's packages.
    blocked = ["faiss", "fastapi", "uvicorn", "starlette", "onnxruntime", "bm25s"]
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({blocked!r}))\n"
        "from qa.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    command = [
        sys.executable,
        "-c",
        script,
        "train-reader",
        "--data",
        str(squad_file(tmp_path)),
        "--out",
        str(tmp_path / "run"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "run" / "model" / "model.safetensors").exists()


@pytest.mark.parametrize(
    ("settings", "message"),
    [({"epochs": 0}, "at least 1"), ({"batch_size": 0}, "at least 1"), ({"learning_rate": -1e-4}, "0 or more")],
)
def test_bad_training_settings_are_refused_at_once(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingConfig(data=["train.json"], **settings)


@pytest.mark.parametrize(
    ("empty", "device", "message"), [(True, "cpu", "no training questions"), (False, "tpu", "device 'tpu'")]
)
def test_nothing_to_train_on_or_with_is_an_error_not_a_model(
    tmp_path: Path, empty: bool, device: str, message: str
) -> None:
    path = squad_file(tmp_path)
    if empty:
        path.write_text('{"data": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        train_reader(tiny_config(path), tmp_path / "out", device=device)
    assert not (tmp_path / "out" / "model").exists()
