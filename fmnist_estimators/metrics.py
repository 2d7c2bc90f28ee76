"""How far a classifier's probabilities can be trusted: top-label calibration.

A classifier is calibrated when, among the samples it gives a top probability
near ``p``, a share ``p`` is classified correctly. Both functions here bin the
samples by that top probability (the *confidence*) and compare it with the
accuracy of each bin; they need nothing but NumPy, so they apply as well to
saved predictions as to a fitted estimator's :term:`predict_proba`.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np

__all__ = ["expected_calibration_error", "top_label_calibration_curve"]


# A softmax computed in float32 sums each term with a relative error of about
# float32's eps, so a row of n classes can miss 1 by a few eps per class. Any
# looser slack would let through rows that are not probabilities at all.
_SUM_SLACK_PER_CLASS = 4 * np.finfo(np.float32).eps


def _as_proba(proba):
    """``proba`` as float64, after checking that each row is a distribution."""
    proba = np.asarray(proba)
    if proba.dtype.kind not in "biuf":
        raise ValueError(
            f"proba must hold numbers (probabilities); got dtype {proba.dtype}."
        )
    # float16 probabilities carry their own, coarser, rounding.
    eps = np.finfo(proba.dtype).eps if proba.dtype.kind == "f" else 0.0
    proba = proba.astype(np.float64)
    if proba.ndim != 2:
        raise ValueError(
            "proba must be 2-dimensional, (n_samples, n_classes); got shape "
            f"{proba.shape}."
        )
    if not np.all(np.isfinite(proba)):
        raise ValueError("proba holds NaN or infinity; it must hold probabilities.")
    if np.any(proba < 0) or np.any(proba > 1):
        raise ValueError(
            "proba must hold probabilities in [0, 1]; got values from "
            f"{proba.min():.6g} to {proba.max():.6g}."
        )
    slack = proba.shape[1] * max(_SUM_SLACK_PER_CLASS, 4 * eps)
    sums = proba.sum(axis=1)
    wrong = np.flatnonzero(np.abs(sums - 1) > slack)
    if wrong.size:
        raise ValueError(
            f"each row of proba must sum to 1 (the probabilities of all "
            f"classes); {wrong.size} of {sums.size} rows do not, e.g. row "
            f"{wrong[0]} sums to {sums[wrong[0]]:.6g}. Pass the output of "
            "predict_proba, not decision_function or one class's column."
        )
    return proba


def _check_inputs(y_true, proba, n_bins, labels):
    """Validated ``proba``, the correctness of each top label and bin indices."""
    if not isinstance(n_bins, Integral) or isinstance(n_bins, bool) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer; got {n_bins!r}.")
    proba = _as_proba(proba)
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or y_true.shape[0] != proba.shape[0]:
        raise ValueError(
            f"y_true must be 1-dimensional with one label per row of proba "
            f"({proba.shape[0]}); got shape {y_true.shape}."
        )
    if proba.shape[0] == 0:
        raise ValueError("y_true and proba are empty: nothing to measure.")
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    if labels.shape != (proba.shape[1],):
        raise ValueError(
            f"proba has {proba.shape[1]} columns but there are {labels.size} "
            "labels (the sorted labels of y_true unless labels is given); pass "
            "labels=clf.classes_ when y_true lacks some classes."
        )
    unknown = np.setdiff1d(y_true, labels)
    if unknown.size:
        raise ValueError(
            f"y_true holds labels {unknown.tolist()} that are not in labels "
            f"{labels.tolist()}."
        )
    confidence = proba.max(axis=1)
    correct = labels[proba.argmax(axis=1)] == y_true
    # Bin m holds confidences in ((m - 1) / n_bins, m / n_bins]; a top
    # probability is at least 1 / n_classes > 0, so none is lost at 0.
    bins = np.clip(np.ceil(confidence * n_bins).astype(np.intp) - 1, 0, n_bins - 1)
    return confidence, correct, bins


def top_label_calibration_curve(y_true, proba, *, n_bins=15, labels=None):
    """Accuracy against confidence of the top label, in equal-width bins.

    The points of a multiclass reliability diagram: samples are binned by
    their largest predicted probability, and each bin gives the mean of that
    probability and the share of its samples whose most probable class is the
    true one. Points on the diagonal are perfectly calibrated; below it the
    classifier is overconfident.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, such as the output of
        :term:`predict_proba`: values in ``[0, 1]``, each row summing to 1
        up to float32 rounding. Anything else raises a ``ValueError``.

    n_bins : int, default=15
        Number of equal-width bins of ``[0, 1]``.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``proba`` (a classifier's ``classes_``).
        ``None`` takes the sorted labels of ``y_true``, which must then count
        ``n_classes``.

    Returns
    -------
    accuracy : ndarray of shape (n_nonempty_bins,)
        Share of correct top labels in each non-empty bin.

    confidence : ndarray of shape (n_nonempty_bins,)
        Mean top probability in each non-empty bin.

    counts : ndarray of shape (n_nonempty_bins,)
        Number of samples in each non-empty bin.

    See Also
    --------
    expected_calibration_error : The count-weighted mean gap of these bins.
    sklearn.calibration.calibration_curve : The binary counterpart (one
        class's probability against its frequency).

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.metrics import top_label_calibration_curve
    >>> y_true = np.array([0, 1, 1, 0])
    >>> proba = np.array([[0.9, 0.1], [0.25, 0.75], [0.65, 0.35], [0.55, 0.45]])
    >>> accuracy, confidence, counts = top_label_calibration_curve(
    ...     y_true, proba, n_bins=5
    ... )
    >>> accuracy, confidence.round(2), counts
    (array([1. , 0.5, 1. ]), array([0.55, 0.7 , 0.9 ]), array([1, 2, 1]))
    """
    confidence, correct, bins = _check_inputs(y_true, proba, n_bins, labels)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    accuracy = np.bincount(bins, weights=correct, minlength=n_bins)[filled]
    mean_confidence = np.bincount(bins, weights=confidence, minlength=n_bins)[filled]
    counts = counts[filled]
    return accuracy / counts, mean_confidence / counts, counts


def expected_calibration_error(y_true, proba, *, n_bins=15, labels=None):
    """Expected calibration error (ECE) of the top label.

    The gap between confidence and accuracy, averaged over equal-width bins
    of the largest predicted probability and weighted by the number of
    samples in each bin [1]_:

    .. math::

        \\mathrm{ECE} = \\sum_{m=1}^{M} \\frac{|B_m|}{n}
        \\left| \\mathrm{acc}(B_m) - \\mathrm{conf}(B_m) \\right|,

    where bin ``B_m`` holds the samples whose top probability lies in
    ``((m - 1) / M, m / M]``. ``0`` is perfect calibration; a classifier that
    is 95 % sure and right 85 % of the time has an ECE of about ``0.1``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.

    proba : array-like of shape (n_samples, n_classes)
        Predicted probabilities, such as the output of
        :term:`predict_proba`: values in ``[0, 1]``, each row summing to 1
        up to float32 rounding. Anything else raises a ``ValueError``.

    n_bins : int, default=15
        Number of equal-width bins ``M`` (15, as in [1]_). More bins resolve
        the curve better but leave fewer samples in each, which adds noise:
        on ``n`` samples the ECE of a perfectly calibrated classifier is of
        the order of ``sqrt(n_bins / n)``, not zero.

    labels : array-like of shape (n_classes,), default=None
        The class of each column of ``proba`` (a classifier's ``classes_``).
        ``None`` takes the sorted labels of ``y_true``, which must then count
        ``n_classes``.

    Returns
    -------
    ece : float
        Expected calibration error, in ``[0, 1]``.

    See Also
    --------
    top_label_calibration_curve : The bins behind this figure, to draw a
        reliability diagram.
    sklearn.metrics.log_loss : A proper scoring rule that rewards both
        calibration and sharpness.
    sklearn.calibration.CalibratedClassifierCV : Recalibrates the
        probabilities of any classifier.

    Notes
    -----
    The ECE measures calibration only: a classifier that predicts the class
    frequencies for every sample is perfectly calibrated and useless. Read it
    beside the accuracy, the log-loss or the ROC AUC.

    References
    ----------
    .. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On Calibration of
       Modern Neural Networks", Proc. 34th Int. Conf. on Machine Learning
       (ICML), 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.metrics import expected_calibration_error
    >>> y_true = np.array([0, 1, 1, 0])
    >>> proba = np.array([[0.9, 0.1], [0.25, 0.75], [0.65, 0.35], [0.55, 0.45]])
    >>> round(expected_calibration_error(y_true, proba, n_bins=5), 2)
    0.24
    """
    confidence, correct, bins = _check_inputs(y_true, proba, n_bins, labels)
    gaps = np.bincount(bins, weights=correct - confidence, minlength=n_bins)
    return float(np.abs(gaps).sum() / confidence.size)
