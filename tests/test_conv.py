"""Tests of ConvNetClassifier and its presets."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import StratifiedKFold, check_cv

from fmnist_estimators import CONVNET_PRESETS, ConvNetClassifier

# One narrow convolution and a small head: builds and trains in about a second.
FAST = dict(filters=(4,), dense_units=(8,), epochs=1, batch_size=64, random_state=0)

ARCHITECTURE = dict(
    filters=(8, 16),
    convs_per_block=(1, 2),
    kernel_size=5,
    padding="valid",
    pooling="avg",
    pool_size=3,
    pool_strides=2,
    pool_before_activation=True,
    global_pooling=True,
    conv_activation="elu",
    batch_norm=True,
    conv_dropout=0.1,
    dense_units=(32, 16),
    dense_activation="tanh",
    dropout=0.3,
    l2=1e-3,
    kernel_initializer="he_normal",
    augmentation="shift_flip",
    image_shape=(28, 28),
)


@pytest.fixture(scope="module")
def fitted(tiny_images):
    return ConvNetClassifier(**FAST).fit(*tiny_images)


def _layer_types(estimator):
    return [type(layer).__name__ for layer in estimator.model_.layers]


def test_is_a_classifier_with_stratified_cv(tiny_images):
    estimator = ConvNetClassifier.from_preset("fast")
    assert is_classifier(estimator)
    assert estimator.__sklearn_tags__().estimator_type == "classifier"
    cv = check_cv(5, tiny_images[1], classifier=is_classifier(estimator))
    assert isinstance(cv, StratifiedKFold)


def test_clone_keeps_every_architecture_parameter():
    params = clone(ConvNetClassifier(**ARCHITECTURE)).get_params()
    assert params.items() >= ARCHITECTURE.items()


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(padding="full"), "padding"),
        (dict(pooling="min"), "pooling"),
        (dict(augmentation="rotate"), "augmentation"),
        (dict(conv_activation="nope"), "conv_activation"),
        (dict(filters=(4, 0)), "filters"),
        (dict(pool_before_activation="yes"), "pool_before_activation"),
        (dict(filters=(4, 8), convs_per_block=(1, 2, 3)), "convs_per_block"),
    ],
)
def test_invalid_parameter_raises_at_fit(params, name, tiny_images):
    with pytest.raises(ValueError, match=name):
        ConvNetClassifier(**{**FAST, **params}).fit(*tiny_images)


# -- presets --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONVNET_PRESETS))
def test_every_preset_builds_and_trains(name, tiny_images):
    overrides = dict(epochs=1, batch_size=64, random_state=0)
    if name == "grouped":  # the full width takes minutes on a CPU
        overrides["filters"] = (8, 16, 32)
    estimator = ConvNetClassifier.from_preset(name, **overrides)
    preset = {**CONVNET_PRESETS[name], **overrides}
    assert estimator.get_params().items() >= preset.items()
    # One batch of 64 images: the build and a training step are the test.
    X, y = tiny_images
    estimator.fit(X[:64], y[:64])
    assert estimator.model_.count_params() > 0
    assert estimator.n_iter_ == 1
    assert estimator.predict_proba(X[:5]).shape == (5, 10)


def test_grouped_preset_architecture():
    estimator = ConvNetClassifier.from_preset("grouped")
    # Built, not trained: the full-width network trains for minutes.
    build, params = estimator._network_builder()
    model = build((28, 28, 1), 10, **params)
    types = [type(layer).__name__ for layer in model.layers]
    assert types.count("Conv2D") == 9
    assert types.count("FusedBatchNormalization") == 10  # every conv, the dense layer
    # Convolutions (no bias under batch norm): 1*9*64 + 2*64*9*64, then likewise
    # for 128 and 256 filters; 4 values per batch-norm channel; 4x4x256
    # flattened into dense 256; softmax 256*10 + 10.
    convs = 74_304 + 368_640 + 1_474_560
    batch_norms = 4 * 3 * (64 + 128 + 256) + 4 * 256
    assert model.count_params() == convs + batch_norms + 4096 * 256 + 2570


def test_fast_plus_is_fast_pooled_early_whitened_less_dropout_smoothed():
    fast, plus = CONVNET_PRESETS["fast"], CONVNET_PRESETS["fast_plus"]
    changed = {key for key in fast | plus if fast.get(key) != plus.get(key)}
    assert changed == {
        "pool_before_activation",
        "whitening",
        "conv_dropout",
        "label_smoothing",
    }
    assert plus["pool_before_activation"] and plus["whitening"] == 2
    assert 0 < plus["conv_dropout"] < fast["conv_dropout"]
    assert plus["label_smoothing"] == 0.1


def test_best_cpu_pools_early_and_digits_best_keeps_its_measured_pooling():
    # Built, not trained: the order of each block's layers is the change.
    pooled = ["Conv2D", "MaxPooling2D", "FusedBatchNormalization", "Activation"]
    late = ["Conv2D", "FusedBatchNormalization", "Activation", "MaxPooling2D"]
    for name, block in [("best_cpu", pooled), ("digits_best", late)]:
        build, params = ConvNetClassifier.from_preset(name)._network_builder()
        types = [
            type(layer).__name__ for layer in build((28, 28, 1), 10, **params).layers
        ]
        start = types.index("Conv2D")
        assert types[start : start + 4] == block, name
        assert types.count("MaxPooling2D") == 3


def test_digit_presets_never_mirror():
    # A mirrored digit is another symbol or none: shifts only in training, and
    # no mirror-image averaging at predict time.
    for name in ("digits", "digits_best"):
        estimator = ConvNetClassifier.from_preset(name)
        assert estimator.augmentation == "shift"
        assert estimator.test_time_augmentation is None
    # "digits_best" trains the network and recipe of "best_cpu".
    best, best_cpu = map(ConvNetClassifier.from_preset, ["digits_best", "best_cpu"])
    network = ["filters", "convs_per_block", "dense_units", "conv_dropout"]
    network += ["dropout", "label_smoothing", "lr_schedule", "learning_rate"]
    assert [getattr(best, p) for p in network] == [
        getattr(best_cpu, p) for p in network
    ]
    assert best.epochs < best_cpu.epochs


def test_unknown_preset_raises():
    with pytest.raises(ValueError, match="Unknown preset 'resnet'.*fast"):
        ConvNetClassifier.from_preset("resnet")


def test_preset_parameters_can_be_overridden():
    estimator = ConvNetClassifier.from_preset("fast", epochs=2, filters=(8, 8))
    assert (estimator.epochs, estimator.filters) == (2, (8, 8))
    assert estimator.batch_norm is CONVNET_PRESETS["fast"]["batch_norm"]


# -- image shapes -------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (28, 28, 1)])
def test_image_arrays_and_rows_give_the_same_model(shape, tiny_images, fitted):
    X, y = tiny_images
    images = ConvNetClassifier(**FAST).fit(X.reshape(-1, *shape), y)
    assert images.model_.input_shape == fitted.model_.input_shape == (None, 28, 28, 1)
    assert images.n_features_in_ == 784
    expected = fitted.predict_proba(X)
    assert_array_equal(images.predict_proba(X), expected)
    assert_array_equal(fitted.predict_proba(X.reshape(-1, *shape)), expected)


def test_non_square_images(tiny_images):
    X, y = tiny_images
    rows = ConvNetClassifier(**FAST, image_shape=(14, 56)).fit(X, y)
    assert rows.model_.input_shape == (None, 14, 56, 1)
    arrays = ConvNetClassifier(**FAST).fit(X.reshape(-1, 14, 56), y)
    assert arrays.model_.input_shape == (None, 14, 56, 1)
    assert_array_equal(arrays.predict_proba(X), rows.predict_proba(X))


@pytest.mark.parametrize("image_shape", [(27, 27), (28, 28, 3)])
def test_wrong_image_shape_raises(image_shape, tiny_images):
    estimator = ConvNetClassifier(**FAST, image_shape=image_shape)
    with pytest.raises(ValueError, match="but X has 784 features"):
        estimator.fit(*tiny_images)


def test_wrong_image_size_at_predict_raises(tiny_images, fitted):
    X = tiny_images[0].reshape(-1, 28, 28)[:5, :27, :27]
    with pytest.raises(ValueError, match="729 features"):
        fitted.predict(X)


# -- architecture options ---------------------------------------------------------


@pytest.mark.parametrize("augmentation", ["shift", "shift_flip"])
def test_augmentation_is_active_only_in_training(augmentation, tiny_images):
    X, y = tiny_images
    estimator = ConvNetClassifier(**FAST, augmentation=augmentation).fit(X, y)
    expected = ["RandomTranslation"] + ["RandomFlip"] * (augmentation == "shift_flip")
    assert _layer_types(estimator)[2 : 2 + len(expected)] == expected
    assert_array_equal(estimator.predict_proba(X), estimator.predict_proba(X))


def test_global_pooling_replaces_flatten(tiny_images, fitted):
    estimator = ConvNetClassifier(**FAST, global_pooling=True).fit(*tiny_images)
    assert "GlobalAveragePooling2D" in _layer_types(estimator)
    assert "Flatten" not in _layer_types(estimator)
    assert "Flatten" in _layer_types(fitted)
    assert estimator.model_.count_params() < fitted.model_.count_params()


@pytest.mark.parametrize("pooling", [None, "avg"])
def test_pooling_options(pooling, tiny_images):
    estimator = ConvNetClassifier(**FAST, pooling=pooling).fit(*tiny_images)
    types = _layer_types(estimator)
    assert "MaxPooling2D" not in types
    assert ("AveragePooling2D" in types) == (pooling == "avg")
    flattened = 28 * 28 * 4 if pooling is None else 14 * 14 * 4
    flatten = estimator.model_.layers[types.index("Flatten")]
    assert flatten.output.shape == (None, flattened)


def test_pool_before_activation_pools_each_blocks_last_convolution(tiny_images):
    params = dict(FAST, filters=(4, 8), convs_per_block=(1, 2), batch_norm=True)
    early = ConvNetClassifier(**params, pool_before_activation=True).fit(*tiny_images)
    late = ConvNetClassifier(**params).fit(*tiny_images)
    block = ["Conv2D", "FusedBatchNormalization", "Activation"]
    pooled = ["Conv2D", "MaxPooling2D", "FusedBatchNormalization", "Activation"]
    types = _layer_types(early)
    start = types.index("Conv2D")
    assert types[start : start + 11] == pooled + block + pooled
    # Batch norm and the activation run on the pooled 14x14 maps; no weight
    # changes shape.
    norm = early.model_.layers[start + 2]
    assert norm.input.shape == (None, 14, 14, 4)
    assert early.model_.count_params() == late.model_.count_params()


@pytest.mark.parametrize("pooling", ["max", None])
def test_pool_before_activation_is_the_same_function_without_batch_norm(
    pooling, tiny_images
):
    # Max pooling commutes with ReLU: with the same weights, both orders give
    # the same probabilities (up to float32 rounding of the softmax).
    X, y = tiny_images
    late = ConvNetClassifier(**FAST, pooling=pooling).fit(X, y)
    early = ConvNetClassifier(**FAST, pooling=pooling, pool_before_activation=True)
    early.fit(X, y)
    early.model_.set_weights(late.model_.get_weights())
    assert_allclose(early.predict_proba(X), late.predict_proba(X), atol=1e-6)


def test_convs_per_block_per_block(tiny_images):
    estimator = ConvNetClassifier(**{**FAST, "filters": (4, 8)}, convs_per_block=(1, 2))
    types = _layer_types(estimator.fit(*tiny_images))
    assert types.count("Conv2D") == 3
    assert types.count("MaxPooling2D") == 2


# -- training and persistence ----------------------------------------------------


def test_warm_start_and_partial_fit(tiny_images):
    estimator = ConvNetClassifier(**FAST).fit(*tiny_images)
    estimator.set_params(warm_start=True).fit(*tiny_images)
    assert estimator.n_iter_ == 2
    estimator.partial_fit(*tiny_images)
    assert estimator.n_iter_ == len(estimator.history_["loss"]) == 3


def test_pickle_round_trip_with_augmentation_and_batch_norm(tiny_images):
    X, y = tiny_images
    params = dict(FAST, augmentation="shift_flip", batch_norm=True, conv_dropout=0.2)
    estimator = ConvNetClassifier(**params).fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))


def test_soft_voting_ensemble_averages_the_networks(tiny_images):
    # Several networks averaged the way the presets page shows it:
    # scikit-learn's soft voting over members that differ only by seed. The
    # members train on the ensemble's label codes, so string labels check
    # that their probability columns line up with the ensemble's classes.
    X, y = tiny_images
    X = X.reshape(-1, 28, 28)
    labels = np.array([f"class {k}" for k in y])
    ensemble = VotingClassifier(
        [(f"net{i}", ConvNetClassifier(**dict(FAST, random_state=i))) for i in (0, 1)],
        voting="soft",
    ).fit(X, labels)
    members = [net.predict_proba(X) for net in ensemble.estimators_]
    assert not np.allclose(members[0], members[1])  # the seeds differ
    proba = ensemble.predict_proba(X)
    assert_allclose(proba, np.mean(members, axis=0), rtol=1e-6)
    assert_array_equal(ensemble.predict(X), ensemble.classes_[proba.argmax(1)])
    assert set(ensemble.classes_) == set(labels)
    restored = pickle.loads(pickle.dumps(ensemble))
    assert_allclose(restored.predict_proba(X), proba, rtol=1e-6)
    assert clone(ensemble).set_params(net1__epochs=3).estimators[1][1].epochs == 3
