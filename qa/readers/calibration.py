"""Turning a span's evidence into the probability that it is right: logistic calibration and its error."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# The last two compare a span with the question's other candidates: its softmax share of their margins,
# and the log of how many places the same answer text was found in.
FEATURES = ("margin", "log_probability", "retrieval_score", "reciprocal_rank", "candidate_share", "log_support")


@dataclass(frozen=True)
class Calibration:
    """A logistic model over `FEATURES`, fitted on held-out training questions (`reportqa calibrate-reader`).

    Args:
        weights: one weight per feature, in `FEATURES` order.
        bias: the intercept.
        threshold: the probability below which the service answers "no answer".
        fitted_on: what the model was fitted on, for the model card.
    """

    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(answer right) for rows of `features` (shape `(n, len(FEATURES))`)."""
        return 1.0 / (1.0 + np.exp(-(features @ np.asarray(self.weights) + self.bias)))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"features": FEATURES, **asdict(self)}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `reportqa calibrate-reader` for this model")
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} uses features {data['features']}, this version expects {list(FEATURES)}")
        return cls(tuple(data["weights"]), data["bias"], data["threshold"], data.get("fitted_on", ""))


def fit_logistic(
    features: np.ndarray, labels: np.ndarray, l2: float = 1e-3, steps: int = 50
) -> tuple[np.ndarray, float]:
    """Fit weights and bias by Newton's method on the log loss with a small L2 penalty.

    Args:
        features: shape `(n, d)`.
        labels: 0 or 1, shape `(n,)`.
        l2: penalty on the weights, not the bias (default 1e-3).
        steps: Newton steps at most (default 50).
    """
    design = np.hstack([features, np.ones((len(features), 1))])
    penalty = np.full(design.shape[1], l2 * len(features))
    penalty[-1] = 0.0
    theta = np.zeros(design.shape[1])
    for _ in range(steps):
        predicted = 1.0 / (1.0 + np.exp(-design @ theta))
        gradient = design.T @ (predicted - labels) + penalty * theta
        hessian = (design * (predicted * (1 - predicted))[:, None]).T @ design + np.diag(penalty + 1e-9)
        update = np.linalg.solve(hessian, gradient)
        theta -= update
        if np.abs(update).max() < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[dict]:
    """The reliability table: per equal-width probability bin with members, its size, mean score and share right.

    Args:
        probabilities: predicted probabilities of being right.
        labels: 1 where the answer was right, else 0.
        bins: number of bins over [0, 1] (default 10).

    Returns:
        [{"from", "to", "count", "confidence", "accuracy"}], lowest bin first; a confidence above the
        accuracy means the scores are too high there.
    """
    return [
        {
            "from": round(b / bins, 3),
            "to": round((b + 1) / bins, 3),
            "count": count,
            "confidence": round(confidence, 4),
            "accuracy": round(accuracy, 4),
        }
        for b, count, confidence, accuracy in _bins(probabilities, labels, bins)
    ]


def risk_coverage(probabilities: np.ndarray, labels: np.ndarray, step: float = 0.05) -> list[dict]:
    """What each threshold would answer, and how often those answers are right: the risk-coverage curve.

    Args:
        probabilities: each question's top answer score.
        labels: 1 where that answer was right, else 0.
        step: distance between the thresholds tried, from 0 up to below 1 (default 0.05).

    Returns:
        [{"threshold", "answered", "right_of_answered"}], lowest threshold first: the share of questions
        whose score reaches the threshold, and the share right among those (None when none reach it).
    """
    probabilities, labels = np.asarray(probabilities, dtype=float), np.asarray(labels, dtype=float)
    curve = []
    for threshold in np.round(np.arange(0.0, 1.0, step), 4).tolist():
        answered = probabilities >= threshold
        right = round(float(labels[answered].mean()), 4) if answered.any() else None
        curve.append({"threshold": threshold, "answered": round(float(answered.mean()), 4), "right_of_answered": right})
    return curve


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """The mean |accuracy - confidence| over equal-width probability bins, weighted by bin size."""
    table = _bins(probabilities, labels, bins)
    total = sum(count for _, count, _, _ in table)
    return float(sum(count * abs(accuracy - confidence) for _, count, confidence, accuracy in table) / max(total, 1))


def _bins(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> list[tuple[int, int, float, float]]:
    """(bin, members, mean probability, share right) for every bin with members."""
    probabilities, labels = np.asarray(probabilities, dtype=float), np.asarray(labels, dtype=float)
    which = np.minimum((probabilities * bins).astype(int), bins - 1)
    return [
        (b, int(members.sum()), float(probabilities[members].mean()), float(labels[members].mean()))
        for b in range(bins)
        if (members := which == b).any()
    ]
