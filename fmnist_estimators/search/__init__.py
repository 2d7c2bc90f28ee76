"""Search across model families, halve on epochs, and summarise the results.

scikit-learn's searches tune the parameters of one estimator. To compare
*families* — the SVD subspace baseline against a dense network against a
convolutional one — put the classifier itself in a one-step pipeline and let
the parameter grid swap it:

>>> from sklearn.model_selection import GridSearchCV
>>> from fmnist_estimators import DenseNetClassifier, SVDSubspaceClassifier
>>> from fmnist_estimators.search import family_param_grid, make_family_pipeline
>>> grid = family_param_grid([
...     (SVDSubspaceClassifier(), {"n_components": [10, 30]}),
...     (DenseNetClassifier(epochs=5), {"hidden_layer_sizes": [(64,), (128,)]}),
... ])
>>> search = GridSearchCV(make_family_pipeline(), grid, cv=3)

The same grid, with lists replaced by :mod:`scipy.stats` distributions, drives
:class:`~sklearn.model_selection.RandomizedSearchCV`.
:class:`HyperbandSearchCV` runs successive halving (and Hyperband's brackets)
on training epochs under cross-validation, continuing every surviving model
instead of retraining it, round by round or asynchronously (ASHA);
:func:`make_epoch_halving_search` builds scikit-learn's halving search on
epochs, which retrains.
:func:`results_table` / :func:`format_table` turn any fitted search into a
table of mean ± standard deviation over the folds, and :func:`dask_backend`
runs the fits of a search on a ``dask.distributed`` cluster.

One job per module: ``_family`` (the family pipeline and grid),
``_hyperband`` and ``_halving`` (searches on epochs), ``_schedule``
(Hyperband's brackets and rounds, and who goes on, arithmetic only),
``_rounds`` (the fits of one round), ``_asha`` (asynchronous promotion),
``_workers`` (pools that take fits one at a time), ``_names`` (which
parameter is the epochs), ``_results`` (tables), ``_dask`` (the cluster).
"""

# SPDX-License-Identifier: BSD-3-Clause

from ._dask import dask_backend
from ._family import family_param_grid, make_family_pipeline
from ._halving import make_epoch_halving_search
from ._hyperband import HyperbandSearchCV
from ._names import STEP as STEP  # the step name, as before the split
from ._results import format_params, format_table, results_table

__all__ = [
    "HyperbandSearchCV",
    "dask_backend",
    "family_param_grid",
    "format_params",
    "format_table",
    "make_epoch_halving_search",
    "make_family_pipeline",
    "results_table",
]
