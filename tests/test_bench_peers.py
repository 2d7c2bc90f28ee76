"""Tests of bench_peers.py's bookkeeping: the logged scores and the timelines
drawn from them (the searches themselves are the benchmark's)."""

import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def bench(monkeypatch):
    # The scripts import their siblings (_common, _peers) as top-level modules.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_peers

    return bench_peers


def _event(t, candidate, epochs, score, folds=3):
    return dict(t=t, candidate=candidate, epochs=epochs, score=score, folds=folds)


def test_timeline_counts_an_evaluation_when_its_last_fold_is_in(bench):
    events = [
        _event(10.0, "a", 1, 0.80),
        _event(11.0, "a", 1, 0.82),
        _event(12.0, "b", 1, 0.99),  # one fold only: never complete
        _event(14.0, "a", 1, 0.84),  # completes a at 1 epoch: mean 0.82
        _event(15.0, "a", 3, 0.70),
        _event(16.0, "a", 3, 0.71),
        _event(17.0, "a", 3, 0.72),  # complete, but not better
    ]
    curve, n_done = bench.timeline(events[::-1], start=4.0)
    assert n_done == 2
    assert curve == [(10.0, pytest.approx(0.82))]


def test_timeline_of_single_split_scores_and_the_race(bench):
    peer = [_event(t, f"c{t}", 1, s, folds=1) for t, s in [(5, 0.7), (8, 0.9)]]
    ours = [_event(t, f"c{t}", 1, s, folds=1) for t, s in [(2, 0.85), (3, 0.91)]]
    curves = {
        "hyperband_async": bench.timeline(ours, 0.0)[0],
        "keras_tuner": bench.timeline(peer, 0.0)[0],
    }
    assert curves["keras_tuner"] == [(5, 0.7), (8, 0.9)]
    assert bench.time_to_reach(curves["hyperband_async"], 0.9) == 3
    assert bench.time_to_reach(curves["keras_tuner"], 0.95) is None
    outcome = dict(
        search_s=10.0, refit_s=0.0, best_validation=0.9, test_accuracy=0.88,
        best_params={}, notes={},
    )  # fmt: skip
    rows, races = bench.summarise(
        {"hyperband_async": outcome, "keras_tuner": outcome}, curves
    )
    [race] = races
    assert race["ours_reaches_it_at_s"] == 3
    assert race["ratio"] == pytest.approx(3 / 8)
    assert race["target_met"]


def test_logged_accuracy_writes_one_line_per_score(bench, tmp_path):
    from _peers import LoggedAccuracy
    from sklearn.base import clone

    from fmnist_estimators import DenseNetClassifier
    from fmnist_estimators.datasets import load_fashion_mnist_sample

    X, y = load_fashion_mnist_sample(return_X_y=True)
    net = DenseNetClassifier((8,), epochs=2, batch_size=64, random_state=0)
    net.fit(X[:200], y[:200])
    log = tmp_path / "scores.log"
    scorer = LoggedAccuracy(log)
    score = scorer(net, X[200:300], y[200:300])
    scorer(clone(net).fit(X[:100], y[:100]), X[200:300], y[200:300])
    first, second = [json.loads(line) for line in log.read_text().splitlines()]
    assert first["score"] == score == net.score(X[200:300], y[200:300])
    assert first["epochs"] == 2 and first["folds"] == 3
    assert first["candidate"] == second["candidate"]
    assert "units=8 batch=64" in first["candidate"]
