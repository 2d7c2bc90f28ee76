"""scikit-learn's estimator checks over every public estimator of the package."""

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import fmnist_estimators as fe

# Small, fast networks: the checks fit a few hundred times on tiny data.
FAST_PARAMS = {
    "DenseNetClassifier": dict(
        hidden_layer_sizes=(16,),
        epochs=20,
        batch_size=16,
        learning_rate=0.01,
        random_state=0,
    ),
    "ConvNetClassifier": dict(
        filters=(4,),
        convs_per_block=1,
        dense_units=(8,),
        epochs=20,
        batch_size=16,
        learning_rate=0.01,
        random_state=0,
    ),
}

# Checks a Keras network cannot pass, each with the reason.
EXPECTED_FAILURES = {}


def _estimators():
    for name in sorted(fe.__all__):
        obj = getattr(fe, name)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator):
            yield obj(**FAST_PARAMS.get(name, {}))


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(list(_estimators()), expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
