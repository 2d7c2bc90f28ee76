"""Tests of DenseNetClassifier and of the training machinery it shares."""

import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, check_cv, train_test_split
from sklearn.utils.validation import check_is_fitted

from fmnist_estimators import ConvNetClassifier, DenseNetClassifier
from fmnist_estimators._keras._names import ACTIVATIONS, INITIALIZERS, OPTIMIZERS

# Softmax outputs computed in float32 with other batch sizes, kernels or CPUs:
# a logit is a sum of hundreds of products, so its rounding error is a few
# float32 ulps of its magnitude (up to ~30): ~1e-5 absolute, which a softmax
# turns into the same relative error of each probability. Where the same
# batches run through the same kernels in one process, results are identical
# and the tests say assert_array_equal.
FLOAT32_PROBA = dict(rtol=1e-4, atol=1e-6)

# Small and quick: most tests only need a network that trains at all.
FAST = dict(hidden_layer_sizes=(16,), epochs=2, random_state=0)

HYPERPARAMETERS = {
    "hidden_layer_sizes",
    "activation",
    "dropout",
    "batch_norm",
    "kernel_initializer",
    "l2",
    "augmentation",
    "test_time_augmentation",
    "optimizer",
    "learning_rate",
    "momentum",
    "lr_schedule",
    "warmup_epochs",
    "ema_momentum",
    "batch_size",
    "epochs",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "monitor",
    "restore_best_weights",
    "label_smoothing",
    "class_weight",
    "callbacks",
    "pixel_scale",
    "random_state",
    "warm_start",
    "verbose",
}

# A value other than the default for every hyperparameter.
NON_DEFAULTS = dict(
    hidden_layer_sizes=(64, 32),
    activation="tanh",
    dropout=0.2,
    batch_norm=True,
    kernel_initializer=0.05,
    l2=1e-4,
    augmentation="shift_flip",
    test_time_augmentation="flip",
    optimizer="sgd",
    learning_rate=0.05,
    momentum=0.5,
    lr_schedule="constant",
    warmup_epochs=1.0,
    ema_momentum=0.99,
    batch_size=64,
    epochs=3,
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=2,
    monitor="val_accuracy",
    restore_best_weights=False,
    label_smoothing=0.1,
    class_weight="balanced",
    callbacks=[],
    pixel_scale=0.5,
    random_state=7,
    warm_start=True,
    verbose=2,
)


# Keras knows Glorot's initializers only by his name.
XAVIER = {"xavier_uniform": "GlorotUniform", "xavier_normal": "GlorotNormal"}


@pytest.fixture(scope="module")
def fitted(images):
    """A fitted network that tests read but never modify."""
    X, y = images
    return DenseNetClassifier(**FAST).fit(X, y)


def _weights(estimator):
    return [w.copy() for w in estimator.model_.get_weights()]


def _layer_types(estimator):
    return [type(layer).__name__ for layer in estimator.model_.layers]


# -- the scikit-learn contract ---------------------------------------------------


@pytest.mark.parametrize("Estimator", [DenseNetClassifier, ConvNetClassifier])
def test_is_a_classifier_with_stratified_cv(Estimator, images):
    estimator = Estimator()
    assert is_classifier(estimator)
    assert estimator.__sklearn_tags__().estimator_type == "classifier"
    # What GridSearchCV(estimator, cv=5) resolves its folds to.
    cv = check_cv(5, images[1], classifier=is_classifier(estimator))
    assert isinstance(cv, StratifiedKFold)


def test_get_params_lists_every_hyperparameter():
    assert set(DenseNetClassifier().get_params()) == HYPERPARAMETERS


def test_clone_keeps_every_parameter():
    params = clone(DenseNetClassifier(**NON_DEFAULTS)).get_params()
    assert params == NON_DEFAULTS


def test_set_params_rejects_unknown_name():
    with pytest.raises(ValueError, match="hidden_layers"):
        DenseNetClassifier().set_params(hidden_layers=(10,))


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(activation="nope"), "activation"),
        (dict(dropout=1.5), "dropout"),
        (dict(optimizer="foo"), "optimizer"),
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=(16.5,)), "hidden_layer_sizes"),
        (dict(kernel_initializer="foo"), "kernel_initializer"),
        (dict(kernel_initializer=-1.0), "kernel_initializer"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(pixel_scale="x"), "pixel_scale"),
    ],
)
def test_invalid_parameter_raises_at_fit(params, name, tiny_images):
    estimator = DenseNetClassifier(**params)  # constructing never validates
    with pytest.raises(ValueError, match=name):
        estimator.fit(*tiny_images)


# -- data handling ----------------------------------------------------------------


def test_square_and_flat_images_give_the_same_model(images, fitted):
    X, y = images
    square = DenseNetClassifier(**FAST).fit(X.reshape(-1, 28, 28), y)
    assert square.n_features_in_ == 784
    expected = fitted.predict_proba(X)
    assert_array_equal(square.predict_proba(X), expected)
    assert_array_equal(fitted.predict_proba(X.reshape(-1, 28, 28)), expected)


def test_uint8_and_unit_floats_give_the_same_model(images, fitted):
    X, y = images
    unit = DenseNetClassifier(**FAST).fit(X / 255.0, y)
    assert fitted.pixel_scale_ == pytest.approx(1 / 255)
    assert unit.pixel_scale_ == 1.0
    # uint8 * (1/255) and float64 / 255 round differently in float32.
    assert_allclose(unit.predict_proba(X / 255.0), fitted.predict_proba(X), atol=1e-5)
    assert_array_equal(unit.predict(X / 255.0), fitted.predict(X))


def test_the_model_scales_pixels_itself(images, fitted):
    # Pixels are scaled by the network's first layer, so model_ takes raw
    # pixels and no scaled copy of X is made; unit floats need no layer.
    X, y = images
    assert fitted.model_.get_layer("pixel_scale").scale == fitted.pixel_scale_
    raw = fitted.model_.predict_on_batch(X[:50])
    # Other batch sizes may run other float32 kernels: see FLOAT32_PROBA.
    assert_allclose(raw, fitted.predict_proba(X[:50]), **FLOAT32_PROBA)
    unit = DenseNetClassifier(**FAST).fit(X / 255.0, y)
    assert "Rescaling" not in _layer_types(unit)


def test_predictions_do_not_depend_on_chunking(images, fitted, monkeypatch):
    from fmnist_estimators._keras import _engine

    X = images[0]
    whole = fitted.predict_proba(X)
    monkeypatch.setattr(_engine, "PREDICT_ROWS", 7)
    # Not bit for bit: math libraries pick kernels by batch size and CPU.
    assert_allclose(fitted.predict_proba(X), whole, **FLOAT32_PROBA)
    keras_predict = fitted.model_.predict(X, batch_size=7, verbose=0)
    assert_allclose(keras_predict, whole, **FLOAT32_PROBA)


def test_string_labels_train_like_int_labels(images, fitted):
    X, y = images
    names = np.array([f"class_{k}" for k in range(10)])  # sorts like 0..9
    named = DenseNetClassifier(**FAST).fit(X, names[y])
    assert_array_equal(named.classes_, names)
    assert_array_equal(named.predict(X), names[fitted.predict(X)])


def test_predictions_follow_the_classifier_contract(images, fitted):
    X, y = images
    assert_array_equal(fitted.classes_, np.arange(10))
    proba = fitted.predict_proba(X)
    assert proba.shape == (600, 10)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X))
    assert fitted.score(X, y) == pytest.approx(np.mean(fitted.predict(X) == y))
    assert fitted.score(X, y) > 0.3  # well above chance after 2 epochs


# -- architecture and optimizer options ------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_trains(activation, tiny_images):
    estimator = DenseNetClassifier((8,), activation=activation, epochs=1)
    assert estimator.fit(*tiny_images).n_iter_ == 1
    assert np.isfinite(estimator.predict_proba(tiny_images[0])).all()


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains(optimizer, tiny_images):
    estimator = DenseNetClassifier((8,), optimizer=optimizer, epochs=1)
    assert estimator.fit(*tiny_images).n_iter_ == 1
    import keras

    # Ours subclass Keras's optimizers (Adam's update is fused).
    expected = type(keras.optimizers.get(optimizer))
    assert isinstance(estimator.model_.optimizer, expected)


def test_fused_adam_matches_keras_adam():
    import keras
    import tensorflow as tf

    from fmnist_estimators._keras._optimizers import FusedAdam

    rng = np.random.default_rng(0)
    start = rng.normal(size=(5, 3)).astype(np.float32)
    grads = rng.normal(size=(4, 5, 3)).astype(np.float32)
    weights = []
    for optimizer in (keras.optimizers.Adam(0.01), FusedAdam(0.01)):
        variable = keras.Variable(start)
        for grad in grads:
            optimizer.apply([tf.constant(grad)], [variable])
        weights.append(variable.numpy())
    assert not np.allclose(weights[0], start)
    assert_allclose(weights[1], weights[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_softmax_output_trains_as_keras_softmax(
    tiny_images, monkeypatch, label_smoothing
):
    # The output layer's softmax is computed in elementwise ops; the loss
    # must still come from the logits, as with Keras's softmax: the same
    # training, loss for loss, and the same probabilities to float32 rounding.
    import keras

    from fmnist_estimators._keras import _layers

    X, y = tiny_images
    params = dict(FAST, label_smoothing=label_smoothing)
    ours = DenseNetClassifier(**params).fit(X, y)
    assert ours.model_.layers[-1].activation is _layers.softmax
    monkeypatch.setattr(_layers, "softmax", keras.activations.softmax)
    theirs = DenseNetClassifier(**params).fit(X, y)
    assert ours.history_["loss"] == theirs.history_["loss"]
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **FLOAT32_PROBA)


def test_exported_network_names_only_keras(tiny_images, tmp_path):
    # The persistence guide's export, clf.model_.save: the network's config
    # names Keras's own layers and functions only (the output softmax under
    # Keras's name), so it loads where the package is not imported.
    import json
    import zipfile

    import keras

    X, y = tiny_images
    clf = DenseNetClassifier(**FAST).fit(X, y)
    path = tmp_path / "dense_net.keras"
    clf.model_.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    assert "fmnist_estimators" not in json.dumps(config["config"])
    loaded = keras.models.load_model(path, compile=False)
    assert loaded.layers[-1].activation is keras.activations.softmax
    assert_allclose(loaded.predict(X, verbose=0), clf.predict_proba(X), **FLOAT32_PROBA)


def test_cosine_cycles_match_keras_cosine_decay_restarts():
    import keras

    from fmnist_estimators._keras._optimizers import CosineCycles

    ours = CosineCycles(0.002, 100)
    reference = keras.optimizers.schedules.CosineDecayRestarts(
        0.002, 100, t_mul=1.0, m_mul=1.0
    )
    steps = [0, 1, 37, 99, 100, 101, 250, 399]
    rates = [float(ours(step)) for step in steps]
    assert_allclose(rates, [float(reference(step)) for step in steps], atol=1e-9)
    assert rates[0] == pytest.approx(0.002) and rates[4] == pytest.approx(0.002)


@pytest.mark.parametrize("initializer", INITIALIZERS + (0.5,))
def test_every_initializer_trains(initializer, tiny_images):
    estimator = DenseNetClassifier((8,), kernel_initializer=initializer, epochs=1)
    estimator.fit(*tiny_images)
    config = estimator.model_.get_layer(index=2).get_config()["kernel_initializer"]
    if isinstance(initializer, float):
        assert config["class_name"] == "RandomNormal"
        assert config["config"]["stddev"] == 0.5
    elif initializer.startswith("xavier"):
        assert config["class_name"] == XAVIER[initializer]


def test_batch_norm_dropout_and_l2_add_layers_and_losses(tiny_images, fitted):
    head = ["InputLayer", "Rescaling"]
    assert _layer_types(fitted) == [*head, "Dense", "Activation", "Dense"]
    assert not fitted.model_.losses
    estimator = DenseNetClassifier((8, 8), batch_norm=True, dropout=0.3, l2=0.01)
    estimator.set_params(epochs=1).fit(*tiny_images)
    block = ["Dense", "FusedBatchNormalization", "Activation", "Dropout"]
    assert _layer_types(estimator) == [*head, *block, *block, "Dense"]
    assert len(estimator.model_.losses) == 2  # one L2 term per hidden layer


def test_no_hidden_layer_is_logistic_regression(tiny_images):
    estimator = DenseNetClassifier((), epochs=1).fit(*tiny_images)
    assert _layer_types(estimator) == ["InputLayer", "Rescaling", "Dense"]
    assert estimator.model_.count_params() == 785 * 10


def test_cosine_schedule(tiny_images):
    estimator = DenseNetClassifier((8,), lr_schedule="cosine", learning_rate=0.01)
    estimator.set_params(epochs=2).fit(*tiny_images)
    schedule = estimator.model_.optimizer.get_config()["learning_rate"]
    assert "Cosine" in schedule["class_name"]
    assert schedule["config"]["initial_learning_rate"] == pytest.approx(0.01)


# -- history and early stopping ---------------------------------------------------


def test_history_records_every_epoch(fitted):
    assert sorted(fitted.history_) == ["accuracy", "loss"]
    assert all(len(values) == 2 for values in fitted.history_.values())
    assert fitted.n_iter_ == fitted.epochs == 2


def test_early_stopping_records_validation_scores(tiny_images):
    estimator = DenseNetClassifier((8,), epochs=2, early_stopping=True)
    estimator.fit(*tiny_images)
    assert sorted(estimator.history_) == [
        "accuracy",
        "loss",
        "val_accuracy",
        "val_loss",
    ]
    assert all(len(values) == 2 for values in estimator.history_.values())


def _random_labels_fit(images, restore_best_weights):
    """Early stopping on random labels: the validation loss soon rises."""
    X = images[0][:300]
    y = np.random.RandomState(0).randint(0, 10, size=300)
    estimator = DenseNetClassifier(
        (64,),
        learning_rate=0.01,
        epochs=10,
        early_stopping=True,
        n_iter_no_change=1,
        restore_best_weights=restore_best_weights,
        random_state=0,
    ).fit(X, y)
    # The held-out split, redrawn as fit draws it.
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=0.1, random_state=estimator._seed_, stratify=y
    )
    val_loss = log_loss(y_val, estimator.predict_proba(X_val), labels=np.arange(10))
    return estimator, val_loss


def test_early_stopping_stops_early(images):
    estimator, _ = _random_labels_fit(images, restore_best_weights=False)
    assert estimator.n_iter_ < 10
    assert len(estimator.history_["val_loss"]) == estimator.n_iter_


@pytest.mark.parametrize("restore", [True, False])
def test_restore_best_weights(images, restore):
    estimator, val_loss = _random_labels_fit(images, restore_best_weights=restore)
    history = estimator.history_["val_loss"]
    assert val_loss == pytest.approx(min(history) if restore else history[-1], 1e-4)
    assert min(history) < history[-1]  # stopped after an epoch that got worse


# -- randomness, warm starts, partial_fit -----------------------------------------


def test_random_state_makes_fit_repeatable(images, fitted):
    X, y = images
    again = DenseNetClassifier(**FAST).fit(X, y)
    assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other = DenseNetClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.allclose(other.predict_proba(X), fitted.predict_proba(X))


def test_warm_start_continues_training(images):
    X, y = images
    estimator = DenseNetClassifier(**FAST).fit(X, y)
    first_history, first_weights = estimator.history_["loss"], _weights(estimator)
    estimator.set_params(warm_start=True).fit(X, y)
    assert estimator.n_iter_ == 4
    assert estimator.history_["loss"][:2] == first_history
    assert all(len(values) == 4 for values in estimator.history_.values())
    for before, after in zip(first_weights, _weights(estimator)):
        assert not np.array_equal(before, after)

    estimator.set_params(warm_start=False).fit(X, y)
    assert estimator.n_iter_ == 2
    assert estimator.history_["loss"] == first_history  # same seed, from scratch


def test_cosine_schedule_restarts_on_warm_start(tiny_images):
    estimator = DenseNetClassifier((8,), lr_schedule="cosine", epochs=2)
    estimator.fit(*tiny_images)
    first_weights = _weights(estimator)
    estimator.set_params(warm_start=True).fit(*tiny_images)
    # A schedule that stayed at zero after the first fit would train nothing.
    assert not np.array_equal(first_weights[0], _weights(estimator)[0])


def test_partial_fit_trains_one_epoch_per_call(images):
    X, y = images
    first = y != 9
    estimator = DenseNetClassifier(**FAST)
    estimator.partial_fit(X[first], y[first], classes=np.arange(10))
    assert estimator.n_iter_ == 1
    assert_array_equal(estimator.classes_, np.arange(10))
    assert estimator.predict_proba(X).shape == (600, 10)
    estimator.partial_fit(X, y)
    assert estimator.n_iter_ == len(estimator.history_["loss"]) == 2


def test_partial_fit_rejects_labels_not_in_classes(images):
    X, y = images
    first = y != 9
    with pytest.raises(ValueError, match=r"labels \[9\] that are not in classes"):
        DenseNetClassifier(**FAST).partial_fit(X, y, classes=np.arange(9))
    estimator = DenseNetClassifier(**FAST).partial_fit(X[first], y[first])
    assert len(estimator.classes_) == 9
    with pytest.raises(ValueError, match=r"labels \[9\] that are not in classes"):
        estimator.partial_fit(X, y)


# -- persistence ----------------------------------------------------------------


def test_pickle_round_trip(images, fitted):
    X = images[0]
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_joblib_round_trip(images, fitted, tmp_path):
    X = images[0]
    joblib.dump(fitted, tmp_path / "dense.joblib")
    restored = joblib.load(tmp_path / "dense.joblib")
    assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))


def test_clone_of_fitted_is_unfitted(images, fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    with pytest.raises(NotFittedError):
        copy.predict(images[0])


def test_import_does_not_load_tensorflow(run_python):
    code = (
        "import sys, fmnist_estimators as fe\n"
        "fe.DenseNetClassifier().get_params()\n"
        "fe.ConvNetClassifier.from_preset('fast')\n"
        "heavy = ('tensorflow', 'keras', 'scikeras')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    assert run_python(code).stdout.strip() == "[]"


# -- bad input ------------------------------------------------------------------


def _with(X, row, value):
    X = X.astype(float)
    X[row, 0] = value
    return X


@pytest.mark.parametrize(
    "make_X, make_y, error, match",
    [
        (lambda X: _with(X, 3, np.nan), None, ValueError, "NaN"),
        (lambda X: _with(X, 3, np.inf), None, ValueError, "infinity"),
        (lambda X: X[:0], lambda y: y[:0], ValueError, "0 sample"),
        (lambda X: [[0, 1, 2], [3, 4]], lambda y: y[:2], ValueError, "inhomogeneous"),
        (lambda X: X.astype(str).astype(object) + "px", None, ValueError, "string"),
        (sp.csr_matrix, None, TypeError, "[Ss]parse"),
        (None, lambda y: np.zeros_like(y), ValueError, "only one class"),
        (None, lambda y: y[:-1], ValueError, "inconsistent numbers of samples"),
    ],
    ids=["nan", "inf", "empty", "ragged", "strings", "sparse", "one-class", "length"],
)
def test_bad_training_data_raises(tiny_images, make_X, make_y, error, match):
    X, y = tiny_images
    X = X if make_X is None else make_X(X)
    y = y if make_y is None else make_y(y)
    with pytest.raises(error, match=match):
        DenseNetClassifier(epochs=1).fit(X, y)


@pytest.mark.parametrize(
    "make_X, error, match",
    [
        (lambda X: X[:, :783], ValueError, "783 features"),
        (lambda X: X.reshape(-1, 28, 28)[:, :27, :27], ValueError, "729 features"),
        (lambda X: _with(X, 3, np.nan), ValueError, "NaN"),
        (lambda X: _with(X, 3, -np.inf), ValueError, "infinity"),
        (lambda X: X[:0], ValueError, "0 sample"),
        (sp.csr_matrix, TypeError, "[Ss]parse"),
    ],
    ids=["783", "27x27", "nan", "inf", "empty", "sparse"],
)
def test_bad_prediction_data_raises(images, fitted, make_X, error, match):
    with pytest.raises(error, match=match):
        fitted.predict_proba(make_X(images[0][:20]))


def test_predict_before_fit_raises(tiny_images):
    with pytest.raises(NotFittedError):
        DenseNetClassifier().predict(tiny_images[0])


# -- real data --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.real_data
def test_tutorial_network_accuracy_on_fashion_mnist():
    from fmnist_estimators.datasets import fetch_fashion_mnist

    X, y = fetch_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_fashion_mnist(subset="test", return_X_y=True)
    estimator = DenseNetClassifier(random_state=0).fit(X, y)
    assert estimator.n_iter_ == 10
    # The tutorial network with our default cosine schedule: 88.84, 89.02 and
    # 89.01 % for seeds 0-2 (the tutorial's constant 0.001 gave 86.5-88.5 %).
    assert estimator.score(X_test, y_test) >= 0.886
