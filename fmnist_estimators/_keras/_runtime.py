"""TensorFlow's process set-up: a quiet import, thread pools, memory growth.

The first module of the wing to import TensorFlow; every other one imports
it from here (``from ._runtime import tf``), so that the import is quiet
whichever module comes first, unpickling included.
"""

import os
import sys
from contextlib import contextmanager

from .._worker_memory import keep_memory_growth


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


def _asks_for_tensorflow_logs():
    """Whether the user wants TensorFlow's own C++ logging.

    ``TF_CPP_MIN_LOG_LEVEL=0`` asks for every log line; 1 or more is how users
    silence TensorFlow, and must not bring back the start-up lines that only
    the redirect hides.
    """
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0"


def _import_tensorflow_quietly():
    """Import TensorFlow and discover its devices without console output.

    A user who sets ``TF_CPP_MIN_LOG_LEVEL=0``, or who imported TensorFlow
    first, gets TensorFlow's own logging; any other level, or none, is quiet.
    Device discovery (where ``cuInit`` fails on a machine without a GPU) does
    not start the runtime, so thread pools can still be sized afterwards.
    """
    if "tensorflow" in sys.modules or _asks_for_tensorflow_logs():
        import tensorflow

        return tensorflow
    # The C++ logs after start-up; a level the user chose is kept.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _stderr_to_devnull():
        import tensorflow

        tensorflow.config.list_physical_devices()
    return tensorflow


tf = _import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402, F401 (the wing imports it from here)

_CONFIGURED = False


def configure_tensorflow():
    """Cap TensorFlow's thread pools to the share of cores this process owns.

    joblib's loky workers export ``OMP_NUM_THREADS = cores // n_jobs`` but
    TensorFlow ignores it (and threadpoolctl), so two workers on two cores would
    each start two compute threads and fight. The pools can only be sized before
    TensorFlow's runtime starts, which is why this runs before the first model.
    ``FMNIST_ESTIMATORS_TF_THREADS`` overrides the count. Once per process,
    it also lets a loky worker's memory grow (:func:`keep_memory_growth`).
    """
    global _CONFIGURED
    if _CONFIGURED:
        return
    _CONFIGURED = True
    # In a joblib worker (GridSearchCV's, cross_validate's), TensorFlow's
    # buffers grow once on the first fit on the full data; loky would end the
    # worker as leaking if its first task was a fit on a few images.
    keep_memory_growth()
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


# Optimizers, schedules and layers are registered so that a pickled model's
# config finds their classes again.
register = keras.saving.register_keras_serializable(package="fmnist_estimators")
