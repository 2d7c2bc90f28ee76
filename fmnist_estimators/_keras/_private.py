"""Every private name of Keras the package relies on, each behind a guard.

The speed work uses a few names that Keras does not promise to keep. Each is
listed here with what it buys; :func:`available` reports whether this Keras
still has it, and the code that uses it falls back to Keras's public path,
with one warning, when it does not. No other module of the package reads a
private Keras, TensorFlow or scikeras name.
"""

import warnings

from ._runtime import keras

# name -> what the package loses without it (said in the fallback warning).
PRIVATE_NAMES = {
    "Optimizer._all_reduce_sum_gradients": (
        "the optimizers keep Keras's one-replica gradient all-reduce, which "
        "leaves about 1 MB of TensorFlow state behind per fit"
    ),
    "Adam._get_variable_index": "Adam uses Keras's own update (about 20 % slower)",
    "Adam._momentums": "Adam uses Keras's own update (about 20 % slower)",
    "Adam._velocities": "Adam uses Keras's own update (about 20 % slower)",
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


def _has(name):
    owner, attribute = name.split(".")
    if owner == "Optimizer":
        return hasattr(keras.optimizers.Optimizer, attribute)
    return hasattr(_probe_adam(), attribute)


def available(*names):
    """Whether this Keras has every one of ``names`` (keys of PRIVATE_NAMES).

    The first time a name is found missing, warn once what is lost.
    """
    missing = [name for name in names if name in HIDDEN or not _has(name)]
    for name in missing:
        if name not in _warned:
            _warned.add(name)
            warnings.warn(
                f"keras.optimizers.{name} is not in Keras {keras.__version__}: "
                f"{PRIVATE_NAMES[name]}. fmnist_estimators was tested with "
                "Keras 3.0-3.15.",
                RuntimeWarning,
                stacklevel=3,
            )
    return not missing
