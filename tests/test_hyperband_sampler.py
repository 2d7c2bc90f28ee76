"""HyperbandSearchCV(sampler="tpe"): candidates drawn from the results so far.

The search runs on ``EpochCounter`` (see ``test_hyperband.py``), whose score
is ``quality * epochs / (epochs + 1)``: the best candidates are those of
highest quality, so a sampler that learns draws higher qualities than the
prior's mean of 0.5. The Parzen estimator itself is tested on a mixed space.
"""

import time

import numpy as np
import pytest
from scipy.stats import loguniform, randint, uniform
from test_hyperband import EpochCounter

from fmnist_estimators._sklearn_compat import InvalidParameterError
from fmnist_estimators.search import HyperbandSearchCV
from fmnist_estimators.search._sampling import ParzenSampler, grid_size

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3)), np.repeat([0, 1, 2], 10)


def search(sampler, space=None, **params):
    defaults = dict(max_epochs=9, factor=3, cv=3, n_candidates=30, random_state=0)
    return HyperbandSearchCV(
        EpochCounter(),
        {"quality": uniform(0, 1)} if space is None else space,
        sampler=sampler,
        **{**defaults, **params},
    )


def first_round(search_, bracket=0):
    """Qualities of a bracket's first round, in the order drawn."""
    results = search_.cv_results_
    rows = (results["bracket"] == bracket) & (results["iter"] == 0)
    return np.array([p["quality"] for p, r in zip(results["params"], rows) if r])


def test_async_tpe_draws_where_the_best_candidates_lie(toy):
    X, y = toy
    tpe = search("tpe", promotion="async").fit(X, y)
    blind = search("random", promotion="async").fit(X, y)
    # The model starts after 4 candidates have a result (2 d + 2, d = 1);
    # of the last 20, a third at random (mean 0.5), the rest near the best.
    late_tpe, late_blind = first_round(tpe)[10:], first_round(blind)[10:]
    assert late_tpe.mean() > 0.7
    assert late_tpe.mean() > late_blind.mean() + 0.1
    assert tpe.best_params_["quality"] >= blind.best_params_["quality"]
    # The same schedule either way.
    assert tpe.n_candidates_ == blind.n_candidates_ == [30, 10, 4]
    assert tpe.epochs_trained_ == blind.epochs_trained_


def test_sync_tpe_draws_each_bracket_from_the_brackets_before(toy):
    X, y = toy
    # 60 candidates, then 30 in the second bracket.
    tpe = search("tpe", n_brackets=2, n_candidates=60).fit(X, y)
    blind = search("random", n_brackets=2, n_candidates=60).fit(X, y)
    # The first bracket has no results to learn from: the random draws,
    # one by one from the same generator.
    np.testing.assert_array_equal(first_round(tpe), first_round(blind))
    assert first_round(tpe, 1).mean() > first_round(blind, 1).mean() + 0.1
    assert first_round(tpe, 1).mean() > 0.65
    # Given random_state, any n_jobs draws the same candidates.
    parallel = search("tpe", n_brackets=2, n_candidates=60, n_jobs=2).fit(X, y)
    assert parallel.cv_results_["params"] == tpe.cv_results_["params"]


def test_async_tpe_with_one_job_is_reproducible(toy):
    X, y = toy
    first = search("tpe", promotion="async", n_brackets=2).fit(X, y)
    again = search("tpe", promotion="async", n_brackets=2).fit(X, y)
    assert first.cv_results_["params"] == again.cv_results_["params"]
    other = search("tpe", promotion="async", n_brackets=2, random_state=1).fit(X, y)
    assert other.cv_results_["params"] != first.cv_results_["params"]


@pytest.mark.parametrize("promotion", ["sync", "async"])
def test_tpe_on_a_grid_draws_no_candidate_twice_in_a_bracket(toy, promotion):
    X, y = toy
    space = {"quality": [0.1, 0.3, 0.5, 0.7, 0.9], "fail_after": [None, 100]}
    assert grid_size(space) == 10
    # 27 asked, 10 in the grid: the bracket holds each once, as
    # ParameterSampler would, with the same kind of warning.
    with pytest.warns(UserWarning, match="space of parameters 10 is smaller"):
        found = search("tpe", space, promotion=promotion, n_candidates=27).fit(X, y)
    assert found.n_candidates_[0] == 10
    drawn = [
        tuple(sorted(p.items()))
        for p, i in zip(found.cv_results_["params"], found.cv_results_["iter"])
        if i == 0
    ]
    assert len(set(drawn)) == len(drawn) == 10
    assert found.best_params_["quality"] == 0.9


def test_tpe_checks_its_space_before_any_fit(toy):
    X, y = toy
    with pytest.raises(ValueError, match="'epochs' is the resource"):
        search("tpe", {"epochs": [1, 2]}).fit(X, y)
    with pytest.raises(InvalidParameterError, match="sampler"):
        search("bayes").fit(X, y)


class OnlyRvs:
    """A distribution with ``rvs`` but no CDF: drawn, never modelled."""

    def rvs(self, random_state=None):
        return "rvs-" + str(random_state.randint(3))


def test_parzen_sampler_draws_every_kind_of_dimension():
    space = {
        "learning_rate": loguniform(1e-4, 1e-1),
        "units": randint(8, 65),
        "layers": [(64,), (128,), (64, 64)],
        "tag": OnlyRvs(),
    }
    rng = np.random.RandomState(0)
    sampler = ParzenSampler(space, rng)
    # A history in which small rates did best, and then many units.
    history = []
    for _ in range(40):
        params = sampler.draw([])
        good = params["learning_rate"] < 1e-3
        history.append((params, (1, float(good) + params["units"] / 1000)))
    draws = [sampler.draw(history) for _ in range(60)]
    for params in draws:
        assert set(params) == set(space)
        assert 1e-4 <= params["learning_rate"] <= 1e-1
        assert isinstance(params["units"], (int, np.integer))
        assert 8 <= params["units"] <= 64
        assert params["layers"] in space["layers"]
        assert params["tag"] in {"rvs-0", "rvs-1", "rvs-2"}
    # Log-uniform: 1e-3 is a third of the way; the model draws below it.
    small = np.mean([p["learning_rate"] < 1e-3 for p in draws])
    assert small > 0.55


def test_parzen_sampler_ranks_epochs_before_scores():
    rng = np.random.RandomState(0)
    sampler = ParzenSampler({"x": uniform(0, 1)}, rng)
    # Candidates near 0.2 went furthest with low scores; those near 0.9
    # scored high but stopped at 1 epoch: the first are the good ones.
    history = [({"x": 0.2 + 0.01 * i}, (9, 0.1)) for i in range(3)]
    history += [({"x": 0.9 + 0.005 * i}, (1, 0.99)) for i in range(17)]
    history += [({"x": float(x)}, (1, float("nan"))) for x in np.linspace(0, 1, 5)]
    draws = np.array([sampler.draw(history)["x"] for _ in range(60)])
    assert np.mean(np.abs(draws - 0.21) < 0.15) > 0.5


def cost_history(sampler, n=40):
    """Candidates scored by ``x`` alone, each costing ``0.1 + size`` seconds
    per epoch."""
    history = []
    for _ in range(n):
        params = sampler.draw([])
        seconds = 0.1 + float(params["size"])
        history.append((params, (1, params["x"]), seconds))
    return history


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_second_draws_the_cheaper_of_equally_good_candidates(seed):
    space = {"x": uniform(0, 1), "size": uniform(0, 1)}
    history = cost_history(ParzenSampler(space, np.random.RandomState(seed)))
    by_score = ParzenSampler(space, np.random.RandomState(seed))
    per_second = ParzenSampler(space, np.random.RandomState(seed), per_second=True)
    keys = ["x", "size"]
    plain = np.array([[by_score.draw(history)[k] for k in keys] for _ in range(60)])
    cheap = np.array([[per_second.draw(history)[k] for k in keys] for _ in range(60)])
    # ``size`` does not change the score: "tpe" draws it near where the
    # few best candidates happened to lie, "tpe_per_second" low.
    assert cheap[:, 1].mean() < plain[:, 1].mean() - 0.1
    assert cheap[:, 1].mean() < 0.4
    # Both still draw where ``x`` is high (a third at random, mean 0.5).
    assert cheap[:, 0].mean() > 0.65
    assert plain[:, 0].mean() > 0.65


def test_per_second_with_equal_costs_draws_as_tpe():
    space = {"x": uniform(0, 1), "size": [1, 2, 3]}
    history = cost_history(ParzenSampler(space, np.random.RandomState(0)))
    history = [(params, key, 0.5) for params, key, _ in history]
    by_score = ParzenSampler(space, np.random.RandomState(3))
    per_second = ParzenSampler(space, np.random.RandomState(3), per_second=True)
    for _ in range(30):
        assert per_second.draw(history) == by_score.draw(history)


class SlowCounter(EpochCounter):
    """An ``EpochCounter`` that sleeps ``delay`` seconds per epoch it fits."""

    def __init__(self, quality=0.5, epochs=1, warm_start=False, delay=0.0):
        super().__init__(quality=quality, epochs=epochs, warm_start=warm_start)
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay * self.epochs)
        return super().fit(X, y)


@pytest.mark.parametrize("promotion", ["sync", "async"])
def test_per_second_learns_each_candidates_seconds_per_epoch(
    toy, promotion, monkeypatch
):
    X, y = toy
    seen = []
    draw = ParzenSampler.draw

    def spy(self, history, exclude=()):
        seen.extend(history)
        return draw(self, history, exclude)

    monkeypatch.setattr(ParzenSampler, "draw", spy)
    space = {"quality": uniform(0, 1), "delay": [0.0, 0.004]}
    HyperbandSearchCV(
        SlowCounter(), space, sampler="tpe_per_second", promotion=promotion,
        max_epochs=9, factor=3, cv=3, n_candidates=20, n_brackets=2,
        random_state=0,
    ).fit(X, y)  # fmt: skip
    slow = [s for params, _, s in seen if params["delay"] > 0]
    fast = [s for params, _, s in seen if params["delay"] == 0]
    # Sleeping is a lower bound on the time; the fast fits take microseconds.
    assert slow and fast
    assert min(slow) >= 0.004
    assert np.mean(fast) < np.mean(slow) / 2
