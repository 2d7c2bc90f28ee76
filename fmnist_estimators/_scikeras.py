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
from contextlib import contextmanager

# TensorFlow prints a banner of C++ log lines on import; keep the user's console
# clean unless they asked for the logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from scikeras.wrappers import KerasClassifier  # noqa: E402

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


def make_keras_classifier(build_fn, *, batch_size, verbose):
    """Wrap a model-building function in a scikeras classifier.

    ``build_fn(meta, compile_kwargs)`` builds and compiles the Keras model; labels
    reach scikeras already encoded as ``0..n_classes-1``. Seeding is the caller's
    job (:func:`seeded`).
    """
    configure_tensorflow()
    return KerasClassifier(
        model=build_fn,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
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
