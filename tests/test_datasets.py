"""Tests of the dataset loaders: the embedded sample and the real data."""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from fmnist_estimators.datasets import (
    _fetchers,
    _sample,
    fetch_fashion_mnist,
    fetch_mnist,
    load_fashion_mnist_sample,
)

FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
SIZES = {"train": 60_000, "test": 10_000, "all": 70_000}
SAMPLE_SIZES = {"train": 5_000, "test": 1_000, "all": 6_000}


# --- embedded sample -------------------------------------------------------


@pytest.mark.parametrize("subset", ["train", "test", "all"])
def test_sample_bunch(subset):
    bunch = load_fashion_mnist_sample(subset=subset)
    n = SAMPLE_SIZES[subset]
    assert bunch.data.shape == (n, 784)
    assert bunch.images.shape == (n, 28, 28)
    assert bunch.target.shape == (n,)
    assert bunch.source_index.shape == (n,)
    assert bunch.data.dtype == np.uint8
    assert bunch.images.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.images.reshape(n, -1), bunch.data)
    assert list(bunch.target_names) == FASHION_NAMES
    assert "Zalando" in bunch.DESCR and "MIT" in bunch.DESCR
    assert 0 < bunch.data.mean() < 255


@pytest.mark.parametrize("subset, per_class", [("train", 500), ("test", 100)])
def test_sample_is_stratified_and_in_file_order(subset, per_class):
    bunch = load_fashion_mnist_sample(subset=subset)
    np.testing.assert_array_equal(np.bincount(bunch.target), [per_class] * 10)
    assert np.all(np.diff(bunch.source_index) > 0)
    assert bunch.source_index.max() < SIZES[subset]


def test_sample_all_is_train_then_test():
    train = load_fashion_mnist_sample(subset="train")
    test = load_fashion_mnist_sample(subset="test")
    both = load_fashion_mnist_sample(subset="all")
    np.testing.assert_array_equal(both.data, np.concatenate([train.data, test.data]))
    np.testing.assert_array_equal(
        both.target, np.concatenate([train.target, test.target])
    )


def test_sample_return_X_y():
    X, y = load_fashion_mnist_sample(subset="test", return_X_y=True)
    bunch = load_fashion_mnist_sample(subset="test")
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_sample_checksum_is_verified(monkeypatch):
    monkeypatch.setattr(_sample, "SAMPLE_SHA256", "0" * 64)
    with pytest.raises(OSError, match="embedded Fashion-MNIST sample .* is corrupt"):
        load_fashion_mnist_sample()


def test_sample_license_is_shipped():
    from importlib import resources

    notice = resources.files("fmnist_estimators.datasets") / "data"
    text = (notice / "LICENSE-fashion-mnist.txt").read_text(encoding="utf-8")
    assert "Copyright (c) 2017 Zalando SE" in text
    assert "Permission is hereby granted, free of charge" in text


# --- argument validation ---------------------------------------------------


@pytest.mark.parametrize(
    "loader", [fetch_fashion_mnist, fetch_mnist, load_fashion_mnist_sample]
)
def test_bad_subset(loader):
    with pytest.raises(ValueError, match="'subset' parameter") as excinfo:
        loader(subset="valid")
    for word in ["'train'", "'test'", "'all'", "Got 'valid'"]:
        assert word in str(excinfo.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"download_if_missing": "no"},
        {"return_X_y": 1.5},
        {"n_retries": -1},
        {"delay": -1.0},
        {"data_home": 3},
    ],
)
def test_bad_fetch_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        fetch_fashion_mnist(**kwargs)


def test_fetchers_take_keyword_arguments_only():
    with pytest.raises(TypeError):
        fetch_fashion_mnist("train")
    with pytest.raises(TypeError):
        load_fashion_mnist_sample("train")


# --- real Fashion-MNIST ----------------------------------------------------


@pytest.fixture(scope="module")
def fmnist_train():
    return fetch_fashion_mnist(subset="train", download_if_missing=False)


@pytest.fixture(scope="module")
def fmnist_test():
    return fetch_fashion_mnist(subset="test", download_if_missing=False)


@pytest.mark.real_data
def test_real_train(fmnist_train):
    bunch = fmnist_train
    assert bunch.data.shape == (60_000, 784)
    assert bunch.images.shape == (60_000, 28, 28)
    assert bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(bunch.target), [6_000] * 10)
    assert bunch.data.mean() == pytest.approx(72.94, abs=0.01)
    assert list(bunch.target_names) == FASHION_NAMES
    assert "Fashion-MNIST" in bunch.DESCR
    np.testing.assert_array_equal(bunch.images.reshape(60_000, -1), bunch.data)


@pytest.mark.real_data
def test_real_test(fmnist_test):
    bunch = fmnist_test
    assert bunch.data.shape == (10_000, 784)
    np.testing.assert_array_equal(np.bincount(bunch.target), [1_000] * 10)
    assert bunch.data.mean() / 255 == pytest.approx(0.2868, abs=1e-4)
    np.testing.assert_array_equal(bunch.target[:3], [9, 2, 1])


@pytest.mark.real_data
def test_real_all_and_return_X_y(fmnist_train, fmnist_test):
    X, y = fetch_fashion_mnist(subset="all", download_if_missing=False, return_X_y=True)
    assert X.shape == (70_000, 784)
    assert y.shape == (70_000,)
    np.testing.assert_array_equal(X[:60_000], fmnist_train.data)
    np.testing.assert_array_equal(X[60_000:], fmnist_test.data)
    np.testing.assert_array_equal(y, np.r_[fmnist_train.target, fmnist_test.target])


def _real_file(filename):
    from fmnist_estimators.datasets._base import resolve_data_home

    folders = [os.path.join(resolve_data_home(), "fashion-mnist")]
    folders += list(_fetchers.FASHION_MNIST_SYSTEM_DIRS)
    for folder in folders:
        path = os.path.join(folder, filename)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(filename)


@pytest.mark.real_data
@pytest.mark.parametrize("key", sorted(_fetchers.FASHION_MNIST_FILES))
def test_real_checksums(key):
    remote = _fetchers.FASHION_MNIST_FILES[key]
    with gzip.open(_real_file(remote.filename), "rb") as f:
        raw = f.read()
    assert len(raw) == remote.n_bytes
    assert hashlib.sha256(raw).hexdigest() == remote.sha256


@pytest.mark.real_data
def test_sample_matches_canonical_files(fmnist_train, fmnist_test):
    for subset, full in [("train", fmnist_train), ("test", fmnist_test)]:
        sample = load_fashion_mnist_sample(subset=subset)
        np.testing.assert_array_equal(sample.images, full.images[sample.source_index])
        np.testing.assert_array_equal(sample.target, full.target[sample.source_index])
        # The first images of each class, as documented.
        for label in range(10):
            n = 500 if subset == "train" else 100
            expected = np.flatnonzero(full.target == label)[:n]
            np.testing.assert_array_equal(
                sample.source_index[sample.target == label], expected
            )


# --- real MNIST (optional: the shared copy or FMNIST_ESTIMATORS_DATA) ------


def _mnist_data_home():
    candidates = [
        os.environ.get("FMNIST_ESTIMATORS_DATA"),
        Path(__file__).resolve().parents[2] / "shared" / "data",
    ]
    for candidate in candidates:
        if candidate and all(
            os.path.isfile(os.path.join(candidate, "mnist", remote.filename))
            for remote in _fetchers.MNIST_FILES.values()
        ):
            return str(candidate)
    return None


MNIST_HOME = _mnist_data_home()


@pytest.mark.skipif(MNIST_HOME is None, reason="real MNIST files not found")
def test_real_mnist():
    train = fetch_mnist(data_home=MNIST_HOME, download_if_missing=False)
    assert train.data.shape == (60_000, 784)
    assert train.target.dtype == np.int64
    assert train.data.mean() / 255 == pytest.approx(0.1307, abs=1e-4)
    np.testing.assert_array_equal(
        np.bincount(train.target),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
    )
    assert list(train.target_names) == [str(d) for d in range(10)]
    X, y = fetch_mnist(
        subset="test", data_home=MNIST_HOME, download_if_missing=False, return_X_y=True
    )
    assert X.shape == (10_000, 784)
    np.testing.assert_array_equal(y[:5], [7, 2, 1, 0, 4])
