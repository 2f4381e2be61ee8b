"""Starting Ray for `ingest --ray`: a node that misses Ray's start-up limit is started once more, nothing else is."""

import pytest

from qa.ingest.distributed import start_ray

TIMED_OUT = "The current node timed out during startup. This could happen because some of the raylet failed to startup"


class _Ray:
    """Stands in for the `ray` module: its init fails with the given errors, in turn, then succeeds."""

    def __init__(self, *errors: Exception):
        self.errors = list(errors)
        self.calls: list[str] = []

    def init(self, **options: object) -> None:
        self.calls.append(f"init num_cpus={options['num_cpus']}")
        if self.errors:
            raise self.errors.pop(0)

    def shutdown(self) -> None:
        self.calls.append("shutdown")


def test_a_node_that_timed_out_is_started_once_more(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray = _Ray(Exception(TIMED_OUT))
    start_ray(ray, workers=2)
    assert ray.calls == ["init num_cpus=2", "shutdown", "init num_cpus=2"]


def test_a_second_time_out_or_another_failure_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(Exception, match="timed out"):
        start_ray(_Ray(Exception(TIMED_OUT), Exception(TIMED_OUT)), workers=2)
    refused = _Ray(ValueError("num_cpus must be positive"))
    with pytest.raises(ValueError, match="num_cpus"):
        start_ray(refused, workers=2)
    assert refused.calls == ["init num_cpus=2"]


def test_a_cluster_is_joined_with_its_own_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    ray = _Ray()
    start_ray(ray, workers=2)
    assert ray.calls == ["init num_cpus=None"]
