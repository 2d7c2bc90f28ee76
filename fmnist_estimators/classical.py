"""Ready-made classical (non-neural) models for Fashion-MNIST images.

Every factory returns an unfitted scikit-learn :class:`~sklearn.pipeline.Pipeline`
that takes flattened images (``uint8`` pixels or floats, one row per image) and
can be cloned, grid-searched and pickled like any estimator.

========================================================  ======  =======  =======
Pipeline (full data: 60,000 training, 10,000 test)        Test    fit (s)  predict
                                                          acc.             10k (s)
========================================================  ======  =======  =======
:func:`make_subspace_pipeline` (k=30)                     84.0 %  0.7      0.05
:func:`make_pca_svc_pipeline` (PCA 50)                    89.1 %  16-120   10-19
:func:`make_patch_pca_svc_pipeline` (8 filters, PCA 200)  93.0 %  115-146  30-36
:func:`make_patch_pca_svc_pipeline` (defaults)            93.6 %  257-267  25-56
========================================================  ======  =======  =======

Fashion-MNIST figures measured by ``benchmarks/bench_svd.py`` (results in
``benchmarks/results/``) on a shared 2-core machine. The subspace times are
single-threaded; the SVC times were taken while other jobs kept the machine
overloaded (load average 4-8), so they vary between runs and are upper
bounds. The defaults of :func:`make_patch_pca_svc_pipeline` were chosen on a
50,000/10,000 split of the training set (93.3 % validation accuracy). On
MNIST digits they reach 98.8 %, the subspace classifier 95.7 %.
:class:`MirrorAugmentedClassifier` trains any of them on the images and their
mirror images too: ``MirrorAugmentedClassifier(make_patch_pca_svc_pipeline(24,
n_components=500))`` scored 93.70 % and 93.54 % on the test set (seeds 0 and 1;
fits of 660-670 s on a faster 2-core machine), against 93.48 % and 93.59 % in
113-120 s without the mirror images.

The SVC times are those of the bare SVC (``probability=False``). By default
the SVC pipelines also have :term:`predict_proba`: their SVC is calibrated
by :class:`~sklearn.calibration.CalibratedClassifierCV` on 3-fold
cross-validated decision values, which multiplies the fit time of the SVC
step by 2 to 3 and leaves the predictions those of the same SVC (ties of
its one-vs-one votes apart); see ``probability`` in each factory.
"""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.validation import check_is_fitted, validate_data

from ._mirror import MirrorAugmentedClassifier
from ._sklearn_compat import Interval, fit_context, validate_params
from ._subspace import SVDSubspaceClassifier
from ._svc import FastPredictSVC

__all__ = [
    "FastPredictSVC",
    "MirrorAugmentedClassifier",
    "PatchPCAFeatures",
    "make_patch_pca_svc_pipeline",
    "make_pca_svc_pipeline",
    "make_subspace_pipeline",
    "svc_params",
]

# Images convolved per batch in `PatchPCAFeatures.transform`. A batch's
# patches (25 floats per pixel: 2.5 MB for 32 images of 28 x 28) and maps stay
# in the CPU's caches: 2.9 times faster than batches of 1,024 (80 MB).
_BATCH_SIZE = 32
# Folds of the cross-validated decision values that the SVC's probabilities
# are calibrated on: each adds an SVC fit on 2/3 of the data. Three folds give
# the temperature (one parameter) thousands of held-out samples for about 2.3
# times the fit of the SVC alone (1 + 3 * (2/3)**2, as the fit time grows
# about quadratically with the number of samples; 2.1-2.7 measured on the
# embedded sample); five folds would make it 4.2 times.
_CALIBRATION_CV = 3


def _to_float32(X):
    """Cast to float32 (module level, so that pipelines pickle)."""
    return np.asarray(X, dtype=np.float32)


def _scale_pixels(X):
    """Map 0-255 pixel values to 0-1 floats."""
    return np.asarray(X, dtype=np.float32) / np.float32(255)


_PROBABILITY_DOC = """\
    probability : bool, default=True
        Whether the pipeline has :term:`predict_proba`, as a soft
        :class:`~sklearn.ensemble.VotingClassifier`, ``neg_log_loss`` or
        ``roc_auc_ovr`` scoring need. ``True`` makes the last step a
        :class:`~sklearn.calibration.CalibratedClassifierCV` of the SVC with
        ``method="temperature"`` and ``ensemble=False``, scikit-learn's
        replacement for the deprecated ``SVC(probability=True)``: the SVC
        fitted on all the data makes the predictions, and the probabilities
        are a softmax of its one-vs-rest decision values, whose temperature
        is fitted on 3-fold cross-validated decision values.

        The decision rule is then that of ``SVC(break_ties=True)``: the class
        with the most one-vs-one votes, ties broken by the decision values
        rather than by class order. Predictions differ from
        ``probability=False`` on tied votes only (3 of the 1,000 test images
        of the embedded sample, for the same accuracy within 0.1 %).

        Cost: three more SVC fits on 2/3 of the data each, 2 to 3 times the
        fit time of the SVC step (2.1-2.7 measured on the embedded sample);
        predict time grows by the softmax only (15 % on the sample).
        ``False`` keeps the bare SVC, the fastest fit, without
        probabilities. The SVC's parameters are ``svc__estimator__C``
        with probabilities, ``svc__C`` without (:func:`svc_params` renames
        them); ``svc__cv`` sets the folds.\
"""


def _fill_probability_doc(func):
    """Insert the shared ``probability`` parameter into ``func.__doc__``."""
    func.__doc__ = func.__doc__.replace("    {probability}", _PROBABILITY_DOC)
    return func


def _pca_step(n_components, random_state):
    """The pipelines' PCA of a few hundred features.

    Exact, from their covariance: faster than the randomized solver that
    "auto" picks below ten images per feature (a 5,000-image sample), and what
    "auto" picks above.
    """
    return PCA(n_components, svd_solver="covariance_eigh", random_state=random_state)


def _svc_step(C, probability):
    """The RBF SVC, calibrated for :term:`predict_proba` when ``probability``.

    Its predictions are matrix products (:class:`FastPredictSVC`): the
    calibration's cross-validated decision values and a test set's labels
    cost a few seconds instead of libsvm's minutes on the full data.
    """
    svc = FastPredictSVC(C=C)
    if not probability:
        return svc
    return CalibratedClassifierCV(
        svc, method="temperature", cv=_CALIBRATION_CV, ensemble=False
    )


class PatchPCAFeatures(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Convolutional features from PCA filters of image patches.

    The first stage of PCANet [1]_: the filters are the leading principal
    components of ``patch_size x patch_size`` patches sampled from the training
    images (each patch minus its own mean). Every image is convolved with the
    filters (zero padding, output the size of the image), each response is
    split into its positive and negative parts, averaged over
    ``pool_size x pool_size`` blocks, and raised to ``power``.

    Parameters
    ----------
    image_shape : tuple of int, default=(28, 28)
        Height and width of the images; each row of ``X`` is one image
        flattened row by row, so ``n_features`` must equal their product.

    patch_size : int, default=5
        Side of the square patches and filters (odd, so that filters centre
        on a pixel).

    n_filters : int, default=16
        Number of PCA filters. Each gives two feature maps (positive and
        negative part).

    pool_size : int, default=4
        Side of the average-pooling blocks. Feature maps are zero-padded to a
        multiple of it.

    power : float, default=0.5
        Exponent applied to the pooled responses; ``0.5`` (square root)
        compresses large responses and helps kernel classifiers downstream.

    n_patches : int, default=100_000
        Number of random patches the filters are learnt from.

    random_state : int, RandomState instance or None, default=None
        Seeds the choice of patches. Pass an int for reproducible filters.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, patch_size * patch_size)
        The PCA filters, in order of decreasing explained variance.

    explained_variance_ : ndarray of shape (n_filters,)
        Variance of the mean-removed patches along each filter.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    See Also
    --------
    make_patch_pca_svc_pipeline : These features followed by PCA and an RBF
        support vector classifier.
    sklearn.feature_extraction.image.extract_patches_2d : Patch extraction
        from a single image.

    Notes
    -----
    Features are linear in the pixel scale before ``power``: scaling ``X`` by
    a constant scales every feature by the same factor to the ``power``, which
    a following :class:`~sklearn.preprocessing.StandardScaler` removes.

    References
    ----------
    .. [1] T.-H. Chan, K. Jia, S. Gao, J. Lu, Z. Zeng and Y. Ma, "PCANet: A
       Simple Deep Learning Baseline for Image Classification?", IEEE
       Transactions on Image Processing 24(12), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from fmnist_estimators.classical import PatchPCAFeatures
    >>> X = np.random.default_rng(0).integers(0, 256, size=(20, 784))
    >>> features = PatchPCAFeatures(n_filters=4, random_state=0).fit(X)
    >>> features.filters_.shape
    (4, 25)
    >>> features.transform(X).shape  # 7 x 7 blocks x 4 filters x 2 signs
    (20, 392)
    """

    _parameter_constraints: dict = {
        "image_shape": [tuple],
        "patch_size": [Interval(Integral, 1, None, closed="left")],
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "power": [Interval(Real, 0, None, closed="neither")],
        "n_patches": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        image_shape=(28, 28),
        patch_size=5,
        n_filters=16,
        pool_size=4,
        power=0.5,
        n_patches=100_000,
        random_state=None,
    ):
        self.image_shape = image_shape
        self.patch_size = patch_size
        self.n_filters = n_filters
        self.pool_size = pool_size
        self.power = power
        self.n_patches = n_patches
        self.random_state = random_state

    def _check_shapes(self, n_features):
        height, width = self.image_shape
        if height * width != n_features:
            raise ValueError(
                f"image_shape={self.image_shape} needs {height * width} features "
                f"per sample; got {n_features}."
            )
        if self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be odd; got {self.patch_size}.")
        if self.n_filters > self.patch_size**2 - 1:
            raise ValueError(
                f"n_filters must be at most patch_size**2 - 1 = "
                f"{self.patch_size**2 - 1} (mean-removed patches span no more "
                f"dimensions); got {self.n_filters}."
            )

    @property
    def _n_features_out(self):
        """Number of output features, read by ``get_feature_names_out``."""
        height, width = self.image_shape
        n_blocks = -(-height // self.pool_size) * -(-width // self.pool_size)
        return n_blocks * 2 * self.filters_.shape[0]

    def _patches(self, images):
        """All patches of a batch of images, shape (n, height, width, p * p)."""
        pad = self.patch_size // 2
        padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
        windows = sliding_window_view(
            padded, (self.patch_size, self.patch_size), axis=(1, 2)
        )
        return windows.reshape(*images.shape, self.patch_size**2)

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the PCA filters from random patches of the images in `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened images.

        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_data(self, X, dtype=np.float32)
        self._check_shapes(X.shape[1])
        height, width = self.image_shape
        rng = check_random_state(self.random_state)
        n = self.n_patches
        rows = rng.randint(0, X.shape[0], n)
        tops = rng.randint(0, height, n)
        lefts = rng.randint(0, width, n)
        pad = self.patch_size // 2
        padded = np.pad(X.reshape(-1, height, width), ((0, 0), (pad, pad), (pad, pad)))
        offsets = np.arange(self.patch_size)
        patches = padded[
            rows[:, None, None],
            tops[:, None, None] + offsets[None, :, None],
            lefts[:, None, None] + offsets[None, None, :],
        ].reshape(n, -1)
        patches -= patches.mean(axis=1, keepdims=True)
        pca = PCA(n_components=self.n_filters, svd_solver="covariance_eigh")
        pca.fit(patches)
        self.filters_ = pca.components_.astype(np.float32)
        self.explained_variance_ = pca.explained_variance_
        return self

    def transform(self, X):
        """Pooled, rectified responses of the images to the PCA filters.

        Parameters
        ----------
        X : array-like of shape (n_samples, height * width)
            Flattened images.

        Returns
        -------
        features : ndarray of shape (n_samples, n_blocks * 2 * n_filters)
            ``float32`` features, ``n_blocks = ceil(height / pool_size) *
            ceil(width / pool_size)``, ordered by block row, block column,
            then filter (positive parts first).
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        height, width = self.image_shape
        pool = self.pool_size
        n_rows, n_cols = -(-height // pool), -(-width // pool)
        # The filters are orthogonal to constant patches, so filtering a patch
        # and filtering it minus its mean give the same response.
        filters = self.filters_.T
        out = np.empty((X.shape[0], n_rows * n_cols * 2 * self.n_filters), np.float32)
        for batch in gen_batches(X.shape[0], _BATCH_SIZE):
            images = X[batch].reshape(-1, height, width)
            response = self._patches(images) @ filters
            maps = np.concatenate(
                [np.maximum(response, 0), np.maximum(-response, 0)], axis=-1
            )
            pad_rows, pad_cols = n_rows * pool - height, n_cols * pool - width
            maps = np.pad(maps, ((0, 0), (0, pad_rows), (0, pad_cols), (0, 0)))
            pooled = maps.reshape(len(images), n_rows, pool, n_cols, pool, -1).mean(
                axis=(2, 4)
            )
            out[batch] = (pooled**self.power).reshape(len(images), -1)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def make_subspace_pipeline(n_components=30, *, center=True, random_state=None):
    """Build the SVD subspace classifier for raw images, computing in float32.

    Parameters
    ----------
    n_components : int, array-like or dict, default=30
        Dimension of each class subspace, see :class:`SVDSubspaceClassifier`.

    center : bool, default=True
        Whether each class is modelled by an affine subspace through its mean.

    random_state : int, RandomState instance or None, default=None
        Passed to the classifier (used only by the randomized SVD).

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        Steps ``"float32"`` (cast) and ``"subspace"``
        (:class:`SVDSubspaceClassifier`). No pixel scaling is needed: the
        classifier is invariant to the scale of ``X``.

    See Also
    --------
    SVDSubspaceClassifier : The classifier itself.

    Examples
    --------
    >>> from fmnist_estimators.classical import make_subspace_pipeline
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    >>> model = make_subspace_pipeline(n_components=20).fit(X, y)
    >>> round(model.score(X_test, y_test), 2)
    0.85
    """
    return Pipeline(
        [
            (
                "float32",
                FunctionTransformer(_to_float32, feature_names_out="one-to-one"),
            ),
            (
                "subspace",
                SVDSubspaceClassifier(
                    n_components, center=center, random_state=random_state
                ),
            ),
        ]
    )


@_fill_probability_doc
def make_pca_svc_pipeline(
    n_components=50, *, C=10.0, probability=True, random_state=None
):
    """Build the PCA + RBF support vector classifier baseline.

    Pixels are scaled to 0-1, projected on their ``n_components`` leading
    principal components, and classified by :class:`~sklearn.svm.SVC` with an
    RBF kernel (``gamma="scale"``). On full Fashion-MNIST, ``n_components=50``
    gives 89.1 % test accuracy.

    Parameters
    ----------
    n_components : int, default=50
        Number of principal components kept.

    C : float, default=10.0
        Regularisation parameter of the SVC.

    {probability}

    random_state : int, RandomState instance or None, default=None
        Seeds the PCA solver.

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        Steps ``"scale"``, ``"pca"`` and ``"svc"`` (the calibrated SVC, or
        the bare one when ``probability=False``).

    See Also
    --------
    make_patch_pca_svc_pipeline : A stronger model built on PCA filters.

    Examples
    --------
    >>> from fmnist_estimators.classical import make_pca_svc_pipeline
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    >>> model = make_pca_svc_pipeline(random_state=0).fit(X, y)
    >>> score = model.score(X_test, y_test)  # 0.856 on the embedded sample
    >>> bool(score > 0.84)
    True
    >>> proba = model.predict_proba(X_test)  # rows sum to 1, argmax is predict
    >>> bool((model.classes_[proba.argmax(axis=1)] == model.predict(X_test)).all())
    True
    """
    return Pipeline(
        [
            (
                "scale",
                FunctionTransformer(_scale_pixels, feature_names_out="one-to-one"),
            ),
            ("pca", _pca_step(n_components, random_state)),
            ("svc", _svc_step(C, probability)),
        ]
    )


@_fill_probability_doc
def make_patch_pca_svc_pipeline(
    n_filters=16,
    *,
    patch_size=5,
    pool_size=4,
    n_components=300,
    C=10.0,
    probability=True,
    random_state=None,
):
    """Build a PCANet-style model: PCA filters, pooling, PCA and an RBF SVC.

    The strongest classical model of the package: 93.6 % test accuracy on
    Fashion-MNIST (98.8 % on MNIST) with the defaults. Images are convolved with
    PCA filters of their patches (:class:`PatchPCAFeatures`), the rectified
    responses are pooled and square-rooted, standardised, reduced by PCA, and
    classified by an RBF :class:`~sklearn.svm.SVC` (``gamma="scale"``).

    Parameters
    ----------
    n_filters : int, default=16
        Number of PCA patch filters.

    patch_size : int, default=5
        Side of the square filters.

    pool_size : int, default=4
        Side of the average-pooling blocks (4 gives 7 x 7 blocks on 28 x 28
        images).

    n_components : int, default=300
        Number of principal components of the pooled features kept for the
        SVC.

    C : float, default=10.0
        Regularisation parameter of the SVC.

    {probability}

    random_state : int, RandomState instance or None, default=None
        Seeds the patch sampling and the PCA solver.

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        Steps ``"patches"``, ``"scale"``, ``"pca"`` and ``"svc"`` (the
        calibrated SVC, or the bare one when ``probability=False``); inputs are
        28 x 28 images flattened to 784 features, raw 0-255 values or any
        other scale.

    See Also
    --------
    PatchPCAFeatures : The feature extractor.
    make_pca_svc_pipeline : PCA of the raw pixels and an RBF SVC.

    Examples
    --------
    >>> from fmnist_estimators.classical import make_patch_pca_svc_pipeline
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    >>> model = make_patch_pca_svc_pipeline(random_state=0).fit(X, y)
    >>> score = model.score(X_test, y_test)  # 0.906 on the embedded sample
    >>> bool(score > 0.89)
    True
    """
    return Pipeline(
        [
            (
                "patches",
                PatchPCAFeatures(
                    patch_size=patch_size,
                    n_filters=n_filters,
                    pool_size=pool_size,
                    random_state=random_state,
                ),
            ),
            ("scale", StandardScaler()),
            ("pca", _pca_step(n_components, random_state)),
            ("svc", _svc_step(C, probability)),
        ]
    )


@validate_params(
    {"params": [dict], "calibrated": ["boolean"], "step": [str]},
    prefer_skip_nested_validation=True,
)
def svc_params(params, *, calibrated=True, step="svc"):
    """Name the SVC's parameters for a calibrated SVC step or a bare one.

    With ``probability=True`` (the default) the last step of the SVC
    pipelines is a :class:`~sklearn.calibration.CalibratedClassifierCV` of
    the SVC, whose parameters sit one level deeper (``svc__estimator__C``)
    than those of the bare SVC of ``probability=False`` (``svc__C``). This
    renames the keys of ``params`` (parameters for ``set_params``, a grid, or
    the distributions of a search) for either form, so that one search space
    and one ``best_params_`` serve both pipelines. Other steps' parameters
    and the calibration's own (``svc__cv``) are left as they are.

    Tuning the bare SVC is a way to save time under a scorer of labels, such
    as accuracy: the calibrated SVC predicts what ``SVC(break_ties=True)``,
    fitted on the same data, predicts, so both get the same cross-validation
    scores, and the bare one fits in half the time or less. Search the bare
    pipeline, then set the best parameters on the calibrated one and fit it
    (see Examples); ``benchmarks/compare.py`` tunes its SVC pipelines so.
    Under a scorer of probabilities (``neg_log_loss``) tune the calibrated
    pipeline itself.

    Parameters
    ----------
    params : dict
        Parameter names, as ``set_params`` or a search takes them, and their
        values.

    calibrated : bool, default=True
        Name the SVC's parameters for the calibrated SVC
        (``svc__estimator__C``), or for the bare SVC (``svc__C``) when
        ``False``.

    step : str, default="svc"
        The name of the SVC step in the pipeline.

    Returns
    -------
    params : dict
        A new dict of the same values, the SVC's parameters renamed.

    Raises
    ------
    ValueError
        When ``calibrated=False`` and ``params`` sets a parameter of the
        calibration (such as ``svc__cv``), which a bare SVC does not have.

    See Also
    --------
    make_pca_svc_pipeline : PCA and an RBF SVC, calibrated by default.
    make_patch_pca_svc_pipeline : PCA filters and an RBF SVC, calibrated by
        default.

    Examples
    --------
    >>> from fmnist_estimators.classical import svc_params
    >>> space = {"pca__n_components": [20, 40], "svc__C": [1.0, 10.0]}
    >>> svc_params(space)
    {'pca__n_components': [20, 40], 'svc__estimator__C': [1.0, 10.0]}
    >>> svc_params({"svc__estimator__C": 3.0, "svc__cv": 5}, calibrated=True)
    {'svc__estimator__C': 3.0, 'svc__cv': 5}
    >>> svc_params({"svc__estimator__C": 3.0}, calibrated=False)
    {'svc__C': 3.0}

    Tune the bare SVC under accuracy, then fit the calibrated pipeline with
    the best parameters:

    >>> from sklearn.base import clone
    >>> from sklearn.model_selection import GridSearchCV
    >>> from fmnist_estimators.classical import make_pca_svc_pipeline
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> X, y = X[::20], y[::20]  # 250 images
    >>> model = make_pca_svc_pipeline(random_state=0)
    >>> bare_svc = clone(model["svc"].estimator).set_params(break_ties=True)
    >>> bare = clone(model).set_params(svc=bare_svc)
    >>> bare_grid = {"svc__C": [1.0, 10.0]}
    >>> search = GridSearchCV(bare, bare_grid, cv=2, refit=False).fit(X, y)
    >>> best = model.set_params(**svc_params(search.best_params_)).fit(X, y)
    >>> best["svc"].estimator.C == search.best_params_["svc__C"]
    True
    >>> best.predict_proba(X[:2]).shape
    (2, 10)
    """
    svc_names = FastPredictSVC().get_params()
    bare, calibrated_prefix = f"{step}__", f"{step}__estimator__"
    renamed = {}
    for name, value in params.items():
        if name.startswith(calibrated_prefix) and not calibrated:
            name = bare + name[len(calibrated_prefix) :]
        elif name.startswith(bare) and not name.startswith(calibrated_prefix):
            # the first part of the name: "C" of "svc__C"
            own = name[len(bare) :].split("__")[0]
            if own in svc_names and calibrated:
                name = calibrated_prefix + name[len(bare) :]
            elif own not in svc_names and not calibrated:
                raise ValueError(
                    f"{name!r} is a parameter of the calibration "
                    "(CalibratedClassifierCV), which a bare SVC step does not "
                    f"have; the bare SVC takes only {sorted(svc_names)} "
                    f"after {bare!r}."
                )
        renamed[name] = value
    return renamed
