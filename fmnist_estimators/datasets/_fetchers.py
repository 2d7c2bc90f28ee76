"""Fetchers of the full Fashion-MNIST and MNIST datasets.

Fashion-MNIST: Han Xiao, Kashif Rasul and Roland Vollgraf (2017), Zalando
Research, https://github.com/zalandoresearch/fashion-mnist (MIT license).
MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges,
http://yann.lecun.com/exdb/mnist/.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch

from .._sklearn_compat import Interval, StrOptions, validate_params
from ._base import load_descr, resolve_data_home
from ._download import RemoteFileMetadata, fetch_file
from ._idx import read_idx

FASHION_MNIST_TARGET_NAMES = (
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
)
MNIST_TARGET_NAMES = tuple(str(digit) for digit in range(10))

FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# Checksums are those of the *uncompressed* files, so that re-compressed
# copies (such as Debian's) are accepted.
FASHION_MNIST_FILES = {
    "train_images": RemoteFileMetadata(
        filename="train-images-idx3-ubyte.gz",
        mirrors=FASHION_MNIST_MIRRORS,
        sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        n_bytes=47_040_016,
    ),
    "train_labels": RemoteFileMetadata(
        filename="train-labels-idx1-ubyte.gz",
        mirrors=FASHION_MNIST_MIRRORS,
        sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        n_bytes=60_008,
    ),
    "test_images": RemoteFileMetadata(
        filename="t10k-images-idx3-ubyte.gz",
        mirrors=FASHION_MNIST_MIRRORS,
        sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        n_bytes=7_840_016,
    ),
    "test_labels": RemoteFileMetadata(
        filename="t10k-labels-idx1-ubyte.gz",
        mirrors=FASHION_MNIST_MIRRORS,
        sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        n_bytes=10_008,
    ),
}
MNIST_FILES = {
    "train_images": RemoteFileMetadata(
        filename="train-images-idx3-ubyte.gz",
        mirrors=MNIST_MIRRORS,
        sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        n_bytes=47_040_016,
    ),
    "train_labels": RemoteFileMetadata(
        filename="train-labels-idx1-ubyte.gz",
        mirrors=MNIST_MIRRORS,
        sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        n_bytes=60_008,
    ),
    "test_images": RemoteFileMetadata(
        filename="t10k-images-idx3-ubyte.gz",
        mirrors=MNIST_MIRRORS,
        sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        n_bytes=7_840_016,
    ),
    "test_labels": RemoteFileMetadata(
        filename="t10k-labels-idx1-ubyte.gz",
        mirrors=MNIST_MIRRORS,
        sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        n_bytes=10_008,
    ),
}

# Read-only copies installed by distribution packages, searched after the
# data folder (Debian: ``apt-get install dataset-fashion-mnist``).
FASHION_MNIST_SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)
MNIST_SYSTEM_DIRS = ()

FASHION_MNIST_FOLDER = "fashion-mnist"
MNIST_FOLDER = "mnist"
_FASHION_MNIST_HINT = (
    ", or install the Debian package dataset-fashion-mnist "
    "(apt-get install dataset-fashion-mnist)"
)
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}
_FETCH_PARAMS = {
    "subset": [StrOptions(set(_SUBSETS))],
    "data_home": [str, os.PathLike, None],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
    "n_retries": [Interval(Integral, 0, None, closed="left")],
    "delay": [Interval(Real, 0.0, None, closed="left")],
}


def _check_images_and_labels(images, labels, images_name, labels_name, n_classes):
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_name}: expected uint8 images of shape (n, 28, 28), got "
            f"{images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_name}: expected uint8 labels of shape (n,), got "
            f"{labels.dtype} of shape {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{labels_name} holds {labels.shape[0]} labels but {images_name} "
            f"holds {images.shape[0]} images"
        )
    if labels.size and labels.max() >= n_classes:
        raise ValueError(
            f"{labels_name}: labels must be in [0, {n_classes - 1}], got {labels.max()}"
        )


def _fetch_idx_dataset(
    *,
    files,
    folder,
    system_dirs,
    target_names,
    descr_file_name,
    dataset,
    hint,
    subset,
    data_home,
    download_if_missing,
    return_X_y,
    n_retries,
    delay,
):
    folder = os.path.join(resolve_data_home(data_home), folder)
    options = dict(
        folder=folder,
        system_dirs=system_dirs,
        download_if_missing=download_if_missing,
        n_retries=n_retries,
        delay=delay,
        dataset=dataset,
        hint=hint,
    )
    all_images, all_labels = [], []
    for part in _SUBSETS[subset]:
        images_path, raw_images = fetch_file(files[f"{part}_images"], **options)
        labels_path, raw_labels = fetch_file(files[f"{part}_labels"], **options)
        images = read_idx(raw_images, name=images_path)
        labels = read_idx(raw_labels, name=labels_path)
        _check_images_and_labels(
            images, labels, images_path, labels_path, len(target_names)
        )
        all_images.append(images)
        all_labels.append(labels)

    images = all_images[0] if len(all_images) == 1 else np.concatenate(all_images)
    target = np.concatenate(all_labels).astype(np.int64)
    data = images.reshape(images.shape[0], -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=np.array(target_names),
        DESCR=load_descr(descr_file_name),
    )


# Parameters and errors the two fetchers share, written once (see _fill_doc).
_COMMON_PARAMETERS = """\
    data_home : str or path-like, default=None
        Download and cache folder. By default the ``FMNIST_ESTIMATORS_DATA``
        environment variable, else ``~/fmnist_estimators_data``; see
        :func:`get_data_home`.

    download_if_missing : bool, default=True
        If False, raise an error instead of downloading when a file is not
        available locally.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    n_retries : int, default=3
        Number of retries of each mirror on network errors, server errors and
        interrupted transfers.

    delay : float, default=1.0
        Seconds between retries.

"""

_RAISES = """\
    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download_if_missing`` is False. The message
        gives the expected path.
    OSError
        If a download failed on every mirror (the message lists the URLs tried
        and where to place the file by hand), if the data folder is not
        writable, or if a cached file is corrupt and ``download_if_missing``
        is False. No partial file is ever left in the data folder.

"""


def _fill_doc(func):
    """Insert the shared docstring fragments into ``func.__doc__``."""
    func.__doc__ = func.__doc__.replace(
        "    {common_parameters}\n\n", _COMMON_PARAMETERS
    ).replace("    {raises}\n\n", _RAISES)
    return func


@_fill_doc
@validate_params(_FETCH_PARAMS, prefer_skip_nested_validation=True)
def fetch_fashion_mnist(
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    n_retries=3,
    delay=1.0,
):
    """Load the Fashion-MNIST dataset (classification), downloading if needed.

    Fashion-MNIST holds 28x28 grey-scale images of Zalando articles in ten
    classes, split into 60,000 training and 10,000 test images.

    =================   ===========================
    Classes                                      10
    Samples per class       6,000 train, 1,000 test
    Samples total                            70,000
    Dimensionality                              784
    Features                   integers 0-255 (uint8)
    =================   ===========================

    Each of the four files is looked up in
    ``<data_home>/fashion-mnist/``, then in the read-only copy of the Debian
    package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist/``),
    and is otherwise downloaded from the official mirrors into
    ``<data_home>/fashion-mnist/``. Every file is verified by the SHA-256 of
    its uncompressed content (once per process and file).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load: the 60,000 training images, the 10,000 test
        images, or all 70,000 (training images first, then test images).

    {common_parameters}

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype uint8
            The images, flattened row by row.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images (a view of ``data``).
        target : ndarray of shape (n_samples,), dtype int64
            The class of each image, from 0 to 9.
        target_names : ndarray of shape (10,), dtype str
            The class names, ``"T-shirt/top"`` to ``"Ankle boot"``.
        DESCR : str
            The description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    {raises}

    See Also
    --------
    load_fashion_mnist_sample : A stratified 6,000-image sample shipped with
        the package, available offline.
    fetch_mnist : The same loader for the MNIST digits.

    Notes
    -----
    A corrupt file in the data folder is reported with a warning and
    downloaded again. A corrupt system copy is skipped with a warning and left
    untouched.

    Examples
    --------
    >>> from fmnist_estimators.datasets import fetch_fashion_mnist
    >>> fmnist = fetch_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> fmnist.data.shape  # doctest: +SKIP
    (10000, 784)
    >>> fmnist.target_names[fmnist.target[:3]]  # doctest: +SKIP
    array(['Ankle boot', 'Pullover', 'Trouser'], dtype='<U11')
    >>> X, y = fetch_fashion_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((60000, 784), (60000,))
    """
    return _fetch_idx_dataset(
        files=FASHION_MNIST_FILES,
        folder=FASHION_MNIST_FOLDER,
        system_dirs=FASHION_MNIST_SYSTEM_DIRS,
        target_names=FASHION_MNIST_TARGET_NAMES,
        descr_file_name="fashion_mnist.rst",
        dataset="Fashion-MNIST",
        hint=_FASHION_MNIST_HINT,
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        n_retries=n_retries,
        delay=delay,
    )


@_fill_doc
@validate_params(_FETCH_PARAMS, prefer_skip_nested_validation=True)
def fetch_mnist(
    *,
    subset="train",
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    n_retries=3,
    delay=1.0,
):
    """Load the MNIST handwritten digits (classification), downloading if needed.

    MNIST holds 28x28 grey-scale images of handwritten digits, split into
    60,000 training and 10,000 test images.

    =================   ===========================
    Classes                                      10
    Samples per class     ~6,000 train, ~1,000 test
    Samples total                            70,000
    Dimensionality                              784
    Features                   integers 0-255 (uint8)
    =================   ===========================

    Each of the four files is looked up in ``<data_home>/mnist/`` and is
    otherwise downloaded from the mirrors (ossci-datasets, cvdf-datasets,
    yann.lecun.com) into that folder. Every file is verified by the SHA-256 of
    its uncompressed content (once per process and file).

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load: the 60,000 training images, the 10,000 test
        images, or all 70,000 (training images first, then test images).

    {common_parameters}

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, 784), dtype uint8
            The images, flattened row by row.
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images (a view of ``data``).
        target : ndarray of shape (n_samples,), dtype int64
            The digit shown in each image.
        target_names : ndarray of shape (10,), dtype str
            The class names, ``"0"`` to ``"9"``.
        DESCR : str
            The description of the dataset.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    {raises}

    See Also
    --------
    fetch_fashion_mnist : The same loader for Fashion-MNIST.

    Examples
    --------
    >>> from fmnist_estimators.datasets import fetch_mnist
    >>> mnist = fetch_mnist(subset="all")  # doctest: +SKIP
    >>> mnist.images.shape  # doctest: +SKIP
    (70000, 28, 28)
    >>> mnist.target[:5]  # doctest: +SKIP
    array([5, 0, 4, 1, 9])
    """
    return _fetch_idx_dataset(
        files=MNIST_FILES,
        folder=MNIST_FOLDER,
        system_dirs=MNIST_SYSTEM_DIRS,
        target_names=MNIST_TARGET_NAMES,
        descr_file_name="mnist.rst",
        dataset="MNIST",
        hint="",
        subset=subset,
        data_home=data_home,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        n_retries=n_retries,
        delay=delay,
    )


@validate_params(
    {"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True
)
def fashion_mnist_available(data_home=None):
    """Tell whether the four Fashion-MNIST files can be found locally.

    Looks in ``<data_home>/fashion-mnist/`` and in the system copy
    (``/usr/share/datasets/fashion-mnist/``) like :func:`fetch_fashion_mnist`,
    but never downloads, creates folders or verifies checksums, so it is
    cheap.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder to search. By default the ``FMNIST_ESTIMATORS_DATA``
        environment variable, else ``~/fmnist_estimators_data``.

    Returns
    -------
    available : bool
        True if every file exists in the data folder or in the system copy.

    See Also
    --------
    fetch_fashion_mnist : Load Fashion-MNIST, downloading it if necessary.

    Examples
    --------
    Use the full dataset where it is installed, else the embedded sample:

    >>> from fmnist_estimators.datasets import (
    ...     fashion_mnist_available, fetch_fashion_mnist, load_fashion_mnist_sample)
    >>> if fashion_mnist_available():
    ...     fmnist = fetch_fashion_mnist(subset="test", download_if_missing=False)
    ... else:
    ...     fmnist = load_fashion_mnist_sample(subset="test")
    >>> fmnist.images.shape[1:]
    (28, 28)
    """
    folder = os.path.join(resolve_data_home(data_home), FASHION_MNIST_FOLDER)
    dirs = (folder, *FASHION_MNIST_SYSTEM_DIRS)
    return all(
        any(os.path.isfile(os.path.join(d, remote.filename)) for d in dirs)
        for remote in FASHION_MNIST_FILES.values()
    )
