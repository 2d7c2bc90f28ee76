"""Fashion-MNIST image classifiers as scikit-learn estimators.

Keras networks (:class:`DenseNetClassifier`, :class:`ConvNetClassifier`) sit
beside a classical :class:`SVDSubspaceClassifier` so that scikit-learn's model
selection tools tune and compare them under one API.

TensorFlow is heavy to import, so the Keras estimators are loaded on first
access: ``import fmnist_estimators`` and the classical baseline stay light.
"""

import importlib

from ._version import __version__

__all__ = [
    "ConvNetClassifier",
    "DenseNetClassifier",
    "SVDSubspaceClassifier",
    "__version__",
]

# public name -> private module that defines it
_LAZY = {
    "DenseNetClassifier": "._dense",
    "ConvNetClassifier": "._conv",
    "SVDSubspaceClassifier": "._subspace",
}


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
