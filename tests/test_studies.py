"""The ready-made studies: valid search spaces, shrinking, and a tiny run."""

import math

import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, StratifiedKFold

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import format_table
from fmnist_estimators.studies import STUDIES, Study, get_study, run_study

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[:300], y[:300]


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_study_space_is_valid(name):
    study = get_study(name)
    assert study.name == name and study.description
    valid = study.estimator.get_params()
    assert study.sweeps
    for grid in study.param_grid:
        assert set(grid) <= set(valid)
    # Every candidate passes the estimator's own parameter validation.
    for params in ParameterGrid(study.param_grid):
        clone(study.estimator).set_params(**params)._validate_params()
    assert study.n_candidates == len(ParameterGrid(study.param_grid))


def test_studies_match_their_descriptions():
    tf = get_study("tf_tutorial")
    # The tutorial's network and its constant Adam step of 0.001.
    tutorial = DenseNetClassifier(learning_rate=0.001, lr_schedule="constant")
    assert tf.estimator.get_params() == tutorial.get_params()
    assert list(tf.sweeps) == [
        "epochs",
        "dropout",
        "learning_rate",
        "optimizer",
        "activation",
        "batch_size",
        "initializer",
        "neurons",
    ]
    assert min(tf.sweeps["epochs"]["epochs"]) == 10
    assert max(tf.sweeps["epochs"]["epochs"]) == 100
    # One-at-a-time: every sweep varies a single parameter.
    assert all(len(grid) == 1 for grid in tf.param_grid)

    mlp = get_study("keras_mlp").param_grid[0]
    assert mlp["batch_size"] == [128, 256]
    assert set(mlp["optimizer"]) == {"sgd", "adam", "nadam", "rmsprop"}
    assert min(mlp["learning_rate"]) == 0.001 and max(mlp["learning_rate"]) == 0.1

    fcn = get_study("fcn")
    assert all({"optimizer", "learning_rate"} <= set(grid) for grid in fcn.param_grid)
    swept = {name for grid in fcn.param_grid for name in grid}
    assert {"dropout", "kernel_initializer", "batch_norm"} <= swept

    cnn = get_study("cnn_regularization")
    assert isinstance(cnn.estimator, ConvNetClassifier)
    assert set(cnn.param_grid[0]) == {"dropout", "l2"}

    dense = get_study("dense_cpu")
    params = dense.estimator.get_params()
    assert params["hidden_layer_sizes"] == (1024, 1024) and params["epochs"] == 40
    assert params["batch_norm"] and params["label_smoothing"] == 0.1
    # No augmentation: it lost on validation (docs/studies.rst).
    assert params["augmentation"] is None
    assert dense.param_grid == [{"dropout": [0.2, 0.3, 0.4]}]


def test_study_rejects_unknown_parameters():
    with pytest.raises(ValueError, match="not parameters of DenseNetClassifier"):
        Study("bad", "", DenseNetClassifier(), {"s": {"n_units": [1]}})
    with pytest.raises(ValueError, match="list of values"):
        Study("bad", "", DenseNetClassifier(), {"s": {"dropout": 0.5}})


def test_get_study_returns_an_independent_copy():
    study = get_study("tf_tutorial")
    study.estimator.set_params(epochs=1)
    assert STUDIES["tf_tutorial"].estimator.epochs == 10
    assert get_study(study) is study
    with pytest.raises(ValueError, match="Unknown study 'nope'"):
        get_study("nope")


def test_scaled_shrinks_epochs_and_applies_overrides():
    study = get_study("tf_tutorial")
    small = study.scaled(0.05)
    assert small.estimator.epochs == 1
    assert small.sweeps["epochs"] == {"epochs": [1, 3, 5]}  # 10 and 20 -> 1
    assert study.sweeps["epochs"]["epochs"] == [10, 20, 50, 100]  # unchanged

    fixed = study.scaled(param_overrides={"batch_size": 128, "epochs": 2})
    assert fixed.estimator.batch_size == 128 and fixed.estimator.epochs == 2
    assert fixed.sweeps["batch_size"] == {"batch_size": [128]}
    assert fixed.sweeps["epochs"] == {"epochs": [2]}
    assert fixed.sweeps["dropout"] == study.sweeps["dropout"]


def test_make_search_repeats_with_seeds():
    search = get_study("cnn_regularization").make_search(
        cv=4, n_repeats=3, random_state=5
    )
    assert isinstance(search.cv, StratifiedKFold)
    assert search.cv.n_splits == 4 and search.cv.shuffle
    assert search.param_grid[0]["random_state"] == [5, 6, 7]
    assert len(ParameterGrid(search.param_grid)) == 12 * 3


def test_run_study_sweeps_and_repeats(data):
    X, y = data
    study = Study(
        "subspace",
        "Subspace dimension, then centring.",
        SVDSubspaceClassifier(),
        {
            "dimension": {"n_components": [5, 10]},
            "centring": {"center": [True, False]},
        },
    )
    table = run_study(study, X, y, cv=2, n_repeats=2, as_frame=False)
    assert [row["sweep"] for row in table] == [
        "dimension",
        "dimension",
        "centring",
        "centring",
    ]
    assert [row["params"] for row in table] == [
        {"n_components": 5},
        {"n_components": 10},
        {"center": True},
        {"center": False},
    ]
    assert all(row["n_scores"] == 4 for row in table)
    assert sorted(row["rank"] for row in table)[0] == 1
    text = format_table(table)
    assert text.splitlines()[0].startswith("| rank | sweep | model | params | score |")


def test_run_study_end_to_end_tiny_network(data):
    X, y = data
    table, search = run_study(
        "keras_mlp",
        X,
        y,
        cv=2,
        n_repeats=2,
        epochs_scale=0.01,
        param_overrides={
            "hidden_layer_sizes": (16,),
            "batch_size": 128,
            "optimizer": "adam",
            "learning_rate": 0.01,
        },
        as_frame=False,
        return_search=True,
    )
    assert len(table) == 1
    (row,) = table
    assert row["sweep"] == "batch x optimizer x learning rate"
    assert row["model"] == "DenseNetClassifier"
    assert row["n_scores"] == 4
    assert 0 <= row["mean_test_score"] <= 1
    assert math.isfinite(row["std_test_score"])
    assert search.best_estimator_.epochs == 1
    assert " ± " in format_table(table)
