"""Image-array input shared by every estimator (no TensorFlow here)."""

import itertools
import math

import numpy as np
import scipy.sparse as sp

from ._warn import warn_user


def flatten_images(X):
    """Return ``(X, image_shape)`` with image arrays flattened to rows.

    Arrays of shape (n, height, width) or (n, height, width, channels) become
    (n, height * width * channels), so ``n_features_in_`` counts pixels and
    predict accepts flattened and unflattened images alike. Anything else
    (2-D arrays, DataFrames, sparse matrices, bad input) is returned unchanged,
    with ``image_shape=None``, for ``validate_data`` to check and explain.
    """
    if sp.issparse(X) or not hasattr(X, "__len__"):
        return X, None
    try:
        ndim = np.ndim(X)
    except ValueError:  # ragged nested lists: validate_data says what is wrong
        return X, None
    if ndim <= 2:
        return X, None
    X = np.asarray(X)
    return X.reshape(X.shape[0], -1), X.shape[1:]


def image_shape(n_features, shape=None):
    """(height, width, channels) of a flattened image of ``n_features`` values.

    ``shape`` is the image shape when known (from the input's dimensions or
    a parameter); otherwise square images are assumed where they can be.
    """
    if shape is not None:
        full = tuple(shape) + (1,) * (3 - len(shape))
        if math.prod(full) != n_features:
            raise ValueError(
                f"Images of shape {tuple(shape)} have {math.prod(full)} "
                f"values, but X has {n_features} features."
            )
        return full
    side = math.isqrt(n_features)
    if side * side == n_features:
        return (side, side, 1)
    # Not a square image: treat the features as one column of pixels.
    return (n_features, 1, 1)


def flip_horizontal(X, shape):
    """Rows of flattened images of ``shape`` (height, width, channels),
    mirrored left to right: the second view of flip test-time augmentation."""
    n_samples = X.shape[0]
    images = X.reshape((n_samples,) + tuple(shape))
    return images[:, :, ::-1].reshape(n_samples, -1)


# The shifts of shift test-time augmentation, (rows, columns): every shift
# by at most one pixel each way. On a validation sixth of Fashion-MNIST these
# eight bought more than the four along the axes alone (see the user guide).
ONE_PIXEL_SHIFTS = tuple(
    (rows, columns) for rows in (-1, 0, 1) for columns in (-1, 0, 1) if rows or columns
)


def shift_image(X, shape, rows, columns):
    """Rows of flattened images of ``shape`` (height, width, channels),
    moved down by ``rows`` and right by ``columns`` pixels (negative: up,
    left). Edge pixels fill the uncovered border, as the training shifts
    (Keras's ``RandomTranslation``, which reflects the image at its edge)
    fill it for shifts of one pixel."""
    n_samples = X.shape[0]
    images = X.reshape((n_samples,) + tuple(shape))
    height, width = shape[:2]
    pad_rows, pad_columns = abs(rows), abs(columns)
    padded = np.pad(
        images,
        ((0, 0), (pad_rows, pad_rows), (pad_columns, pad_columns), (0, 0)),
        mode="edge",
    )
    top, left = pad_rows - rows, pad_columns - columns
    moved = padded[:, top : top + height, left : left + width]
    return moved.reshape(n_samples, -1)


# The test_time_augmentation settings whose views each augmentation trains
# the network on (None: the image itself only).
TRAINED_VIEWS = {
    None: (None,),
    "shift": (None, "shift"),
    "shift_flip": (None, "flip", "shift", "shift_flip"),
}


def test_time_views(X, shape, kind, augmentation):
    """``X`` and its other views for test-time augmentation ``kind``, one
    at a time (an iterator).

    ``"flip"``: the image and its mirror image. ``"shift"``: the image and
    its eight shifts by at most one pixel along each axis. ``"shift_flip"``:
    those nine and their mirror images. Warns when the network did not train
    on such views (``augmentation``): Fashion-MNIST's shoes all face one way,
    so a network trained without mirrored images misreads their mirror
    images, and the average costs accuracy instead of adding some (the
    ``"fast"`` preset with ``"flip"``: 90.98 % instead of 93.27 % on a
    validation split); shifted images cost less, but still some.
    """
    mirror = kind in ("flip", "shift_flip")
    shift = kind in ("shift", "shift_flip")
    trained = TRAINED_VIEWS[augmentation]
    unseen = []
    mirror_unseen = mirror and "flip" not in trained
    if mirror_unseen:
        unseen.append("mirror images")
    if shift and "shift" not in trained:
        unseen.append("shifted images")
    if unseen:
        why = " (Fashion-MNIST's shoes all face one way)" if mirror_unseen else ""
        warn_user(
            f"test_time_augmentation={kind!r} averages each image's "
            f"probabilities with those of its {' and '.join(unseen)}, but the "
            f"network trained with augmentation={augmentation!r}: it misreads "
            f"views it never saw{why}, and "
            "the average can cost accuracy. Train with "
            "augmentation='shift_flip', or ask only for views it trained on: "
            f"test_time_augmentation={' or '.join(map(repr, trained))}."
        )
    return _views(X, shape, ONE_PIXEL_SHIFTS if shift else (), mirror)


def _views(X, shape, moves, mirror):
    # One view at a time: eighteen copies of a large X at once could exhaust
    # the memory that one prediction needs.
    for view in itertools.chain([X], (shift_image(X, shape, *move) for move in moves)):
        yield view
        if mirror:
            yield flip_horizontal(view, shape)


# Whitening's floor on each eigenvalue (airbench's 5e-4 for pixels in [0, 1]):
# the directions of least variance are amplified at most 1/sqrt(5e-4) ≈ 45×,
# not by the inverse of an eigenvalue that is nearly zero.
WHITENING_EPS = 5e-4


def whitening_filters(images, size, *, scale=1.0, n_images=5_000, seed=None):
    """Convolution filters that whiten the ``size`` x ``size`` patches of
    ``images``, and their negatives: a Keras kernel (size, size, channels,
    2 * size * size * channels).

    Each filter is an eigenvector of the patches' (uncentred) covariance,
    divided by the square root of its eigenvalue plus ``WHITENING_EPS``: on
    these images the filters' outputs are uncorrelated, each of variance
    ``eigenvalue / (eigenvalue + WHITENING_EPS)`` (nearly 1). The negatives
    keep both signs of each output through a ReLU. ``images`` are
    (n, height, width, channels) arrays of unscaled pixels, multiplied by
    ``scale``; up to ``n_images`` of them (drawn with ``seed``) are used.
    """
    n = images.shape[0]
    if n > n_images:
        rows = np.random.default_rng(seed).choice(n, n_images, replace=False)
        images = images[np.sort(rows)]
    dim = size * size * images.shape[-1]
    cov, count = np.zeros((dim, dim)), 0
    # In chunks: the patches of 5,000 images at once would take hundreds of MB.
    for start in range(0, images.shape[0], 500):
        chunk = images[start : start + 500].astype(np.float64) * scale
        windows = np.lib.stride_tricks.sliding_window_view(
            chunk, (size, size), axis=(1, 2)
        )
        # (n, rows, cols, channels, size, size) -> rows of (size, size,
        # channels) patches, the order of a Keras kernel's first three axes.
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, dim)
        cov += patches.T @ patches
        count += patches.shape[0]
    values, vectors = np.linalg.eigh(cov / max(count - 1, 1))
    values = np.clip(values, 0.0, None)
    scaled = vectors / np.sqrt(values + WHITENING_EPS)
    kernel = np.concatenate([scaled, -scaled], axis=1)
    return kernel.reshape(size, size, images.shape[-1], 2 * dim).astype(np.float32)
