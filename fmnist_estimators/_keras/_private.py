"""Every private name of Keras and TensorFlow the package relies on, guarded.

The speed work uses a few names that Keras and TensorFlow do not promise to
keep: Keras optimizer internals, TensorFlow's raw Adam kernel, its v1 fused
batch norm, the kernel-cache reset of its seeding, and the logits Keras's
softmax leaves on its output for the loss. Each is listed here
with what it buys, and used only here;
:func:`available` reports whether this Keras or TensorFlow still has it, and
the code that uses it falls back to Keras's public path, with one warning,
when it does not. No other module of the package reads a private Keras,
TensorFlow or scikeras name (``tests/test_private_names.py`` checks it).
"""

import contextlib
import functools
import threading

from .._warn import warn_user
from ._runtime import keras, tf

# name -> what the package loses without it (said in the fallback warning).
PRIVATE_NAMES = {
    "Optimizer._all_reduce_sum_gradients": (
        "the optimizers keep Keras's one-replica gradient all-reduce, which "
        "leaves about 1 MB of TensorFlow state behind per fit"
    ),
    "Adam._get_variable_index": "Adam uses Keras's own update (about 20 % slower)",
    "Adam._momentums": "Adam uses Keras's own update (about 20 % slower)",
    "Adam._velocities": "Adam uses Keras's own update (about 20 % slower)",
    "ArrayDataAdapter.get_tf_dataset": (
        "fits keep tf.data's autotuning, whose input pipeline can take 5 s to "
        "shut down after a fit, with the CPU idle"
    ),
    "tf.raw_ops.ResourceApplyAdam": "Adam uses Keras's own update (about 20 % slower)",
    "tf.compat.v1.nn.fused_batch_norm": (
        "batch norm runs Keras's unfused ops, about a third of a small CNN's "
        "training step on a CPU"
    ),
    "pywrap_tfe.TFE_ContextClearCaches": (
        "each seeded fit makes TensorFlow rebuild every graph it runs next "
        "(about 0.3 s for a MobileNetV2 extractor)"
    ),
    "Tensor._keras_logits": (
        "the networks' softmax outputs use TensorFlow's Softmax kernel, about "
        "5 % of a small network's training step on a 2-core CPU"
    ),
}

# Where each owner of a private name lives, for the fallback warning.
OWNERS = {
    "Optimizer": "keras.optimizers.Optimizer",
    "Adam": "keras.optimizers.Adam",
    "ArrayDataAdapter": "keras.src.trainers.data_adapters.ArrayDataAdapter",
    "pywrap_tfe": "tensorflow.python.pywrap_tfe",
    "Tensor": "keras.activations.softmax's output",
}

# Names to treat as missing, whatever Keras has: for the tests of the fallbacks.
HIDDEN = set()

_probe = {}
_warned = set()


def _probe_adam():
    """A built Adam, to look for the attributes Adam creates in ``build``."""
    if "adam" not in _probe:
        optimizer = keras.optimizers.Adam()
        optimizer.build([keras.Variable([0.0])])
        _probe["adam"] = optimizer
    return _probe["adam"]


def _array_adapter():
    """Keras's data adapter for arrays, or ``None`` where it moved."""
    try:
        from keras.src.trainers.data_adapters import array_data_adapter
    except ImportError:
        return None
    return getattr(array_data_adapter, "ArrayDataAdapter", None)


def _pywrap_tfe():
    """TensorFlow's eager C API bindings, or ``None`` where they moved."""
    try:
        from tensorflow.python import pywrap_tfe
    except ImportError:
        return None
    return pywrap_tfe


def _tensorflow_function(name):
    """TensorFlow's function at ``name`` ("tf.raw_ops.X"), or ``None``."""
    found = tf
    for part in name.split(".")[1:]:
        found = getattr(found, part, None)
    return found


def _qualified(name):
    """``name`` as the user would import it, for the fallback warning."""
    if name.startswith("tf."):
        return "tensorflow" + name[2:]
    owner, attribute = name.split(".")
    return f"{OWNERS[owner]}.{attribute}"


def _has(name):
    if name.startswith("tf."):
        return _tensorflow_function(name) is not None
    owner, attribute = name.split(".")
    if owner == "Optimizer":
        return hasattr(keras.optimizers.Optimizer, attribute)
    if owner == "ArrayDataAdapter":
        return hasattr(_array_adapter(), attribute)
    if owner == "pywrap_tfe":
        return hasattr(_pywrap_tfe(), attribute)
    if owner == "Tensor":
        return _keras_takes_marked_logits()
    return hasattr(_probe_adam(), attribute)


def available(*names):
    """Whether this Keras has every one of ``names`` (keys of PRIVATE_NAMES).

    The first time a name is found missing, warn once what is lost.
    """
    missing = [name for name in names if name in HIDDEN or not _has(name)]
    for name in missing:
        if name not in _warned:
            _warned.add(name)
            warn_user(
                f"{_qualified(name)} is not in Keras {keras.__version__} with "
                f"TensorFlow {tf.__version__}: {PRIVATE_NAMES[name]}. "
                "fmnist_estimators was tested with Keras 3.7-3.15 and "
                "TensorFlow 2.16-2.21.",
                RuntimeWarning,
            )
    return not missing


# -- optimizers --------------------------------------------------------------------


class OneReplicaAllReduce:
    """Optimizer mixin: no gradient all-reduce without a ``tf.distribute`` strategy.

    Overrides ``Optimizer._all_reduce_sum_gradients``. With one replica the
    sum is the gradients themselves, and Keras's all-reduce would register a
    custom gradient in TensorFlow's global registry at every trace, keeping
    each fit's training graph alive (about 1 MB per fit). Where Keras no
    longer has the method, this override is never called and Keras's own
    path runs (``available`` warns once).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._one_replica = available("Optimizer._all_reduce_sum_gradients")

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if self._one_replica and not tf.distribute.has_strategy():
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)


# What fused_adam_step needs, beyond a variable with a resource handle.
FUSED_ADAM_NAMES = (
    "Adam._get_variable_index",
    "Adam._momentums",
    "Adam._velocities",
    "tf.raw_ops.ResourceApplyAdam",
)


def fused_adam_step(adam, gradient, variable, learning_rate):
    """Apply Adam's update of ``variable`` with one fused TensorFlow kernel.

    The update rule is ``keras.optimizers.Adam.update_step``'s (``adam``'s
    moments, ``beta_1``, ``beta_2``, ``epsilon``, and ``amsgrad`` off), in
    one ``ResourceApplyAdam`` op instead of a dozen. Call it only where
    ``available(*FUSED_ADAM_NAMES)`` and ``variable`` has a ``handle``.
    """
    dtype = variable.dtype
    index = adam._get_variable_index(variable)
    step = tf.cast(adam.iterations + 1, dtype)
    beta_1, beta_2 = tf.cast(adam.beta_1, dtype), tf.cast(adam.beta_2, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle,
        m=adam._momentums[index].value.handle,
        v=adam._velocities[index].value.handle,
        beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step),
        lr=tf.cast(learning_rate, dtype),
        beta1=beta_1,
        beta2=beta_2,
        epsilon=tf.cast(adam.epsilon, dtype),
        grad=tf.cast(gradient, dtype),
    )


# -- layers ------------------------------------------------------------------------


def fused_batch_norm(x, scale, offset, **kwargs):
    """TensorFlow's fused batch norm kernel: ``(y, mean, variance)``.

    ``tf.compat.v1.nn.fused_batch_norm``, the only public spelling of the
    fused op; call it only where ``available("tf.compat.v1.nn.fused_batch_norm")``.
    """
    return tf.compat.v1.nn.fused_batch_norm(x, scale, offset, **kwargs)


# -- softmax outputs that carry their logits -------------------------------------------


def mark_logits(probabilities, logits):
    """``probabilities``, marked as the softmax of ``logits`` for Keras's losses.

    Keras's ``softmax`` activation leaves its input on its output as
    ``_keras_logits``, and Keras's cross-entropies then compute the loss
    from the logits (stable, and one fused op). A softmax of other ops
    keeps that only with the same mark. Call it only where
    ``available("Tensor._keras_logits")``; an eager tensor takes no
    attribute, as in Keras, and is returned unmarked.
    """
    try:
        probabilities._keras_logits = logits
    except AttributeError:
        pass
    return probabilities


@functools.cache
def _keras_takes_marked_logits():
    """Whether Keras's cross-entropy reads the logits :func:`mark_logits` leaves.

    Checked by what it does, in a graph: of logits ``(0, 40)``, class 0
    has a loss of 40 from the logits, and of ``-log(epsilon)`` = 16.1 from
    the clipped probabilities.
    """

    @tf.function(autograph=False)
    def loss():
        logits = tf.constant([[0.0, 40.0]])
        exponentials = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
        probabilities = exponentials / tf.reduce_sum(exponentials, -1, keepdims=True)
        marked = mark_logits(probabilities, logits)
        return keras.losses.sparse_categorical_crossentropy(tf.constant([0]), marked)

    with tf.init_scope():  # eagerly, also when first asked while tracing
        return bool(loss().numpy()[0] > 20.0)


# -- input pipelines without autotuning ------------------------------------------------

_pipelines = threading.local()
_install_lock = threading.Lock()


def _install_untuned_switch():
    """Make Keras's array pipelines drop autotuning where a thread asks.

    Keras builds ``model.fit``'s tf.data pipeline itself, with a parallel map
    and prefetching tuned by tf.data's autotuning. The autotuning's thread
    can hold the iterator's destruction at the end of a fit for 5 s with the
    CPU idle (seen in a third of short fits on a 2-core machine), and costs
    CPU every epoch; with it off the pipeline keeps a parallel map over the
    cores and one batch of prefetch, and an epoch is as fast.
    """
    adapter = _array_adapter()
    with _install_lock:
        original = adapter.get_tf_dataset
        if getattr(original, "untuned_switch", False):
            return

        @functools.wraps(original)
        def get_tf_dataset(self):
            dataset = original(self)
            if getattr(_pipelines, "untuned", False):
                options = tf.data.Options()
                options.autotune.enabled = False
                dataset = dataset.with_options(options)
            return dataset

        get_tf_dataset.untuned_switch = True
        adapter.get_tf_dataset = get_tf_dataset


@contextlib.contextmanager
def untuned_input_pipelines():
    """Within the block, in this thread, Keras fits arrays without autotuning.

    Other threads, and the user's own Keras fits, keep Keras's pipeline.
    """
    if not available("ArrayDataAdapter.get_tf_dataset"):
        yield
        return
    _install_untuned_switch()
    before = getattr(_pipelines, "untuned", False)
    _pipelines.untuned = True
    try:
        yield
    finally:
        _pipelines.untuned = before


# -- seeding without a kernel-cache reset ---------------------------------------------

_seeding = threading.local()


def _install_cache_keeper():
    """Make TensorFlow's kernel-cache reset skippable, in the thread that asks.

    ``tf.random.set_seed`` (and so ``keras.utils.set_random_seed``) empties
    the eager context's cache of kernels, compiled functions included, so
    that an eager stateful random op starts its sequence again. Every
    ``tf.function`` then instantiates its graph again at its next call: a
    shared backbone extractor, already traced, pays 0.3 s per seeded fit.
    """
    pywrap_tfe = _pywrap_tfe()
    with _install_lock:
        original = pywrap_tfe.TFE_ContextClearCaches
        if getattr(original, "keeper", False):
            return

        def clear_caches(handle):
            if not getattr(_seeding, "keep", False):
                original(handle)

        clear_caches.keeper = True
        pywrap_tfe.TFE_ContextClearCaches = clear_caches


def set_random_seed(seed):
    """``keras.utils.set_random_seed(seed)``, or for ``None`` TensorFlow's
    seed unset, with TensorFlow's compiled kernels kept.

    Python's, NumPy's, Keras's and TensorFlow's seeds are set as Keras sets
    them; only the cache reset is skipped (in this thread). What it resets,
    the state of eager stateful random ops, is not what a fit draws from: a
    fit's graphs are new, with their random state new, and Keras's layers draw
    from their own seed generators.
    """
    keep = available("pywrap_tfe.TFE_ContextClearCaches")
    if keep:
        _install_cache_keeper()
    _seeding.keep = keep
    try:
        if seed is None:
            tf.random.set_seed(None)
        else:
            keras.utils.set_random_seed(seed)
    finally:
        _seeding.keep = False
