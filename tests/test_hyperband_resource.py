"""The resource of the epoch-budget searches: which parameter sets the epochs.

A network of the package declares its training phases; the resource is the
parameter that sets the last phase's epochs (``fine_tune_epochs`` for a
pretrained network that fine-tunes). A network's own argument named
``epochs`` (``model__epochs``) is not the resource.
"""

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from fmnist_estimators import (
    DenseNetClassifier,
    KerasModelClassifier,
    PretrainedNetClassifier,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    HyperbandSearchCV,
    make_epoch_halving_search,
    make_family_pipeline,
)
from fmnist_estimators.search._names import epochs_parameter

pytestmark = pytest.mark.usefixtures("one_blas_thread")


def dense_net(input_shape, n_classes, epochs=3):
    """A network whose own argument is called ``epochs`` (say, for a layer
    schedule); the page "Your own network" allows it."""
    inputs = keras.Input(input_shape)
    flat = keras.layers.Flatten()(inputs)
    hidden = keras.layers.Dense(4 * epochs, activation="relu")(flat)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


class RoutedEpochs(ClassifierMixin, BaseEstimator):
    """Not a network of the package: ``epochs``, and a ``model__epochs``
    argument routed to a function, as scikeras's KerasClassifier has."""

    def __init__(self, model=dense_net, epochs=1, model__epochs=3):
        self.model = model
        self.epochs = epochs
        self.model__epochs = model__epochs


def test_resource_of_the_package_networks():
    custom = KerasModelClassifier(dense_net, model__epochs=3)
    assert epochs_parameter(custom) == "epochs"
    assert epochs_parameter(make_family_pipeline(custom)) == "clf__epochs"
    assert epochs_parameter(PretrainedNetClassifier()) == "epochs"
    fine_tuning = PretrainedNetClassifier(trainable=20, fine_tune_epochs=3)
    assert epochs_parameter(fine_tuning) == "fine_tune_epochs"
    pipe = Pipeline([("net", fine_tuning)])
    assert epochs_parameter(pipe) == "net__fine_tune_epochs"
    assert make_epoch_halving_search(pipe, {}, max_epochs=3).resource == (
        "net__fine_tune_epochs"
    )


def test_resource_of_other_estimators():
    assert epochs_parameter(RoutedEpochs()) == "epochs"
    assert epochs_parameter(Pipeline([("clf", RoutedEpochs())])) == "clf__epochs"
    with pytest.raises(ValueError, match=r"exactly one parameter.*got \[\]"):
        epochs_parameter(Pipeline([("clf", LogisticRegression())]))
    two = Pipeline([("a", RoutedEpochs()), ("b", RoutedEpochs())])
    with pytest.raises(ValueError, match=r"got \['a__epochs', 'b__epochs'\]"):
        epochs_parameter(two)
    with pytest.raises(ValueError, match="several networks"):
        epochs_parameter(
            VotingClassifier([("a", DenseNetClassifier()), ("b", DenseNetClassifier())])
        )
    # A pretrained network that fine-tunes a frozen backbone says so.
    with pytest.raises(ValueError, match="keeps it frozen"):
        epochs_parameter(PretrainedNetClassifier(fine_tune_epochs=2))


@pytest.fixture(scope="module")
def small():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X, y = X[:120], y[:120]
    # One split: the fewest fits that still continue a survivor.
    return X, y, [(np.arange(80), np.arange(80, 120))]


def test_hyperband_on_a_network_with_its_own_epochs_argument(small):
    X, y, cv = small
    clf = KerasModelClassifier(
        dense_net, model__epochs=2, batch_size=64, random_state=0
    )
    search = HyperbandSearchCV(
        clf,
        {"learning_rate": [1e-3, 3e-3]},
        max_epochs=2,
        factor=2,
        cv=cv,
        random_state=0,
    ).fit(X, y)
    assert search.resource_ == "epochs" and search.n_resources_ == [1, 2]
    best = search.best_estimator_
    assert best.n_iter_ == 2 and best.epochs == 2
    # The network's argument is the user's, untouched by the search.
    assert best.get_params()["model__epochs"] == 2


def fine_tune_epochs_trained(estimator, X, y):
    return estimator.history_["phase"].count("fine_tune")


def n_iter(estimator, X, y):
    return estimator.n_iter_


def test_hyperband_drives_fine_tune_epochs(small):
    X, y, cv = small
    net = PretrainedNetClassifier(
        weights=None,
        dense_units=(8,),
        trainable=2,
        epochs=1,
        fine_tune_epochs=1,
        batch_size=64,
        random_state=0,
    )
    search = HyperbandSearchCV(
        net,
        {"fine_tune_learning_rate": [1e-4, 1e-3]},
        max_epochs=2,
        factor=2,
        cv=cv,
        scoring={
            "accuracy": "accuracy",
            "fine_tuned": fine_tune_epochs_trained,
            "n_iter": n_iter,
        },
        refit="accuracy",
        random_state=0,
    ).fit(X, y)
    assert search.resource_ == "fine_tune_epochs"
    assert search.n_resources_ == [1, 2] and search.n_candidates_ == [2, 1]
    results = search.cv_results_
    # Each round fine-tunes for its epochs: the resource reported is the
    # resource spent; n_iter_ also counts the head's one epoch.
    np.testing.assert_array_equal(results["mean_test_fine_tuned"], [1, 1, 2])
    np.testing.assert_array_equal(results["mean_test_n_iter"], [2, 2, 3])
    assert search.epochs_trained_ == 2 * 1 + 1 * 1
    best = search.best_estimator_
    assert search.best_params_["fine_tune_epochs"] == 2 == best.fine_tune_epochs
    assert best.history_["phase"] == ["head", "fine_tune", "fine_tune"]
    assert best.n_iter_ == 3 and best.epochs == 1
