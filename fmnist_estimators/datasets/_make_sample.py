"""Regenerate the embedded Fashion-MNIST sample, ``data/fashion_mnist_sample.npz``.

The sample holds, for each class, the first 500 images of the canonical
training file and the first 100 images of the canonical test file, in file
order (Fashion-MNIST is stored in random order, so this is a uniform
stratified sample that needs no random number generator). The source row
indices are stored beside the images.

Run from a machine that has the real files (Debian ``dataset-fashion-mnist``
or a data folder)::

    python -m fmnist_estimators.datasets._make_sample [--data-home DIR]

then copy the printed ``SAMPLE_SHA256`` into ``_sample.py``. The archive is
written reproducibly (fixed member order and timestamps), so the same zlib
rebuilds the same bytes.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import hashlib
import io
import os
import zipfile

import numpy as np

from ._fetchers import fetch_fashion_mnist
from ._sample import SAMPLE_FILE, SAMPLE_SHA256

N_PER_CLASS = {"train": 500, "test": 100}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def select_indices(target, n_per_class):
    """Return the first ``n_per_class`` indices of each class, in file order.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.datasets._make_sample import select_indices
    >>> select_indices(np.array([1, 0, 1, 1, 0, 0]), 2)
    array([0, 1, 2, 4])
    """
    chosen = []
    for label in np.unique(target):
        members = np.flatnonzero(target == label)
        if members.size < n_per_class:
            raise ValueError(
                f"class {label} has {members.size} samples, fewer than "
                f"n_per_class={n_per_class}"
            )
        chosen.append(members[:n_per_class])
    return np.sort(np.concatenate(chosen))


def make_sample_arrays(data_home=None, download_if_missing=False):
    """Return the arrays of the sample, keyed by their name in the archive."""
    arrays = {}
    for subset, n_per_class in N_PER_CLASS.items():
        fmnist = fetch_fashion_mnist(
            subset=subset, data_home=data_home, download_if_missing=download_if_missing
        )
        index = select_indices(fmnist.target, n_per_class)
        arrays[f"{subset}_images"] = fmnist.images[index]
        arrays[f"{subset}_target"] = fmnist.target[index].astype(np.uint8)
        arrays[f"{subset}_index"] = index.astype(np.int32)
    return arrays


def write_npz(path, arrays):
    """Write ``arrays`` as a compressed ``.npz`` archive, byte-reproducibly."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array))
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(
                info,
                buffer.getvalue(),
                compress_type=zipfile.ZIP_DEFLATED,
                compresslevel=9,
            )


def main(argv=None):
    default_output = os.path.join(os.path.dirname(__file__), "data", SAMPLE_FILE)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-home", default=None, help="data folder (default: as the fetchers)"
    )
    parser.add_argument("--output", default=default_output, help="archive to write")
    parser.add_argument(
        "--download",
        action="store_true",
        help="download the files if they are not found locally",
    )
    args = parser.parse_args(argv)

    arrays = make_sample_arrays(args.data_home, download_if_missing=args.download)
    write_npz(args.output, arrays)
    with open(args.output, "rb") as f:
        content = f.read()
    digest = hashlib.sha256(content).hexdigest()
    print(f"wrote {args.output} ({len(content):,} bytes)")
    for name, array in arrays.items():
        array_digest = hashlib.sha256(np.ascontiguousarray(array).tobytes())
        print(
            f"  {name:13s} {array.dtype!s:6s} {str(array.shape):14s} "
            f"sha256 {array_digest.hexdigest()}"
        )
    print(f'SAMPLE_SHA256 = "{digest}"')
    if digest != SAMPLE_SHA256:
        print("(differs from SAMPLE_SHA256 in _sample.py: update it)")


if __name__ == "__main__":
    main()
