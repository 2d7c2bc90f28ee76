"""Cross-family searches, halving on epochs, and the results tables."""

import math
import os

import numpy as np
import pytest
from joblib import Parallel, delayed
from scipy.stats import loguniform, randint
from sklearn.base import is_classifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    check_cv,
)

from fmnist_estimators import DenseNetClassifier, SVDSubspaceClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    family_param_grid,
    format_params,
    format_table,
    make_epoch_halving_search,
    make_family_pipeline,
    results_table,
)

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[:400], y[:400]


def tiny_dense(**params):
    params = {"epochs": 1, "batch_size": 128, "random_state": 0, **params}
    return DenseNetClassifier((8,), **params)


def test_family_pipeline_is_a_classifier_with_stratified_folds(data):
    X, y = data
    pipe = make_family_pipeline()
    assert is_classifier(pipe)
    assert isinstance(check_cv(3, y, classifier=is_classifier(pipe)), StratifiedKFold)
    clf = tiny_dense()
    assert make_family_pipeline(clf).named_steps["clf"] is clf


def test_family_param_grid_prefixes_and_validates():
    svd, dense = SVDSubspaceClassifier(), tiny_dense()
    grid = family_param_grid([(svd, {"n_components": [5, 10]}), (dense, {})])
    assert grid == [{"clf": [svd], "clf__n_components": [5, 10]}, {"clf": [dense]}]
    with pytest.raises(ValueError, match="no parameter.*'n_component'"):
        family_param_grid([(svd, {"n_component": [5]})])


def test_cross_family_grid_search(data):
    X, y = data
    grid = family_param_grid(
        [
            (SVDSubspaceClassifier(), {"n_components": [5, 10]}),
            (tiny_dense(), {"hidden_layer_sizes": [(8,)]}),
        ]
    )
    search = GridSearchCV(make_family_pipeline(), grid, cv=2).fit(X, y)
    rows = results_table(search, as_frame=False)
    assert len(rows) == 3
    assert {row["model"] for row in rows} == {
        "SVDSubspaceClassifier",
        "DenseNetClassifier",
    }
    assert [row["rank"] for row in rows] == sorted(row["rank"] for row in rows)
    best = rows[0]
    assert best["mean_test_score"] == pytest.approx(search.best_score_)
    assert all("clf" not in row["params"] for row in rows)
    assert all(row["n_scores"] == 2 for row in rows)
    # The split scores behind each row.
    i = search.best_index_
    scores = [search.cv_results_[f"split{k}_test_score"][i] for k in range(2)]
    assert best["std_test_score"] == pytest.approx(np.std(scores))

    text = format_table(rows)
    lines = text.splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].startswith("| rank | model | params | score |")
    assert "DenseNetClassifier" in text and "hidden_layer_sizes=(8,)" in text
    assert "clf__" not in text
    assert " ± " in lines[2]


def test_randomized_search_loguniform_learning_rate(data):
    X, y = data
    search = RandomizedSearchCV(
        tiny_dense(),
        {"learning_rate": loguniform(1e-4, 1e-2)},
        n_iter=2,
        cv=2,
        random_state=0,
        refit=False,
    ).fit(X, y)
    rates = [
        row["params"]["learning_rate"] for row in results_table(search, as_frame=False)
    ]
    assert len(set(rates)) == 2
    assert all(1e-4 <= rate <= 1e-2 for rate in rates)


def test_cross_family_randomized_search_samples_each_family(data):
    X, y = data
    grid = family_param_grid(
        [
            (SVDSubspaceClassifier(), {"n_components": randint(2, 30)}),
            (SVDSubspaceClassifier(center=False), {"n_components": randint(2, 30)}),
        ]
    )
    search = RandomizedSearchCV(
        make_family_pipeline(), grid, n_iter=6, cv=2, random_state=0
    ).fit(X, y)
    centers = {p["clf"].center for p in search.cv_results_["params"]}
    assert centers == {True, False}
    assert len(results_table(search, as_frame=False)) == 6


def test_halving_on_epochs(data):
    X, y = data
    search = make_epoch_halving_search(
        tiny_dense(),
        {"learning_rate": loguniform(1e-3, 1e-2)},
        max_epochs=2,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert search.resource == "epochs"
    assert search.n_resources_ == [1, 2]
    assert search.n_candidates_ == [2, 1]
    assert search.best_estimator_.epochs == search.n_resources_[-1]
    assert search.best_estimator_.n_iter_ == 2
    rows = results_table(search, as_frame=False)
    assert [row["n_resources"] for row in rows] == [2, 1, 1]
    # Rank 1 is the winner of the last round, whatever earlier rounds scored.
    assert rows[0]["rank"] == 1 and rows[0]["iter"] == 1
    assert rows[0]["params"] == {
        k: v for k, v in search.best_params_.items() if k != "epochs"
    }
    assert "| resources |" in format_table(rows)


def test_halving_resource_in_family_pipeline():
    search = make_epoch_halving_search(
        make_family_pipeline(tiny_dense()), {"clf__dropout": [0.0, 0.2]}, max_epochs=3
    )
    assert search.resource == "clf__epochs"
    with pytest.raises(ValueError, match="epochs"):
        make_epoch_halving_search(SVDSubspaceClassifier(), {}, max_epochs=3)


@pytest.mark.slow
def test_halving_on_pipeline_epochs(data):
    X, y = data
    search = HalvingRandomSearchCV(
        make_family_pipeline(tiny_dense()),
        {"clf__learning_rate": [3e-3, 1e-2]},
        resource="clf__epochs",
        max_resources=2,
        min_resources=1,
        factor=2,
        cv=2,
        random_state=0,
    ).fit(X, y)
    assert search.n_resources_ == [1, 2]
    assert search.best_estimator_.named_steps["clf"].epochs == 2


def test_results_table_average_over_pools_seeds(data):
    X, y = data
    search = GridSearchCV(
        SVDSubspaceClassifier(svd_solver="randomized"),
        {"n_components": [5, 10], "random_state": [0, 1]},
        cv=2,
    ).fit(X, y)
    rows = results_table(search, average_over=["random_state"], as_frame=False)
    assert len(rows) == 2
    assert all(row["n_scores"] == 4 for row in rows)
    assert all("random_state" not in row["params"] for row in rows)
    results = search.cv_results_
    mask = [p["n_components"] == 10 for p in results["params"]]
    pooled = np.concatenate(
        [np.asarray(results[f"split{k}_test_score"])[mask] for k in range(2)]
    )
    row = next(row for row in rows if row["params"] == {"n_components": 10})
    assert row["mean_test_score"] == pytest.approx(pooled.mean())
    assert row["std_test_score"] == pytest.approx(pooled.std())


def test_results_table_frame_and_format(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    search = GridSearchCV(SVDSubspaceClassifier(), {"n_components": [5, 10]}, cv=2)
    search.fit(X, y)
    frame = results_table(search)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["rank"]) == [1, 2]
    assert format_table(frame) == format_table(results_table(search, as_frame=False))
    assert len(format_table(frame, max_rows=1).splitlines()) == 3


def test_results_table_labels_and_candidate_order(data):
    X, y = data
    search = GridSearchCV(
        SVDSubspaceClassifier(), {"n_components": [2, 10], "center": [True]}, cv=2
    ).fit(X, y)
    rows = results_table(search, labels=["low", "high"], sort=False, as_frame=False)
    assert [row["sweep"] for row in rows] == ["low", "high"]
    assert [row["rank"] for row in rows] == list(search.cv_results_["rank_test_score"])
    # The same label pools the candidates that differ only in average_over.
    pooled = results_table(
        search, average_over=["n_components"], labels=["s", "s"], as_frame=False
    )
    assert len(pooled) == 1 and pooled[0]["n_scores"] == 4


def test_format_params_drops_prefixes():
    text = format_params(
        {"clf": SVDSubspaceClassifier(), "clf__n_components": 30, "lr": 1e-3}
    )
    assert text == "clf=SVDSubspaceClassifier, n_components=30, lr=0.001"
    assert format_params({"sizes": (64, 32), "x": 0.123456}, digits=1) == (
        "sizes=(64, 32), x=0.12"
    )


def test_results_table_needs_a_fitted_search():
    with pytest.raises(TypeError, match="Call fit first"):
        results_table(GridSearchCV(SVDSubspaceClassifier(), {}))


def test_format_table_nan_and_pipes():
    rows = [
        {
            "params": {"kernel": "a|b", "C": 1e-3, "flag": True},
            "mean_test_score": math.nan,
            "std_test_score": math.nan,
        }
    ]
    text = format_table(rows)
    assert "a\\|b" in text and "C=0.001" in text and "flag=True" in text
    assert "nan ± nan" in text
    assert "(defaults)" in format_table([{**rows[0], "params": {}}])


def test_optuna_search_results_table(data):
    optuna = pytest.importorskip("optuna")
    integration = pytest.importorskip("optuna_integration")
    from optuna.distributions import IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = data
    with pytest.warns(Warning):  # OptunaSearchCV is "experimental"
        search = integration.OptunaSearchCV(
            SVDSubspaceClassifier(),
            {"n_components": IntDistribution(2, 30)},
            n_trials=3,
            cv=2,
            random_state=0,
        ).fit(X, y)
    rows = results_table(search, as_frame=False)
    assert len(rows) == len(search.trials_)
    assert rows[0]["mean_test_score"] == pytest.approx(search.best_score_)
    assert rows[0]["n_scores"] == 2


def _tf_threads_in_worker():
    """Fit a tiny network in a joblib worker; report its thread settings."""
    import tensorflow as tf

    X, y = load_fashion_mnist_sample(return_X_y=True)
    tiny_dense().fit(X[:100], y[:100])
    return (
        os.environ.get("OMP_NUM_THREADS"),
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )


@pytest.mark.slow
def test_parallel_grid_search_keras_caps_tensorflow_threads(data):
    X, y = data
    n_cpus = os.cpu_count()
    threads = Parallel(n_jobs=2)(delayed(_tf_threads_in_worker)() for _ in range(2))
    expected = str(max(1, n_cpus // 2))
    for omp, intra, inter in threads:
        # loky exports cores // n_jobs and configure_tensorflow applies it.
        assert omp == expected
        assert intra == inter == int(expected)

    # A network that learns something, so that the thread count's rounding
    # differences cannot flip many predictions.
    net = tiny_dense(
        epochs=5, learning_rate=0.01, lr_schedule="constant", batch_size=32
    )
    grid = {"hidden_layer_sizes": [(16,), (32,)]}
    parallel = GridSearchCV(net, grid, cv=2, n_jobs=2).fit(X, y)
    serial = GridSearchCV(net, grid, cv=2).fit(X, y)
    assert parallel.cv_results_["mean_test_score"].min() > 0.4
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        atol=0.02,
    )
    assert parallel.best_estimator_.n_iter_ == 5
