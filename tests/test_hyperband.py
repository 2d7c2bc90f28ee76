"""HyperbandSearchCV: the rounds of successive halving, continuing every model.

Most tests use ``EpochCounter``, a stand-in with ``epochs`` and ``warm_start``
whose score is a known function of its parameter and of the epochs it has
trained, so schedules, survivors and continuation are checked exactly and in
milliseconds. Two tests train real networks.
"""

import os

import numpy as np
import pytest
from scipy.stats import uniform
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    HalvingRandomSearchCV,
    StratifiedKFold,
    cross_validate,
)

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    HyperbandSearchCV,
    format_table,
    make_family_pipeline,
    results_table,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


class EpochCounter(ClassifierMixin, BaseEstimator):
    """Counts the epochs it has trained; scores ``quality * epochs / (epochs + 1)``.

    ``fail_after``: fitting past this many epochs in all raises.
    """

    def __init__(self, quality=0.5, epochs=1, warm_start=False, fail_after=None):
        self.quality = quality
        self.epochs = epochs
        self.warm_start = warm_start
        self.fail_after = fail_after

    def fit(self, X, y):
        continuing = self.warm_start and hasattr(self, "n_iter_")
        self.n_iter_ = (self.n_iter_ if continuing else 0) + self.epochs
        self.n_fits_ = (self.n_fits_ if continuing else 0) + 1
        if self.quality < 0:
            raise ValueError("negative quality")
        if self.fail_after is not None and self.n_iter_ > self.fail_after:
            raise ValueError(f"diverged after {self.fail_after} epochs")
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.shape(X)[1]
        self.pid_ = os.getpid()
        return self

    def __setstate__(self, state):
        # How many times this model was unpickled (sent to a worker).
        state["loads_"] = state.get("loads_", 0) + 1
        super().__setstate__(state)

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y):
        return self.quality * self.n_iter_ / (self.n_iter_ + 1)


def n_fits(estimator, X, y):
    return estimator.n_fits_


def n_epochs(estimator, X, y):
    return estimator.n_iter_


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), np.repeat([0, 1, 2], 20)


def test_same_rounds_and_survivors_as_halving_random_search(toy):
    X, y = toy
    space = {"quality": uniform(0, 1)}
    common = dict(factor=3, cv=3, random_state=0)
    ours = HyperbandSearchCV(
        EpochCounter(),
        space,
        max_epochs=9,
        scoring={"score": None, "fits": n_fits, "epochs": n_epochs},
        refit="score",
        **common,
    ).fit(X, y)
    theirs = HalvingRandomSearchCV(
        EpochCounter(),
        space,
        resource="epochs",
        min_resources=1,
        max_resources=9,
        **common,
    ).fit(X, y)

    assert ours.n_resources_ == theirs.n_resources_ == [1, 3, 9]
    assert ours.n_candidates_ == theirs.n_candidates_ == [9, 3, 1]
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"]
    )
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    # Every model continued: round i is its (i + 1)-th fit, and it has
    # trained the round's epochs in all, not the round's epochs more.
    results = ours.cv_results_
    np.testing.assert_array_equal(results["mean_test_fits"], results["iter"] + 1)
    np.testing.assert_array_equal(results["mean_test_epochs"], results["n_resources"])
    # 9 x 1 + 3 x (3 - 1) + 1 x (9 - 3) epochs per fold, against 9 + 9 + 9.
    assert ours.epochs_trained_ == 21 * 3
    assert sum(theirs.n_candidates_[i] * r for i, r in enumerate([1, 3, 9])) == 27
    # The refit replays the rounds, then shows best_params_.
    best = ours.best_estimator_
    assert (best.n_iter_, best.n_fits_) == (9, 3)
    assert best.get_params() == {**EpochCounter().get_params(), **ours.best_params_}
    assert ours.refit_time_ >= 0 and ours.resource_ == "epochs"


def test_hyperband_brackets(toy):
    X, y = toy
    search = HyperbandSearchCV(
        EpochCounter(),
        {"quality": uniform(0, 1)},
        max_epochs=10,
        n_brackets="all",
        cv=2,
        random_state=1,
    ).fit(X, y)
    # s_max = 2: brackets start at 1, 3 and 9 epochs, all end at 9 (not 10);
    # Hyperband's shares of 10 first candidates are 10, 5 and 4.
    assert search.n_brackets_ == 3 and search.max_resources_ == 9
    assert search.n_resources_ == [1, 3, 9, 3, 9, 9]
    assert search.n_candidates_ == [10, 4, 2, 5, 2, 4]
    assert search.n_iterations_ == 6
    assert search.epochs_trained_ == 2 * (10 + 4 * 2 + 2 * 6 + 5 * 3 + 2 * 6 + 4 * 9)
    results = search.cv_results_
    assert list(np.unique(results["bracket"])) == [0, 1, 2]
    # The best of the rows trained longest, whatever its bracket.
    last = results["n_resources"] == 9
    assert last[search.best_index_]
    assert search.best_score_ == results["mean_test_score"][last].max()
    rows = results_table(search, as_frame=False)
    assert rows[0]["rank"] == 1
    assert rows[0]["params"] == {
        k: v for k, v in search.best_params_.items() if k != "epochs"
    }
    assert {row["bracket"] for row in rows} == {0, 1, 2}
    assert "| bracket |" in format_table(rows)

    with pytest.raises(ValueError, match="at most 3 bracket"):
        HyperbandSearchCV(EpochCounter(), {}, max_epochs=9, n_brackets=4).fit(X, y)


def test_parallel_rounds_give_the_serial_results(toy):
    X, y = toy
    params = dict(max_epochs=4, factor=2, cv=2, random_state=0, n_candidates=4)
    space = {"quality": uniform(0, 1)}
    serial = HyperbandSearchCV(EpochCounter(), space, **params).fit(X, y)
    parallel = HyperbandSearchCV(EpochCounter(), space, n_jobs=2, **params)
    parallel.fit(X, y)
    for key in ("mean_test_score", "n_resources", "iter"):
        np.testing.assert_array_equal(
            parallel.cv_results_[key], serial.cv_results_[key]
        )
    assert parallel.best_params_ == serial.best_params_
    # The refit runs here, the rounds in the workers.
    assert parallel.best_estimator_.pid_ == os.getpid()


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.filterwarnings("ignore:The total space of parameters")
def test_failed_fits_score_error_score_and_never_survive(toy):
    X, y = toy
    with pytest.warns(FitFailedWarning, match="3 of the 9 fits") as w:
        search = HyperbandSearchCV(
            EpochCounter(), {"quality": [0.1, -1.0, 0.9]}, max_epochs=3, cv=3
        ).fit(X, y)
    failures = [r for r in w if r.category is FitFailedWarning]
    assert [r.filename for r in failures] == [__file__]  # the user's call of fit
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert search.best_params_ == {"quality": 0.9, "epochs": 3}

    # A survivor whose later round fails scores NaN from then on.
    with pytest.warns(FitFailedWarning, match="3 of the 3 fits"):
        search = HyperbandSearchCV(
            EpochCounter(fail_after=1),
            {"quality": [0.1, 0.5, 0.9]},
            max_epochs=3,
            cv=3,
            refit=False,
        ).fit(X, y)
    assert search.cv_results_["params"][-1]["quality"] == 0.9
    assert np.isnan(search.cv_results_["mean_test_score"][-1])

    failing = EpochCounter(fail_after=0)
    with pytest.raises(ValueError, match="All the 9 fits"):
        HyperbandSearchCV(failing, {"quality": [0.1, 0.5, 0.9]}, max_epochs=3).fit(X, y)
    with pytest.raises(ValueError, match="diverged"):
        HyperbandSearchCV(failing, {}, max_epochs=3, error_score="raise").fit(X, y)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
@pytest.mark.filterwarnings("ignore:The total space of parameters")
def test_failed_scoring_warns_at_the_users_fit(toy):
    X, y = toy

    def broken(estimator, X, y):
        raise RuntimeError("scorer broke")

    search = HyperbandSearchCV(
        EpochCounter(), {"quality": [0.1, 0.9]}, max_epochs=1, cv=2, refit=False
    ).set_params(scoring=broken)
    with pytest.warns(UserWarning, match="(?s)Scoring failed.*scorer broke") as w:
        search.fit(X, y)
    failures = [r for r in w if "Scoring failed" in str(r.message)]
    assert {r.filename for r in failures} == {__file__}
    assert np.isnan(search.cv_results_["mean_test_score"]).all()


@pytest.mark.filterwarnings("ignore:The total space of parameters")
def test_invalid_searches(toy):
    X, y = toy
    with pytest.raises(ValueError, match="must not be among the searched"):
        HyperbandSearchCV(EpochCounter(), {"epochs": [1, 2]}, max_epochs=3).fit(X, y)
    with pytest.raises(ValueError, match="at least min_epochs=4"):
        HyperbandSearchCV(EpochCounter(), {}, max_epochs=3, min_epochs=4).fit(X, y)

    class NoWarmStart(ClassifierMixin, BaseEstimator):
        def __init__(self, epochs=1):
            self.epochs = epochs

        def fit(self, X, y):
            return self

    with pytest.raises(ValueError, match="make_epoch_halving_search"):
        HyperbandSearchCV(NoWarmStart(), {}, max_epochs=3).fit(X, y)


@pytest.fixture(scope="module")
def images():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[:300], y[:300]


def test_continuing_equals_training_in_one_go(images):
    """Rounds of 2 + 2 epochs score as 4 epochs from scratch, to float32 precision.

    A constant learning rate, no dropout, and one batch holding the whole
    training fold (shuffling then only reorders a sum): nothing but rounding
    tells the continued network from the one trained in one go.
    """
    X, y = images
    net = DenseNetClassifier(
        (16,),
        lr_schedule="constant",
        learning_rate=0.01,
        batch_size=len(X),
        random_state=0,
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = HyperbandSearchCV(
        net,
        {"learning_rate": [0.01, 0.003]},
        min_epochs=2,
        max_epochs=4,
        factor=2,
        cv=cv,
        scoring="neg_log_loss",
        random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [2, 4]
    best = search.best_params_
    one_go = net.set_params(learning_rate=best["learning_rate"], epochs=4)
    scores = cross_validate(one_go, X, y, cv=cv, scoring="neg_log_loss")["test_score"]
    row = search.best_index_
    continued = [search.cv_results_[f"split{k}_test_score"][row] for k in range(3)]
    # Log losses of float32 networks that differ by rounding only.
    np.testing.assert_allclose(continued, scores, rtol=1e-5)
    # The refit, too, continues through the rounds.
    assert search.best_estimator_.n_iter_ == 4
    assert search.best_estimator_.epochs == 4
    np.testing.assert_allclose(
        search.predict_proba(X[:50]),
        one_go.fit(X, y).predict_proba(X[:50]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_family_pipeline_holding_a_network(images):
    X, y = images
    tiny = DenseNetClassifier((8,), batch_size=128, random_state=0)
    search = HyperbandSearchCV(
        make_family_pipeline(tiny),
        {"clf__dropout": [0.0, 0.2]},
        max_epochs=2,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert search.resource_ == "clf__epochs"
    assert search.n_resources_ == [1, 2]
    clf = search.best_estimator_.named_steps["clf"]
    assert clf.n_iter_ == 2 and len(clf.history_["loss"]) == 2
    assert search.best_params_["clf__epochs"] == 2
    rows = results_table(search, as_frame=False)
    assert [row["n_resources"] for row in rows] == [2, 1, 1]
    assert all("clf__epochs" not in row["params"] for row in rows)
    assert 0 <= search.score(X, y) <= 1


def test_last_round_trains_to_max_epochs_when_candidates_run_out(toy):
    X, y = toy
    # 2 candidates and factor 3: one round, which trains to 9 epochs, not 1.
    search = HyperbandSearchCV(
        EpochCounter(),
        {"quality": uniform(0, 1)},
        max_epochs=9,
        n_candidates=2,
        factor=3,
        cv=2,
        scoring={"score": None, "epochs": n_epochs},
        refit="score",
        random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [9] and search.n_candidates_ == [2]
    assert search.max_resources_ == 9 and search.best_params_["epochs"] == 9
    assert search.best_estimator_.n_iter_ == 9
    np.testing.assert_array_equal(search.cv_results_["mean_test_epochs"], [9, 9])
    assert search.epochs_trained_ == 2 * 2 * 9
    assert (search.n_required_iterations_, search.n_possible_iterations_) == (1, 3)
    assert search.n_iterations_ == 1

    # 4 candidates: a round of 1 epoch, then the 2 best continue to 9.
    search.set_params(n_candidates=4).fit(X, y)
    assert search.n_resources_ == [1, 9] and search.n_candidates_ == [4, 2]
    assert search.best_estimator_.n_iter_ == 9
    assert search.epochs_trained_ == 2 * (4 * 1 + 2 * 8)


def test_iteration_counts_as_halving_random_search(toy):
    X, y = toy
    space = {"quality": uniform(0, 1)}
    for n_candidates, max_epochs in [(9, 9), (30, 9), (3, 27)]:
        common = dict(n_candidates=n_candidates, factor=3, cv=2, random_state=0)
        ours = HyperbandSearchCV(
            EpochCounter(), space, max_epochs=max_epochs, **common
        ).fit(X, y)
        theirs = HalvingRandomSearchCV(
            EpochCounter(),
            space,
            resource="epochs",
            min_resources=1,
            max_resources=max_epochs,
            **common,
        ).fit(X, y)
        for name in ("n_required_iterations_", "n_possible_iterations_"):
            assert getattr(ours, name) == getattr(theirs, name), name
        assert ours.n_iterations_ == theirs.n_iterations_
        assert ours.n_candidates_ == theirs.n_candidates_
        # The same rounds, but the last trains to max_resources_ where
        # scikit-learn's stops short for want of candidates.
        assert ours.n_resources_[:-1] == theirs.n_resources_[:-1]
        assert ours.n_resources_[-1] == ours.max_resources_ == max_epochs
