"""Image-array input shared by every estimator (no TensorFlow here)."""

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


def flip_views(X, shape, augmentation):
    """``X`` and its mirror images: the views of flip test-time augmentation.

    Warns when the network trained without mirrored images
    (``augmentation`` other than ``"shift_flip"``): Fashion-MNIST's shoes all
    face one way, so such a network misreads their mirror images, and the
    average costs accuracy instead of adding some (the ``"fast"`` preset
    with it: 90.98 % instead of 93.27 % on a validation split).
    """
    if augmentation != "shift_flip":
        warn_user(
            "test_time_augmentation='flip' averages each image's probabilities "
            "with its mirror image's, but the network trained on unmirrored "
            f"images (augmentation={augmentation!r}): it misreads mirror "
            "images it never saw (Fashion-MNIST's shoes all face one way), and "
            "the average can cost accuracy. Train with "
            "augmentation='shift_flip', or set test_time_augmentation=None."
        )
    return [X, flip_horizontal(X, shape)]
