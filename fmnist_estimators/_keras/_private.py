"""Every private name of Keras the package relies on, each behind a guard.

The speed work uses a few names that Keras does not promise to keep. Each is
listed here with what it buys; :func:`available` reports whether this Keras
still has it, and the code that uses it falls back to Keras's public path,
with one warning, when it does not. No other module of the package reads a
private Keras, TensorFlow or scikeras name.
"""

import contextlib
import functools
import threading
import warnings

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
}

# Where each owner of a private name lives, for the fallback warning.
OWNERS = {
    "Optimizer": "keras.optimizers.Optimizer",
    "Adam": "keras.optimizers.Adam",
    "ArrayDataAdapter": "keras.src.trainers.data_adapters.ArrayDataAdapter",
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


def _has(name):
    owner, attribute = name.split(".")
    if owner == "Optimizer":
        return hasattr(keras.optimizers.Optimizer, attribute)
    if owner == "ArrayDataAdapter":
        return hasattr(_array_adapter(), attribute)
    return hasattr(_probe_adam(), attribute)


def available(*names):
    """Whether this Keras has every one of ``names`` (keys of PRIVATE_NAMES).

    The first time a name is found missing, warn once what is lost.
    """
    missing = [name for name in names if name in HIDDEN or not _has(name)]
    for name in missing:
        if name not in _warned:
            _warned.add(name)
            owner, attribute = name.split(".")
            warnings.warn(
                f"{OWNERS[owner]}.{attribute} is not in Keras {keras.__version__}: "
                f"{PRIVATE_NAMES[name]}. fmnist_estimators was tested with "
                "Keras 3.0-3.15.",
                RuntimeWarning,
                stacklevel=3,
            )
    return not missing


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
