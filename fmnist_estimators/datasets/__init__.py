"""Loaders of Fashion-MNIST and MNIST, and of a sample shipped with the package.

The fetchers look for the canonical IDX files in the data folder (see
:func:`get_data_home`), then in a system copy (Debian's
``dataset-fashion-mnist``), and download them from public mirrors otherwise;
every file is verified by the SHA-256 of its uncompressed content.
"""

from ._base import get_data_home
from ._fetchers import fashion_mnist_available, fetch_fashion_mnist, fetch_mnist
from ._sample import load_fashion_mnist_sample

__all__ = [
    "fashion_mnist_available",
    "fetch_fashion_mnist",
    "fetch_mnist",
    "get_data_home",
    "load_fashion_mnist_sample",
]
