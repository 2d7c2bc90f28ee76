"""Every private name of scikit-learn the package relies on, in one place.

scikit-learn's estimators are written with a few helpers that its public API
does not export (parameter constraints, ``_fit_context``, the search base
class). Each is imported here, and only here, so that a scikit-learn that
moves one breaks this module with a message naming the version, not the
estimators one by one. ``tests/test_private_names.py`` fails on any other
module that imports a private scikit-learn name.
"""

import inspect

import sklearn

_TESTED = "scikit-learn 1.6-1.9"


def _missing(name, error):
    return ImportError(
        f"fmnist_estimators needs {name} from scikit-learn, which "
        f"scikit-learn {sklearn.__version__} does not have ({error}); it was "
        f"tested with {_TESTED}. Install a tested version."
    )


try:  # parameter validation, as scikit-learn's own estimators declare it
    from sklearn.utils._param_validation import (
        HasMethods,
        Interval,
        InvalidParameterError,
        StrOptions,
        validate_params,
    )
except ImportError as error:  # pragma: no cover - depends on the version
    raise _missing("sklearn.utils._param_validation", error) from None

try:  # validates the parameters of fit; skips nested validation
    from sklearn.base import _fit_context as fit_context
except ImportError as error:  # pragma: no cover
    raise _missing("sklearn.base._fit_context", error) from None

try:  # the base class of GridSearchCV and friends
    from sklearn.model_selection._search import BaseSearchCV
except ImportError as error:  # pragma: no cover
    raise _missing("sklearn.model_selection._search.BaseSearchCV", error) from None

try:  # the constraints of BaseSearchCV's parameters, for a search that adds its own
    BASE_SEARCH_CONSTRAINTS = BaseSearchCV._parameter_constraints
except AttributeError as error:  # pragma: no cover
    raise _missing("BaseSearchCV._parameter_constraints", error) from None

try:  # cv_results_ from the fits' results, as every search of scikit-learn builds it
    format_results = BaseSearchCV._format_results
except AttributeError as error:  # pragma: no cover
    raise _missing("BaseSearchCV._format_results", error) from None


def scorer_accepts_sample_weight(scorer):
    """Whether ``scorer`` takes ``sample_weight``, as GridSearchCV decides it."""
    accepts = getattr(scorer, "_accept_sample_weight", None)  # scikit-learn >= 1.7
    if accepts is not None:
        return accepts()
    return "sample_weight" in inspect.signature(scorer).parameters


try:
    from sklearn.utils import _safe_indexing as safe_indexing
except ImportError:  # pragma: no cover - public fallback, slower on lists
    import numpy as np

    def safe_indexing(X, indices):
        """Rows ``indices`` of an array, a DataFrame or a list."""
        if hasattr(X, "iloc"):
            return X.iloc[indices]
        if hasattr(X, "shape"):
            return X[indices]
        return [X[i] for i in np.asarray(indices)]


try:
    from sklearn.utils.validation import _check_sample_weight as check_sample_weight
except ImportError as error:  # pragma: no cover
    raise _missing("sklearn.utils.validation._check_sample_weight", error) from None

try:  # a fit parameter as long as X is split with it, as GridSearchCV does
    from sklearn.utils.validation import _check_method_params as check_method_params
except ImportError:  # pragma: no cover - public fallback, same rule

    def check_method_params(X, params, indices=None):
        """``params``, each array as long as ``X`` restricted to ``indices``."""
        n_samples = len(X)
        return {
            key: safe_indexing(value, indices)
            if indices is not None
            and hasattr(value, "__len__")
            and not isinstance(value, str)
            and len(value) == n_samples
            else value
            for key, value in params.items()
        }


try:  # get_feature_names_out's input_features, checked against the fit's X
    from sklearn.utils.validation import (
        _check_feature_names_in as check_feature_names_in,
    )
except ImportError:  # pragma: no cover - public fallback, same checks
    import numpy as np

    def check_feature_names_in(estimator, input_features=None, *, generate_names=True):
        """``input_features`` if they match the fit's features, else raise."""
        names = getattr(estimator, "feature_names_in_", None)
        n_features = getattr(estimator, "n_features_in_", None)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if names is not None and not np.array_equal(names, input_features):
                raise ValueError("input_features is not equal to feature_names_in_")
            if n_features is not None and len(input_features) != n_features:
                raise ValueError(
                    "input_features should have length equal to number of "
                    f"features ({n_features}), got {len(input_features)}"
                )
            return input_features
        if names is not None or not generate_names:
            return names
        return np.asarray([f"x{i}" for i in range(n_features)], dtype=object)


__all__ = [
    "BASE_SEARCH_CONSTRAINTS",
    "BaseSearchCV",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "check_feature_names_in",
    "check_method_params",
    "check_sample_weight",
    "fit_context",
    "format_results",
    "safe_indexing",
    "scorer_accepts_sample_weight",
    "validate_params",
]
