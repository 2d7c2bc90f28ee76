"""Probability quality: the calibration metrics, and calibrating every estimator."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.classical import (
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
    make_subspace_pipeline,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.metrics import (
    expected_calibration_error,
    top_label_calibration_curve,
)

# -- the metrics -----------------------------------------------------------------


def _random_proba(n=500, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3, size=(n, n_classes))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, n_classes, n)
    return y, proba


def _ece_by_loop(y, proba, n_bins):
    """The definition, one sample and one bin at a time."""
    total = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        members = [i for i in range(len(y)) if lo < proba[i].max() <= hi]
        if not members:
            continue
        confidence = np.mean([proba[i].max() for i in members])
        accuracy = np.mean([proba[i].argmax() == y[i] for i in members])
        total += len(members) / len(y) * abs(accuracy - confidence)
    return total


@pytest.mark.parametrize("n_bins", [1, 5, 15])
def test_ece_matches_its_definition(n_bins):
    y, proba = _random_proba()
    # float64 sums of the same terms in another order
    assert_allclose(
        expected_calibration_error(y, proba, n_bins=n_bins),
        _ece_by_loop(y, proba, n_bins),
        rtol=1e-12,
    )


def test_ece_of_a_calibrated_and_an_overconfident_model():
    # 10 samples at confidence 0.7, 7 of them right; 10 at 0.9, 9 right
    y = np.zeros(20, dtype=int)
    proba = np.tile([0.7, 0.3], (20, 1))
    proba[10:] = [0.9, 0.1]
    y[[7, 8, 9, 19]] = 1
    assert expected_calibration_error(y, proba) == pytest.approx(0, abs=1e-12)
    # certain of every sample and right on 3 out of 4: ECE 0.25
    y = np.array([0, 0, 0, 1])
    proba = np.tile([1.0, 0.0], (4, 1))
    assert expected_calibration_error(y, proba) == pytest.approx(0.25, rel=1e-12)


def test_curve_bins_sum_to_the_ece_and_respect_the_labels():
    y, proba = _random_proba(n_classes=3)
    accuracy, confidence, counts = top_label_calibration_curve(y, proba, n_bins=10)
    assert counts.sum() == len(y)
    assert np.all(np.diff(confidence) > 0)
    assert np.all((accuracy >= 0) & (accuracy <= 1))
    assert_allclose(
        np.sum(counts * np.abs(accuracy - confidence)) / len(y),
        expected_calibration_error(y, proba, n_bins=10),
        rtol=1e-12,
    )
    # string labels, and columns in another order given by `labels`
    names = np.array(["bag", "coat", "shirt"])
    order = [2, 0, 1]
    ece = expected_calibration_error(
        names[y], proba[:, order], n_bins=10, labels=names[order]
    )
    assert ece == pytest.approx(expected_calibration_error(y, proba, n_bins=10))


def test_labels_for_a_test_set_missing_a_class():
    y, proba = _random_proba(n_classes=3)
    kept = y != 2
    with pytest.raises(ValueError, match="pass labels=clf.classes_"):
        expected_calibration_error(y[kept], proba[kept])
    ece = expected_calibration_error(y[kept], proba[kept], labels=[0, 1, 2])
    assert 0 <= ece <= 1


@pytest.mark.parametrize(
    "y, proba, kwargs, match",
    [
        ([0, 1], [[0.5, 0.5], [0.2, 0.8]], {"n_bins": 0}, "n_bins must be"),
        ([0, 1], [0.5, 0.5], {}, "2-dimensional"),
        ([0, 1, 1], [[0.5, 0.5], [0.2, 0.8]], {}, "one label per row"),
        ([0, 1], [[0.5, 0.5], [1.2, -0.2]], {}, r"in \[0, 1\]"),
        ([0, 1], [[0.5, 0.5], [np.nan, 0.5]], {}, "NaN"),
        ([0, 1], [[0.9, 0.9], [0.2, 0.8]], {}, "row 0 sums to 1.8"),
        ([0, 1], [[0.5, 0.5], [0.1, 0.1]], {}, "row 1 sums to 0.2"),
        ([0, 1], [["a", "b"], ["c", "d"]], {}, "must hold numbers"),
        ([0, 3], [[0.5, 0.5], [0.2, 0.8]], {"labels": [0, 1]}, r"labels \[3\]"),
        ([], np.empty((0, 2)), {}, "empty"),
    ],
)
def test_metric_input_errors(y, proba, kwargs, match):
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(y, proba, **kwargs)
    with pytest.raises(ValueError, match=match):
        top_label_calibration_curve(y, proba, **kwargs)


def test_rows_may_miss_one_by_float32_rounding_and_no_more():
    # a float32 softmax over 10 classes, as a Keras network outputs it
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=5, size=(2000, 10)).astype(np.float32)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 10, 2000)
    assert np.any(proba.astype(np.float64).sum(axis=1) != 1)
    assert 0 <= expected_calibration_error(y, proba) <= 1
    accuracy, confidence, counts = top_label_calibration_curve(y, proba)
    assert counts.sum() == 2000
    # one class's share lost: the rows sum to 1 - 1e-3
    scaled = proba * (1 - 1e-3)
    with pytest.raises(ValueError, match="must sum to 1"):
        expected_calibration_error(y, scaled)


# -- calibrating the package's estimators -------------------------------------------


@pytest.fixture(scope="module")
def splits():
    """Fit, calibration and test images of all 10 classes."""
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    # the sample is sorted by class: take every 10th image, then every 5th
    return X[::10], y[::10], X[5::10], y[5::10], X_test[::5], y_test[::5]


@pytest.mark.parametrize(
    "estimator",
    [
        SVDSubspaceClassifier(n_components=10),
        make_subspace_pipeline(10),
        make_pca_svc_pipeline(20, random_state=0, probability=False),
        make_patch_pca_svc_pipeline(
            4, n_components=20, random_state=0, probability=False
        ),
    ],
    ids=["svd", "subspace_pipeline", "pca_svc", "patch_pca_svc"],
)
def test_cross_validated_calibration_of_classical_models(estimator, splits):
    X, y, _, _, X_test, y_test = splits
    calibrated = CalibratedClassifierCV(
        estimator, method="temperature", cv=3, ensemble=False
    ).fit(X, y)
    proba = calibrated.predict_proba(X_test)
    # the subspace pipeline's decision values, so its softmax, are float32
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    # temperature scaling keeps the fitted model's ranking of the classes
    base = calibrated.calibrated_classifiers_[0].estimator
    assert_array_equal(
        calibrated.predict(X_test),
        base.classes_[base.decision_function(X_test).argmax(axis=1)],
    )
    assert calibrated.score(X_test, y_test) >= 0.6


def test_calibration_fixes_an_overconfident_subspace_classifier(splits):
    X, y, X_cal, y_cal, X_test, y_test = splits
    # a tiny temperature makes every probability almost 0 or 1
    clf = SVDSubspaceClassifier(n_components=10, temperature=1.0).fit(X, y)
    proba = clf.predict_proba(X_test)
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf), method="temperature").fit(
        X_cal, y_cal
    )
    proba_cal = calibrated.predict_proba(X_test)
    assert expected_calibration_error(y_test, proba) > 0.1
    assert expected_calibration_error(y_test, proba_cal) < 0.5 * (
        expected_calibration_error(y_test, proba)
    )
    assert log_loss(y_test, proba_cal) < log_loss(y_test, proba)
    assert_array_equal(calibrated.predict(X_test), clf.predict(X_test))


@pytest.mark.parametrize(
    "network",
    [
        DenseNetClassifier(hidden_layer_sizes=(16,), epochs=1, random_state=0),
        ConvNetClassifier(
            filters=(4,), convs_per_block=1, dense_units=(8,), epochs=1, random_state=0
        ),
    ],
    ids=["dense", "conv"],
)
def test_networks_calibrate_on_held_out_images_without_retraining(network, splits):
    X, y, X_cal, y_cal, X_test, _ = splits
    network.fit(X, y)
    model = network.model_
    before = network.predict_proba(X_test)
    calibrated = CalibratedClassifierCV(
        FrozenEstimator(network), method="temperature"
    ).fit(X_cal, y_cal)
    # the trained network itself, neither cloned nor refit
    assert calibrated.calibrated_classifiers_[0].estimator.estimator is network
    assert network.model_ is model
    assert_allclose(network.predict_proba(X_test), before, rtol=1e-5)
    proba = calibrated.predict_proba(X_test)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert_array_equal(calibrated.predict(X_test), network.predict(X_test))
