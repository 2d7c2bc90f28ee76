"""One search across model families: the pipeline and its parameter grid."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.pipeline import Pipeline

from .._subspace import SVDSubspaceClassifier
from ._names import STEP

__all__ = ["family_param_grid", "make_family_pipeline"]


def make_family_pipeline(clf=None):
    """Build a one-step pipeline whose classifier a parameter grid can swap.

    A search over ``{"clf": [SVDSubspaceClassifier(), DenseNetClassifier()]}``
    compares model families; ``"clf__<param>"`` entries tune the chosen
    family's parameters (see :func:`family_param_grid`).

    Parameters
    ----------
    clf : classifier, default=None
        The initial classifier step. ``None`` uses an
        :class:`~fmnist_estimators.SVDSubspaceClassifier`: the step should be
        a classifier even when every grid entry replaces it, because a search
        given ``cv=<int>`` picks stratified folds only when its estimator is a
        classifier.

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        ``Pipeline([("clf", clf)])``.

    See Also
    --------
    family_param_grid : The matching parameter grid.

    Examples
    --------
    >>> from sklearn.base import is_classifier
    >>> from fmnist_estimators.search import make_family_pipeline
    >>> pipe = make_family_pipeline()
    >>> pipe.steps[0][0], is_classifier(pipe)
    ('clf', True)
    """
    return Pipeline([(STEP, SVDSubspaceClassifier() if clf is None else clf)])


def family_param_grid(families):
    """Parameter grid that searches several model families in one search.

    Parameters
    ----------
    families : iterable of (estimator, dict) pairs
        Each estimator with the space of its own parameters, names unprefixed:
        lists of values for :class:`~sklearn.model_selection.GridSearchCV`, or
        lists and :mod:`scipy.stats` distributions for
        :class:`~sklearn.model_selection.RandomizedSearchCV` and
        :class:`~sklearn.model_selection.HalvingRandomSearchCV`. An empty dict
        evaluates the estimator as given.

    Returns
    -------
    param_grid : list of dict
        One dict per family, ``{"clf": [estimator], "clf__<name>": values,
        ...}``, for a search over :func:`make_family_pipeline`.

    Raises
    ------
    ValueError
        If a parameter name is not one of its estimator's parameters.

    See Also
    --------
    make_family_pipeline : The pipeline the grid applies to.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from fmnist_estimators import DenseNetClassifier, SVDSubspaceClassifier
    >>> from fmnist_estimators.search import family_param_grid
    >>> grid = family_param_grid([
    ...     (SVDSubspaceClassifier(), {"n_components": [10, 30]}),
    ...     (DenseNetClassifier(), {"learning_rate": loguniform(1e-4, 1e-2)}),
    ... ])
    >>> sorted(grid[0])
    ['clf', 'clf__n_components']
    >>> grid[1]["clf"]
    [DenseNetClassifier()]
    """
    grid = []
    for estimator, space in families:
        valid = estimator.get_params()
        unknown = sorted(set(space) - set(valid))
        if unknown:
            raise ValueError(
                f"{type(estimator).__name__} has no parameter(s) {unknown}; "
                f"valid names are {sorted(valid)}."
            )
        entry = {STEP: [estimator]}
        entry.update({f"{STEP}__{name}": values for name, values in space.items()})
        grid.append(entry)
    return grid
