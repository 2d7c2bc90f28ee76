"""Training any scikit-learn classifier on images and their mirror images."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._images import flatten_images, flip_horizontal, image_shape
from ._sklearn_compat import HasMethods, check_sample_weight, fit_context
from ._warn import warn_user

__all__ = ["MirrorAugmentedClassifier"]


def _estimator_has(method):
    """``available_if`` check: the fitted (or else the given) estimator has it."""

    def check(self):
        estimator = getattr(self, "estimator_", self.estimator)
        return hasattr(estimator, method)

    return check


class MirrorAugmentedClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit a classifier on the training images and their mirror images.

    Each training image is added again mirrored left to right, with its
    label (and its sample weight), and ``estimator`` is fitted on the
    doubled set: the training-time augmentation of the networks'
    ``augmentation="shift_flip"``, for a model without one, such as the
    classical pipelines of :mod:`fmnist_estimators.classical`. Predictions
    are those of the fitted estimator on the images as given. Mirroring
    suits garments, not digits or text. The fit sees twice the images: the
    patch-PCA pipeline's RBF SVC took 5.2 to 5.6 times as long.

    Parameters
    ----------
    estimator : classifier
        The scikit-learn classifier to fit; it is cloned.

    image_shape : tuple of int or None, default=None
        ``(height, width[, channels])`` of the flattened images. ``None``:
        the shape of 3-D or 4-D input, else square images where the number
        of features is a square (28 x 28 for 784). Rows that are neither
        are one column of pixels, their own mirror image: ``fit`` warns.

    Attributes
    ----------
    estimator_ : classifier
        The clone of ``estimator`` fitted on the images and their mirror
        images.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    image_shape_ : tuple of int
        ``(height, width, channels)`` of the images.

    n_features_in_ : int
        Number of features (pixels) per image.

    See Also
    --------
    fmnist_estimators.classical.make_patch_pca_svc_pipeline : The strongest
        classical model; with mirror images its test accuracy moved by
        +0.22 and -0.05 points (two seeds), within the seed-to-seed spread.

    Examples
    --------
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from fmnist_estimators.classical import MirrorAugmentedClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    >>> model = MirrorAugmentedClassifier(KNeighborsClassifier()).fit(X, y)
    >>> model.estimator_.n_samples_fit_  # 5,000 images and their mirror images
    10000
    >>> model.image_shape_
    (28, 28, 1)
    >>> score = model.score(X_test, y_test)  # 0.805 (0.802 without mirrors)
    >>> bool(score > 0.78)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "image_shape": [tuple, list, None],
    }

    def __init__(self, estimator, *, image_shape=None):
        self.estimator = estimator
        self.image_shape = image_shape

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit a clone of ``estimator`` on ``X`` and its mirror images.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \
height, width[, channels])
            Training images, flattened or not.

        y : array-like of shape (n_samples,)
            Labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each image, given to its mirror image too.

        Returns
        -------
        self : MirrorAugmentedClassifier
            The fitted classifier.
        """
        X, shape = flatten_images(X)
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        given = self.image_shape if self.image_shape is not None else shape
        self.image_shape_ = image_shape(X.shape[1], given)
        if self.image_shape_[1] == 1:
            warn_user(
                f"Images of shape {self.image_shape_[:2]} are one pixel wide: "
                "their mirror images are themselves, and the training set is "
                "only doubled. Pass image_shape=(height, width)."
            )
        params = {}
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, X)
            params["sample_weight"] = np.concatenate([weights, weights])
        X = np.concatenate([X, flip_horizontal(X, self.image_shape_)])
        self.estimator_ = clone(self.estimator).fit(X, np.concatenate([y, y]), **params)
        self.classes_ = self.estimator_.classes_
        return self

    def _validated(self, X):
        check_is_fitted(self)
        X, _ = flatten_images(X)
        return validate_data(self, X, reset=False)

    def predict(self, X):
        """Labels predicted by ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \
height, width[, channels])
            Images.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        X = self._validated(X)  # NotFittedError before estimator_ is read
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \
height, width[, channels])
            Images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        X = self._validated(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \
height, width[, channels])
            Images.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log probabilities, columns in the order of ``classes_``.
        """
        X = self._validated(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision values from ``estimator_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, \
height, width[, channels])
            Images.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``estimator_.decision_function`` of the images.
        """
        X = self._validated(X)
        return self.estimator_.decision_function(X)
