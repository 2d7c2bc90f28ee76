"""State that carries over between fits: dtypes, pixel scale, warm starts, history.

Each test here failed before the behaviour it checks was built (see the
module's sections); all use a few hundred sample images and 1-3 epochs.
"""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import config_context
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from fmnist_estimators import ConvNetClassifier, DenseNetClassifier
from fmnist_estimators._network import auto_pixel_scale


@pytest.fixture(scope="module")
def split(images):
    """Shuffled training and held-out images, every class in both."""
    X, y = images
    return train_test_split(X, y, test_size=200, stratify=y, random_state=0)


def _small(**params):
    return DenseNetClassifier((16,), **{"epochs": 1, "random_state": 0, **params})


# -- dtypes ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint16])
def test_later_fits_accept_other_image_dtypes(dtype, split):
    X, _, y, _ = split
    estimator = _small().fit(X, y)
    estimator.partial_fit(X.astype(dtype), y)
    estimator.set_params(warm_start=True).fit(X.astype(dtype), y)
    assert estimator.n_iter_ == 3


def test_first_fit_on_floats_then_uint8(split):
    X, _, y, _ = split
    estimator = _small().fit(X.astype(np.float64), y)
    assert estimator.partial_fit(X, y).n_iter_ == 2


# -- pixel scale -------------------------------------------------------------------


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (0, 255, 1 / 255),
        (0, 255.00000000000003, 1 / 255),  # MinMaxScaler((0, 255)) output
        (-6.0, 268.0, 1 / 255),  # cubic interpolation's overshoot
        (0, 1, 1.0),
        (0, 1.0000001, 1.0),
        (-0.81, 2.02, 1.0),  # standardized Fashion-MNIST
        (-1, 1, 1.0),
    ],
)
def test_auto_pixel_scale_ranges(low, high, expected):
    X = np.array([[low, high]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert auto_pixel_scale(X) == pytest.approx(expected)


def test_auto_pixel_scale_warns_on_values_beyond_8_bit():
    with pytest.warns(UserWarning, match="not 8-bit pixels"):
        assert auto_pixel_scale(np.array([[0.0, 4095.0]])) == 1.0


def test_min_max_scaled_pixels_are_scaled_like_uint8(split):
    X, _, y, _ = split
    X_minmax = MinMaxScaler(feature_range=(0, 255)).fit_transform(X.astype(float))
    assert X_minmax.max() > 255  # the rounding this test is about
    assert _small().fit(X_minmax, y).pixel_scale_ == pytest.approx(1 / 255)


def test_later_fit_on_differently_scaled_images_warns(split):
    X, _, y, _ = split
    estimator = _small().fit(X, y)
    with pytest.warns(UserWarning, match="scaled by 1") as w:
        estimator.partial_fit(X / 255.0, y)
    assert [r.filename for r in w] == [__file__]


def test_fit_on_values_beyond_8_bit_warns_at_the_users_line(split):
    X, _, y, _ = split
    with pytest.warns(UserWarning, match="not 8-bit pixels") as w:
        _small().fit(X * 16.0, y)
    assert [r.filename for r in w] == [__file__]
    with pytest.warns(UserWarning, match="not 8-bit pixels") as w:
        _small().partial_fit(X * 16.0, y, classes=np.unique(y))
    assert [r.filename for r in w] == [__file__]


# -- warm starts apply what the user set ---------------------------------------------


def _iterations(estimator):
    return int(estimator.model_.optimizer.iterations.numpy())


def test_warm_start_uses_the_new_batch_size_and_epochs(split):
    X, _, y, _ = split
    estimator = _small(batch_size=32, epochs=2).fit(X, y)
    before = _iterations(estimator)
    assert before == 2 * int(np.ceil(len(y) / 32))
    estimator.set_params(warm_start=True, batch_size=100, epochs=1).fit(X, y)
    assert _iterations(estimator) - before == int(np.ceil(len(y) / 100))
    assert estimator.n_iter_ == 3


def test_warm_start_cosine_decays_over_the_new_epochs(split):
    X, _, y, _ = split
    estimator = _small(epochs=2, batch_size=20, learning_rate=0.01).fit(X, y)
    estimator.set_params(warm_start=True, epochs=1, learning_rate=0.004).fit(X, y)
    schedule = estimator.model_.optimizer.lr_schedule
    end = _iterations(estimator)
    steps = int(np.ceil(len(y) / 20))
    # This call's cycle: from the new rate at its first step to ~0 at its last.
    assert float(schedule(end - steps)) == pytest.approx(0.004, rel=1e-6)
    last = 0.004 * 0.5 * (1 + np.cos(np.pi * (steps - 1) / steps))
    assert float(schedule(end - 1)) == pytest.approx(last, rel=1e-4)
    assert last < 0.0001


def test_warm_start_with_a_constant_rate_uses_the_new_rate(split):
    X, _, y, _ = split
    estimator = _small(lr_schedule="constant", learning_rate=0.01).fit(X, y)
    estimator.set_params(warm_start=True, learning_rate=0.003).fit(X, y)
    rate = estimator.model_.optimizer.learning_rate
    assert float(rate.numpy()) == pytest.approx(0.003)


def test_warm_start_with_another_optimizer_builds_a_new_one(split):
    X, _, y, _ = split
    estimator = _small().fit(X, y)
    weights = [w.copy() for w in estimator.model_.get_weights()]
    estimator.set_params(warm_start=True, optimizer="sgd", epochs=1).fit(X, y)
    assert type(estimator.model_.optimizer).__name__ == "SGD"
    # The same network, trained further: the weights moved from where they were.
    assert len(estimator.model_.get_weights()) == len(weights)
    assert not np.allclose(estimator.model_.get_weights()[0], weights[0])


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=(8,)),
        dict(dropout=0.5),
        dict(pixel_scale=1.0),
    ],
)
def test_warm_start_refuses_a_changed_network(params, split):
    X, _, y, _ = split
    estimator = _small().fit(X, y).set_params(warm_start=True, **params)
    name = next(iter(params))
    with pytest.raises(ValueError, match=f"{name}: .* -> .*warm_start=False"):
        estimator.fit(X, y)


def test_warm_start_refuses_other_image_shapes_for_a_conv_net(split):
    X, _, y, _ = split
    estimator = ConvNetClassifier(filters=(4,), dense_units=(8,), epochs=1)
    estimator.fit(X, y).set_params(warm_start=True, image_shape=(14, 56))
    with pytest.raises(ValueError, match="input_shape"):
        estimator.fit(X, y)


# -- history_ stays a table ----------------------------------------------------------


def test_history_stays_rectangular_when_early_stopping_is_switched(split):
    pd = pytest.importorskip("pandas")
    X, _, y, _ = split
    estimator = _small(epochs=2).fit(X, y)
    estimator.set_params(warm_start=True, early_stopping=True, epochs=2).fit(X, y)
    estimator.set_params(early_stopping=False, epochs=1).fit(X, y)
    frame = pd.DataFrame(estimator.history_)
    assert frame.shape == (5, 4)
    assert frame["val_loss"].isna().tolist() == [True, True, False, False, True]
    assert frame["loss"].notna().all()


# -- one image ------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (1, 784)])
def test_one_image(shape, split):
    X, _, y, _ = split
    estimator = _small().fit(X, y)
    image = X[0].reshape(shape)
    if shape == (28, 28):
        with pytest.raises(ValueError, match=r"one image\?.*X\[np.newaxis\]"):
            estimator.predict(image)
        image = image[np.newaxis]
    assert estimator.predict(image).shape == (1,)


# -- batch norm on small data ------------------------------------------------------


def test_batch_norm_network_is_sound_after_a_few_steps(split):
    # One epoch on 400 images is 4 steps at batch 128: Keras's moving averages
    # still hold mostly their initial values, but the training-mode network
    # already classifies far above chance. Inference must agree with it.
    X, X_test, y, y_test = split
    estimator = ConvNetClassifier.from_preset("fast", epochs=1, random_state=0)
    estimator.fit(X, y)
    train_mode = np.mean(
        np.argmax(estimator.model_(X_test.reshape(-1, 28, 28, 1), training=True), 1)
        == y_test
    )
    assert estimator.score(X_test, y_test) >= train_mode - 0.1
    assert estimator.score(X_test, y_test) > 0.3


def _batch_norm_network(X, y, hidden):
    """A fitted dense network with batch norm: its model and batch norm layers."""
    import keras

    estimator = DenseNetClassifier(hidden, batch_norm=True, epochs=1, batch_size=50)
    model = estimator.set_params(random_state=0).fit(X, y).model_
    norms = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    return model, norms


def test_batch_norm_statistics_are_the_training_batches_average(split):
    import keras

    X, _, y, _ = split
    model, (norm,) = _batch_norm_network(X, y, (8,))
    # The batch norm's input is the first dense layer's output; all the
    # training images (fewer than BATCH_NORM_IMAGES) give its statistics.
    dense = keras.Model(model.inputs, norm.input)
    features = np.asarray(dense.predict_on_batch(X), dtype=np.float64)
    # float32 sums over 400 images: a few ulps of the largest feature.
    atol = 1e-5 * np.abs(features).max()
    assert_allclose(norm.moving_mean.numpy(), features.mean(axis=0), atol=atol)
    assert_allclose(norm.moving_variance.numpy(), features.var(axis=0), atol=atol)


def test_batch_norm_statistics_over_unequal_chunks_are_exact(split):
    # More rows than one chunk: each batch norm normalizes a chunk with that
    # chunk's statistics, as in training, and its moving statistics become
    # the average over every row (a chunk counts in proportion to its rows).
    import keras

    from fmnist_estimators._keras._batch_norm import (
        BATCH_NORM_CHUNK,
        recompute_batch_norm,
    )

    X, _, y, _ = split
    model, norms = _batch_norm_network(X, y, (8, 6))
    rng = np.random.default_rng(0)
    rows = np.tile(X, (4, 1))[: BATCH_NORM_CHUNK + 300]
    rows = (rows + rng.normal(0.0, 10.0, rows.shape)).astype(np.float32)
    recompute_batch_norm(model, rows, seed=0)

    # The reference in float64, each chunk through the layers in order.
    sums, scale = {}, {}
    for chunk in (rows[:BATCH_NORM_CHUNK], rows[BATCH_NORM_CHUNK:]):
        x = chunk
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            if not isinstance(layer, keras.layers.BatchNormalization):
                x = np.asarray(layer(x, training=False))
                continue
            x64 = np.asarray(x, dtype=np.float64)
            mean, variance = x64.mean(axis=0), x64.var(axis=0)
            total = sums.setdefault(layer.name, [0.0, 0.0])
            total[0] += len(chunk) * mean
            total[1] += len(chunk) * variance
            scale[layer.name] = max(scale.get(layer.name, 0.0), np.abs(x64).max())
            normalized = (x64 - mean) / np.sqrt(variance + layer.epsilon)
            x = (layer.gamma.numpy() * normalized + layer.beta.numpy()).astype(
                np.float32
            )
    assert len(norms) == 2
    for norm in norms:
        mean, variance = (total / len(rows) for total in sums[norm.name])
        # float32 sums over a chunk of 1,024 rows, and the chunk's normalized
        # values feeding the next layer: 1e-4 of the largest input's size
        # bounds their rounding, far below what a chunk weighted wrongly moves.
        size = scale[norm.name]
        assert_allclose(norm.moving_mean.numpy(), mean, atol=1e-4 * size)
        assert_allclose(norm.moving_variance.numpy(), variance, atol=1e-4 * size**2)
    assert all(norm.momentum == 0.9 for norm in norms)


def test_batch_norm_keeps_its_momentum_when_the_recomputation_fails(split):
    # The recomputation sets each batch norm's momentum chunk by chunk; a
    # forward pass that fails must not leave a layer training with it.
    from fmnist_estimators._keras._batch_norm import recompute_batch_norm

    X, _, y, _ = split
    model, norms = _batch_norm_network(X, y, (8,))
    with pytest.raises(Exception):  # noqa: B017 (TensorFlow's own error type)
        recompute_batch_norm(model, X[:, :100], seed=0)
    assert norms and all(norm.momentum == 0.9 for norm in norms)


# -- scikit-learn's output API and a quiet console -----------------------------------


def test_networks_fit_quietly_under_pandas_output(split):
    X, _, y, _ = split
    with config_context(transform_output="pandas"), warnings.catch_warnings():
        warnings.simplefilter("error")
        _small().fit(X, y).predict(X)


def test_fit_and_predict_print_nothing(run_python):
    # TensorFlow's C++ runtime logs oneDNN, CUDA-stub and cuInit lines on a
    # machine without a GPU, whatever TF_CPP_MIN_LOG_LEVEL says. (A fitted
    # network loaded in a new process must be as quiet as a fresh fit:
    # test_reliability's saved models.)
    result = run_python(
        """
        from fmnist_estimators import ConvNetClassifier
        from fmnist_estimators.datasets import load_fashion_mnist_sample
        X, y = load_fashion_mnist_sample(return_X_y=True)
        net = ConvNetClassifier(filters=(4,), dense_units=(8,), epochs=1)
        net.fit(X[:100], y[:100]).predict(X[:10])
        """
    )
    assert (result.stdout, result.stderr) == ("", "")


def test_a_pickled_network_continues_as_the_one_in_memory(split):
    # Keras's saving leaves out where dropout is in its sequence of masks: a
    # loaded network drew its first epoch's masks again, so a search's
    # warm-started candidates scored differently with n_jobs=2 (networks
    # pickled to the workers) than with n_jobs=1.
    X, X_test, y, _ = split
    kept = _small(epochs=1, dropout=0.3).fit(X, y)
    loaded = pickle.loads(pickle.dumps(kept))
    for clf in (kept, loaded):
        clf.set_params(warm_start=True).fit(X, y)
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), kept.predict_proba(X_test)
    )
