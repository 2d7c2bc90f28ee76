"""Fashion-MNIST image classifiers as scikit-learn estimators.

Keras networks (:class:`DenseNetClassifier`, :class:`ConvNetClassifier`) sit
beside a classical :class:`SVDSubspaceClassifier` so that scikit-learn's model
selection tools tune and compare them under one API.

TensorFlow is imported on the first ``fit`` of a Keras estimator, not here:
``import fmnist_estimators``, the datasets and the classical baseline stay
light.
"""

from ._conv import PRESETS as CONVNET_PRESETS
from ._conv import ConvNetClassifier
from ._dense import DenseNetClassifier
from ._subspace import SVDSubspaceClassifier
from ._version import __version__

__all__ = [
    "CONVNET_PRESETS",
    "ConvNetClassifier",
    "DenseNetClassifier",
    "SVDSubspaceClassifier",
    "__version__",
]
