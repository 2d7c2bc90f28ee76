"""HyperbandSearchCV(promotion="async"): ASHA's promotions, without a round barrier.

ASHA's rule is tested alone (``promotable``); the search with ``EpochCounter``
(see ``test_hyperband.py``), whose score is a known function of its quality
and epochs, on every kind of worker pool; one test trains real networks.
"""

import itertools
import os

import numpy as np
import pytest
from joblib import parallel_config
from scipy.stats import uniform
from sklearn.exceptions import FitFailedWarning
from test_hyperband import EpochCounter, n_epochs, n_fits

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators._sklearn_compat import InvalidParameterError
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import HyperbandSearchCV, _workers, dask_backend
from fmnist_estimators.search._asha import Task, _Queue
from fmnist_estimators.search._schedule import promotable
from fmnist_estimators.search._workers import worker_pool

pytestmark = pytest.mark.usefixtures("one_blas_thread")

NAN = float("nan")


# -- the rule ------------------------------------------------------------------
def test_promotes_the_top_fraction_of_those_completed_so_far():
    rule = dict(factor=3, quota=3, complete=False)
    scores = {0: 0.5, 1: 0.7}
    assert promotable(scores, [], **rule) == []  # 2 // 3 = 0
    scores[2] = 0.6
    assert promotable(scores, [], **rule) == [1]
    # 5 // 3 = 1: candidate 1 is still the best and was promoted already.
    scores.update({3: 0.1, 4: 0.2})
    assert promotable(scores, [1], **rule) == []
    # 6 // 3 = 2: the second best goes on; worst of the two last returned.
    scores[5] = 0.9
    assert promotable(scores, [1], **rule) == [5]
    assert promotable(scores, [], **rule) == [5, 1]


def test_the_quota_bounds_the_promotions_and_complete_rungs_fill_it():
    rule = dict(factor=2, quota=2)
    # Two promoted early; a better candidate finishing later cannot go on.
    early = {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.9}
    assert promotable(early, [1, 2], complete=False, **rule) == []
    assert promotable(early, [1, 2], complete=True, **rule) == []
    assert promotable(early, [2], complete=False, **rule) == [3]
    # 3 // 2 = 1 while running; complete, the best 2 (the synchronous
    # round's ceil(3 / 2)) go on.
    three = {0: 0.4, 1: 0.8, 2: 0.6}
    assert promotable(three, [1], complete=False, **rule) == []
    assert promotable(three, [1], complete=True, **rule) == [2]
    assert promotable(three, [], complete=True, **rule) == [1, 2]
    # Never more than the quota, even when promoted ones fell behind.
    assert promotable(three, [0], complete=True, factor=2, quota=1) == []


def test_ties_go_to_the_later_candidate():
    assert promotable({0: 0.5, 1: 0.5}, [], factor=2, quota=1, complete=False) == [1]
    # Stable past numpy's small-array sort, too.
    equal = dict.fromkeys(range(40), 0.5)
    assert promotable(equal, [], factor=4, quota=10, complete=False) == list(
        range(39, 29, -1)
    )


def test_failed_candidates_go_on_only_to_fill_a_complete_rung():
    failed = {0: NAN, 1: NAN}
    assert promotable(failed, [], factor=2, quota=1, complete=False) == []
    assert promotable(failed, [], factor=2, quota=1, complete=True) == [1]
    mixed = {0: NAN, 1: 0.2, 2: NAN, 3: 0.1}
    assert promotable(mixed, [], factor=2, quota=3, complete=False) == [1, 3]
    assert promotable(mixed, [1, 3], factor=2, quota=3, complete=True) == [2]


# -- the search ----------------------------------------------------------------
@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), np.repeat([0, 1, 2], 20)


_clock = itertools.count()


def scored_at(estimator, X, y):
    """When the fit was scored: a tick of a clock of this process."""
    return next(_clock)


def pid(estimator, X, y):
    return estimator.pid_


def search(promotion, scoring=None, **params):
    """A search of EpochCounter's quality, scoring also its fits and epochs."""
    defaults = dict(max_epochs=9, factor=3, cv=3, refit="score", random_state=0)
    return HyperbandSearchCV(
        EpochCounter(),
        {"quality": uniform(0, 1)},
        scoring={"score": None, "fits": n_fits, "epochs": n_epochs, **(scoring or {})},
        promotion=promotion,
        **{**defaults, **params},
    )


def test_async_runs_the_synchronous_budget_without_a_round_barrier(toy):
    X, y = toy
    ours = search("async", scoring={"at": scored_at}, n_brackets="all").fit(X, y)
    sync = search("sync", scoring={"at": scored_at}, n_brackets="all").fit(X, y)

    for name in ("n_resources_", "n_candidates_", "epochs_trained_", "n_iterations_"):
        assert getattr(ours, name) == getattr(sync, name), name
    assert set(ours.cv_results_) == set(sync.cv_results_)
    results = ours.cv_results_
    assert len(results["params"]) == len(sync.cv_results_["params"]) == 23
    # Every model continued: rung i is its (i + 1)-th fit, trained to the
    # rung's epochs in all.
    np.testing.assert_array_equal(results["mean_test_fits"], results["iter"] + 1)
    np.testing.assert_array_equal(results["mean_test_epochs"], results["n_resources"])
    # No barrier: a candidate of bracket 0 trains for 3 epochs before the
    # last of its bracket's first rung is fitted; the synchronous rounds
    # fit the whole first rung first.
    for search_, before in ((ours, True), (sync, False)):
        r = search_.cv_results_
        first = r["mean_test_at"][(r["bracket"] == 0) & (r["iter"] == 0)]
        second = r["mean_test_at"][(r["bracket"] == 0) & (r["iter"] == 1)]
        assert bool(second.min() < first.max()) is before
    # The best row is among those trained longest, and the refit replays it.
    assert results["n_resources"][ours.best_index_] == 9
    assert ours.best_estimator_.n_iter_ == 9 and ours.best_params_["epochs"] == 9
    assert ours.best_estimator_.n_fits_ == results["iter"][ours.best_index_] + 1

    # One job: the same promotions on every run.
    again = search("async", n_brackets="all").fit(X, y)
    assert again.cv_results_["params"] == results["params"]


def test_async_finds_the_best_of_a_clear_field(toy):
    X, y = toy
    space = {"quality": [0.2, 0.3, 0.95, 0.1, 0.25, 0.15, 0.35, 0.05, 0.4]}
    ours = search("async").set_params(param_distributions=space).fit(X, y)
    sync = search("sync").set_params(param_distributions=space).fit(X, y)
    assert ours.best_params_ == sync.best_params_ == {"quality": 0.95, "epochs": 9}
    assert ours.best_score_ == pytest.approx(sync.best_score_)


def test_async_in_worker_processes(toy):
    X, y = toy
    ours = search("async", scoring={"pid": pid}, n_jobs=2).fit(X, y)
    serial = search("async").fit(X, y)
    assert ours.epochs_trained_ == serial.epochs_trained_ == 3 * (9 + 3 * 2 + 6)
    # The fits ran in the workers, the refit here.
    assert os.getpid() not in set(ours.cv_results_["split0_test_pid"])
    assert ours.best_estimator_.pid_ == os.getpid()
    np.testing.assert_array_equal(
        ours.cv_results_["mean_test_fits"], ours.cv_results_["iter"] + 1
    )


def loads(estimator, X, y):
    return estimator.loads_


def continued_fits(search):
    """(pid, loads) of each (candidate, fold) fit and of its model's last fit."""
    r = search.cv_results_
    rows = {}
    for i, params in enumerate(r["params"]):
        key = (r["bracket"][i], params["quality"])
        rows.setdefault(key, []).append(i)
    for row in rows.values():
        for before, after in itertools.pairwise(sorted(row, key=r["iter"].__getitem__)):
            for k in range(search.n_splits_):
                yield (
                    (
                        r[f"split{k}_test_pid"][before],
                        r[f"split{k}_test_loads"][before],
                    ),
                    (r[f"split{k}_test_pid"][after], r[f"split{k}_test_loads"][after]),
                )


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_async_continues_models_where_they_are(toy, backend):
    X, y = toy
    scoring = {"pid": pid, "loads": loads}
    ours = search("async", scoring=scoring, n_jobs=2, n_brackets="all")
    if backend == "dask":
        with dask_backend(n_workers=2):
            ours.fit(X, y)
    else:
        ours.fit(X, y)
    pairs = list(continued_fits(ours))
    assert len(pairs) == 3 * (3 + 1 + 2)  # (candidate, fold) continuations
    # A model continued in the process that fitted it last is continued as
    # it is; one sent elsewhere is unpickled there, once.
    for (pid_before, loads_before), (pid_after, loads_after) in pairs:
        assert loads_after == loads_before + (pid_after != pid_before)
    stayed = sum(before[0] == after[0] for before, after in pairs)
    assert stayed > len(pairs) // 2
    # The same search as in this process.
    serial = search("async", n_brackets="all").fit(X, y)
    assert ours.epochs_trained_ == serial.epochs_trained_


def test_async_workers_keep_no_model_after_the_search(toy):
    X, y = toy
    search("async", n_jobs=2).fit(X, y)
    with worker_pool(2) as (pool, _):
        # Each worker runs its tasks in order: after the search's clean-up.
        held = [pool.submit(len, _workers._resident, slot=s) for s in (0, 1)]
    assert [future.result() for future in held] == [0, 0]


def test_a_free_worker_takes_its_own_models_first():
    ladders = [type("L", (), {"candidates": [0, 1, 2]})()]
    queue = _Queue(ladders, n_folds=2)
    first = queue.pop(lambda task: False)
    assert first == Task(0, 0, 0, 0)
    queue.promote(Task(0, 1, 0, 0), [1])  # both folds of candidate 1
    queue.promote(Task(0, 2, 1, 0), [2])  # a higher rung
    ours = {Task(0, 1, 1, 1)}
    # Its own model first, though a higher rung waits; then a first rung;
    # then the others' models, the highest rung first.
    assert queue.pop(ours.__contains__) == Task(0, 1, 1, 1)
    assert queue.pop(ours.__contains__) == Task(0, 0, 0, 1)
    rest = [queue.pop(ours.__contains__) for _ in range(8)]
    assert rest[:4] == [
        Task(0, 1, 0, 0),
        Task(0, 1, 0, 1),
        Task(0, 2, 0, 0),
        Task(0, 2, 0, 1),
    ]
    assert rest[4:6] == [Task(0, 2, 2, 0), Task(0, 2, 2, 1)]
    assert rest[6:] == [Task(0, 1, 1, 0), None]


def test_async_on_threads_and_on_a_dask_cluster(toy):
    X, y = toy
    serial = search("async").fit(X, y)
    with parallel_config(backend="threading", n_jobs=2):
        threads = search("async").fit(X, y)
    with dask_backend(n_workers=2, processes=False):
        cluster = search("async").fit(X, y)
    for ours in (threads, cluster):
        assert ours.n_candidates_ == serial.n_candidates_ == [9, 3, 1]
        assert ours.epochs_trained_ == serial.epochs_trained_
        np.testing.assert_array_equal(
            ours.cv_results_["mean_test_epochs"], ours.cv_results_["n_resources"]
        )


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_async_failures(toy):
    X, y = toy
    # Every fit past the first epoch fails: the later rungs score NaN, with
    # a warning per rung as in the synchronous rounds, and their quota is
    # still filled.
    with (
        pytest.warns(FitFailedWarning, match="9 of the 9 fits") as w,
        pytest.warns(FitFailedWarning, match="3 of the 3 fits"),
    ):
        failing = search("async", refit=False).set_params(
            estimator=EpochCounter(fail_after=1)
        )
        failing.fit(X, y)
    failures = [r for r in w if r.category is FitFailedWarning]
    assert {r.filename for r in failures} == {__file__}  # the user's call of fit
    assert failing.n_candidates_ == [9, 3, 1]
    assert np.isnan(failing.cv_results_["mean_test_score"][9:]).all()
    with pytest.raises(ValueError, match="diverged"):
        search("async", error_score="raise").set_params(
            estimator=EpochCounter(fail_after=1)
        ).fit(X, y)
    with pytest.raises(InvalidParameterError, match="promotion"):
        search("asha").fit(X, y)


def test_async_continues_networks():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    net = DenseNetClassifier((8,), batch_size=64, random_state=0)
    ours = HyperbandSearchCV(
        net,
        {"learning_rate": [1e-6, 1e-2, 1e-5, 1e-4]},
        max_epochs=2,
        factor=2,
        n_candidates=4,
        cv=2,
        random_state=0,
        promotion="async",
    ).fit(X[:300], y[:300])
    assert ours.best_params_ == {"learning_rate": 1e-2, "epochs": 2}
    # 4 candidates x 1 epoch and 2 x 1 more, on 2 folds: as the rounds.
    assert ours.epochs_trained_ == 2 * (4 + 2)
    assert ours.best_estimator_.n_iter_ == 2
    assert len(ours.best_estimator_.history_["loss"]) == 2
