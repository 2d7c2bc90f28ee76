"""The training loop every Keras network shares (fmnist_estimators/_network.py):
phases, learning-rate schedules with the user's validation data and
callbacks, callbacks_, partial_fit's classes, compile settings."""

import pickle
import warnings

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    KerasModelClassifier,
)
from fmnist_estimators._phases import Phase, resource_parameter

FAST = dict(hidden_layer_sizes=(16,), batch_size=32, random_state=0)


def halve_after_first_epoch(epoch, lr):
    """A schedule in the form of Keras's LearningRateScheduler example."""
    return lr if epoch < 1 else lr * 0.5


def dense_net(input_shape, n_classes, units=16):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def top_two(y_true, y_pred):
    """A metric function of the user's, as Keras's guide writes one."""
    return keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=2)


def weighted_crossentropy(y_true, y_pred):
    """A loss function of the user's: labels 0..n_classes-1, probabilities."""
    return 2.0 * keras.losses.sparse_categorical_crossentropy(y_true, y_pred)


# -- phases ---------------------------------------------------------------------------


def test_one_phase_networks_train_in_the_phase_train(tiny_images):
    X, y = tiny_images
    clf = DenseNetClassifier(epochs=2, **FAST)
    assert clf.training_phases() == [Phase("train")]
    assert resource_parameter(clf) == "epochs"
    clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert "phase" not in clf.history_  # the history of one-phase networks is as it was


# -- learning-rate schedules ----------------------------------------------------------


def test_cosine_cycle_spans_the_epochs_with_the_users_validation_set(images):
    # The cycle is sized by the images that train: all of X when X_val is given
    # (before, as if validation_fraction were held out: the rate restarted
    # from learning_rate within the last epoch).
    X, y = images
    clf = DenseNetClassifier(
        epochs=3, early_stopping=True, n_iter_no_change=10, learning_rate=0.01, **FAST
    )
    clf.fit(X[:320], y[:320], X_val=X[320:400], y_val=y[320:400])
    optimizer = clf.model_.optimizer
    assert int(optimizer.iterations) == 30  # 3 epochs of 10 batches
    rates = [float(optimizer.lr_schedule(step)) for step in range(30)]
    assert rates[0] == pytest.approx(0.01)
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
    assert rates[-1] < 0.0002  # the end of one cycle


@pytest.mark.parametrize("warmup_epochs", [0, 1])
def test_partial_fit_calls_share_one_cosine_cycle_of_epochs_calls(
    images, warmup_epochs
):
    # As the user guide says: partial_fit goes on along the current cycle, one
    # cycle per `epochs` calls, the rates of one fit. (The first call once
    # sized its cycle by one epoch, restarting the rate at every call.)
    X, y = images[0][:320], images[1][:320]
    params = dict(epochs=3, learning_rate=0.01, warmup_epochs=warmup_epochs, **FAST)
    fitted = DenseNetClassifier(**params).fit(X, y)
    expected = [float(fitted.model_.optimizer.lr_schedule(s)) for s in range(30)]
    clf = DenseNetClassifier(**params)
    ends = []
    for _ in range(3):
        clf.partial_fit(X, y, classes=np.arange(10))
        optimizer = clf.model_.optimizer
        ends.append(float(optimizer.lr_schedule(int(optimizer.iterations) - 1)))
    assert int(clf.model_.optimizer.iterations) == 30
    rates = [float(clf.model_.optimizer.lr_schedule(s)) for s in range(30)]
    assert_allclose(rates, expected, rtol=1e-6)
    assert ends[0] > ends[1] > ends[2]
    assert ends[0] > 0.5 * 0.01  # two thirds of the cycle are left after call 1


def test_warmup_schedule_rises_linearly_then_decays_or_stays():
    from fmnist_estimators._keras._optimizers import CosineCycles

    cosine = CosineCycles(0.01, 100, warmup_steps=10)
    rates = np.array([float(cosine(step)) for step in range(201)])
    assert_allclose(rates[:10], 0.01 * np.arange(1, 11) / 10, rtol=1e-6)
    # Then a cosine over the cycle's other 90 steps, and the next cycle warms up.
    decay = 0.01 * 0.5 * (1 + np.cos(np.pi * np.arange(90) / 90))
    assert_allclose(rates[10:100], decay, rtol=1e-5, atol=1e-9)
    assert rates[100] == pytest.approx(0.001) and rates[109] == pytest.approx(0.01)
    constant = CosineCycles(0.01, 100, warmup_steps=10, decay=False)
    rates = [float(constant(step)) for step in (0, 4, 9, 50, 150, 1000)]
    assert_allclose(rates, [0.001, 0.005, 0.01, 0.01, 0.01, 0.01], rtol=1e-6)
    config = constant.get_config()
    assert CosineCycles.from_config(config).get_config() == config


@pytest.mark.parametrize("lr_schedule", ["cosine", "constant"])
def test_warmup_epochs_ramp_up_the_rate_of_each_fit(images, lr_schedule):
    X, y = images[0][:320], images[1][:320]  # 10 steps of 32 per epoch
    clf = DenseNetClassifier(
        epochs=3, learning_rate=0.01, lr_schedule=lr_schedule, warmup_epochs=0.5
    )
    clf.set_params(**FAST).fit(X, y)
    optimizer = clf.model_.optimizer
    rates = np.array([float(optimizer.lr_schedule(s)) for s in range(30)])
    assert_allclose(rates[:5], 0.01 * np.arange(1, 6) / 5, rtol=1e-6)
    if lr_schedule == "cosine":
        # The decay starts at the peak, after the warm-up's last step.
        assert rates[5] == pytest.approx(0.01) and rates[-1] < 0.0002
        assert np.all(np.diff(rates[5:]) < 0)
    else:
        assert_allclose(rates[4:], 0.01, rtol=1e-6)
    # A warm start warms up again, from the optimizer's current step.
    clf.set_params(warm_start=True).fit(X, y)
    assert int(optimizer.iterations) == 60
    assert float(optimizer.lr_schedule(30)) == pytest.approx(0.002)


def test_warmup_switched_under_a_constant_rate_makes_or_drops_the_schedule(images):
    X, y = images[0][:320], images[1][:320]
    clf = DenseNetClassifier(epochs=1, lr_schedule="constant", warm_start=True)
    clf.set_params(**FAST).fit(X, y)
    assert clf.model_.optimizer.lr_schedule is None
    clf.set_params(warmup_epochs=0.5).fit(X, y)
    assert clf.model_.optimizer.lr_schedule is not None
    assert int(clf.model_.optimizer.iterations) == 10  # a new optimizer
    # Without the warm-up again, a learning-rate callback can set the rate.
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0)
    clf.set_params(warmup_epochs=0, callbacks=[plateau]).fit(X, y)
    assert clf.model_.optimizer.lr_schedule is None


def test_warmup_without_epochs_to_decay_or_with_a_rate_callback_is_refused(images):
    X, y = images[0][:320], images[1][:320]
    clf = DenseNetClassifier(epochs=2, warmup_epochs=2, **FAST)
    with pytest.raises(ValueError, match="warmup_epochs=2 leaves no epoch"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0)
    clf.set_params(lr_schedule="constant", callbacks=[plateau])
    with pytest.raises(ValueError, match="Pass warmup_epochs=0 to let the callback"):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "callback",
    [
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0),
        keras.callbacks.LearningRateScheduler(halve_after_first_epoch),
    ],
    ids=["ReduceLROnPlateau", "LearningRateScheduler"],
)
def test_learning_rate_callback_with_cosine_is_refused_before_training(
    tiny_images, callback
):
    X, y = tiny_images
    clf = DenseNetClassifier(epochs=2, callbacks=[callback], **FAST)
    with pytest.raises(ValueError, match="lr_schedule='constant'"):
        clf.fit(X, y)
    assert not [name for name in vars(clf) if name.endswith("_")]  # up front


def test_learning_rate_scheduler_steers_a_constant_schedule(tiny_images):
    X, y = tiny_images
    clf = ConvNetClassifier(
        filters=(4,),
        dense_units=(),
        epochs=3,
        learning_rate=0.01,
        lr_schedule="constant",
        callbacks=[keras.callbacks.LearningRateScheduler(halve_after_first_epoch)],
        random_state=0,
    ).fit(X, y)
    rate = keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate)
    assert_allclose(rate, 0.01 * 0.5**2, rtol=1e-6)


def test_reduce_lr_on_plateau_reduces_a_constant_rate(tiny_images):
    X, y = tiny_images
    # min_delta larger than any improvement: every epoch is a plateau.
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=100.0
    )
    clf = DenseNetClassifier(
        epochs=3,
        learning_rate=0.01,
        lr_schedule="constant",
        callbacks=[plateau],
        **FAST,
    ).fit(X, y)
    rate = keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate)
    assert rate < 0.01 * 0.5**2 * 1.01


# -- callbacks_ ----------------------------------------------------------------------


def test_callbacks_are_the_copies_that_ran(tiny_images, tmp_path):
    X, y = tiny_images
    stopping = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=9)
    logger = keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    clf = DenseNetClassifier(epochs=5, callbacks=[stopping, logger], **FAST).fit(X, y)
    ran_stopping, ran_logger = clf.callbacks_[-2:]
    assert type(ran_stopping) is keras.callbacks.EarlyStopping
    assert ran_stopping is not stopping  # the parameter stays as given
    assert ran_stopping.stopped_epoch == 1 and clf.n_iter_ == 2
    assert stopping.stopped_epoch == 0
    assert isinstance(clf.callbacks_[0], keras.callbacks.TerminateOnNaN)
    assert ran_logger.model is None  # no copy of the network behind them
    # The logger keeps its closed file, which does not pickle: left out.
    loaded = pickle.loads(pickle.dumps(clf))
    assert [type(c) for c in loaded.callbacks_] == [
        keras.callbacks.TerminateOnNaN,
        keras.callbacks.EarlyStopping,
    ]
    assert_array_equal(loaded.predict(X), clf.predict(X))


# -- partial_fit ---------------------------------------------------------------------


def test_partial_fit_refuses_other_classes_on_later_calls(tiny_images):
    X, y = tiny_images
    clf = DenseNetClassifier(**FAST).partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y, classes=np.arange(10))  # the same classes again: fine
    clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=np.arange(12))
    assert clf.n_iter_ == 3


# -- compile settings of your own network --------------------------------------------


def test_own_loss_metrics_and_optimizer_instance(tiny_images):
    X, y = tiny_images
    clf = KerasModelClassifier(
        dense_net,
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.8),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")],
        epochs=2,
        random_state=0,
    ).fit(X, y)
    optimizer = clf.model_.optimizer
    assert type(optimizer) is keras.optimizers.SGD
    assert_allclose(float(optimizer.learning_rate), 0.05, rtol=1e-6)
    assert_allclose(float(optimizer.momentum), 0.8, rtol=1e-6)
    assert len(clf.history_["top3"]) == 2
    assert all(t >= a for t, a in zip(clf.history_["top3"], clf.history_["accuracy"]))
    assert 0.3 < clf.score(X, y)


def test_own_loss_and_metric_functions_pickle(tiny_images):
    X, y = tiny_images
    clf = KerasModelClassifier(
        dense_net, loss=weighted_crossentropy, metrics=[top_two], epochs=1
    ).fit(X, y)
    assert len(clf.history_["top_two"]) == 1
    loaded = pickle.loads(pickle.dumps(clf))
    assert_array_equal(loaded.predict(X), clf.predict(X))
    loaded.set_params(warm_start=True).fit(X, y)  # compiled with them again
    assert loaded.n_iter_ == 2


def test_optimizer_class_and_categorical_loss_name(tiny_images):
    # scikeras one-hot encodes the labels for a categorical cross-entropy.
    X, y = tiny_images
    clf = KerasModelClassifier(
        dense_net,
        optimizer=keras.optimizers.RMSprop,
        learning_rate=0.003,
        loss="categorical_crossentropy",
        epochs=2,
        random_state=0,
    ).fit(X, y)
    assert type(clf.model_.optimizer) is keras.optimizers.RMSprop
    assert clf.history_["loss"][-1] < clf.history_["loss"][0]
    assert 0.3 < clf.score(X, y)


def test_changing_the_loss_in_a_warm_start_recompiles(tiny_images):
    X, y = tiny_images
    clf = KerasModelClassifier(dense_net, epochs=1, batch_size=50, random_state=0)
    clf.fit(X, y)
    before = clf.model_.optimizer
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.model_.optimizer is before  # same settings: same optimizer
    assert int(before.iterations) == 8
    clf.set_params(loss=keras.losses.SparseCategoricalCrossentropy()).fit(X, y)
    assert clf.model_.optimizer is not before  # a new one, fresh moments
    assert int(clf.model_.optimizer.iterations) == 4
    assert clf.n_iter_ == 3


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(optimizer="adamx"), TypeError, "optimizer must be one of"),
        (dict(optimizer=3), TypeError, "optimizer must be one of"),
        (
            dict(loss="sparse_categorical_crossentropy", label_smoothing=0.1),
            ValueError,
            "label_smoothing",
        ),
    ],
)
def test_bad_compile_settings_are_named(tiny_images, params, error, match):
    X, y = tiny_images
    with pytest.raises(error, match=match):
        KerasModelClassifier(dense_net, epochs=1, **params).fit(X, y)


# -- input shapes ---------------------------------------------------------------------


def test_conv_net_warns_on_flattened_non_square_images(tiny_images):
    X, y = tiny_images
    wide = np.hstack([X, X[:, :112]])  # 896 features: 28 x 32 images?
    clf = ConvNetClassifier(filters=(4,), dense_units=(), epochs=1, random_state=0)
    with pytest.warns(UserWarning, match="image_shape") as w:
        clf.fit(wide, y)
    # At the user's fit, not at scikit-learn's fit wrapper or the package.
    assert {r.filename for r in w} == {__file__}
    fitted = clf.set_params(image_shape=(28, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        fitted.fit(wide, y)
    assert fitted.model_.input_shape[1:3] == (28, 32)
