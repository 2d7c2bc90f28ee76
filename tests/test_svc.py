"""FastPredictSVC: libsvm's fit, predictions as matrix products, equal to SVC's."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from fmnist_estimators.classical import (
    FastPredictSVC,
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
    svc_params,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample


@pytest.fixture(scope="module")
def images():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X = X.astype(np.float64) / 255
    return X[:600], y[:600], X[600:1000]


def _tolerance(svc):
    # A decision value sums |dual_coef| * K (K <= 1 for the RBF kernel)
    # over the support vectors; each product is exact to float64's eps, up
    # to the summation order: the bound grows with the sum of |coefficients|.
    return 1e3 * np.finfo(np.float64).eps * (np.abs(svc.dual_coef_).sum() + 1)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"C": 3.0, "gamma": "auto"},
        {"gamma": 0.02},
        {"kernel": "linear"},
        {"kernel": "poly", "degree": 2},
        {"kernel": "sigmoid", "gamma": 1e-3},
        {"break_ties": True},
        {"decision_function_shape": "ovo"},
        {"class_weight": "balanced"},
    ],
    ids=repr,
)
def test_decisions_and_labels_are_svcs(params, images):
    X, y, X_test = images
    fast = FastPredictSVC(**params).fit(X, y)
    plain = SVC(**params).fit(X, y)
    decisions = fast.decision_function(X_test)
    expected = plain.decision_function(X_test)
    assert decisions.shape == expected.shape
    assert_allclose(decisions, expected, rtol=0, atol=_tolerance(plain))
    assert_array_equal(fast.predict(X_test), plain.predict(X_test))


def test_labels_of_any_type_and_sample_weight(images):
    X, y, X_test = images
    names = np.array(list("abcdefghij"))[y]
    weights = np.linspace(0.5, 2.0, len(y))
    fast = FastPredictSVC().fit(X, names, sample_weight=weights)
    plain = SVC().fit(X, names, sample_weight=weights)
    assert_array_equal(fast.predict(X_test), plain.predict(X_test))


def test_ties_go_to_the_first_class_without_break_ties():
    # Three classes in a symmetric triangle: the centre is tied, one vote each.
    X = np.array([[0.0, 1.0], [-0.87, -0.5], [0.87, -0.5]])
    X = np.repeat(X, 5, axis=0) + np.random.RandomState(0).normal(0, 0.01, (15, 2))
    y = np.repeat([2, 0, 1], 5)
    centre = np.zeros((1, 2))
    fast = FastPredictSVC(kernel="linear").fit(X, y)
    plain = SVC(kernel="linear").fit(X, y)
    assert_array_equal(fast.predict(centre), plain.predict(centre))
    assert_array_equal(fast.predict(X), y)


@pytest.mark.parametrize("case", ["binary", "sparse", "precomputed"])
def test_libsvm_predicts_where_the_products_do_not_apply(case, images):
    X, y, X_test = images
    kwargs = {}
    if case == "binary":
        y = (y > 4).astype(int)
    elif case == "sparse":
        X, X_test = sp.csr_matrix(X), sp.csr_matrix(X_test)
    else:
        kwargs = {"kernel": "precomputed"}
        X, X_test = X @ X.T, X_test @ X.T
    fast = FastPredictSVC(**kwargs).fit(X, y)
    plain = SVC(**kwargs).fit(X, y)
    assert not fast._uses_blas()
    assert_array_equal(fast.predict(X_test), plain.predict(X_test))
    assert_allclose(fast.decision_function(X_test), plain.decision_function(X_test))


def test_gamma_is_resolved_as_svcs(images):
    X, y, _ = images
    X32 = X.astype(np.float32)  # SVC computes in float64
    fast = FastPredictSVC().fit(X32, y)
    variance = X32.astype(np.float64).var()
    assert fast.gamma_ == pytest.approx(1 / (X.shape[1] * variance), rel=1e-12)
    assert FastPredictSVC(gamma="auto").fit(X, y).gamma_ == 1 / X.shape[1]
    assert FastPredictSVC(gamma=0.5).fit(X, y).gamma_ == 0.5


def test_predict_checks_the_number_of_features(images):
    X, y, X_test = images
    fast = FastPredictSVC().fit(X, y)
    with pytest.raises(ValueError, match="features"):
        fast.predict(X_test[:, :10])


def test_pickles_and_predicts_in_blocks(images, monkeypatch):
    import fmnist_estimators._svc as svc_module

    X, y, X_test = images
    fast = FastPredictSVC().fit(X, y)
    whole = fast.decision_function(X_test)
    # Blocks of a few rows give the same values.
    monkeypatch.setattr(svc_module, "_BLOCK_VALUES", 7 * len(fast.support_vectors_))
    assert_allclose(fast.decision_function(X_test), whole, rtol=0, atol=1e-12)
    restored = pickle.loads(pickle.dumps(fast))
    assert_array_equal(restored.predict(X_test), fast.predict(X_test))


@pytest.mark.parametrize(
    "factory", [make_pca_svc_pipeline, make_patch_pca_svc_pipeline]
)
def test_classical_pipelines_predict_with_it(factory):
    model = factory()
    assert type(model["svc"].estimator) is FastPredictSVC
    bare = clone(model).set_params(svc=clone(model["svc"].estimator))
    assert type(bare["svc"]) is FastPredictSVC
    # svc_params knows its parameters, which are SVC's
    assert svc_params({"svc__C": 1.0}) == {"svc__estimator__C": 1.0}


# libsvm's fit, as SVC's: scikit-learn expects SVC to fail these (meta-issue
# #16298), for the same reason.
_SVC_WEIGHTS = "libsvm's sample_weight is not equivalent to repeating samples (as SVC)"


@parametrize_with_checks(
    [FastPredictSVC()],
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": _SVC_WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": _SVC_WEIGHTS,
    },
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
