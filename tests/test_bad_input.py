"""Bad input to every estimator: a clear ValueError/TypeError or correct behaviour."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample

ESTIMATORS = [
    SVDSubspaceClassifier(n_components=5),
    DenseNetClassifier((16,), epochs=1, random_state=0),
    ConvNetClassifier(filters=(4,), dense_units=(8,), epochs=1, random_state=0),
]
ids = [type(e).__name__ for e in ESTIMATORS]


@pytest.fixture(scope="module")
def sample():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[::25], y[::25]  # 200 images, 20 per class


@pytest.fixture(scope="module", params=ESTIMATORS, ids=ids)
def fitted(request, sample):
    return clone(request.param).fit(*sample)


def _with(X, index, value, dtype=np.float64):
    X = X.astype(dtype)
    X[index] = value
    return X


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ids)
@pytest.mark.parametrize(
    "make_X, error, match",
    [
        (lambda X: _with(X, (0, 0), np.nan), ValueError, "NaN"),
        (lambda X: _with(X, (1, 5), np.inf), ValueError, "infinity"),
        (lambda X: _with(X, (2, 3), "white", object), ValueError, "could not convert"),
        (lambda X: X[:0], ValueError, "0 sample"),
        (lambda X: sp.csr_matrix(X), TypeError, "[Ss]parse"),
        (
            lambda X: [list(row[: 10 + i % 2]) for i, row in enumerate(X)],
            ValueError,
            "inhomogeneous|sequence",
        ),
    ],
    ids=["nan", "inf", "strings", "empty", "sparse", "ragged"],
)
def test_bad_training_input_is_rejected_clearly(
    estimator, sample, make_X, error, match
):
    X, y = sample
    X_bad = make_X(X)
    n_bad = X_bad.shape[0] if hasattr(X_bad, "shape") else len(X_bad)
    y_bad = y[:n_bad]
    with pytest.raises(error, match=match):
        clone(estimator).fit(X_bad, y_bad)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=ids)
def test_one_class_is_rejected(estimator, sample):
    X, y = sample
    with pytest.raises(ValueError, match="class"):
        clone(estimator).fit(X[y == 3], y[y == 3])


@pytest.mark.parametrize(
    "make_X",
    [
        lambda X: X[:, :783],
        lambda X: X.reshape(-1, 28, 28)[:, :27, :27],
        lambda X: np.repeat(X.reshape(-1, 28, 28, 1), 3, axis=3),
    ],
    ids=["783-features", "27x27", "3-channels"],
)
def test_wrong_shape_at_predict_names_the_feature_count(fitted, sample, make_X):
    X, _ = sample
    with pytest.raises(ValueError, match="784 features"):
        fitted.predict(make_X(X))


def test_images_flattened_or_not_predict_the_same(fitted, sample):
    X, _ = sample
    np.testing.assert_array_equal(
        fitted.predict(X), fitted.predict(X.reshape(-1, 28, 28))
    )


def test_out_of_range_pixels_are_accepted(fitted, sample):
    X, _ = sample
    X_odd = X.astype(np.float64) * 2 - 100  # negative and > 255 values
    assert fitted.predict(X_odd).shape == (X.shape[0],)


def test_dataframe_input_works(fitted, sample):
    pd = pytest.importorskip("pandas")
    X, _ = sample
    np.testing.assert_array_equal(fitted.predict(pd.DataFrame(X)), fitted.predict(X))


def test_labels_unseen_at_fit_only_cost_accuracy(fitted, sample):
    X, y = sample
    assert fitted.score(X, np.where(y == 0, 99, y)) <= fitted.score(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS[:2], ids=ids[:2])
def test_one_sample_per_class_with_cv_explains_the_split(estimator, sample):
    X, y = sample
    _, first = np.unique(y, return_index=True)
    search = GridSearchCV(estimator, {}, cv=5)
    with pytest.raises(ValueError, match="n_splits=5 cannot be greater"):
        search.fit(X[first], y[first])


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    n_samples=st.integers(4, 40),
    n_features=st.integers(1, 30),
    n_classes=st.integers(2, 4),
    dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_any_numeric_shape_and_dtype_fits_and_predicts(
    n_samples, n_features, n_classes, dtype, seed
):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, (n_samples, n_features)).astype(dtype)
    y = np.arange(n_samples) % n_classes
    clf = SVDSubspaceClassifier(n_components=2).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (n_samples, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.zeros((2, n_features + 1)))


@settings(max_examples=5, deadline=None)
@given(
    n_features=st.integers(1, 50),
    dtype=st.sampled_from([np.uint8, np.float32, np.float64]),
    image=st.booleans(),
)
def test_networks_accept_any_feature_count_and_dtype(n_features, dtype, image):
    rng = np.random.RandomState(n_features)
    X = rng.randint(0, 256, (24, n_features)).astype(dtype)
    y = np.arange(24) % 3
    estimator = ConvNetClassifier if image else DenseNetClassifier
    clf = estimator(epochs=1, batch_size=8, random_state=0)
    if image:
        clf.set_params(filters=(2,), dense_units=())
    assert clf.fit(X, y).predict_proba(X).shape == (24, 3)
