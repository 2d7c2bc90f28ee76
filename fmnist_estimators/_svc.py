"""An SVC that predicts with matrix products: libsvm's fit, BLAS predictions."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import scipy.sparse as sp
from sklearn.svm import SVC
from sklearn.utils import gen_batches
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

__all__ = ["FastPredictSVC"]

# Test rows whose kernel values against the support vectors are computed at
# once: a block of at most this many float64 values (8 MB), so that a
# prediction of 10,000 images against 20,000 support vectors never holds the
# whole 1.6 GB kernel matrix. Blocks of 0.25-8 million values predict at the
# same speed (the matrix product dominates).
_BLOCK_VALUES = 1_000_000
_KERNELS = ("linear", "poly", "rbf", "sigmoid")


def _ovo_to_ovr(decisions, n_classes):
    """One-vs-rest decision values from one-vs-one ones, as :class:`~sklearn.svm.SVC`.

    Each class gets its one-vs-one votes plus its summed confidences squashed
    into (-1/3, 1/3), so that the confidences break ties between equal vote
    counts and never outweigh a vote: scikit-learn's
    ``decision_function_shape="ovr"``.

    Parameters
    ----------
    decisions : ndarray of shape (n_samples, n_classes * (n_classes - 1) / 2)
        One-vs-one decision values, pairs ``(0, 1), (0, 2), ..., (1, 2), ...``;
        a positive value is a vote for the pair's first class.

    n_classes : int
        Number of classes.

    Returns
    -------
    ovr : ndarray of shape (n_samples, n_classes)
    """
    decisions = np.asarray(decisions, dtype=np.float64)
    votes = np.zeros((len(decisions), n_classes))
    confidences = np.zeros((len(decisions), n_classes))
    pair = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            first_wins = decisions[:, pair] > 0
            votes[:, i] += first_wins
            votes[:, j] += ~first_wins
            confidences[:, i] += decisions[:, pair]
            confidences[:, j] -= decisions[:, pair]
            pair += 1
    return votes + confidences / (3 * (np.abs(confidences) + 1))


def _class_slices(n_support):
    """The rows of each class's support vectors in ``support_vectors_``."""
    ends = np.cumsum(n_support)
    return [slice(end - n, end) for n, end in zip(n_support, ends)]


def _pair_decisions(kernel, dual_coef, slices):
    """One-vs-one decision values (no intercept) from the kernel block.

    libsvm's layout (scikit-learn's user guide, "Multi-class classification"):
    in the pair ``(i, j)``, the support vectors of class ``i`` have their
    coefficients in row ``j - 1`` of ``dual_coef_``, those of ``j`` in row
    ``i``. Each class's support vectors take part in its ``n_classes - 1``
    pairs: one product per class gives all of them, a fifth of the work of
    one dense column per pair for 10 classes.
    """
    parts = [kernel[:, rows] @ dual_coef[:, rows].T for rows in slices]
    n_classes = len(slices)
    columns = [
        parts[i][:, j - 1] + parts[j][:, i]
        for i in range(n_classes)
        for j in range(i + 1, n_classes)
    ]
    return np.column_stack(columns)


class FastPredictSVC(SVC):
    """RBF (or any built-in kernel) SVC whose predictions are matrix products.

    The fit is :class:`~sklearn.svm.SVC`'s own (libsvm), with the same
    parameters and fitted attributes. ``predict`` and ``decision_function``
    compute the kernel between the images and the support vectors in blocks,
    with BLAS matrix products in float64, instead of libsvm's one pair at a
    time: the same decision values to about 1e-12, 5-15 times faster on a few
    hundred features (``benchmarks/bench_svc_predict.py``). The classical
    pipelines (:func:`make_pca_svc_pipeline`,
    :func:`make_patch_pca_svc_pipeline`) use it.

    Predictions go through libsvm, as in :class:`~sklearn.svm.SVC`, for a
    model fitted on a sparse matrix, a ``"precomputed"`` or callable kernel,
    or two classes.

    Parameters
    ----------
    C, kernel, degree, gamma, coef0, shrinking, probability, tol, cache_size, \
class_weight, verbose, max_iter, decision_function_shape, break_ties, \
random_state
        Those of :class:`~sklearn.svm.SVC`.

    Attributes
    ----------
    gamma_ : float
        The kernel coefficient of the fit (``gamma="scale"`` and ``"auto"``
        resolved).

    classes_, support_, support_vectors_, n_support_, dual_coef_, intercept_, \
n_features_in_, feature_names_in_
        Those of :class:`~sklearn.svm.SVC`.

    See Also
    --------
    sklearn.svm.SVC : The estimator whose fit this one is.

    Examples
    --------
    >>> from sklearn.svm import SVC
    >>> from fmnist_estimators.classical import FastPredictSVC
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X, X_test = X[:1000] / 255, X[1000:1500] / 255
    >>> fast = FastPredictSVC(C=10).fit(X, y[:1000])
    >>> plain = SVC(C=10).fit(X, y[:1000])
    >>> bool((fast.predict(X_test) == plain.predict(X_test)).all())
    True
    """

    def fit(self, X, y, sample_weight=None):
        """Fit the SVC (libsvm), and resolve its kernel coefficient.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training images.

        y : array-like of shape (n_samples,)
            Labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, as :meth:`sklearn.svm.SVC.fit`.

        Returns
        -------
        self : FastPredictSVC
            Fitted estimator.
        """
        super().fit(X, y, sample_weight=sample_weight)
        self.gamma_ = self._resolved_gamma(X)
        return self

    def _resolved_gamma(self, X):
        # SVC.fit's rule, on the array it validates (float64, C order).
        if not isinstance(self.gamma, str):
            return float(self.gamma)
        if callable(self.kernel) or self.kernel == "precomputed":
            return 0.0  # unused: libsvm predicts
        if self.gamma == "auto":
            return 1.0 / self.n_features_in_
        X = check_array(X, accept_sparse="csr", dtype=np.float64, order="C")
        if sp.issparse(X):
            variance = X.multiply(X).mean() - X.mean() ** 2
        else:
            variance = X.var()
        return 1.0 / (X.shape[1] * variance) if variance != 0 else 1.0

    def _uses_blas(self):
        return (
            self.kernel in _KERNELS
            and not sp.issparse(self.support_vectors_)
            and len(self.classes_) > 2
        )

    def _kernel(self, X, vectors, squared_norms):
        products = X @ vectors.T
        if self.kernel == "linear":
            return products
        if self.kernel == "poly":
            return (self.gamma_ * products + self.coef0) ** self.degree
        if self.kernel == "sigmoid":
            return np.tanh(self.gamma_ * products + self.coef0)
        # -gamma * |x - v|^2, in place: the block is the largest array here.
        distances = products
        distances *= 2 * self.gamma_
        distances -= self.gamma_ * np.einsum("ij,ij->i", X, X)[:, None]
        distances -= self.gamma_ * squared_norms
        np.minimum(distances, 0, out=distances)
        return np.exp(distances, out=distances)

    def _ovo_decisions(self, X):
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        vectors = self.support_vectors_
        slices = _class_slices(self.n_support_)
        squared_norms = np.einsum("ij,ij->i", vectors, vectors)
        decisions = np.empty((len(X), len(self.intercept_)))
        rows = max(1, _BLOCK_VALUES // max(len(vectors), 1))
        for block in gen_batches(len(X), rows):
            kernel = self._kernel(X[block], vectors, squared_norms)
            decisions[block] = _pair_decisions(kernel, self.dual_coef_, slices)
        return decisions + self.intercept_

    def decision_function(self, X):
        """Decision values of the images, as :meth:`sklearn.svm.SVC.decision_function`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images.

        Returns
        -------
        decisions : ndarray of shape (n_samples, n_classes) or \
(n_samples, n_classes * (n_classes - 1) / 2)
            One-vs-rest values (``decision_function_shape="ovr"``) or
            one-vs-one ones.
        """
        check_is_fitted(self)
        if not self._uses_blas():
            return super().decision_function(X)
        decisions = self._ovo_decisions(X)
        if self.decision_function_shape == "ovr":
            return _ovo_to_ovr(decisions, len(self.classes_))
        return decisions

    def predict(self, X):
        """Class labels of the images, as :meth:`sklearn.svm.SVC.predict`.

        The class with the most one-vs-one votes, the first of the tied
        classes (libsvm's rule); with ``break_ties=True``, the largest
        one-vs-rest decision value.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Class labels.
        """
        check_is_fitted(self)
        if not self._uses_blas() or (
            self.break_ties and self.decision_function_shape == "ovo"
        ):
            return super().predict(X)  # libsvm, or SVC's error for the latter
        ovr = _ovo_to_ovr(self._ovo_decisions(X), len(self.classes_))
        if not self.break_ties:
            ovr = np.floor(ovr + 0.5)  # the votes alone: ties go to the first
        return self.classes_.take(np.argmax(ovr, axis=1))
