"""PretrainedNetClassifier: backbones, preprocessing, weights, frozen features,
fine-tuning, and the scikit-learn contract. Offline: weights=None or files
saved here; the ImageNet download is replaced by one that fails."""

import pickle
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from fmnist_estimators import PretrainedNetClassifier, SVDSubspaceClassifier
from fmnist_estimators._keras._names import BACKBONE_MIN_SIZES
from fmnist_estimators._phases import resource_parameter
from fmnist_estimators.search import family_param_grid, make_family_pipeline

# The smallest network of the package's backbones at its smallest input.
SMALL = dict(
    backbone="mobilenet_v2",
    weights=None,
    input_size=32,
    dense_units=(32,),
    dropout=0.0,
    learning_rate=0.003,
    batch_size=32,
    random_state=0,
)


def _small(**params):
    return PretrainedNetClassifier(**{**SMALL, "epochs": 1, **params})


@pytest.fixture(scope="module")
def split(images):
    X, y = images
    return X[:400], X[400:], y[:400], y[400:]


@pytest.fixture(scope="module")
def fitted(split):
    X, _, y, _ = split
    return _small(epochs=5).fit(X, y)


# -- the backbones ---------------------------------------------------------------------


def test_backbone_tables_agree():
    from fmnist_estimators._keras._backbones import BACKBONES

    assert list(BACKBONES) == list(BACKBONE_MIN_SIZES)


@pytest.mark.parametrize(
    "backbone", ["vgg16", "resnet50", "inception_v3", "mobilenet_v2", "efficientnet_b0"]
)
def test_preprocessing_layers_match_keras_preprocess_input(backbone):
    from fmnist_estimators._keras._backbones import BACKBONES, preprocessing_layers
    from fmnist_estimators._keras._runtime import keras

    module = {
        "vgg16": keras.applications.vgg16,
        "resnet50": keras.applications.resnet,
        "inception_v3": keras.applications.inception_v3,
        "mobilenet_v2": keras.applications.mobilenet_v2,
        "efficientnet_b0": keras.applications.efficientnet,
    }[backbone]
    # Grayscale repeated to three channels, pixels in [0, 1] as the engine's
    # pixel scaling leaves them.
    pixels = np.random.default_rng(0).random((4, 8, 8, 1)).astype(np.float32)
    rgb = np.repeat(pixels, 3, axis=-1)
    x = rgb
    for layer in preprocessing_layers(BACKBONES[backbone].preprocessing):
        x = layer(x)
    expected = module.preprocess_input(rgb * 255.0)
    assert_allclose(np.asarray(x), np.asarray(expected), atol=1e-4)


def test_rows_per_call_bounds_resized_pixels():
    from fmnist_estimators._keras._backbones import PIXELS_PER_CALL, rows_per_call

    for size in (32, 75, 224):
        assert rows_per_call(size) * size * size <= PIXELS_PER_CALL
    assert rows_per_call(224) < rows_per_call(75) < rows_per_call(32)


# -- fitting with a frozen backbone ----------------------------------------------------


def test_frozen_backbone_learns_above_chance(fitted, split):
    _, X_test, _, y_test = split
    assert fitted.score(X_test, y_test) > 0.3  # chance: 0.1
    assert_allclose(fitted.predict_proba(X_test[:5]).sum(axis=1), 1.0)
    assert fitted.n_iter_ == len(fitted.history_["loss"]) == 5


def test_model_takes_images_and_head_trains_on_features(fitted):
    # model_: raw images in; the scikeras engine trains the head on features.
    assert fitted.model_.input_shape == (None, 28, 28, 1)
    assert fitted.model_.get_layer("pixel_scale").scale == pytest.approx(1 / 255)
    features = fitted.model_.get_layer("features")
    assert fitted.keras_classifier_.model_.input_shape == (None, 1280)
    assert not features.layers[-1].trainable
    layer_types = [type(layer).__name__ for layer in features.layers]
    assert "Lambda" not in layer_types
    assert {"Resizing", "Concatenate", "Rescaling"} <= set(layer_types)


def test_predictions_agree_with_model_and_follow_its_weights(fitted, split):
    # predict_proba runs the extractor, then the head: model_'s own layers,
    # before and after pickling, so that changing model_ changes predictions.
    _, X_test, _, _ = split
    for clf in (fitted, pickle.loads(pickle.dumps(fitted))):
        images = X_test[:50].reshape(-1, 28, 28, 1)
        # model_ standardizes the features in float32, predict_proba in float64
        assert_allclose(
            clf.predict_proba(X_test[:50]), clf.model_(images), rtol=1e-4, atol=1e-6
        )
        last = clf.model_.layers[-1]
        kernel, bias = last.get_weights()
        last.set_weights([kernel, bias + 100 * np.eye(1, bias.size, 3)[0]])
        assert (clf.predict(X_test[:50]) == clf.classes_[3]).all()
        last.set_weights([kernel, bias])


def test_features_are_computed_once_per_fit(split, monkeypatch):
    from fmnist_estimators._keras import _engine

    X, _, y, _ = split
    calls = []
    original = _engine.predict_rows

    def counting(model, X, rows=None, **options):
        calls.append((model.name, X.shape))
        return original(model, X, rows, **options)

    monkeypatch.setattr(_engine, "predict_rows", counting)
    _small(epochs=3).fit(X, y)
    assert calls == [("extractor", (400, 28, 28, 1))]


def test_prediction_streams_images_in_chunks(fitted, split, monkeypatch):
    from fmnist_estimators._keras import _backbones
    from fmnist_estimators._keras._runtime import keras

    _, X_test, _, _ = split
    monkeypatch.setattr(_backbones, "rows_per_call", lambda size: 64)
    batches = []
    predict_on_batch = keras.Model.predict_on_batch

    def recording(model, x):
        if np.ndim(x) == 4:  # images (not the head's features)
            batches.append(len(x))
        return predict_on_batch(model, x)

    monkeypatch.setattr(keras.Model, "predict_on_batch", recording)
    chunked = fitted.predict_proba(X_test)
    assert max(batches) == 64
    assert sum(batches) == len(X_test)
    monkeypatch.undo()
    # float32 through ~50 layers whose kernels depend on the batch size: a few
    # ulps per layer, ~1e-5 in the probabilities
    assert_allclose(chunked, fitted.predict_proba(X_test), rtol=1e-4, atol=1e-5)


def test_class_weight_shifts_predictions_to_the_weighted_class(split):
    X, X_test, y, _ = split
    plain = _small(epochs=2).fit(X, y).predict(X_test)
    weighted = _small(epochs=2, class_weight={0: 20.0}).fit(X, y).predict(X_test)
    assert np.mean(weighted == 0) > np.mean(plain == 0) + 0.05


# -- weights ---------------------------------------------------------------------------


def test_weights_file_loaded_by_path(split, tmp_path):
    from fmnist_estimators._keras._backbones import make_backbone

    X, _, y, _ = split
    source = make_backbone("mobilenet_v2", None, 32)
    path = tmp_path / "mobilenet_v2_random.weights.h5"
    source.save_weights(path)
    clf = _small(weights=str(path), random_state=1).fit(X[:200], y[:200])
    backbone = clf.model_.get_layer("features").layers[-1]
    for saved, loaded in zip(source.get_weights(), backbone.get_weights()):
        assert_array_equal(saved, loaded)


def test_missing_weights_file_is_named(split, tmp_path):
    X, _, y, _ = split
    missing = tmp_path / "nothing.h5"
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        _small(weights=str(missing)).fit(X[:50], y[:50])


def test_offline_imagenet_fails_fast_with_what_to_download(split, monkeypatch):
    import keras

    from fmnist_estimators._keras._backbones import keras_cache_folder

    X, _, y, _ = split

    def offline(fname, origin, **kwargs):
        raise Exception(
            f"URL fetch failure on {origin}: None -- [Errno -3] Temporary "
            "failure in name resolution"
        )

    monkeypatch.setattr(keras.utils, "get_file", offline)
    start = time.perf_counter()
    with pytest.raises(OSError) as info:
        _small(backbone="resnet50", weights="imagenet").fit(X[:50], y[:50])
    assert time.perf_counter() - start < 10
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert (
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        in message
    )
    assert keras_cache_folder() in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_mobilenet_v2_weights_file_follows_input_size():
    from fmnist_estimators._keras._backbones import BACKBONES

    name, url = BACKBONES["mobilenet_v2"].weights_file(96)
    assert name.endswith("_1.0_96_no_top.h5") and url.endswith(name)
    assert BACKBONES["mobilenet_v2"].weights_file(32)[0].endswith("_224_no_top.h5")


# -- parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(backbone="inception_v3", input_size=32), ValueError, "at least 75"),
        (dict(fine_tune_epochs=2), ValueError, "trainable='all'"),
        (dict(backbone="alexnet"), ValueError, "backbone"),
        (dict(trainable="some"), ValueError, "trainable"),
    ],
)
def test_invalid_parameters_raise_at_fit(params, error, match, split):
    X, _, y, _ = split
    with pytest.raises(error, match=match):
        _small(**params).fit(X[:50], y[:50])


def test_default_input_size_is_the_backbones_smallest():
    assert PretrainedNetClassifier("inception_v3")._input_size() == 75
    assert PretrainedNetClassifier("vgg16")._input_size() == 32


# -- fine-tuning -----------------------------------------------------------------------


def test_two_phase_schedule_fine_tunes_the_top_layers(split):
    from fmnist_estimators._keras._backbones import is_shared

    X, X_test, y, _ = split
    # A frozen backbone of the same seed, which frozen networks share.
    frozen = _small(epochs=2).fit(X[:200], y[:200])
    before = frozen.predict_proba(X_test)
    clf = _small(trainable=5, fine_tune_epochs=1, epochs=2).fit(X[:200], y[:200])
    assert clf.n_iter_ == 3
    # Fine-tuning continues from the head: the top layers' batch norm
    # (Conv_1_bn among them) stays in inference mode, as the head trained,
    # also with weights=None (it used to train, and accuracy fell to chance).
    head, fine_tuned = clf.history_["accuracy"][1:]
    assert fine_tuned >= 0.8 * head > 0.5
    assert clf.score(X[:200], y[:200]) >= 0.8 * fine_tuned
    batch_norm = clf.model_.get_layer("features").layers[-1].get_layer("Conv_1_bn")
    assert not batch_norm.trainable
    # Fine-tuning trained a backbone of its own.
    assert not is_shared(clf._extractor())
    assert_array_equal(frozen.predict_proba(X_test), before)
    # The whole network trains in the second phase: the engine holds it.
    assert clf.keras_classifier_.model_ is clf.model_
    backbone = clf.model_.get_layer("features").layers[-1]
    trainable = [layer.name for layer in backbone.layers if layer.trainable_weights]
    assert 0 < len(trainable) <= 5
    assert clf.history_["phase"] == ["head", "head", "fine_tune"]
    # A warm start continues fine-tuning, for fine_tune_epochs (the resource
    # a search on epochs drives), not epochs.
    assert resource_parameter(clf) == "fine_tune_epochs"
    clf.set_params(warm_start=True, fine_tune_epochs=2).fit(X[:200], y[:200])
    assert clf.n_iter_ == 5
    assert clf.history_["phase"] == ["head"] * 2 + ["fine_tune"] * 3
    # Without fine-tuning there is no phase to continue.
    with pytest.raises(ValueError, match="'fine_tune' phase"):
        clf.set_params(fine_tune_epochs=0, trainable="head").fit(X[:200], y[:200])


def test_trained_backbone_batch_norm_predicts_as_it_trained(split):
    # MobileNetV2's batch norm (momentum 0.999) trains with weights=None: its
    # statistics are set from the trained network, so predictions on the
    # training images are as good as training said (they were at chance).
    # (A fine-tuning phase keeps it frozen: see
    # test_two_phase_schedule_fine_tunes_the_top_layers.)
    X, _, y, _ = split
    # trainable=True is Keras's spelling of "all": every layer trains.
    clf = _small(epochs=3, trainable=True).fit(X, y)
    trained = clf.history_["accuracy"][-1]
    assert clf.score(X, y) >= max(0.8 * trained, 0.15)
    backbone = clf.model_.get_layer("features").layers[-1]
    assert len(backbone.trainable_weights) >= 100


@pytest.mark.parametrize("trainable, same_as", [(True, "all"), (False, "head")])
def test_trainable_takes_keras_booleans(trainable, same_as):
    # The fits: trainable=True above, trainable=False below.
    clf = _small(trainable=trainable)
    assert clf.training_phases() == _small(trainable=same_as).training_phases()


def test_trainable_false_freezes_the_backbone(split):
    X, _, y, _ = split
    clf = _small(trainable=False).fit(X[:100], y[:100])
    assert not clf.model_.get_layer("features").layers[-1].trainable_weights


# -- one frozen backbone per process ---------------------------------------------------


def test_random_weights_repeat_with_random_state(split, fitted):
    # Frozen, the seeded backbone is built once and shared, and a backbone
    # built anew from the same seed gives the same network.
    from fmnist_estimators._keras import _backbones

    X, X_test, y, _ = split
    again = _small(epochs=5).fit(X, y)
    assert_allclose(
        again.predict_proba(X_test), fitted.predict_proba(X_test), atol=1e-5
    )
    assert again._extractor() is fitted._extractor()
    assert _backbones.is_shared(again._extractor())
    _backbones._SHARED_EXTRACTORS.clear()
    anew = _small(epochs=5).fit(X, y)
    assert anew._extractor() is not fitted._extractor()
    assert_array_equal(anew.predict_proba(X_test), again.predict_proba(X_test))


def test_unseeded_random_backbones_are_not_shared(split):
    X, _, y, _ = split
    a = _small(random_state=None).fit(X[:50], y[:50])
    b = _small(random_state=None).fit(X[:50], y[:50])
    assert a._extractor() is not b._extractor()


def test_shared_backbones_are_bounded_and_follow_the_weights_file(tmp_path):
    from fmnist_estimators._keras import _backbones

    def extractor(fraction):
        # An extractor whose float32 weights take fraction * SHARED_BYTES.
        class Extractor:
            def count_params(self):
                return int(fraction * _backbones.SHARED_BYTES / 4)

        return Extractor

    def kept():
        return [key[1] for key in _backbones._SHARED_EXTRACTORS]

    _backbones._SHARED_EXTRACTORS.clear()
    for name in "abcd":
        _backbones.shared_extractor(("test", name), extractor(0.4))
    assert kept() == ["c", "d"]  # the most recent that fit in the budget
    _backbones.shared_extractor(("test", "c"), extractor(0.4))  # used: kept longer
    _backbones.shared_extractor(("test", "e"), extractor(0.3))
    assert kept() == ["c", "e"]
    _backbones.shared_extractor(("test", "huge"), extractor(1.5))
    assert kept() == ["huge"]  # the newest stays, whatever its size
    _backbones._SHARED_EXTRACTORS.clear()
    path = tmp_path / "backbone.weights.h5"
    path.write_bytes(b"1")
    first = _backbones.weights_identity(str(path))
    path.write_bytes(b"22")
    assert _backbones.weights_identity(path) != first


# -- the scikit-learn contract ---------------------------------------------------------


def test_pickle_clone_and_grid_search(fitted, split):
    X, X_test, y, _ = split
    saved = pickle.dumps(fitted)
    restored = pickle.loads(saved)
    assert_array_equal(restored.predict_proba(X_test), fitted.predict_proba(X_test))
    # The backbone is stored once, not once more inside model_.
    backbone = fitted.model_.get_layer("features")
    backbone_bytes = sum(w.nbytes for w in backbone.get_weights())
    assert len(saved) < 1.5 * backbone_bytes
    assert clone(fitted).get_params() == fitted.get_params()
    search = GridSearchCV(_small(), {"dense_units": [(16,), (32,)]}, cv=2)
    search.fit(X[:200], y[:200])
    assert search.best_estimator_.predict(X_test[:3]).shape == (3,)


def test_family_search_beside_the_svd_baseline(split):
    X, _, y, _ = split
    grid = family_param_grid(
        [(SVDSubspaceClassifier(), {"n_components": [10]}), (_small(), {})]
    )
    search = GridSearchCV(make_family_pipeline(), grid, cv=2).fit(X[:200], y[:200])
    assert len(search.cv_results_["params"]) == 2
