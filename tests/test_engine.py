"""The Keras engine: a user's own network, weights, validation data, callbacks,
the guarded private names, and the layout of the Keras wing."""

import ast
import pickle
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    KerasModelClassifier,
)

PACKAGE = Path(__file__).resolve().parents[1] / "fmnist_estimators"


@pytest.fixture(scope="module")
def split(images):
    X, y = images
    return train_test_split(X, y, test_size=200, stratify=y, random_state=0)


def flat_net(input_shape, n_classes, units=16, seed=None):
    """A user's network on flat pixels, ending in logits (no softmax)."""
    import keras

    inputs = keras.Input((784,))
    init = keras.initializers.GlorotUniform(seed)
    x = keras.layers.Dense(units, activation="relu", kernel_initializer=init)(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x))


def tiny_cnn(input_shape, n_classes, filters=4):
    """A user's residual network on (28, 28) images: not a chain of layers."""
    import keras

    inputs = keras.Input((28, 28))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    y = keras.layers.Conv2D(filters, 3, padding="same")(x)
    x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


def wrong_units(input_shape, n_classes):
    import keras

    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(n_classes + 2)(x))


def not_a_model(input_shape, n_classes):
    return "a string"


def _own(model=flat_net, **params):
    return KerasModelClassifier(model, **{"epochs": 2, "random_state": 0, **params})


# -- a user's own network ------------------------------------------------------------


def test_layers_of_a_fitted_network_feed_new_models(split):
    import keras

    X, _, y, _ = split
    ours = DenseNetClassifier((8,), batch_norm=True, epochs=1).fit(X, y)
    hidden = ours.model_.get_layer(index=3)  # batch norm, after pixel_scale, Dense
    embedding = keras.Model(ours.model_.inputs, hidden.output)
    assert embedding.predict_on_batch(X[:5]).shape == (5, 8)
    own = _own(flat_net, epochs=1, model__units=8).fit(X, y)
    network = own.model_.layers[-2]
    inner = keras.Model(network.inputs, network.layers[1].output)
    assert inner.predict_on_batch(X[:5].astype("float32")).shape == (5, 8)


def test_own_network_trains_and_predicts(split):
    X, X_test, y, y_test = split
    clf = _own(model__units=32, learning_rate=0.01).fit(X, y)
    assert clf.score(X_test, y_test) > 0.5
    proba = clf.predict_proba(X_test)
    assert_allclose(proba.sum(axis=1), 1.0)
    # Logits got a softmax; the pixels a scaling layer in front.
    last = clf.model_.layers[-1]
    assert type(last).__name__ == "Activation"
    assert last.get_config()["activation"] == "softmax"
    assert clf.model_.get_layer("pixel_scale").scale == pytest.approx(1 / 255)


COUNTERS = []


def counting_net(input_shape, n_classes, seed=None):
    """A user's network on flat pixels behind a layer that counts the rows
    it sees in training."""
    import keras

    class RowCounter(keras.layers.Layer):
        def build(self, shape):
            self.rows = self.add_weight(
                shape=(), initializer="zeros", trainable=False, name="rows"
            )

        def call(self, x, training=False):
            if training:
                n = keras.ops.cast(keras.ops.shape(x)[0], self.rows.dtype)
                self.rows.assign_add(n)
            return x

    counter = RowCounter()
    COUNTERS.append(counter)
    inputs = keras.Input((784,))
    x = keras.layers.Dense(8, activation="relu")(counter(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x))


# 101 rows: batches of 32, 32, 32 and 5. 513 rows: 257 batches, one more than
# Keras runs per call into the graph (256), the last of one image.
@pytest.mark.parametrize("n, batch_size", [(101, 32), (513, 2)])
def test_every_epoch_trains_on_every_row_once(n, batch_size, images):
    # The engine tells Keras the steps of an epoch (one iterator over the
    # data per epoch instead of two): a last, partial batch must still train.
    X, y = images
    X, y, X_val, y_val = X[:n], y[:n], X[-50:], y[-50:]
    COUNTERS.clear()
    clf = _own(counting_net, epochs=2, batch_size=batch_size)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Your input ran out of data")
        clf.fit(X, y, X_val=X_val, y_val=y_val)
        assert float(COUNTERS[-1].rows.numpy()) == 2 * n  # not the validation rows
        assert len(clf.history_["loss"]) == len(clf.history_["val_loss"]) == 2
        clf.partial_fit(X[:40], y[:40])
    assert float(COUNTERS[-1].rows.numpy()) == 2 * n + 40
    assert len(COUNTERS) == 1


@pytest.mark.parametrize("shape", [(784,), (28, 28), (28, 28, 1)])
def test_images_reach_the_network_in_its_declared_shape(shape, split):
    X, _, y, _ = split
    X_shaped = X.reshape(-1, *shape)
    flat = _own(flat_net, epochs=1).fit(X_shaped, y)
    cnn = _own(tiny_cnn, epochs=1).fit(X_shaped, y)
    assert flat.predict(X_shaped).shape == cnn.predict(X).shape == (len(y),)


def test_model_params_are_searchable_and_survive_clone(split):
    X, _, y, _ = split
    clf = _own(model__units=8, epochs=1)
    assert clf.get_params()["model__units"] == 8
    copy = clone(clf.set_params(model__units=12))
    assert copy.get_params()["model__units"] == 12
    search = GridSearchCV(copy, {"model__units": [4, 12]}, cv=2).fit(X, y)
    assert search.best_params_["model__units"] in (4, 12)
    network = search.best_estimator_.model_.layers[-2]  # before the softmax
    hidden = next(layer for layer in network.layers if type(layer).__name__ == "Dense")
    assert hidden.units == search.best_params_["model__units"]


def test_a_keras_model_instance_is_copied_with_fresh_weights(split):
    X, _, y, _ = split
    template = flat_net(None, 10, units=8, seed=1)
    before = [w.copy() for w in template.get_weights()]
    first = _own(template, epochs=1).fit(X, y)
    second = _own(template, epochs=1).fit(X, y)
    # The template is never trained, and no fit starts from another's weights.
    for old, new in zip(before, template.get_weights()):
        assert_array_equal(old, new)
    assert first.model_ is not second.model_
    assert not np.shares_memory(
        first.model_.get_weights()[0], second.model_.get_weights()[0]
    )


def test_fitted_own_network_pickles(split):
    X, X_test, y, _ = split
    clf = _own(tiny_cnn, epochs=1, model__filters=2).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))
    assert restored.set_params(warm_start=True).fit(X, y).n_iter_ == 2


@pytest.mark.parametrize(
    "model, error, match",
    [
        (None, TypeError, "model must be a function"),
        (3, TypeError, "model must be a function"),
        (not_a_model, TypeError, "must return a keras.Model.*returned str"),
        (wrong_units, ValueError, "output has 12 units, but y has 10 classes"),
    ],
)
def test_bad_models(model, error, match, split):
    X, _, y, _ = split
    with pytest.raises(error, match=match):
        KerasModelClassifier(model, epochs=1).fit(X, y)


def test_unprefixed_network_argument_is_refused_at_fit(split):
    X, _, y, _ = split
    clf = KerasModelClassifier(flat_net, units=8)  # stored, like any parameter
    with pytest.raises(TypeError, match="model__units"):
        clf.fit(X, y)


def test_our_networks_are_model_functions_too():
    for clf, shape in [
        (DenseNetClassifier(), (784,)),
        (ConvNetClassifier(), (28, 28, 1)),
    ]:
        build, params = clf._network_builder()
        model = build(shape, 10, **params)
        assert model.output_shape == (None, 10)


# -- weights ---------------------------------------------------------------------------


def test_zero_weight_on_a_class_makes_it_almost_never_predicted(split):
    X, X_test, y, y_test = split
    weights = np.where(y == 3, 0.0, 1.0)
    clf = DenseNetClassifier((32,), epochs=3, random_state=0, learning_rate=0.01)
    predicted = clf.fit(X, y, sample_weight=weights).predict(X_test)
    unweighted = clone(clf).fit(X, y).predict(X_test)
    assert np.mean(predicted == 3) < 0.02
    assert np.mean(unweighted == 3) > 0.05  # the class is learnable otherwise


def test_zero_weighted_images_are_not_counted_in_an_epoch(split):
    # scikeras drops them: an epoch has the batches of the others, and the
    # cosine cycle, sized by those batches, ends at zero.
    import keras

    X, _, y, _ = split
    weights = np.where(y == 3, 0.0, 1.0)
    clf = DenseNetClassifier(
        (16,), epochs=2, batch_size=32, learning_rate=0.002, random_state=0
    )
    with warnings.catch_warnings():
        # Keras warns when an epoch has fewer batches than it was told.
        warnings.simplefilter("error")
        clf.fit(X, y, sample_weight=weights)
    optimizer = clf.model_.optimizer
    steps = int(np.ceil(np.count_nonzero(weights) / 32))
    assert int(optimizer.iterations.numpy()) == 2 * steps
    # The rate of the last step: near zero at the end of the cycle; had the
    # cycle counted every image, 0.02 of the initial rate.
    last = keras.ops.convert_to_numpy(optimizer.lr_schedule(2 * steps - 1))
    assert last < 0.005 * clf.learning_rate


def test_short_fits_run_one_step_per_call_with_the_same_weights(
    tiny_images, monkeypatch
):
    # 200 images, batch 32, 2 epochs: 14 steps, too few to pay for tracing
    # Keras's loop of steps; the loop trains the same network.
    from fmnist_estimators._keras import _optimizers

    X, y = tiny_images
    params = dict(hidden_layer_sizes=(16,), dropout=0.2, epochs=2, random_state=0)
    short = DenseNetClassifier(batch_size=32, **params).fit(X, y)
    assert short.model_.steps_per_execution == 1
    monkeypatch.setattr(_optimizers, "FEW_STEPS", 0)
    looped = DenseNetClassifier(batch_size=32, **params).fit(X, y)
    assert looped.model_.steps_per_execution == _optimizers.STEPS_PER_EXECUTION
    assert_allclose(short.predict_proba(X), looped.predict_proba(X), atol=1e-6)


def test_class_weight_dict_and_balanced(split):
    X, X_test, y, _ = split
    # Class 4 kept rare: 4 training images of it instead of 40.
    keep = (y != 4) | (np.cumsum(y == 4) <= 4)
    X, y = X[keep], y[keep]
    plain = DenseNetClassifier((16,), epochs=3, random_state=0, learning_rate=0.01)
    rate = np.mean(plain.fit(X, y).predict(X_test) == 4)
    for class_weight in ({4: 10.0}, "balanced"):
        weighted = clone(plain).set_params(class_weight=class_weight).fit(X, y)
        assert np.mean(weighted.predict(X_test) == 4) > rate


def test_sample_weight_is_routed_through_pipeline_and_search(split):
    X, _, y, _ = split
    weights = np.where(y == 3, 0.0, 1.0)
    with config_context(enable_metadata_routing=True):
        net = DenseNetClassifier((16,), epochs=2, random_state=0, learning_rate=0.01)
        net.set_fit_request(sample_weight=True)
        search = GridSearchCV(
            make_pipeline(net),
            {"densenetclassifier__l2": [0.0]},
            cv=2,
            # Unweighted scores: the scorer does not ask for the weights.
            scoring=get_scorer("accuracy").set_score_request(sample_weight=False),
            error_score="raise",
        )
        search.fit(X, y, sample_weight=weights)
    assert np.mean(search.predict(X) == 3) < 0.02


@pytest.mark.parametrize(
    "weights, match",
    [
        (lambda n: -np.ones(n), "negative"),
        (lambda n: np.full(n, np.nan), "NaN"),
        (lambda n: np.ones(n + 1), r"shape \(\d+,\).*one weight per image"),
        (lambda n: np.zeros(n), "zero for every image"),
    ],
)
def test_bad_sample_weight(weights, match, split):
    X, _, y, _ = split
    with pytest.raises(ValueError, match=match):
        DenseNetClassifier((8,), epochs=1).fit(X, y, sample_weight=weights(len(y)))


def test_class_weight_naming_an_unknown_class(split):
    X, _, y, _ = split
    with pytest.raises(ValueError, match=r"class_weight names classes \[42\]"):
        DenseNetClassifier((8,), epochs=1, class_weight={42: 2.0}).fit(X, y)


# -- validation data ------------------------------------------------------------------


def test_own_validation_data_is_scored_every_epoch(split):
    X, X_test, y, y_test = split
    clf = DenseNetClassifier((16,), epochs=3, random_state=0)
    clf.fit(X, y, X_val=X_test, y_val=y_test)
    assert len(clf.history_["val_accuracy"]) == 3
    # The last epoch's validation accuracy is the score on X_test.
    assert clf.history_["val_accuracy"][-1] == pytest.approx(
        clf.score(X_test, y_test), abs=1 / len(y_test)
    )
    # All of X trains: no validation_fraction split.
    iterations = int(clf.model_.optimizer.iterations.numpy())
    assert iterations == 3 * int(np.ceil(len(y) / 32))


def test_early_stopping_on_validation_accuracy(split):
    X, X_test, y, y_test = split
    clf = DenseNetClassifier(
        (16,),
        epochs=30,
        early_stopping=True,
        monitor="val_accuracy",
        n_iter_no_change=1,
        random_state=0,
    )
    clf.fit(X, y, X_val=X_test, y_val=y_test)
    assert clf.n_iter_ < 30


@pytest.mark.parametrize(
    "X_val, y_val, match",
    [
        (lambda X: X[:10, :700], lambda y: y[:10], "X_val has 700 features.*784"),
        (lambda X: X[:10], lambda y: None, "X_val was given without y_val"),
        (lambda X: None, lambda y: y[:10], "y_val was given without X_val"),
        (lambda X: X[:10], lambda y: y[:9], "y_val has shape"),
        (lambda X: X[:10], lambda y: np.full(10, 42), r"labels \[42\]"),
    ],
)
def test_bad_validation_data(X_val, y_val, match, split):
    X, _, y, _ = split
    with pytest.raises(ValueError, match=match):
        DenseNetClassifier((8,), epochs=1).fit(X, y, X_val=X_val(X), y_val=y_val(y))


# -- callbacks and progress ----------------------------------------------------------


SEEN = []


def _count_epochs_callback():
    import keras

    class CountEpochs(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1
            SEEN.append(self)

    return CountEpochs


def test_user_callbacks_run_on_fresh_copies(split):
    SEEN.clear()
    callback = _count_epochs_callback()()
    clf = DenseNetClassifier((8,), epochs=2, callbacks=[callback], random_state=0)
    X, _, y, _ = split
    clf.fit(X, y).partial_fit(X, y)
    assert len(SEEN) == 3
    assert callback.epochs == 0 and callback not in SEEN  # the parameter is intact
    assert SEEN[0] is not SEEN[-1]  # one copy per call
    assert clone(clf).get_params()["callbacks"][0].epochs == 0


def test_a_callback_can_stop_training(split):
    import keras

    class StopAfterOne(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    X, _, y, _ = split
    clf = DenseNetClassifier((8,), epochs=5, callbacks=[StopAfterOne()]).fit(X, y)
    assert clf.n_iter_ == 1


def test_callbacks_must_be_keras_callbacks(split):
    X, _, y, _ = split
    with pytest.raises(TypeError, match="keras.callbacks.Callback"):
        DenseNetClassifier((8,), epochs=1, callbacks=[print]).fit(X, y)


def test_verbose_prints_one_line_per_epoch(split, capsys):
    X, X_test, y, y_test = split
    DenseNetClassifier((8,), epochs=2, verbose=1).fit(X, y, X_val=X_test, y_val=y_test)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith("epoch 2/2: ")
    assert "val_accuracy" in lines[1] and lines[1].endswith(" s)")


# -- private Keras names and their fallbacks ---------------------------------------


_FALLBACK_NET = dict(hidden_layer_sizes=(8,), epochs=1, random_state=0)


@pytest.fixture(scope="module")
def with_private_names(split):
    """The network trained with every private name present, and no warning."""
    X, _, y, _ = split
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        return DenseNetClassifier(**_FALLBACK_NET).fit(X, y)


@pytest.mark.parametrize(
    "name",
    [
        "Optimizer._all_reduce_sum_gradients",
        "Adam._get_variable_index",
        "Adam._momentums",
        "Adam._velocities",
        "ArrayDataAdapter.get_tf_dataset",
        "pywrap_tfe.TFE_ContextClearCaches",
    ],
)
def test_each_private_name_falls_back_with_one_warning(
    name, split, with_private_names, monkeypatch
):
    from fmnist_estimators._keras import _private

    monkeypatch.setattr(_private, "HIDDEN", {name})
    monkeypatch.setattr(_private, "_warned", set())
    X, X_test, y, _ = split
    with pytest.warns(RuntimeWarning, match=name.replace(".", r"\.")) as record:
        hidden = DenseNetClassifier(**_FALLBACK_NET).fit(X, y)
        DenseNetClassifier(**_FALLBACK_NET).fit(X, y)
    [warning] = [w for w in record if name in str(w.message)]
    # Raised deep in the engine, under scikit-learn's fit wrapper: it names
    # the user's line.
    assert warning.filename == __file__
    # Keras's public path trains the same network: Adam's update in another
    # order of float32 operations, the all-reduce an identity with one replica.
    kept = with_private_names.predict_proba(X_test)
    assert_allclose(hidden.predict_proba(X_test), kept, atol=1e-4)


def test_every_private_name_is_listed_and_present():
    from fmnist_estimators._keras import _private

    assert all(_private._has(name) for name in _private.PRIVATE_NAMES)


def _autotune(adapter):
    X, y = np.zeros((8, 4), np.float32), np.zeros(8)
    dataset = adapter(X, y, batch_size=4, shuffle=True).get_tf_dataset()
    return dataset.options().autotune.enabled


def test_our_seeding_seeds_as_keras_does_but_keeps_compiled_kernels():
    from fmnist_estimators._keras._private import set_random_seed
    from fmnist_estimators._keras._runtime import keras, tf

    def draws(seed):
        seed(3)
        shuffled = list(tf.data.Dataset.range(8).shuffle(8).as_numpy_iterator())
        eager = tf.random.uniform([4]).numpy()  # an eager stateful random op
        return shuffled, np.random.rand(), eager  # noqa: NPY002

    try:
        keras_draws = [draws(keras.utils.set_random_seed) for _ in range(2)]
        our_draws = [draws(set_random_seed) for _ in range(2)]
    finally:
        set_random_seed(None)
    # The same seeds: tf.data's shuffles and NumPy's global state repeat.
    for ours, theirs in zip(our_draws, keras_draws):
        assert ours[:2] == theirs[:2]
    # Keras's seeding empties TensorFlow's kernel cache (every graph is then
    # built again), which restarts an eager stateful op's sequence; ours keeps
    # the cache, and the sequence goes on.
    assert_array_equal(keras_draws[0][2], keras_draws[1][2])
    assert not np.array_equal(our_draws[0][2], our_draws[1][2])


def test_only_our_fits_turn_tf_data_autotuning_off():
    from fmnist_estimators._keras import _private

    adapter = _private._array_adapter()
    with _private.untuned_input_pipelines():
        assert _autotune(adapter) is False
        # Another thread (a user's own fit beside a threaded search) keeps
        # Keras's pipeline, as does everything after the block.
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(_autotune, adapter).result() is not False
    assert _autotune(adapter) is not False


def test_estimator_fits_train_on_untuned_pipelines(split, monkeypatch):
    from fmnist_estimators._keras import _private

    adapter = _private._array_adapter()
    _private._install_untuned_switch()
    switch, seen = adapter.get_tf_dataset, []

    def recording(self):
        dataset = switch(self)
        seen.append(dataset.options().autotune.enabled)
        return dataset

    recording.untuned_switch = True
    monkeypatch.setattr(adapter, "get_tf_dataset", recording)
    X, X_test, y, y_test = split
    DenseNetClassifier((8,), epochs=1).fit(X, y, X_val=X_test, y_val=y_test)
    assert seen and all(enabled is False for enabled in seen)


# -- layout of the Keras wing --------------------------------------------------------


def _imports(path):
    """(module, names) of every import in ``path``, relative ones resolved."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + (node.module.split(".") if node.module else []))
            yield module, [alias.name for alias in node.names], node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_two_modules_import_each_other():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        graph[name] = set()
        for module, names, _ in _imports(path):
            if module.startswith("fmnist_estimators"):
                graph[name].add(module)
                graph[name].update(f"{module}.{n}" for n in names)
    cycles = sorted(
        (a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, ())
    )
    assert cycles == []


def test_no_module_imports_a_private_helper_of_another():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for module, names, _ in _imports(path):
            if not module.startswith("fmnist_estimators"):
                continue
            folder = PACKAGE.parent.joinpath(*module.split("."))
            for name in names:
                is_module = (folder / f"{name}.py").exists() or (folder / name).is_dir()
                if name.startswith("_") and not is_module and name != "__version__":
                    offenders.append(f"{_module_name(path)}: {module}.{name}")
    assert offenders == []


def test_only_the_keras_wing_imports_keras_at_module_level(run_python):
    heavy = ("keras", "tensorflow", "scikeras")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "_keras" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                offenders += [
                    f"{path.name}: {n}" for n in names if n.split(".")[0] in heavy
                ]
    assert offenders == []
    code = "import fmnist_estimators, sys; print('tensorflow' in sys.modules)"
    assert run_python(code).stdout.strip() == "False"


@pytest.mark.parametrize("shape", [(64, 7, 7, 16), (32, 20), (8, 5, 6)])
def test_fused_batch_norm_computes_what_keras_batch_norm_does(shape):
    from fmnist_estimators._keras._layers import FusedBatchNormalization
    from fmnist_estimators._keras._runtime import keras, tf

    # Rank 2 and 4 take TensorFlow's fused kernel, rank 3 Keras's own path.
    x = tf.constant(np.random.default_rng(0).normal(2, 3, shape), tf.float32)
    layers = [
        keras.layers.BatchNormalization(momentum=0.9),
        FusedBatchNormalization(momentum=0.9),
    ]
    outputs, grads = [], []
    for layer in layers:
        layer.build(shape)
        layer.gamma.assign(np.linspace(0.5, 2.0, shape[-1]))
        layer.beta.assign(np.linspace(-1.0, 1.0, shape[-1]))
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y**3)
        outputs.append(y.numpy())
        grads.append([g.numpy() for g in tape.gradient(loss, [x, layer.gamma])])
    # float32 normalization of values ~N(2, 3): a mean and a variance over
    # up to 3,136 values, each a few ulps off, then outputs of magnitude ~3
    assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-5)
    for fused, plain in zip(grads[1], grads[0]):
        # sums of up to 3,136 products of magnitude ~30
        assert_allclose(fused, plain, atol=1e-4 * np.abs(plain).max())
    keras_bn, fused_bn = layers
    for name in ("moving_mean", "moving_variance"):
        assert_allclose(
            getattr(fused_bn, name).numpy(),
            getattr(keras_bn, name).numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
    assert_allclose(
        fused_bn(x, training=False).numpy(),
        keras_bn(x, training=False).numpy(),
        rtol=1e-5,
        atol=1e-5,
    )
