"""Small image sets shared by the tests of the Keras classifiers, Python in a
new process, the thread share of each test worker, and the slow tests first."""

import os
import subprocess
import sys
import textwrap

import pytest
from threadpoolctl import threadpool_limits

from fmnist_estimators.datasets import load_fashion_mnist_sample


@pytest.fixture
def one_blas_thread():
    """One BLAS thread: multithreaded BLAS crawls on a machine whose cores are busy."""
    with threadpool_limits(1):
        yield


def _run_python(code, **env):
    """Run ``code`` in a new Python process, under the user's TensorFlow
    logging settings (none, unless ``env`` gives them): the completed process,
    stdout and stderr as text, after checking that it succeeded."""
    logging = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    environ = {k: v for k, v in os.environ.items() if k not in logging}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**environ, **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture
def run_python():
    """``run_python(code, **env)``: ``code`` in a new process (each one pays
    TensorFlow's start-up, seconds of CPU, if it imports it)."""
    return _run_python


@pytest.fixture(scope="session")
def images():
    """600 uint8 sample images, flattened, and labels of all 10 classes."""
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[:600], y[:600]


@pytest.fixture(scope="session")
def tiny_images(images):
    """200 of them, enough to build and train a network for one epoch."""
    X, y = images
    return X[:200], y[:200]


def pytest_configure(config):
    """Give each of pytest-xdist's workers its share of the cores.

    TensorFlow and BLAS otherwise start one compute thread per core in every
    worker: with ``-n 2`` on two cores, four threads fight over two, and the
    tests' many small fits spend their time switching. Set in the worker
    process only, so that the processes the tests start see the defaults.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers < 2 or "PYTEST_XDIST_WORKER" not in os.environ:
        return
    import tensorflow as tf

    threads = max(1, (os.cpu_count() or 1) // workers)
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    config._thread_limits = threadpool_limits(threads)


def pytest_collection_modifyitems(config, items):
    """Run the tests marked slow first.

    pytest-xdist deals the tests out in their order: a long test dealt last
    (the docs build takes minutes) keeps one worker busy while the other has
    finished. First, they overlap with the many short tests instead.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
