"""Tests of the training options that buy accuracy: label smoothing,
augmentation of the dense network, cutout, a whitened first layer, test-time
augmentation."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fmnist_estimators import ConvNetClassifier, DenseNetClassifier
from fmnist_estimators._images import (
    ONE_PIXEL_SHIFTS,
    WHITENING_EPS,
    flip_horizontal,
    shift_image,
    whitening_filters,
)

DENSE = dict(hidden_layer_sizes=(16,), epochs=1, batch_size=64, random_state=0)
CONV = dict(filters=(4,), dense_units=(8,), epochs=1, batch_size=64, random_state=0)


def _layer_types(estimator):
    return [type(layer).__name__ for layer in estimator.model_.layers]


# -- label smoothing ----------------------------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_smoothed_loss_is_cross_entropy_against_smoothed_targets(smoothing):
    from fmnist_estimators._keras._optimizers import SparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(10), size=64).astype(np.float32)
    labels = rng.integers(0, 10, size=64)
    targets = np.full((64, 10), smoothing / 10) + (1 - smoothing) * np.eye(10)[labels]
    # Keras clips probabilities at 1e-7 before the log.
    expected = -(targets * np.log(np.clip(proba, 1e-7, 1))).sum(axis=1).mean()
    loss = SparseCategoricalCrossentropy(smoothing)(labels, proba)
    # float32 logs and a 640-term sum: a few ulps of a loss of about 3.
    assert_allclose(float(loss), expected, rtol=1e-5)


def test_label_smoothing_caps_the_confidence_of_a_memorized_set(tiny_images):
    # The smoothed loss is least at p = target, so the most probable class
    # tends to 1 - s + s / 10 = 0.73 however long the network trains; the
    # plain loss drives it to 1.
    X, y = tiny_images
    params = dict(DENSE, hidden_layer_sizes=(64,), epochs=40, batch_size=32)
    plain = DenseNetClassifier(**params).fit(X, y)
    smoothed = DenseNetClassifier(**params, label_smoothing=0.3).fit(X, y)
    assert plain.score(X, y) > 0.95 and smoothed.score(X, y) > 0.95
    assert plain.predict_proba(X).max(axis=1).mean() > 0.9
    assert smoothed.predict_proba(X).max(axis=1).mean() < 0.8
    assert plain.model_.loss == "sparse_categorical_crossentropy"


def test_changing_label_smoothing_recompiles_on_warm_start(tiny_images):
    estimator = DenseNetClassifier(**DENSE).fit(*tiny_images)
    estimator.set_params(warm_start=True, label_smoothing=0.2).fit(*tiny_images)
    assert estimator.model_.loss.label_smoothing == pytest.approx(0.2)
    assert estimator.n_iter_ == 2


def test_label_smoothed_network_pickles_and_continues(tiny_images):
    X, y = tiny_images
    estimator = ConvNetClassifier(**CONV, label_smoothing=0.1).fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))
    restored.partial_fit(X, y)
    assert restored.model_.loss.label_smoothing == pytest.approx(0.1)
    assert restored.n_iter_ == 2


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, "0.1"])
def test_label_smoothing_outside_zero_one_is_refused(smoothing, tiny_images):
    with pytest.raises(ValueError, match="label_smoothing"):
        DenseNetClassifier(**DENSE, label_smoothing=smoothing).fit(*tiny_images)


# -- augmentation of the dense network ------------------------------------------------


@pytest.mark.parametrize("augmentation", ["shift", "shift_flip"])
def test_dense_augmentation_sees_rows_as_images_in_training_only(
    augmentation, tiny_images
):
    X, y = tiny_images
    estimator = DenseNetClassifier(**DENSE, augmentation=augmentation).fit(X, y)
    expected = ["Reshape", "RandomTranslation"]
    expected += ["RandomFlip"] * (augmentation == "shift_flip") + ["Flatten"]
    assert _layer_types(estimator)[2 : 2 + len(expected)] == expected
    assert estimator.model_.layers[2].output.shape == (None, 28, 28, 1)
    assert_array_equal(estimator.predict_proba(X), estimator.predict_proba(X))


def test_dense_augmentation_changes_training(tiny_images):
    X, y = tiny_images
    plain = DenseNetClassifier(**DENSE).fit(X, y)
    shifted = DenseNetClassifier(**DENSE, augmentation="shift").fit(X, y)
    assert plain.history_["loss"] != shifted.history_["loss"]


def test_dense_augmentation_takes_the_shape_of_image_arrays(tiny_images):
    X, y = tiny_images
    X = X.reshape(-1, 28, 28)[:, :, :26]  # not square: only the array knows
    estimator = DenseNetClassifier(**DENSE, augmentation="shift").fit(X, y)
    assert estimator.model_.layers[2].output.shape == (None, 28, 26, 1)
    assert estimator.predict(X.reshape(len(X), -1)).shape == (len(X),)


def test_dense_augmentation_of_rows_that_are_not_images_is_refused(tiny_images):
    X, y = tiny_images
    with pytest.raises(ValueError, match="not square"):
        DenseNetClassifier(**DENSE, augmentation="shift").fit(X[:, :780], y)


# -- cutout -------------------------------------------------------------------------


def _cutout(size, images, seed=0, training=True):
    from fmnist_estimators._keras._layers import Cutout

    return np.asarray(Cutout(size, seed=seed)(images, training=training))


def test_cutout_zeroes_one_square_per_training_image():
    # All-ones images: what cutout zeroes is its square, clipped at the edges.
    images = np.ones((256, 12, 10, 2), dtype=np.float32)
    out = _cutout(4, images)
    for image in out:
        assert_array_equal(image[..., 0], image[..., 1])  # across channels
        rows = np.flatnonzero((image[..., 0] == 0).any(axis=1))
        columns = np.flatnonzero((image[..., 0] == 0).any(axis=0))
        assert 1 <= len(rows) <= 4 and 1 <= len(columns) <= 4
        # One rectangle: zero exactly on the rows x columns it spans.
        square = np.zeros((12, 10), dtype=bool)
        square[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1] = True
        assert_array_equal(image[..., 0] == 0, square)
        # Cut by an edge, or whole.
        assert len(rows) == 4 or rows[0] == 0 or rows[-1] == 11
        assert len(columns) == 4 or columns[0] == 0 or columns[-1] == 9
    # Centres are uniform over the pixels: every row and column is erased
    # somewhere, corners included.
    erased = (out[..., 0] == 0).any(axis=0)
    assert erased.any(axis=1).all() and erased.any(axis=0).all()


def test_cutout_is_off_at_predict_time_and_repeats_with_its_seed():
    images = np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32)
    assert_array_equal(_cutout(8, images, training=False), images)
    assert_array_equal(_cutout(8, images, seed=3), _cutout(8, images, seed=3))
    assert not np.array_equal(_cutout(8, images, seed=3), _cutout(8, images, seed=4))


def test_cutout_network_trains_repeats_and_pickles(tiny_images):
    X, y = tiny_images
    plain = ConvNetClassifier(**CONV).fit(X, y)
    cut = ConvNetClassifier(**CONV, cutout=8).fit(X, y)
    assert "Cutout" in _layer_types(cut) and "Cutout" not in _layer_types(plain)
    assert plain.history_["loss"] != cut.history_["loss"]
    # Off at predict time: a random square per call would change predictions.
    assert_array_equal(cut.predict_proba(X), cut.predict_proba(X))
    restored = pickle.loads(pickle.dumps(cut))
    assert_array_equal(restored.predict_proba(X), cut.predict_proba(X))
    again = ConvNetClassifier(**CONV, cutout=8).fit(X, y)
    assert_array_equal(again.predict_proba(X), cut.predict_proba(X))


@pytest.mark.parametrize("cutout", [-1, 2.5, "8"])
def test_cutout_must_be_a_non_negative_integer(cutout, tiny_images):
    with pytest.raises((ValueError, TypeError), match="cutout"):
        ConvNetClassifier(**CONV, cutout=cutout).fit(*tiny_images)


# -- whitening ----------------------------------------------------------------------


def _patches(images, size):
    """Rows of the (size, size, channels) patches of (n, h, w, c) images."""
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), (1, 2))
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(
        -1, size * size * images.shape[-1]
    )


def _smooth_images(n=300, channels=1, seed=0):
    # Neighbouring pixels correlated, as in real images: what whitening undoes.
    rng = np.random.default_rng(seed)
    noise = rng.random((n, 13, 13, channels))
    return (noise[:, 1:, 1:] + noise[:, :-1, 1:] + noise[:, 1:, :-1]) / 3


@pytest.mark.parametrize("size, channels", [(2, 1), (3, 1), (2, 3)])
def test_whitening_filters_decorrelate_the_patches(size, channels):
    images = _smooth_images(channels=channels)
    kernel = whitening_filters(images, size)
    dim = size * size * channels
    assert kernel.shape == (size, size, channels, 2 * dim)
    weights = kernel.reshape(dim, 2 * dim).astype(np.float64)
    assert_array_equal(weights[:, dim:], -weights[:, :dim])
    patches = _patches(images, size)
    before = patches.T @ patches / (len(patches) - 1)
    outputs = patches @ weights[:, :dim]
    after = outputs.T @ outputs / (len(patches) - 1)
    # Each output's variance is eigenvalue / (eigenvalue + eps); the pixels
    # were strongly correlated, the outputs are not (float32 filters: the
    # products keep about 7 significant digits).
    values = np.linalg.eigvalsh(before)
    assert np.abs(before - np.diag(np.diag(before))).max() > 0.1 * before.max()
    assert_allclose(
        np.sort(np.diag(after)), values / (values + WHITENING_EPS), rtol=1e-4
    )
    assert np.abs(after - np.diag(np.diag(after))).max() < 1e-4


def test_whitening_kernel_is_laid_out_as_keras_convolves():
    import keras

    images = _smooth_images(n=4, channels=2).astype(np.float32)
    kernel = whitening_filters(images, 2)
    layer = keras.layers.Conv2D(kernel.shape[-1], 2, use_bias=False)
    layer.build(images.shape)
    layer.set_weights([kernel])
    convolved = np.asarray(layer(images)).reshape(-1, kernel.shape[-1])
    expected = _patches(images, 2) @ kernel.reshape(-1, kernel.shape[-1])
    # Outputs of order 10 (pixels up to 1 times filters up to 1/sqrt(eps)),
    # summed over 8 float32 products.
    assert_allclose(convolved, expected, rtol=1e-4, atol=1e-4)


def test_whitening_filters_draw_their_images_with_the_seed():
    images = _smooth_images(n=200)
    one = whitening_filters(images, 2, n_images=50, seed=0)
    assert_array_equal(one, whitening_filters(images, 2, n_images=50, seed=0))
    assert not np.array_equal(one, whitening_filters(images, 2, n_images=50, seed=1))
    # Below n_images every image counts, whatever the seed.
    assert_array_equal(
        whitening_filters(images, 2, seed=0), whitening_filters(images, 2, seed=1)
    )


def test_whitening_network_keeps_the_filters_of_its_first_training_images(
    tiny_images,
):
    from fmnist_estimators._keras._layers import whitening_layer

    X, y = tiny_images
    plain = ConvNetClassifier(**CONV).fit(X, y)
    assert whitening_layer(plain.model_) is None
    white = ConvNetClassifier(**CONV, whitening=2).fit(X, y)
    layer = whitening_layer(white.model_)
    assert not layer.trainable
    expected = whitening_filters(X.reshape(-1, 28, 28, 1), 2, scale=1 / 255)
    assert_allclose(layer.get_weights()[0], expected, rtol=1e-6)
    assert plain.history_["loss"] != white.history_["loss"]
    # Trained on, but never changed by training or by a continued fit.
    white.partial_fit(X[::-1], y[::-1])
    assert_allclose(whitening_layer(white.model_).get_weights()[0], expected, rtol=1e-6)
    restored = pickle.loads(pickle.dumps(white))
    assert_array_equal(restored.predict_proba(X), white.predict_proba(X))
    once, twice = (ConvNetClassifier(**CONV, whitening=2).fit(X, y) for _ in "12")
    assert_array_equal(once.predict_proba(X), twice.predict_proba(X))


def test_whitening_comes_from_the_training_part_of_a_validation_split(tiny_images):
    from fmnist_estimators._keras._layers import whitening_layer

    X, y = tiny_images
    clf = ConvNetClassifier(
        **CONV, whitening=2, early_stopping=True, validation_fraction=0.5
    ).fit(X, y)
    filters = whitening_layer(clf.model_).get_weights()[0]
    everything = whitening_filters(X.reshape(-1, 28, 28, 1), 2, scale=1 / 255)
    assert not np.allclose(filters, everything, rtol=1e-3)


@pytest.mark.parametrize("whitening", [-1, 2.5, "2"])
def test_whitening_must_be_a_non_negative_integer(whitening, tiny_images):
    with pytest.raises((ValueError, TypeError), match="whitening"):
        ConvNetClassifier(**CONV, whitening=whitening).fit(*tiny_images)


def test_whitening_patches_must_fit_in_the_image(tiny_images):
    X, y = tiny_images
    with pytest.raises(ValueError, match="whitening=29 .* 28 x 28"):
        ConvNetClassifier(**CONV, whitening=29).fit(X, y)


# -- test-time augmentation ---------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [DenseNetClassifier(**DENSE), ConvNetClassifier(**CONV)],
    ids=["dense", "conv"],
)
def test_flip_test_time_augmentation_averages_image_and_mirror(estimator, tiny_images):
    X, y = tiny_images
    estimator.set_params(augmentation="shift_flip").fit(X, y)
    mirrored = flip_horizontal(X, (28, 28, 1))
    assert_array_equal(
        mirrored.reshape(-1, 28, 28)[:, 3, ::-1], X.reshape(-1, 28, 28)[:, 3]
    )
    both = (estimator.predict_proba(X) + estimator.predict_proba(mirrored)) / 2
    estimator.set_params(test_time_augmentation="flip")
    averaged = estimator.predict_proba(X)
    # The same batches through the same network: only the normalization of
    # float32 outputs differs between the two sums.
    assert_allclose(averaged, both, rtol=1e-6)
    # A mirror image's mirror is the image: the two views swap.
    assert_array_equal(estimator.predict_proba(mirrored), averaged)
    assert_allclose(averaged.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("make", [DenseNetClassifier, ConvNetClassifier])
def test_flip_test_time_augmentation_warns_unless_trained_on_mirrors(make, tiny_images):
    X, y = tiny_images
    params = DENSE if make is DenseNetClassifier else CONV
    unmirrored = make(**params, augmentation="shift").fit(X, y)
    unmirrored.set_params(test_time_augmentation="flip")
    # Attributed to the caller, by predict as by predict_proba (one frame
    # less deep), not to the package's code.
    for method in (unmirrored.predict, unmirrored.predict_proba):
        with pytest.warns(UserWarning, match="augmentation='shift'.*never saw") as w:
            method(X)
        assert [r.filename for r in w] == [__file__]
    mirrored = make(**params, augmentation="shift_flip").fit(X, y)
    mirrored.set_params(test_time_augmentation="flip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mirrored.predict(X)


def test_shift_image_moves_pixels_and_repeats_the_edge():
    images = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    X, shape = images.reshape(2, -1), (4, 5, 3)
    down = shift_image(X, shape, 1, 0).reshape(images.shape)
    assert_array_equal(down[:, 1:], images[:, :-1])
    assert_array_equal(down[:, 0], images[:, 0])  # the edge row, repeated
    left = shift_image(X, shape, 0, -1).reshape(images.shape)
    assert_array_equal(left[:, :, :-1], images[:, :, 1:])
    assert_array_equal(left[:, :, -1], images[:, :, -1])
    assert_array_equal(shift_image(X, shape, 0, 0), X)
    assert shift_image(X, shape, 1, 0).dtype == X.dtype


@pytest.mark.parametrize("kind", ["shift", "shift_flip"])
@pytest.mark.parametrize(
    "estimator",
    [DenseNetClassifier(**DENSE), ConvNetClassifier(**CONV)],
    ids=["dense", "conv"],
)
def test_shift_test_time_augmentation_averages_the_shifted_views(
    kind, estimator, tiny_images
):
    X, y = tiny_images
    estimator.set_params(augmentation="shift_flip").fit(X, y)
    shape = (28, 28, 1)
    views = [X] + [shift_image(X, shape, *move) for move in ONE_PIXEL_SHIFTS]
    if kind == "shift_flip":
        views += [flip_horizontal(view, shape) for view in views]
    by_hand = np.mean([estimator.predict_proba(view) for view in views], axis=0)
    estimator.set_params(test_time_augmentation=kind)
    averaged = estimator.predict_proba(X)
    assert_allclose(averaged, by_hand / by_hand.sum(axis=1, keepdims=True), rtol=1e-6)
    # Not the plain prediction: the views differ.
    estimator.set_params(test_time_augmentation=None)
    assert np.abs(estimator.predict_proba(X) - averaged).max() > 1e-4


@pytest.mark.parametrize(
    "augmentation, kind, unseen",
    [
        (None, "shift", "shifted images"),
        ("shift", "shift_flip", "mirror images"),
        (None, "shift_flip", "mirror images and shifted images"),
        ("shift", "shift", None),
        ("shift_flip", "shift_flip", None),
    ],
)
def test_test_time_views_warn_when_the_network_never_saw_them(
    augmentation, kind, unseen, tiny_images
):
    X, y = tiny_images
    estimator = ConvNetClassifier(**CONV, augmentation=augmentation).fit(X, y)
    estimator.set_params(test_time_augmentation=kind)
    if unseen is None:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            estimator.predict(X)
    else:
        with pytest.warns(UserWarning, match=f"those of its {unseen}, but") as w:
            estimator.predict(X)
        # The way out names the settings this network did train for.
        wanted = "None or 'shift'" if augmentation == "shift" else "None"
        assert f"test_time_augmentation={wanted}." in str(w[0].message)


def test_test_time_augmentation_is_validated(tiny_images):
    with pytest.raises(ValueError, match="test_time_augmentation"):
        ConvNetClassifier(**CONV, test_time_augmentation="rotate").fit(*tiny_images)


# -- moving average of the weights ----------------------------------------------------


def _weight_recorder():
    """A Keras callback that records the trained weights after every epoch,
    and the list it records them in: the estimator trains on a copy of its
    callbacks, which shares the list."""
    from fmnist_estimators._keras._runtime import keras

    epochs = []

    class Recorder(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            epochs.append([w.numpy().copy() for w in self.model.trainable_weights])

    return Recorder(), epochs


def _trained_weights(estimator):
    return [w.numpy() for w in estimator.model_.trainable_weights]


def test_weights_are_their_moving_average_over_the_steps(tiny_images):
    # One gradient step per epoch (the whole set in a batch), so the recorded
    # weights after each epoch are the weights after each step. Keras's
    # average starts at the first step's weights, then follows
    # a <- m * a + (1 - m) * w.
    X, y = tiny_images
    recorder, steps = _weight_recorder()
    estimator = DenseNetClassifier(
        **dict(DENSE, epochs=3, batch_size=len(X)),
        ema_momentum=0.5,
        callbacks=[recorder],
    ).fit(X, y)
    assert len(steps) == 3
    average = steps[0]
    for weights in steps[1:]:
        average = [0.5 * a + 0.5 * w for a, w in zip(average, weights)]
    for got, expected in zip(_trained_weights(estimator), average, strict=True):
        # Two float32 multiply-adds per step: a few ulps of weights below 1.
        assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(_trained_weights(estimator)[0], steps[-1][0])


def test_moving_average_leaves_training_unchanged(tiny_images):
    X, y = tiny_images
    params = dict(DENSE, epochs=3)
    plain = DenseNetClassifier(**params).fit(X, y)
    averaged = DenseNetClassifier(**params, ema_momentum=0.9).fit(X, y)
    # The loss is of the weights being trained, which the average does not
    # touch: the same steps in the same order, so the same figures.
    assert_allclose(averaged.history_["loss"], plain.history_["loss"], rtol=1e-6)
    assert not np.allclose(averaged.predict_proba(X), plain.predict_proba(X))


def test_moving_average_of_a_conv_net_pickles_and_warm_starts(tiny_images):
    X, y = tiny_images
    estimator = ConvNetClassifier(**CONV, batch_norm=True, ema_momentum=0.9)
    estimator.fit(X, y)
    assert estimator.model_.optimizer.use_ema
    restored = pickle.loads(pickle.dumps(estimator))
    assert_allclose(restored.predict_proba(X), estimator.predict_proba(X), atol=1e-6)
    estimator.set_params(warm_start=True, ema_momentum=None).fit(X, y)
    assert not estimator.model_.optimizer.use_ema
    assert estimator.n_iter_ == 2


def test_early_stopping_that_restores_weights_warns_of_the_unused_average(
    tiny_images,
):
    X, y = tiny_images
    estimator = DenseNetClassifier(**DENSE, early_stopping=True, ema_momentum=0.9)
    with pytest.warns(UserWarning, match="restore_best_weights=False"):
        estimator.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        estimator.set_params(restore_best_weights=False).fit(X, y)


@pytest.mark.parametrize("momentum", [0.0, 1.0, -0.5, "high"])
def test_ema_momentum_outside_zero_to_one_is_refused(tiny_images, momentum):
    with pytest.raises(ValueError, match="ema_momentum"):
        DenseNetClassifier(**DENSE, ema_momentum=momentum).fit(*tiny_images)
