"""Tests of SVDSubspaceClassifier."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from fmnist_estimators import SVDSubspaceClassifier


def _subspace_data(
    n_per_class=40, n_features=20, dims=(3, 2, 4), offset=0.0, seed=0, labels=None
):
    """Samples lying exactly on one random (affine) subspace per class.

    Returns X, y and, for each class, the orthonormal basis (rows) and offset.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(len(dims)) if labels is None else np.asarray(labels)
    X, y, bases, offsets = [], [], [], []
    for label, dim in zip(labels, dims):
        basis = np.linalg.qr(rng.normal(size=(n_features, dim)))[0].T
        shift = offset * rng.normal(size=n_features)
        X.append(rng.normal(size=(n_per_class, dim)) @ basis + shift)
        y.append(np.full(n_per_class, label))
        bases.append(basis)
        offsets.append(shift)
    return np.vstack(X), np.concatenate(y), bases, offsets


def _distance_to_span(X, points):
    """Distance from each row of X to the span of the rows of `points`."""
    coef, *_ = np.linalg.lstsq(points.T, X.T, rcond=None)
    return np.linalg.norm(X - (points.T @ coef).T, axis=1)


# The check repeats samples of 30 features up to 4 times: the repeated fit
# counts each copy when clipping n_components, keeps components of zero
# singular value in arbitrary directions beyond the rank of the data, and so
# differs from the weighted fit, which counts the samples of positive weight.
# test_integer_weights_equal_repeated_samples checks the equivalence where
# the clipping agrees.
_WEIGHT_EQUIVALENCE = {
    "check_sample_weight_equivalence_on_dense_data": (
        "repeated samples raise the n_components clip but not the rank: the "
        "repeated fit keeps zero-singular-value components in arbitrary "
        "directions"
    )
}


@parametrize_with_checks(
    [
        SVDSubspaceClassifier(),
        SVDSubspaceClassifier(
            n_components=2, svd_solver="randomized", temperature=1.0, random_state=0
        ),
        SVDSubspaceClassifier(n_components=1, svd_solver="full"),
    ],
    expected_failed_checks=lambda estimator: _WEIGHT_EQUIVALENCE,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "svd_solver", ["auto", "full", "covariance_eigh", "randomized"]
)
@pytest.mark.parametrize("center", [True, False])
def test_points_on_class_subspaces_are_classified_perfectly(svd_solver, center):
    X, y, bases, _ = _subspace_data()
    clf = SVDSubspaceClassifier(
        n_components=[3, 2, 4], center=center, svd_solver=svd_solver, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) == 1.0
    # fresh points of the same subspaces too
    rng = np.random.default_rng(1)
    fresh = np.vstack([rng.normal(size=(10, b.shape[0])) @ b for b in bases])
    assert_array_equal(clf.predict(fresh), np.repeat([0, 1, 2], 10))
    residuals = clf.transform(X)
    assert_allclose(residuals[np.arange(len(y)), y], 0, atol=1e-6)


def test_residual_equals_orthogonal_distance():
    # the residual is the distance to the span of the top right singular
    # vectors of the (centred) class data, computed here with numpy's SVD
    # and a least-squares projection
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 12)) + 3.0
    y = np.repeat(["a", "b", "c"], 30)
    X_test = rng.normal(size=(7, 12)) + 3.0
    for center in (True, False):
        clf = SVDSubspaceClassifier(n_components=4, center=center).fit(X, y)
        for c, label in enumerate(clf.classes_):
            X_c = X[y == label]
            mean = X_c.mean(axis=0) if center else np.zeros(X.shape[1])
            Vt = np.linalg.svd(X_c - mean)[2][:4]
            expected = _distance_to_span(X_test - mean, Vt)
            assert_allclose(clf.transform(X_test)[:, c], expected, rtol=1e-6)
            assert_allclose(
                clf.singular_values_[c], np.linalg.svd(X_c - mean)[1][:4], rtol=1e-6
            )
            assert_allclose(clf.means_[c], mean, atol=1e-12)
        assert_allclose(-clf.decision_function(X_test), clf.transform(X_test))
        assert_allclose(
            np.einsum("ckf,cjf->ckj", clf.components_, clf.components_),
            np.broadcast_to(np.eye(4), (3, 4, 4)),
            atol=1e-10,
        )


def test_centering_models_affine_subspaces():
    # each class is a 2-d plane shifted away from the origin
    X, y, _, _ = _subspace_data(dims=(2, 2, 2), offset=5.0)
    centred = SVDSubspaceClassifier(n_components=2, center=True).fit(X, y)
    assert_allclose(centred.transform(X)[np.arange(len(y)), y], 0, atol=1e-5)
    assert centred.score(X, y) == 1.0

    # a linear subspace needs one more dimension to hold an affine plane
    linear = SVDSubspaceClassifier(n_components=2, center=False).fit(X, y)
    assert_array_equal(linear.means_, 0)
    assert linear.transform(X)[np.arange(len(y)), y].min() > 1e-3
    linear3 = SVDSubspaceClassifier(n_components=3, center=False).fit(X, y)
    assert_allclose(linear3.transform(X)[np.arange(len(y)), y], 0, atol=1e-5)


@pytest.mark.parametrize(
    "n_components", [[3, 2, 4], {"x": 3, "y": 2, "z": 4}, np.array([3, 2, 4])]
)
def test_per_class_n_components(n_components):
    X, y, _, _ = _subspace_data(labels=["x", "y", "z"])
    clf = SVDSubspaceClassifier(n_components=n_components).fit(X, y)
    assert_array_equal(clf.n_components_, [3, 2, 4])
    assert clf.components_.shape == (3, 4, X.shape[1])
    assert clf.singular_values_.shape == (3, 4)
    # padding rows are zero and leave the residuals unchanged
    assert_array_equal(clf.components_[1, 2:], 0)
    assert_array_equal(clf.singular_values_[0, 3], 0)
    assert clf.score(X, y) == 1.0


def test_n_components_is_clipped():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(13, 10))
    y = np.array([0] * 3 + [1] * 10)
    clf = SVDSubspaceClassifier(n_components=8).fit(X, y)
    # 3 centred samples span 2 dimensions; (10 - 1) // 2 = 4 caps the rest
    assert_array_equal(clf.n_components_, [2, 4])
    clf = SVDSubspaceClassifier(n_components=8, center=False).fit(X, y)
    assert_array_equal(clf.n_components_, [3, 4])
    # a single sample centred: the class is its mean, a point
    clf = SVDSubspaceClassifier().fit(X[2:], y[2:])
    assert_array_equal(clf.n_components_, [0, 4])
    assert clf.predict(X[2:3]) == 0


def test_one_feature_falls_back_to_nearest_mean():
    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    y = [0, 0, 0, 1, 1, 1]
    clf = SVDSubspaceClassifier().fit(X, y)
    assert_array_equal(clf.n_components_, [0, 0])
    assert_array_equal(clf.predict([[1.0], [4.0]]), [0, 1])
    assert_allclose(clf.transform([[1.0]]), [[0.9, 4.1]])


def test_svd_solvers_agree():
    rng = np.random.default_rng(0)
    # a clear spectral gap after 5 components, for the randomized solver
    X = rng.normal(size=(200, 30)) * np.r_[np.linspace(20, 10, 5), np.full(25, 0.5)]
    y = np.repeat([0, 1], 100)
    residuals = [
        SVDSubspaceClassifier(n_components=5, svd_solver=solver, random_state=0)
        .fit(X, y)
        .transform(X)
        for solver in ("full", "covariance_eigh", "randomized", "auto")
    ]
    for other in residuals[1:]:
        assert_allclose(other, residuals[0], rtol=1e-4)


def test_covariance_eigh_on_fewer_samples_than_features_matches_full_svd():
    # 40 samples of 60 features per class: the samples' Gram matrix is used
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 60)) * np.r_[np.linspace(20, 5, 6), np.full(54, 0.3)]
    y = np.repeat([0, 1], 40)
    full, eigh = (
        SVDSubspaceClassifier(n_components=6, svd_solver=solver).fit(X, y)
        for solver in ("full", "covariance_eigh")
    )
    # float64 Gram matrix: singular values to ~1e-12 relative; the vectors of
    # the leading, well separated values to ~1e-10
    assert_allclose(eigh.singular_values_, full.singular_values_, rtol=1e-10)
    assert_allclose(eigh.components_, full.components_, atol=1e-8)
    assert_allclose(eigh.transform(X), full.transform(X), rtol=1e-8)


def test_covariance_eigh_falls_back_to_full_svd_below_rank():
    # 4 samples per class centred have rank 3: a 4th component has s = 0
    rng = np.random.default_rng(2)
    X = rng.normal(size=(8, 20))
    y = np.repeat([0, 1], 4)
    full, eigh = (
        SVDSubspaceClassifier(n_components=4, svd_solver=solver).fit(X, y)
        for solver in ("full", "covariance_eigh")
    )
    assert np.isfinite(eigh.components_).all()
    # the fallback computed the same SVD as "full"
    assert_allclose(eigh.components_, full.components_, atol=1e-12)
    assert_allclose(eigh.singular_values_, full.singular_values_, atol=1e-12)


def test_float32_is_preserved_and_matches_float64():
    X, y, _, _ = _subspace_data(offset=1.0)
    X_test = np.random.default_rng(3).normal(size=(5, X.shape[1]))
    clf64 = SVDSubspaceClassifier(n_components=2).fit(X, y)
    clf32 = SVDSubspaceClassifier(n_components=2).fit(X.astype(np.float32), y)
    assert clf32.components_.dtype == np.float32
    assert clf32.transform(X_test.astype(np.float32)).dtype == np.float32
    assert clf64.transform(X_test).dtype == np.float64
    assert_allclose(clf32.transform(X_test), clf64.transform(X_test), rtol=1e-3)
    # integer pixels are computed in float64
    X_int = np.random.default_rng(0).integers(0, 256, size=(30, 16), dtype=np.uint8)
    y_int = np.repeat([0, 1, 2], 10)
    clf = SVDSubspaceClassifier(n_components=3).fit(X_int, y_int)
    assert clf.components_.dtype == np.float64


def test_predictions_are_invariant_to_the_scale_of_x():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(150, 25)).astype(float)
    y = np.repeat([0, 1, 2], 50)
    raw = SVDSubspaceClassifier(n_components=3).fit(X, y)
    scaled = SVDSubspaceClassifier(n_components=3).fit(X / 255, y)
    assert_array_equal(raw.predict(X), scaled.predict(X / 255))
    assert_allclose(raw.transform(X) / 255, scaled.transform(X / 255), rtol=1e-8)
    assert_allclose(raw.temperature_ / 255, scaled.temperature_, rtol=1e-3)
    assert_allclose(raw.predict_proba(X), scaled.predict_proba(X / 255), atol=1e-4)


@pytest.mark.parametrize("temperature", ["auto", 0.3])
def test_predict_proba(temperature):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 8)) + np.repeat(np.eye(8)[:3] * 3, 40, axis=0)
    y = np.repeat(["a", "b", "c"], 40)
    clf = SVDSubspaceClassifier(n_components=2, temperature=temperature).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    assert_allclose(proba.sum(axis=1), 1)
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    assert_allclose(proba, np.exp(clf.predict_log_proba(X)))
    if temperature != "auto":
        assert clf.temperature_ == temperature
        residuals = clf.transform(X)
        expected = np.exp(-residuals / temperature)
        assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True))
    else:
        assert clf.temperature_ > 0


def test_auto_temperature_beats_fixed_extremes_on_log_loss():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 10)) + np.repeat(np.eye(10)[:3] * 1.5, 200, axis=0)
    y = np.repeat([0, 1, 2], 200)
    X_test = rng.normal(size=(300, 10)) + np.repeat(np.eye(10)[:3] * 1.5, 100, axis=0)
    y_test = np.repeat([0, 1, 2], 100)
    auto = SVDSubspaceClassifier(n_components=2).fit(X, y)
    for factor in (0.01, 100):
        fixed = SVDSubspaceClassifier(
            n_components=2, temperature=auto.temperature_ * factor
        ).fit(X, y)
        assert log_loss(y_test, auto.predict_proba(X_test)) < log_loss(
            y_test, fixed.predict_proba(X_test)
        )


def test_binary_decision_function_scores_the_second_class():
    X, y, _, _ = _subspace_data(dims=(2, 3), labels=["neg", "pos"])
    clf = SVDSubspaceClassifier(n_components=[2, 3]).fit(X, y)
    scores = clf.decision_function(X)
    residuals = clf.transform(X)
    assert scores.shape == (len(y),)
    assert residuals.shape == (len(y), 2)
    assert_allclose(scores, residuals[:, 0] - residuals[:, 1])
    assert_array_equal(np.where(scores > 0, "pos", "neg"), clf.predict(X))


def test_transform_shape_and_pipeline_with_logistic_regression():
    X, y, _, _ = _subspace_data(offset=2.0)
    clf = SVDSubspaceClassifier(n_components=2)
    assert clf.fit_transform(X, y).shape == (len(y), 3)
    assert clf.decision_function(X).shape == (len(y), 3)
    pipe = make_pipeline(
        SVDSubspaceClassifier(n_components=2), LogisticRegression(max_iter=1000)
    ).fit(X, y)
    assert pipe.score(X, y) > 0.9
    assert pipe.predict_proba(X[:4]).shape == (4, 3)


def test_feature_names_out_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X, y, _, _ = _subspace_data(labels=["coat", "bag", "shirt"])
    clf = SVDSubspaceClassifier(n_components=2).fit(X, y)
    names = clf.get_feature_names_out()
    assert_array_equal(names, ["residual_bag", "residual_coat", "residual_shirt"])
    expected = clf.transform(X)
    clf.set_output(transform="pandas")
    residuals = clf.transform(X)
    assert isinstance(residuals, pd.DataFrame)
    assert list(residuals.columns) == list(names)
    assert_allclose(residuals.to_numpy(), expected, rtol=1e-12)
    # the classifier's own outputs stay arrays computed from the residuals
    assert_array_equal(clf.predict(X), clf.classes_[expected.argmin(axis=1)])
    assert isinstance(clf.decision_function(X), np.ndarray)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1, rtol=1e-12)
    with pytest.raises(ValueError, match="input_features"):
        clf.get_feature_names_out(["a", "b"])
    # as the transformer of a pipeline configured for pandas output
    model = make_pipeline(SVDSubspaceClassifier(n_components=2), LogisticRegression())
    expected = clone(model).fit(X, y).predict_proba(X)
    model.set_output(transform="pandas").fit(X, y)
    assert list(model[:-1].get_feature_names_out()) == list(names)
    assert_allclose(model.predict_proba(X), expected, rtol=1e-7)


def test_pickle_round_trip():
    X, y, _, _ = _subspace_data(offset=1.0, labels=["p", "q", "r"])
    clf = SVDSubspaceClassifier(n_components={"p": 1, "q": 2, "r": 3}).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict(X), clf.predict(X))
    assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.get_params() == clf.get_params()
    assert clone(clf).get_params()["n_components"] == {"p": 1, "q": 2, "r": 3}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": -1}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"svd_solver": "arpack"}, "svd_solver"),
        ({"center": "yes"}, "center"),
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": "fitted"}, "temperature"),
    ],
)
def test_invalid_parameters(params, match):
    X, y, _, _ = _subspace_data()
    with pytest.raises(InvalidParameterError, match=match):
        SVDSubspaceClassifier(**params).fit(X, y)


@pytest.mark.parametrize(
    "n_components, match",
    [
        ([1, 2], r"one value per class \(3\); got shape \(2,\)"),
        ([1, -2, 3], "non-negative integers; got \\[1, -2, 3\\]"),
        ([1.5, 2, 3], "non-negative integers"),
        ({0: 1, 1: 2}, r"no entry for class\(es\) \[2\]"),
    ],
)
def test_invalid_per_class_n_components(n_components, match):
    X, y, _, _ = _subspace_data()
    with pytest.raises(ValueError, match=match):
        SVDSubspaceClassifier(n_components=n_components).fit(X, y)


def test_bad_input():
    X, y, _, _ = _subspace_data()
    X_nan = X.copy()
    X_nan[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SVDSubspaceClassifier().fit(X_nan, y)
    clf = SVDSubspaceClassifier().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(X_nan)
    with pytest.raises(ValueError, match="20 features"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="got 1 class"):
        SVDSubspaceClassifier().fit(X[:10], np.zeros(10))
    with pytest.raises(ValueError, match="0 sample"):
        SVDSubspaceClassifier().fit(np.empty((0, 20)), [])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        SVDSubspaceClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        SVDSubspaceClassifier().fit(X, np.linspace(0, 1, len(X)))


def _projectors(clf):
    """Orthogonal projector onto each class subspace: sign-free."""
    return np.einsum("ckf,ckg->cfg", clf.components_, clf.components_)


@pytest.mark.parametrize("svd_solver", ["full", "covariance_eigh"])
@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-4)])
def test_integer_weights_equal_repeated_samples(svd_solver, center, dtype, rtol):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(90, 12)) * np.linspace(3, 0.5, 12) + 2.0).astype(dtype)
    y = np.repeat(["a", "b", "c"], 30)
    # weights 0 to 3: every class keeps more samples of positive weight than
    # n_components + 1, so that both fits clip n_components alike
    weights = rng.integers(0, 4, size=len(y))
    X_test = (rng.normal(size=(20, 12)) * 2 + 2.0).astype(dtype)
    params = dict(n_components=3, center=center, svd_solver=svd_solver)
    weighted = SVDSubspaceClassifier(**params).fit(X, y, sample_weight=weights)
    repeated = SVDSubspaceClassifier(**params).fit(
        np.repeat(X, weights, axis=0), np.repeat(y, weights)
    )
    assert weighted.components_.dtype == dtype
    assert_array_equal(weighted.n_components_, repeated.n_components_)
    atol = 10 * rtol
    assert_allclose(_projectors(weighted), _projectors(repeated), atol=atol)
    assert_allclose(weighted.means_, repeated.means_, rtol=rtol, atol=atol)
    assert_allclose(weighted.singular_values_, repeated.singular_values_, rtol=rtol)
    assert_allclose(weighted.transform(X_test), repeated.transform(X_test), rtol=rtol)
    assert_array_equal(weighted.predict(X_test), repeated.predict(X_test))
    assert_allclose(weighted.temperature_, repeated.temperature_, rtol=10 * rtol)
    assert_allclose(
        weighted.predict_proba(X_test), repeated.predict_proba(X_test), atol=atol
    )


def test_weighted_mean_and_scatter():
    # real-valued weights: the weighted mean, and the leading eigenvectors of
    # the weighted scatter matrix sum_i w_i (x_i - m)(x_i - m)^T
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10)) * np.linspace(2, 1, 10) + 1.0
    y = np.repeat([0, 1], 30)
    weights = rng.uniform(0.1, 5.0, size=60)
    clf = SVDSubspaceClassifier(n_components=3, svd_solver="full")
    clf.fit(X, y, sample_weight=weights)
    for c in (0, 1):
        X_c, w_c = X[y == c], weights[y == c]
        mean = (w_c @ X_c) / w_c.sum()
        scatter = (X_c - mean).T @ ((X_c - mean) * w_c[:, None])
        eigvals, eigvecs = np.linalg.eigh(scatter)
        top = eigvecs[:, ::-1][:, :3]
        assert_allclose(clf.means_[c], mean, rtol=1e-12)
        assert_allclose(clf.singular_values_[c] ** 2, eigvals[::-1][:3], rtol=1e-10)
        assert_allclose(_projectors(clf)[c], top @ top.T, atol=1e-10)
    # weights are relative: scaling them changes only the singular values
    scaled = clone(clf).fit(X, y, sample_weight=weights * 7.5)
    assert_allclose(_projectors(scaled), _projectors(clf), atol=1e-10)
    assert_allclose(scaled.transform(X), clf.transform(X), rtol=1e-10)
    assert_allclose(scaled.temperature_, clf.temperature_, rtol=1e-8)


def test_unit_weights_match_no_weights():
    X, y, _, _ = _subspace_data(offset=2.0)
    X = X + np.random.default_rng(1).normal(scale=0.1, size=X.shape)
    clf = SVDSubspaceClassifier(n_components=2).fit(X, y)
    ones = SVDSubspaceClassifier(n_components=2).fit(
        X, y, sample_weight=np.ones(len(y))
    )
    assert_allclose(_projectors(ones), _projectors(clf), atol=1e-12)
    assert_allclose(ones.means_, clf.means_, atol=1e-12)
    assert_allclose(ones.transform(X), clf.transform(X), rtol=1e-10)
    assert_allclose(ones.temperature_, clf.temperature_, rtol=1e-10)


def test_zero_weights_drop_samples_from_the_clip():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 10))
    y = np.repeat([0, 1], 10)
    weights = np.ones(20)
    weights[:7] = 0  # class 0 keeps 3 samples: 2 dimensions once centred
    clf = SVDSubspaceClassifier(n_components=8).fit(X, y, sample_weight=weights)
    assert_array_equal(clf.n_components_, [2, 4])
    removed = SVDSubspaceClassifier(n_components=8).fit(X[7:], y[7:])
    assert_allclose(clf.transform(X), removed.transform(X), rtol=1e-10)


@pytest.mark.parametrize("labels", [[0, 1, 3], ["a", "b", "c"]])
def test_class_of_zero_total_weight_raises(labels):
    X, y, _, _ = _subspace_data(labels=labels)
    weights = np.where(y == labels[2], 0.0, 1.0)
    with pytest.raises(ValueError, match=f"class {labels[2]!r} has zero total weight"):
        SVDSubspaceClassifier().fit(X, y, sample_weight=weights)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda w: np.where(np.arange(len(w)) == 3, -1.0, w), "Negative values"),
        (lambda w: np.where(np.arange(len(w)) == 3, np.nan, w), "NaN"),
        (lambda w: np.where(np.arange(len(w)) == 3, np.inf, w), "infinity"),
        (lambda w: w[:-1], r"sample_weight.shape == \(119,\), expected \(120,\)"),
        (lambda w: w[:, None], "1D array"),
        (lambda w: np.zeros_like(w), "at least one non-zero"),
    ],
)
def test_invalid_sample_weight(change, match):
    X, y, _, _ = _subspace_data()
    with pytest.raises(ValueError, match=match):
        SVDSubspaceClassifier().fit(X, y, sample_weight=change(np.ones(len(y))))


def test_sample_weight_is_routed_through_pipeline_and_grid_search():
    X, y, _, _ = _subspace_data(offset=1.0)
    X = X + np.random.default_rng(1).normal(scale=0.1, size=X.shape)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=len(y))
    with config_context(enable_metadata_routing=True):
        # the default scorer calls score, which takes sample_weight too
        clf = (
            SVDSubspaceClassifier()
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True)
        )
        pipe = make_pipeline(FunctionTransformer(), clf)
        search = GridSearchCV(
            pipe,
            {"svdsubspaceclassifier__n_components": [1, 2]},
            cv=3,
            error_score="raise",
        ).fit(X, y, sample_weight=weights)
        n_components = search.best_params_["svdsubspaceclassifier__n_components"]
        expected = SVDSubspaceClassifier(n_components=n_components).fit(
            X, y, sample_weight=weights
        )
        fitted = search.best_estimator_[-1]
        assert_allclose(fitted.means_, expected.means_)
        assert_allclose(_projectors(fitted), _projectors(expected), atol=1e-12)
        assert not np.allclose(fitted.means_, SVDSubspaceClassifier().fit(X, y).means_)
        # not requested: routing refuses to drop the weights silently
        unrequested = make_pipeline(FunctionTransformer(), SVDSubspaceClassifier())
        with pytest.raises(ValueError, match="sample_weight"):
            unrequested.fit(X, y, sample_weight=weights)


def test_unfitted_estimator_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SVDSubspaceClassifier().predict(np.zeros((2, 3)))


@pytest.mark.real_data
@pytest.mark.slow
def test_fashion_mnist_k30_centred_accuracy():
    from fmnist_estimators.datasets import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(
        subset="train", download_if_missing=False, return_X_y=True
    )
    X_test, y_test = fetch_fashion_mnist(
        subset="test", download_if_missing=False, return_X_y=True
    )
    clf = SVDSubspaceClassifier(n_components=30, center=True)
    clf.fit(X.astype(np.float32), y)
    assert clf.score(X_test.astype(np.float32), y_test) >= 0.84
