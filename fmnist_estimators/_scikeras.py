"""The one place the package touches scikeras and TensorFlow's process setup.

Our estimators are plain scikit-learn estimators that own a
:class:`scikeras.wrappers.KerasClassifier` as fitted state (``keras_classifier_``)
rather than subclassing it. scikeras 0.13 harvests parameters from ``__dict__``,
lists ``ClassifierMixin`` after its base class and has no ``__sklearn_tags__``,
so on scikit-learn >= 1.6 a subclass is not a classifier for ``is_classifier``
and ``GridSearchCV(cv=5)`` would quietly use ``KFold``. Composition keeps our
``__init__``/``get_params``/tags exactly scikit-learn's, and keeps TensorFlow
out of ``import fmnist_estimators``: this module is imported on first ``fit``.
"""

import os
import random
import sys
from contextlib import contextmanager


@contextmanager
def _stderr_to_devnull():
    """Send the process's file descriptor 2 to /dev/null for the block.

    TensorFlow's C++ runtime logs through absl before ``absl::InitializeLog``
    runs, which ignores ``TF_CPP_MIN_LOG_LEVEL``: a CPU-only machine gets a
    banner of oneDNN, CUDA-stub and ``cuInit`` lines on import and at device
    discovery. Only a descriptor-level redirect hides them.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded hosts): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _import_tensorflow_quietly():
    """Import TensorFlow and discover its devices without console output.

    A user who sets ``TF_CPP_MIN_LOG_LEVEL`` themselves, or who imported
    TensorFlow first, gets TensorFlow's own logging. Device discovery (where
    ``cuInit`` fails on a machine without a GPU) does not start the runtime,
    so thread pools can still be sized afterwards.
    """
    if "tensorflow" in sys.modules or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        import tensorflow

        return tensorflow
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # the C++ logs after start-up
    with _stderr_to_devnull():
        import tensorflow

        tensorflow.config.list_physical_devices()
    return tensorflow


tf = _import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402

from ._keras_base import STEPS_PER_EXECUTION, seed_source  # noqa: E402

_CONFIGURED = False


def configure_tensorflow():
    """Cap TensorFlow's thread pools to the share of cores this process owns.

    joblib's loky workers export ``OMP_NUM_THREADS = cores // n_jobs`` but
    TensorFlow ignores it (and threadpoolctl), so two workers on two cores would
    each start two compute threads and fight. The pools can only be sized before
    TensorFlow's runtime starts, which is why this runs before the first model.
    ``FMNIST_ESTIMATORS_TF_THREADS`` overrides the count.
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    _CONFIGURED = True
    # Each fit builds a new model, so TensorFlow's "retracing" warning fires in
    # every search; it is about the user's own tf.functions, not ours.
    tf.get_logger().setLevel("ERROR")
    n_threads = os.environ.get("FMNIST_ESTIMATORS_TF_THREADS") or os.environ.get(
        "OMP_NUM_THREADS"
    )
    if not n_threads or not n_threads.isdigit() or int(n_threads) < 1:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(n_threads))
        tf.config.threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError:
        # The runtime already started (the user ran TensorFlow first): keep
        # whatever it chose rather than fail the fit.
        pass


@contextmanager
def seeded(seed):
    """Seed Python, NumPy, TensorFlow and Keras for the block, then restore.

    scikeras's own ``random_state`` handling turns on TensorFlow's global op
    determinism, which disables XLA and, after a model with random
    augmentation layers, stays on and breaks later unseeded fits. Seeding the
    generators is enough for repeatable CPU training.
    """
    if seed is None:
        yield
        return
    # keras.utils.set_random_seed seeds the legacy global NumPy state: restore it.
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002
        tf.random.set_seed(None)


# Optimizers and schedules are registered so that a pickled model's compile
# config finds their classes again. Unpickling a fitted estimator imports this
# module before the model: the scikeras build function, ``build_model`` below,
# is pickled ahead of it.
_register = keras.saving.register_keras_serializable(package="fmnist_estimators")


class _OneReplica:
    """Optimizer mixin: no gradient all-reduce without a ``tf.distribute`` strategy.

    With one replica the sum is the gradients themselves, and Keras's
    all-reduce would register a custom gradient in TensorFlow's global
    registry at every trace, keeping each fit's training graph alive (about
    1 MB per fit).

    The mixin also keeps the learning-rate schedule it was made with as
    ``lr_schedule`` (``None`` for a constant rate), so that a warm start can
    restart it, also on an optimizer rebuilt from a saved model's config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rate = kwargs.get("learning_rate", args[0] if args else None)
        schedule = keras.optimizers.schedules.LearningRateSchedule
        self.lr_schedule = rate if isinstance(rate, schedule) else None

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if not tf.distribute.has_strategy():
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)


@_register
class FusedAdam(_OneReplica, keras.optimizers.Adam):
    """Adam applied by TensorFlow's fused ``ResourceApplyAdam`` kernel.

    The update rule is ``keras.optimizers.Adam``'s; Keras computes it with a
    dozen elementwise ops per variable, and a small network's training step
    on a CPU is dominated by dispatching ops, so one kernel per variable makes
    an epoch of the tutorial network about 20 % faster. ``amsgrad`` and sparse
    gradients keep Keras's own update.
    """

    def update_step(self, gradient, variable, learning_rate):
        sparse = isinstance(gradient, tf.IndexedSlices)
        if self.amsgrad or sparse or not hasattr(variable, "handle"):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[index].value.handle,
            v=self._velocities[index].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


@_register
class CosineCycles(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to 0 every ``decay_steps`` steps.

    The cycles count from ``start_step``. Keras's ``CosineDecayRestarts(t_mul=1,
    m_mul=1, alpha=0)`` computes the same rate with four times the ops, which a
    small network pays every step. The three numbers live in variables, so
    :meth:`restart` changes them between fits without retracing the training
    step or losing the optimizer's state.
    """

    def __init__(self, initial_learning_rate, decay_steps, start_step=0):
        def variable(value):
            return tf.Variable(float(value), trainable=False, dtype=tf.float32)

        self._rate = variable(initial_learning_rate)
        self._period = variable(decay_steps)
        self._start = variable(start_step)

    @property
    def initial_learning_rate(self):
        return float(self._rate.numpy())

    @property
    def start_step(self):
        return float(self._start.numpy())

    def restart(self, initial_learning_rate, decay_steps, start_step):
        """Cycles of ``decay_steps`` steps from ``initial_learning_rate`` on."""
        self._rate.assign(float(initial_learning_rate))
        self._period.assign(float(decay_steps))
        self._start.assign(float(start_step))

    def __call__(self, step):
        offset = tf.cast(step, tf.float32) - self._start
        fraction = tf.math.floormod(offset, self._period) / self._period
        return self._rate * 0.5 * (1.0 + tf.cos(np.pi * fraction))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": float(self._period.numpy()),
            "start_step": self.start_step,
        }


# Keras's optimizers by our name for them, without the one-replica all-reduce.
OPTIMIZER_CLASSES = {"adam": FusedAdam} | {
    name: _register(type(cls.__name__, (_OneReplica, cls), {"__module__": __name__}))
    for name, cls in [
        ("nadam", keras.optimizers.Nadam),
        ("adamw", keras.optimizers.AdamW),
        ("sgd", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
        ("adadelta", keras.optimizers.Adadelta),
        ("adagrad", keras.optimizers.Adagrad),
    ]
}


def default_learning_rate(name):
    """Keras's default learning rate of the optimizer ``name``."""
    return OPTIMIZER_CLASSES[name]().get_config()["learning_rate"]


def make_optimizer(name, learning_rate, momentum, schedule, decay_steps):
    """Keras optimizer by name, with a constant or cosine-restarts schedule."""
    optimizer = OPTIMIZER_CLASSES[name]
    kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
    if name == "sgd":
        kwargs["momentum"] = momentum
    if schedule == "cosine":
        # Decay to zero over the epochs of one fit call, then restart: a warm
        # start restarts the cycle (set_learning_rate), and a plain
        # CosineDecay would leave every later fit at a learning rate of zero.
        rate = default_learning_rate(name) if learning_rate is None else learning_rate
        kwargs["learning_rate"] = CosineCycles(float(rate), decay_steps)
    return optimizer(**kwargs)


def set_learning_rate(optimizer, learning_rate, *, decay_steps, restart):
    """Give a fitted model's optimizer this fit's learning rate.

    A cosine schedule gets ``learning_rate`` and ``decay_steps`` and, with
    ``restart``, a new cycle from the optimizer's current step.
    """
    name = next(k for k, cls in OPTIMIZER_CLASSES.items() if type(optimizer) is cls)
    rate = default_learning_rate(name) if learning_rate is None else learning_rate
    schedule = optimizer.lr_schedule
    if schedule is None:
        optimizer.learning_rate = float(rate)
        return
    start = float(optimizer.iterations.numpy()) if restart else schedule.start_step
    schedule.restart(rate, decay_steps, start)


LOSS = "sparse_categorical_crossentropy"


def compile_model(
    model, *, optimizer, learning_rate, momentum, lr_schedule, decay_steps
):
    """Compile ``model`` with a new optimizer and our training settings."""
    model.compile(
        optimizer=make_optimizer(
            optimizer, learning_rate, momentum, lr_schedule, decay_steps
        ),
        loss=LOSS,
        # A metric object, not the string "accuracy", and the optimizer's slots
        # built now: variables that Keras creates while it traces the first
        # training step each leave two `cond` functions in TensorFlow's global
        # context that are never freed, about 4 MB per fit of a small network.
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        steps_per_execution=STEPS_PER_EXECUTION,
        # Keras's "auto" skips XLA on CPU-only machines, where its compile time
        # (seconds) outweighs what it saves, and uses it on a GPU.
        jit_compile="auto",
    )
    model.optimizer.build(model.trainable_variables)


def build_model(estimator_params, build_layers, meta, compile_kwargs):
    """scikeras build function: the estimator's layers plus our compile settings.

    Module-level (bound with :func:`functools.partial`) so fitted estimators
    pickle without pickling the estimator itself. ``build_layers`` draws a
    seed for each random layer from ``params["next_seed"]``.
    """
    params = dict(estimator_params, next_seed=seed_source(estimator_params["seed"]))
    inputs = keras.Input(shape=params["input_shape"])
    # Pixels are scaled inside the network, batch by batch: the data set is
    # handed to Keras as it came (uint8 images stay uint8, a quarter of the
    # bytes that Keras copies into a tensor at every fit).
    x = inputs
    if params["pixel_scale"] != 1.0:
        x = keras.layers.Rescaling(params["pixel_scale"], name="pixel_scale")(x)
    model = keras.Model(inputs, build_layers(x, meta["n_classes_"], params))
    compile_model(
        model,
        **{
            key: params[key]
            for key in (
                "optimizer",
                "learning_rate",
                "momentum",
                "lr_schedule",
                "decay_steps",
            )
        },
    )
    return model


def make_keras_classifier(build_fn, *, batch_size, verbose):
    """Wrap a model-building function in a scikeras classifier.

    ``build_fn(meta, compile_kwargs)`` builds and compiles the Keras model; labels
    reach scikeras already encoded as ``0..n_classes-1``. Seeding is the caller's
    job (:func:`seeded`).
    """
    configure_tensorflow()
    return KerasClassifier(
        model=build_fn,
        loss=LOSS,
        batch_size=batch_size,
        verbose=verbose,
        shuffle=True,
    )


def fit_keras_classifier(engine, X, y, *, epochs, callbacks=(), **fit_kwargs):
    """``engine.fit`` with per-call callbacks.

    scikeras 0.13 drops ``callbacks`` given to ``fit`` and reads its own
    ``callbacks`` parameter only when it builds the model, so the callbacks of
    this call (early stopping on this call's validation split) are set directly.
    """
    engine._fit_callbacks = list(callbacks)
    return engine.fit(X, y, epochs=epochs, **fit_kwargs)


# Rows per call into the network at predict time: large enough that the
# per-call cost is negligible, small enough to bound a CNN's activations.
PREDICT_ROWS = 1024


def predict_rows(model, X):
    """``model``'s outputs for ``X``, computed ``PREDICT_ROWS`` rows at a time.

    Keras's ``predict`` unrolls ``steps_per_execution`` batches into one graph:
    256 copies of the network, 4-5 s of tracing that every newly fitted model
    would pay at its first prediction (in a grid search, at every scoring).
    ``predict_on_batch`` traces the network once.
    """
    return np.concatenate(
        [
            model.predict_on_batch(X[start : start + PREDICT_ROWS])
            for start in range(0, X.shape[0], PREDICT_ROWS)
        ]
    )


# Batches of training images over which batch norm's statistics are recomputed:
# enough for estimates within a percent or so, a fraction of an epoch's cost.
BATCH_NORM_BATCHES = 100


def _layer_chain(model):
    """The layers of ``model`` after its input, if each feeds the next only."""
    layers = model.layers
    if not layers or not isinstance(layers[0], keras.layers.InputLayer):
        return None
    try:
        for previous, layer in zip(layers, layers[1:]):
            if layer.input is not previous.output:
                return None
        if layers[-1].output is not model.outputs[0]:
            return None
    except (AttributeError, ValueError):  # a layer used twice, or unused
        return None
    return layers[1:]


def recompute_batch_norm(model, X, batch_size, *, seed=None):
    """Set batch norm's moving statistics from the trained network ("precise BN").

    Keras's moving averages (momentum 0.9) lag the weights, and a network
    trained for a few dozen steps predicts from statistics that are mostly
    their initial values. Here each ``BatchNormalization`` layer gets the
    average of its batch means and variances over up to ``BATCH_NORM_BATCHES``
    random batches of ``X`` — the statistics it normalized with in training —
    computed with the final weights, with every other layer in inference mode
    (no dropout, no augmentation). Only for networks that are a chain of
    layers, as ours are; other models keep Keras's moving averages.
    """
    norms = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    chain = _layer_chain(model) if norms else None
    if not chain:
        return
    n_rows = min(X.shape[0], BATCH_NORM_BATCHES * batch_size)
    if n_rows >= batch_size:
        n_rows -= n_rows % batch_size  # full batches, as in training
    rows = np.random.default_rng(seed).permutation(X.shape[0])[:n_rows]
    totals = {id(layer): [0.0, 0.0] for layer in norms}
    for start in range(0, n_rows, batch_size):
        x = tf.cast(X[np.sort(rows[start : start + batch_size])], tf.float32)
        weight = int(x.shape[0])
        for layer in chain:
            if isinstance(layer, keras.layers.BatchNormalization):
                axis = layer.axis % len(x.shape)
                axes = [i for i in range(len(x.shape)) if i != axis]
                mean, variance = tf.nn.moments(tf.cast(x, tf.float32), axes)
                totals[id(layer)][0] += weight * mean
                totals[id(layer)][1] += weight * variance
                x = layer(x, training=True)
            else:
                x = layer(x, training=False)
    for layer in norms:
        mean, variance = totals[id(layer)]
        layer.moving_mean.assign(mean / n_rows)
        layer.moving_variance.assign(variance / n_rows)


def new_estimator(cls):
    """Unpickling entry point of fitted networks: see ``__reduce_ex__``."""
    return cls.__new__(cls)
