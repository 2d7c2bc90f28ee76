"""A stratified sample of Fashion-MNIST shipped inside the package."""

# SPDX-License-Identifier: BSD-3-Clause

import hashlib
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

from .._sklearn_compat import StrOptions, validate_params
from ._base import load_descr
from ._fetchers import FASHION_MNIST_TARGET_NAMES

SAMPLE_FILE = "fashion_mnist_sample.npz"
# Printed by `python -m fmnist_estimators.datasets._make_sample`.
SAMPLE_SHA256 = "8512ff8f608550619b6f8c7db52c71c4133d4158c769a0923ceac83c452ff721"


def _load_sample_archive():
    """Return the arrays of the embedded archive after checking its SHA-256."""
    resource = resources.files("fmnist_estimators.datasets") / "data" / SAMPLE_FILE
    content = resource.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    if digest != SAMPLE_SHA256:
        raise OSError(
            f"The embedded Fashion-MNIST sample {SAMPLE_FILE} is corrupt: its "
            f"SHA-256 is {digest}, expected {SAMPLE_SHA256}. Reinstall "
            f"fmnist_estimators, or regenerate it with "
            f"`python -m fmnist_estimators.datasets._make_sample`."
        )
    with np.load(io.BytesIO(content), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


@validate_params(
    {"subset": [StrOptions({"train", "test", "all"})], "return_X_y": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_fashion_mnist_sample(*, subset="train", return_X_y=False):
    """Load a stratified sample of Fashion-MNIST shipped with the package.

    The sample needs no download: 5,000 training images (500 per class) and
    1,000 test images (100 per class) of the real Fashion-MNIST, stored
    compressed inside the package (about 2.5 MB). For each class it holds the
    first 500 images of the canonical training file and the first 100 of the
    canonical test file, in file order; ``source_index`` gives their rows in
    those files.

    =================   ==========================
    Classes                                     10
    Samples per class          500 train, 100 test
    Samples total                            6,000
    Dimensionality                             784
    Features                  integers 0-255 (uint8)
    =================   ==========================

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which split to load: the 5,000 training images, the 1,000 test
        images, or all 6,000 (training images first, then test images).

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

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
        source_index : ndarray of shape (n_samples,), dtype int64
            Row of each image in the canonical file it was taken from: the
            training file for training images, the test file for test images
            (with ``subset="all"``, the first 5,000 entries index the training
            file and the last 1,000 the test file).
        DESCR : str
            The description of the sample.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    Raises
    ------
    OSError
        If the embedded file does not match its recorded SHA-256.

    See Also
    --------
    fetch_fashion_mnist : The full dataset (70,000 images).

    Notes
    -----
    Fashion-MNIST is Copyright (c) 2017 Zalando SE and distributed under the
    MIT license, whose text ships as ``data/LICENSE-fashion-mnist.txt``.

    Examples
    --------
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> sample = load_fashion_mnist_sample()
    >>> sample.data.shape, sample.images.shape
    ((5000, 784), (5000, 28, 28))
    >>> sample.target_names[sample.target[:3]]
    array(['Ankle boot', 'T-shirt/top', 'T-shirt/top'], dtype='<U11')
    >>> X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    >>> X_test.shape, y_test.dtype
    ((1000, 784), dtype('int64'))
    """
    arrays = _load_sample_archive()
    parts = ("train", "test") if subset == "all" else (subset,)
    images = np.concatenate([arrays[f"{part}_images"] for part in parts])
    target = np.concatenate([arrays[f"{part}_target"] for part in parts])
    source_index = np.concatenate([arrays[f"{part}_index"] for part in parts])
    data = images.reshape(images.shape[0], -1)
    target = target.astype(np.int64)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=images,
        target=target,
        target_names=np.array(FASHION_MNIST_TARGET_NAMES),
        source_index=source_index.astype(np.int64),
        DESCR=load_descr("fashion_mnist_sample.rst"),
    )
