"""Tests of MirrorAugmentedClassifier: any classifier trained on images and
their mirror images."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from fmnist_estimators.classical import MirrorAugmentedClassifier


def _mirror(X, height, width):
    return X.reshape(-1, height, width)[:, :, ::-1].reshape(len(X), -1)


@parametrize_with_checks([MirrorAugmentedClassifier(LogisticRegression())])
def test_sklearn_compatible(estimator, check):
    # The checks' rows are not square images: each fit warns that they are
    # their own mirror images, which is what the warning is for.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Images of shape")
        check(estimator)


def test_mirror_images_join_the_training_set(images):
    # A 1-nearest-neighbour classifier recognizes exactly its training set:
    # after mirrored training, the mirror images too. Trained on the images
    # alone, it misreads many of them (shoes all face one way).
    X, y = images
    plain = KNeighborsClassifier(n_neighbors=1).fit(X, y)
    mirrored = MirrorAugmentedClassifier(KNeighborsClassifier(n_neighbors=1))
    mirrored.fit(X, y)
    assert mirrored.estimator_.n_samples_fit_ == 2 * len(X)
    assert mirrored.image_shape_ == (28, 28, 1)
    assert mirrored.score(_mirror(X, 28, 28), y) == 1.0
    assert plain.score(_mirror(X, 28, 28), y) < 0.95
    assert_array_equal(mirrored.predict(X), y)


def test_image_shape_says_how_rows_mirror(images):
    X, y = images
    model = MirrorAugmentedClassifier(
        KNeighborsClassifier(n_neighbors=1), image_shape=(14, 56)
    ).fit(X, y)
    assert model.image_shape_ == (14, 56, 1)
    assert model.score(_mirror(X, 14, 56), y) == 1.0


def test_unflattened_images_are_mirrored_as_given(images):
    X, y = images
    model = MirrorAugmentedClassifier(KNeighborsClassifier(n_neighbors=1))
    model.fit(X.reshape(-1, 28, 28), y)
    assert model.n_features_in_ == 784
    assert model.score(_mirror(X, 28, 28).reshape(-1, 28, 28), y) == 1.0


def test_sample_weight_goes_with_each_mirror_image(tiny_images):
    X, y = tiny_images
    X = X / 255.0
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    params = dict(C=0.01, max_iter=1000)
    model = MirrorAugmentedClassifier(LogisticRegression(**params))
    model.fit(X, y, sample_weight=weights)
    by_hand = LogisticRegression(**params).fit(
        np.concatenate([X, _mirror(X, 28, 28)]),
        np.concatenate([y, y]),
        sample_weight=np.concatenate([weights, weights]),
    )
    # The same lbfgs on the same arrays: the same solution, to rounding.
    assert_allclose(model.estimator_.coef_, by_hand.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(model.predict_proba(X), by_hand.predict_proba(X), atol=1e-8)


def test_methods_follow_the_estimator(tiny_images):
    X, y = tiny_images
    model = MirrorAugmentedClassifier(LinearSVC(C=0.01)).fit(X / 255.0, y)
    assert hasattr(model, "decision_function")
    assert not hasattr(model, "predict_proba")
    assert model.decision_function(X / 255.0).shape == (len(X), 10)


def test_rows_one_pixel_wide_warn(tiny_images):
    X, y = tiny_images
    with pytest.warns(UserWarning, match="one pixel wide"):
        MirrorAugmentedClassifier(KNeighborsClassifier()).fit(X[:, :780], y)


@pytest.mark.parametrize(
    "image_shape, match",
    [((28, 27), "have 756 values"), ("28x28", "image_shape")],
)
def test_bad_image_shape_is_refused(tiny_images, image_shape, match):
    X, y = tiny_images
    model = MirrorAugmentedClassifier(LogisticRegression(), image_shape=image_shape)
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)


def test_predicting_before_fit_raises(tiny_images):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MirrorAugmentedClassifier(LogisticRegression()).predict(tiny_images[0])
