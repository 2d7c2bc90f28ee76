"""Small image sets shared by the tests of the Keras classifiers."""

import pytest
from threadpoolctl import threadpool_limits

from fmnist_estimators.datasets import load_fashion_mnist_sample


@pytest.fixture
def one_blas_thread():
    """One BLAS thread: multithreaded BLAS crawls on a machine whose cores are busy."""
    with threadpool_limits(1):
        yield


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
