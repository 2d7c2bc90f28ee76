"""Fashion-MNIST image classifiers as scikit-learn estimators.

Keras networks (:class:`DenseNetClassifier`, :class:`ConvNetClassifier`,
pretrained ImageNet backbones under :class:`PretrainedNetClassifier`, and your
own under :class:`KerasModelClassifier`) sit beside a classical
:class:`SVDSubspaceClassifier` so that scikit-learn's model selection tools
tune and compare them under one API.

Submodules: :mod:`fmnist_estimators.datasets` (fetchers and the embedded
sample), :mod:`fmnist_estimators.classical` (ready classical pipelines),
:mod:`fmnist_estimators.metrics` (calibration of predicted probabilities),
:mod:`fmnist_estimators.search` (one search across model families, Hyperband
and successive halving on epochs, result tables, Dask) and
:mod:`fmnist_estimators.studies` (the classic studies as ready search spaces).

TensorFlow is imported on the first ``fit`` of a Keras estimator, not here:
``import fmnist_estimators``, the datasets and the classical baseline stay
light.
"""

from ._conv import PRESETS as CONVNET_PRESETS
from ._conv import ConvNetClassifier
from ._custom import KerasModelClassifier
from ._dense import DenseNetClassifier
from ._pretrained import PretrainedNetClassifier
from ._subspace import SVDSubspaceClassifier
from ._version import __version__

__all__ = [
    "CONVNET_PRESETS",
    "ConvNetClassifier",
    "DenseNetClassifier",
    "KerasModelClassifier",
    "PretrainedNetClassifier",
    "SVDSubspaceClassifier",
    "__version__",
]
