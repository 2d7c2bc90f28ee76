"""Seeding: repeatable fits, without making TensorFlow rebuild its graphs.

A seeded fit seeds Python, NumPy, Keras and TensorFlow for its duration
(:func:`seeded`) and gives each random layer its own seed
(:func:`seed_source`).
"""

import random
from contextlib import contextmanager

from ._private import set_random_seed
from ._runtime import np


@contextmanager
def seeded(seed):
    """Seed Python, NumPy, TensorFlow and Keras for the block, then restore.

    scikeras's own ``random_state`` handling turns on TensorFlow's global op
    determinism, which disables XLA and, after a model with random
    augmentation layers, stays on and breaks later unseeded fits. Seeding the
    generators is enough for repeatable CPU training.

    TensorFlow's own seeding also empties its cache of compiled kernels, so
    that every graph it runs next is built again: about 0.3 s for a
    MobileNetV2 extractor, at each seeded fit and at the first prediction
    after one. The seeding here keeps the cache (see
    :func:`._private.set_random_seed`): the graphs a fit builds are new ones,
    with their own random state, so the fits repeat all the same.
    """
    if seed is None:
        yield
        return
    # keras.utils.set_random_seed seeds the legacy global NumPy state: restore it.
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002
        set_random_seed(None)


def seed_source(seed):
    """Function giving each random layer its own seed, derived from ``seed``.

    Keras seeds a layer given no seed from Python's global ``random``, which
    other threads of the process (a dask worker's event loop) also draw from;
    explicit seeds keep a seeded network repeatable wherever it is trained.
    """
    if seed is None:
        return lambda: None
    rng = np.random.default_rng(seed)
    return lambda: int(rng.integers(1, np.iinfo(np.int32).max))
