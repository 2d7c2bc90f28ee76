"""Pytest configuration shared by the test suite and the doctests."""

import pytest


def _real_fashion_mnist_available():
    from fmnist_estimators.datasets import fashion_mnist_available

    return fashion_mnist_available()


def pytest_collection_modifyitems(config, items):
    real = [item for item in items if "real_data" in item.keywords]
    if real and not _real_fashion_mnist_available():
        skip = pytest.mark.skip(
            reason="real Fashion-MNIST files not found: `apt-get install "
            "dataset-fashion-mnist` or set FMNIST_ESTIMATORS_DATA"
        )
        for item in real:
            item.add_marker(skip)
