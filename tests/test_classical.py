"""Tests of the ready-made classical pipelines and PatchPCAFeatures."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from fmnist_estimators import SVDSubspaceClassifier
from fmnist_estimators.classical import (
    PatchPCAFeatures,
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
    make_subspace_pipeline,
)


def _toy_images(n_per_class=30, seed=0):
    """Noisy 28 x 28 images of three shapes: bars, columns and a square."""
    rng = np.random.default_rng(seed)
    templates = np.zeros((3, 28, 28))
    templates[0, 10:18, 2:26] = 200  # horizontal bar
    templates[1, 2:26, 10:18] = 200  # vertical bar
    templates[2, 6:22, 6:22] = 200  # square
    X, y = [], []
    for label, template in enumerate(templates):
        for _ in range(n_per_class):
            shifted = np.roll(template, rng.integers(-2, 3, size=2), axis=(0, 1))
            noisy = shifted + rng.normal(0, 30, size=(28, 28))
            X.append(np.clip(noisy, 0, 255).astype(np.uint8).ravel())
            y.append(label)
    return np.array(X), np.array(y)


@pytest.fixture(scope="module")
def images():
    X, y = _toy_images(seed=0)
    X_test, y_test = _toy_images(n_per_class=10, seed=1)
    return X, y, X_test, y_test


@pytest.mark.parametrize(
    "factory, steps",
    [
        (make_subspace_pipeline, ["float32", "subspace"]),
        (make_pca_svc_pipeline, ["scale", "pca", "svc"]),
        (make_patch_pca_svc_pipeline, ["patches", "scale", "pca", "svc"]),
    ],
)
def test_factories_fit_small_images(factory, steps, images):
    X, y, X_test, y_test = images
    if factory is make_patch_pca_svc_pipeline:
        model = factory(4, n_components=20, random_state=0)
    else:
        model = factory(10, random_state=0)
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == steps
    model.fit(X, y)
    assert model.score(X_test, y_test) >= 0.9
    # the pipelines are ordinary estimators: clone and pickle them
    restored = pickle.loads(pickle.dumps(model))
    assert_array_equal(restored.predict(X_test), model.predict(X_test))
    assert clone(model).get_params().keys() == model.get_params().keys()


def test_subspace_pipeline_computes_in_float32(images):
    X, y, X_test, _ = images
    model = make_subspace_pipeline(n_components={0: 2, 1: 3, 2: 4}).fit(X, y)
    clf = model.named_steps["subspace"]
    assert isinstance(clf, SVDSubspaceClassifier)
    assert clf.components_.dtype == np.float32
    assert_array_equal(clf.n_components_, [2, 3, 4])
    assert_allclose(model.predict_proba(X_test).sum(axis=1), 1, rtol=1e-6)


def test_patch_pca_svc_pipeline_parameters_reach_the_steps():
    model = make_patch_pca_svc_pipeline(
        6, patch_size=3, pool_size=7, n_components=40, C=3.0, random_state=2
    )
    params = model.get_params()
    assert params["patches__n_filters"] == 6
    assert params["patches__patch_size"] == 3
    assert params["patches__pool_size"] == 7
    assert params["patches__random_state"] == 2
    assert params["pca__n_components"] == 40
    assert params["svc__estimator__C"] == 3.0
    bare = make_patch_pca_svc_pipeline(C=3.0, probability=False)
    assert bare.get_params()["svc__C"] == 3.0


SVC_FACTORIES = [
    lambda **kw: make_pca_svc_pipeline(10, random_state=0, **kw),
    lambda **kw: make_patch_pca_svc_pipeline(4, n_components=20, random_state=0, **kw),
]


@pytest.mark.parametrize("factory", SVC_FACTORIES, ids=["pca_svc", "patch_pca_svc"])
def test_svc_pipelines_predict_proba_keeps_the_svc_decision_rule(factory, images):
    X, y, X_test, y_test = images
    model = factory().fit(X, y)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-10)
    assert np.all((proba >= 0) & (proba <= 1))
    # predictions are the argmax of the SVC fitted on all the training data
    # (calibration only rescales its decision values)...
    y_pred = model.predict(X_test)
    assert_array_equal(y_pred, model.classes_[proba.argmax(axis=1)])
    calibrated = model.named_steps["svc"]
    svc = calibrated.calibrated_classifiers_[0].estimator
    assert len(calibrated.calibrated_classifiers_) == 1  # ensemble=False
    features = model[:-1].transform(X_test)
    assert_array_equal(y_pred, svc.classes_[svc.decision_function(features).argmax(1)])
    # ... which is the bare pipeline's model: same vote-based predictions
    bare = factory(probability=False).fit(X, y)
    assert not hasattr(bare, "predict_proba")
    assert isinstance(bare.named_steps["svc"], SVC)
    assert_allclose(bare.named_steps["svc"].dual_coef_, svc.dual_coef_, rtol=1e-6)
    assert np.mean(bare.predict(X_test) == y_pred) >= 0.95


@pytest.mark.parametrize("factory", SVC_FACTORIES, ids=["pca_svc", "patch_pca_svc"])
def test_svc_pipelines_soft_vote(factory, images):
    X, y, X_test, y_test = images
    voting = VotingClassifier(
        [("svc", factory()), ("subspace", make_subspace_pipeline(5))], voting="soft"
    ).fit(X, y)
    assert voting.predict_proba(X_test).shape == (len(X_test), 3)
    assert voting.score(X_test, y_test) >= 0.9


@pytest.mark.parametrize(
    "factory",
    [lambda: make_subspace_pipeline(5), *(lambda f=f: f() for f in SVC_FACTORIES)],
    ids=["subspace", "pca_svc", "patch_pca_svc"],
)
def test_factories_under_pandas_output_do_not_warn(factory, images):
    pytest.importorskip("pandas")
    X, y, X_test, _ = images
    expected = factory().fit(X, y).predict(X_test)
    with sklearn.config_context(transform_output="pandas"), warnings.catch_warnings():
        warnings.simplefilter("error")
        model = factory().fit(X, y)
        assert_array_equal(model.predict(X_test), expected)
        # every step but the classifier names its output columns
        features = model[:-1].transform(X_test)
    assert list(features.columns) == list(model[:-1].get_feature_names_out())
    # set_output on the pipeline itself reaches every transformer
    model = factory().set_output(transform="pandas").fit(X, y)
    assert_array_equal(model.predict(X_test), expected)


def test_patch_pca_features_feature_names_out(images):
    X, _, _, _ = images
    features = PatchPCAFeatures(n_filters=3, n_patches=500, random_state=0).fit(X)
    names = features.get_feature_names_out()
    assert names.shape == (features.transform(X[:1]).shape[1],)
    assert names[0] == "patchpcafeatures0"


def test_patch_pca_features_filters_are_orthonormal_and_zero_mean(images):
    X, _, _, _ = images
    features = PatchPCAFeatures(n_filters=6, n_patches=5000, random_state=0).fit(X)
    filters = features.filters_
    assert filters.shape == (6, 25)
    assert filters.dtype == np.float32
    assert_allclose(filters @ filters.T, np.eye(6), atol=1e-5)
    # learnt from mean-removed patches, so blind to constant patches
    assert_allclose(filters.sum(axis=1), 0, atol=1e-5)
    assert np.all(np.diff(features.explained_variance_) <= 0)


def test_patch_pca_features_match_a_direct_convolution(images):
    from scipy.signal import correlate2d

    X, _, _, _ = images
    features = PatchPCAFeatures(
        n_filters=2, pool_size=4, power=1.0, n_patches=2000, random_state=0
    ).fit(X)
    image = X[0].reshape(28, 28).astype(np.float64)
    expected = []
    for f in features.filters_.astype(np.float64):
        response = correlate2d(image, f.reshape(5, 5), mode="same")
        for part in (np.maximum(response, 0), np.maximum(-response, 0)):
            expected.append(part.reshape(7, 4, 7, 4).mean(axis=(1, 3)))
    # feature order: block row, block column, then map (filter x sign)
    expected = np.stack([expected[0], expected[2], expected[1], expected[3]], -1)
    assert_allclose(features.transform(X[:1])[0], expected.ravel(), rtol=1e-4)


def test_patch_pca_features_shapes_pad_and_scale(images):
    X, _, _, _ = images
    features = PatchPCAFeatures(n_filters=3, pool_size=5, n_patches=1000).fit(X)
    # 28 is padded to 30: 6 x 6 blocks
    assert features.transform(X[:4]).shape == (4, 6 * 6 * 2 * 3)
    features = PatchPCAFeatures(
        image_shape=(4, 6), patch_size=3, n_filters=2, pool_size=2, random_state=0
    )
    X_small = np.random.default_rng(0).random((10, 24))
    out = features.fit_transform(X_small)
    assert out.shape == (10, 2 * 3 * 2 * 2)
    assert out.dtype == np.float32
    # power=0.5: scaling X by 4 scales the features by 2
    assert_allclose(features.transform(4 * X_small), 2 * out, rtol=1e-5)


@pytest.mark.parametrize(
    "params, n_features, error, match",
    [
        ({}, 100, ValueError, r"image_shape=\(28, 28\) needs 784 features .*got 100"),
        ({"patch_size": 4}, 784, ValueError, "patch_size must be odd; got 4"),
        ({"n_filters": 25}, 784, ValueError, "at most patch_size\\*\\*2 - 1 = 24"),
        ({"power": 0}, 784, InvalidParameterError, "power"),
        ({"image_shape": [28, 28]}, 784, InvalidParameterError, "image_shape"),
    ],
)
def test_patch_pca_features_invalid(params, n_features, error, match):
    X = np.zeros((5, n_features))
    with pytest.raises(error, match=match):
        PatchPCAFeatures(**params).fit(X)


def test_patch_pca_features_rejects_wrong_width_at_transform(images):
    X, _, _, _ = images
    features = PatchPCAFeatures(n_filters=2, n_patches=500).fit(X)
    with pytest.raises(ValueError, match="784 features"):
        features.transform(X[:, :100])


@pytest.mark.real_data
@pytest.mark.slow
def test_patch_pca_svc_on_fashion_mnist_subset():
    # a quick real-data sanity check: 10,000 training images, 2,000 test images
    from fmnist_estimators.datasets import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(
        subset="train", download_if_missing=False, return_X_y=True
    )
    X_test, y_test = fetch_fashion_mnist(
        subset="test", download_if_missing=False, return_X_y=True
    )
    model = make_patch_pca_svc_pipeline(n_components=100, random_state=0)
    model.fit(X[:10_000], y[:10_000])
    assert model.score(X_test[:2000], y_test[:2000]) >= 0.88
