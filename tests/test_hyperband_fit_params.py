"""HyperbandSearchCV.fit(X, y, **params): fit parameters, as GridSearchCV takes them.

``sample_weight`` is split with the folds, a validation set of the user's own
(``X_val``, ``y_val``) is passed whole, and with metadata routing each goes
where it was requested.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.metrics import accuracy_score, get_scorer, make_scorer
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import HyperbandSearchCV, make_family_pipeline

pytestmark = pytest.mark.usefixtures("one_blas_thread")


class WeightedMajority(ClassifierMixin, BaseEstimator):
    """Predicts the class of largest total weight; records what fit received."""

    def __init__(self, epochs=1, warm_start=False, bias=0.0):
        self.epochs = epochs
        self.warm_start = warm_start
        self.bias = bias

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None):
        weights = np.ones(len(y)) if sample_weight is None else sample_weight
        self.classes_ = np.unique(y)
        totals = [weights[y == c].sum() for c in self.classes_]
        self.majority_ = self.classes_[int(np.argmax(totals))]
        continuing = self.warm_start and hasattr(self, "weight_sums_")
        self.weight_sums_ = (self.weight_sums_ if continuing else []) + [
            float(weights.sum())
        ]
        self.n_val_ = None if X_val is None else (len(X_val), len(y_val))
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def weight_sum(estimator, X, y):
    """The sum of the sample weights of the last fit."""
    return estimator.weight_sums_[-1]


def n_val(estimator, X, y):
    return -1 if estimator.n_val_ is None else estimator.n_val_[0]


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 3)), np.repeat([0, 1, 2], 20)


def test_sample_weight_is_split_with_the_folds_and_x_val_passed_whole(toy):
    X, y = toy
    sample_weight = np.arange(len(y), dtype=float)
    # A validation set as long as X: still passed whole, not split.
    X_val, y_val = X + 1, y
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = HyperbandSearchCV(
        WeightedMajority(),
        {"bias": [0.0, 1.0, 2.0]},
        max_epochs=3,
        cv=cv,
        scoring={"weights": weight_sum, "n_val": n_val},
        refit="weights",
        random_state=0,
    ).fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)
    results = search.cv_results_
    assert search.n_resources_ == [1, 3] and len(results["params"]) == 4
    for k, (train, _) in enumerate(cv.split(X, y)):
        # Every round of every candidate saw its training fold's weights.
        np.testing.assert_array_equal(
            results[f"split{k}_test_weights"], sample_weight[train].sum()
        )
    np.testing.assert_array_equal(results["mean_test_n_val"], len(X_val))
    # The refit replays both rounds on all of X, with all the weights.
    assert search.best_estimator_.weight_sums_ == [sample_weight.sum()] * 2
    assert search.best_estimator_.n_val_ == (60, 60)


def test_sample_weight_changes_the_scores_as_in_grid_search(toy):
    X, y = toy
    # Class 2 weighs most: the majority changes, and so does the accuracy.
    sample_weight = np.where(y == 2, 5.0, 1.0)
    ours = HyperbandSearchCV(
        WeightedMajority(), {"bias": [0.0]}, max_epochs=1, cv=3
    ).fit(X, y, sample_weight=sample_weight)
    theirs = GridSearchCV(WeightedMajority(), {"bias": [0.0]}, cv=3).fit(
        X, y, sample_weight=sample_weight
    )
    unweighted = HyperbandSearchCV(
        WeightedMajority(), {"bias": [0.0]}, max_epochs=1, cv=3
    ).fit(X, y)
    for k in range(3):
        key = f"split{k}_test_score"
        assert ours.cv_results_[key] == pytest.approx(theirs.cv_results_[key])
    assert ours.best_estimator_.majority_ == 2
    assert unweighted.best_estimator_.majority_ == 0


def test_groups_reach_a_group_splitter(toy):
    X, y = toy
    groups = np.arange(len(y)) % 4
    search = HyperbandSearchCV(
        WeightedMajority(), {"bias": [0.0]}, max_epochs=1, cv=GroupKFold(4)
    ).fit(X, y, groups=groups)
    assert search.n_splits_ == 4
    with pytest.raises(ValueError, match="groups"):
        search.fit(X, y)


def test_metadata_routing_to_a_step_and_a_scorer(toy):
    X, y = toy
    sample_weight = np.where(y == 2, 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        scoring = {
            "weighted": make_scorer(accuracy_score).set_score_request(
                sample_weight=True
            ),
            "plain": make_scorer(accuracy_score).set_score_request(sample_weight=False),
        }
        pipe = Pipeline(
            [("clf", WeightedMajority().set_fit_request(sample_weight=True))]
        )
        search = HyperbandSearchCV(
            pipe,
            {"clf__bias": [0.0]},
            max_epochs=1,
            cv=3,
            scoring=scoring,
            refit="weighted",
            # Workers see the routing configuration too.
            n_jobs=2,
        ).fit(X, y, sample_weight=sample_weight)
        grid = GridSearchCV(
            pipe, {"clf__bias": [0.0]}, cv=3, scoring=scoring, refit="weighted"
        ).fit(X, y, sample_weight=sample_weight)
        # Requested by neither the network nor a scorer: refused, as by
        # GridSearchCV.
        unrequested = HyperbandSearchCV(
            Pipeline([("clf", WeightedMajority())]), {}, max_epochs=1, cv=3
        )
        with pytest.raises(ValueError, match="sample_weight"):
            unrequested.fit(X, y, sample_weight=sample_weight)
        unset = search.set_params(n_jobs=None, scoring={**scoring, "plain": "accuracy"})
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            unset.fit(X, y, sample_weight=sample_weight)
    assert grid.best_estimator_.named_steps["clf"].majority_ == 2
    for name in ("weighted", "plain"):
        np.testing.assert_allclose(
            search.cv_results_[f"mean_test_{name}"],
            grid.cv_results_[f"mean_test_{name}"],
        )
    # Each fold's test rows are 1/3 of class 2 in count, 5/7 in weight.
    assert search.cv_results_["mean_test_plain"][0] == pytest.approx(1 / 3, abs=0.02)
    assert search.cv_results_["mean_test_weighted"][0] == pytest.approx(5 / 7, abs=0.02)


def test_network_in_a_pipeline_with_routed_weights_and_validation_set():
    """As users write it: a network asking for its weights and validation set."""
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X, y, X_val, y_val = X[:120], y[:120], X[120:160], y[120:160]
    # Weightless classes 5-9: a network trained with the weights never
    # learns them, one trained without does.
    sample_weight = np.where(y < 5, 1.0, 0.0)
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    net = DenseNetClassifier(
        (8,), epochs=1, batch_size=64, lr_schedule="constant", random_state=0
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_family_pipeline(
            net.set_fit_request(sample_weight=True, X_val=True, y_val=True)
        )
        params = dict(sample_weight=sample_weight, X_val=X_val, y_val=y_val)
        # Routing asks the scorer, too, whether it wants the weights.
        scoring = get_scorer("neg_log_loss").set_score_request(sample_weight=True)
        search = HyperbandSearchCV(
            pipe,
            {"clf__learning_rate": [0.01]},
            max_epochs=1,
            cv=cv,
            scoring=scoring,
        ).fit(X, y, **params)
        grid = GridSearchCV(
            pipe, {"clf__learning_rate": [0.01]}, cv=cv, scoring=scoring
        ).fit(X, y, **params)
    # The same fits as GridSearchCV's, fold for fold, to float32 rounding.
    for k in range(2):
        key = f"split{k}_test_score"
        np.testing.assert_allclose(
            search.cv_results_[key], grid.cv_results_[key], rtol=1e-5
        )
    clf = search.best_estimator_.named_steps["clf"]
    assert "val_loss" in clf.history_
    proba = search.predict_proba(X_val)
    assert proba[:, 5:].sum(axis=1).mean() < proba[:, :5].sum(axis=1).mean()
