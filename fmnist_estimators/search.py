"""Search across model families and summarise the results.

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
:func:`make_epoch_halving_search` builds a successive-halving search whose
budget is the number of training epochs (Hyperband's idea), and
:func:`results_table` / :func:`format_table` turn any fitted search into a
table of mean ± standard deviation over the folds. :func:`dask_backend` runs
the fits of a search on a ``dask.distributed`` cluster.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import re
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ._subspace import SVDSubspaceClassifier

__all__ = [
    "dask_backend",
    "family_param_grid",
    "format_table",
    "make_epoch_halving_search",
    "make_family_pipeline",
    "results_table",
]

#: Name of the classifier step of :func:`make_family_pipeline`.
STEP = "clf"


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


def _epochs_parameter(estimator):
    """The one parameter of ``estimator`` named ``epochs`` or ``*__epochs``."""
    names = [
        name
        for name in estimator.get_params()
        if name == "epochs" or name.endswith("__epochs")
    ]
    if len(names) != 1:
        raise ValueError(
            f"Cannot tell which parameter of {type(estimator).__name__} counts "
            f"the training epochs: expected exactly one parameter named "
            f"'epochs' or '<step>__epochs', got {names}."
        )
    return names[0]


def make_epoch_halving_search(
    estimator,
    param_distributions,
    *,
    max_epochs,
    min_epochs=1,
    factor=3,
    n_candidates="exhaust",
    cv=3,
    scoring=None,
    refit=True,
    n_jobs=None,
    random_state=None,
    verbose=0,
):
    """Successive halving whose resource is the number of training epochs.

    Many candidates are trained for ``min_epochs`` epochs, the best
    ``1 / factor`` of them for ``factor`` times more, and so on up to
    ``max_epochs`` — the bracket at the heart of Hyperband. This returns a
    :class:`~sklearn.model_selection.HalvingRandomSearchCV` with
    ``resource`` set to the estimator's epochs parameter (``"epochs"`` for a
    Keras classifier, ``"clf__epochs"`` for one inside
    :func:`make_family_pipeline`), and enables scikit-learn's experimental
    halving searches on the way.

    Every round trains its candidates from scratch; the epochs of the last
    round are ``min_epochs * factor ** k``, the largest such value not above
    ``max_epochs``, so pick ``max_epochs`` of that form (1, 3, 9, 27, ...).

    Parameters
    ----------
    estimator : estimator
        A Keras classifier, or a pipeline holding exactly one.

    param_distributions : dict or list of dict
        Parameter lists or :mod:`scipy.stats` distributions, as for
        :class:`~sklearn.model_selection.RandomizedSearchCV`; must not
        include the epochs parameter.

    max_epochs : int
        Epochs of the candidates of the last round (at most).

    min_epochs : int, default=1
        Epochs of the candidates of the first round.

    factor : int, default=3
        Survival rate's inverse: each round keeps ``1 / factor`` of the
        candidates and trains them ``factor`` times longer.

    n_candidates : int or "exhaust", default="exhaust"
        Candidates of the first round; ``"exhaust"`` chooses as many as let
        the last round reach ``max_epochs``.

    cv : int, cross-validation generator or iterable, default=3
        As in :class:`~sklearn.model_selection.GridSearchCV`; an int gives
        stratified folds for a classifier. Splitters must give the same folds
        on every call (a shuffling one needs an int ``random_state``).

    scoring : str or callable, default=None
        Score to maximise; ``None`` is the estimator's accuracy.

    refit : bool, default=True
        Refit the best candidate of the last round on the whole data.

    n_jobs : int, default=None
        Fits run in parallel.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates.

    verbose : int, default=0
        Verbosity of the search.

    Returns
    -------
    search : :class:`~sklearn.model_selection.HalvingRandomSearchCV`
        Unfitted. After ``fit``, ``n_resources_`` lists the epochs of each
        round and ``best_estimator_`` is trained for the epochs of the last.

    See Also
    --------
    sklearn.model_selection.HalvingRandomSearchCV : The search returned.
    results_table : Its results, one row per candidate and round.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from fmnist_estimators import DenseNetClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.search import make_epoch_halving_search
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> search = make_epoch_halving_search(
    ...     DenseNetClassifier((16,), batch_size=128, random_state=0),
    ...     {"learning_rate": loguniform(1e-3, 1e-2)},
    ...     max_epochs=2, factor=2, cv=2, random_state=0,
    ... )
    >>> search.resource
    'epochs'
    >>> search = search.fit(X[:400], y[:400])
    >>> search.n_resources_, search.n_candidates_
    ([1, 2], [2, 1])
    >>> search.best_estimator_.epochs
    2
    """
    # Importing the module is what makes the halving searches importable.
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV(
        estimator,
        param_distributions,
        n_candidates=n_candidates,
        factor=factor,
        resource=_epochs_parameter(estimator),
        max_resources=max_epochs,
        min_resources=min_epochs,
        cv=cv,
        scoring=scoring,
        refit=refit,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=verbose,
    )


# -- results -----------------------------------------------------------------


def _estimator_name(estimator):
    """Class name of ``estimator``, of a pipeline's final step for a pipeline."""
    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return type(estimator).__name__


def _search_results(search):
    """``cv_results_`` of a fitted search, or the same built from Optuna trials.

    Returns the results dict and the name of the score (``"score"`` unless a
    multi-metric search refits on another).
    """
    metric = "score"
    if getattr(search, "multimetric_", False) and isinstance(search.refit, str):
        metric = search.refit
    if hasattr(search, "trials_"):  # optuna_integration.OptunaSearchCV
        trials = [t for t in search.trials_ if "mean_test_score" in t.user_attrs]
        results = {"params": [t.params for t in trials]}
        keys = {key for t in trials for key in t.user_attrs}
        for key in sorted(keys):
            results[key] = np.array([t.user_attrs.get(key, np.nan) for t in trials])
        return results, metric
    if hasattr(search, "cv_results_"):
        return search.cv_results_, metric
    raise TypeError(
        f"results_table needs a fitted search with cv_results_ (GridSearchCV, "
        f"RandomizedSearchCV, a halving search) or trials_ (OptunaSearchCV); "
        f"got {type(search).__name__}. Call fit first."
    )


def _mean_of(results, key, rows):
    if key not in results:
        return math.nan
    return float(np.mean([results[key][i] for i in rows]))


def _params_key(params):
    return tuple(sorted((name, repr(value)) for name, value in params.items()))


def _ranks(keys):
    """1-based ranks of sortable ``keys`` (smaller is better), ties sharing."""
    order = sorted(keys)
    return [order.index(key) + 1 for key in keys]


def results_table(search, *, average_over=None, as_frame="auto"):
    """Summarise a fitted search: one row per candidate, best first.

    Parameters
    ----------
    search : fitted search
        :class:`~sklearn.model_selection.GridSearchCV`,
        :class:`~sklearn.model_selection.RandomizedSearchCV`, a halving
        search, or ``optuna_integration.OptunaSearchCV``.

    average_over : list of str, default=None
        Parameters to pool over: candidates differing only in these (for
        example ``["random_state"]`` to average repeated trainings with
        different seeds) become one row, whose mean and standard deviation
        are over all their folds.

    as_frame : bool or "auto", default="auto"
        Return a :class:`pandas.DataFrame` (``True``), a list of dicts
        (``False``), or a DataFrame when pandas is installed (``"auto"``).

    Returns
    -------
    table : pandas.DataFrame or list of dict
        Rows sorted by ``rank``, with keys:

        - ``rank``: 1 for the best candidate. For a halving search,
          candidates of later rounds rank above those of earlier ones, so
          rank 1 is ``best_params_``.
        - ``model``: class name of the classifier (the swapped ``"clf"`` step
          of a family pipeline, or the estimator's final step).
        - ``params``: the candidate's parameters, without the ``"clf"``
          estimator itself and those in ``average_over``.
        - ``mean_test_score``, ``std_test_score``: over the folds (and the
          pooled candidates).
        - ``mean_fit_time``, ``mean_score_time``: seconds per fold.
        - ``n_scores``: number of test scores behind the mean.
        - ``iter``, ``n_resources``: the round and its resource (samples or
          epochs), for halving searches only.

    See Also
    --------
    format_table : The table as Markdown.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from fmnist_estimators import SVDSubspaceClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.search import results_table
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> search = GridSearchCV(SVDSubspaceClassifier(), {"n_components": [2, 10]},
    ...                       cv=2).fit(X[:500], y[:500])
    >>> rows = results_table(search, as_frame=False)
    >>> [(row["rank"], row["params"]) for row in rows]
    [(1, {'n_components': 10}), (2, {'n_components': 2})]
    >>> sorted(rows[0])  # doctest: +NORMALIZE_WHITESPACE
    ['mean_fit_time', 'mean_score_time', 'mean_test_score', 'model', 'n_scores',
     'params', 'rank', 'std_test_score']
    """
    rows = _summarise(search, average_over)
    rows.sort(key=lambda row: row["rank"])
    return _maybe_frame(rows, as_frame)


def _summarise(search, average_over=None, labels=None):
    """Rows of :func:`results_table`, in the order of the search's candidates.

    ``labels`` (one per candidate) become a ``"sweep"`` column and part of
    what tells rows apart.
    """
    results, metric = _search_results(search)
    average_over = set(average_over or ())
    split_re = re.compile(rf"split(\d+)_test_{re.escape(metric)}$")
    split_keys = sorted(
        (key for key in results if split_re.match(key)),
        key=lambda key: int(split_re.match(key).group(1)),
    )
    halving = "iter" in results and "n_resources" in results
    resource = getattr(search, "resource", None)
    default_model = _estimator_name(getattr(search, "estimator", None))

    groups = {}
    for i, all_params in enumerate(results["params"]):
        clf = all_params.get(STEP)
        params = {
            name: value
            for name, value in all_params.items()
            if name != STEP and name not in average_over
        }
        # The resource of a halving round is a column of its own.
        if halving and resource in params:
            del params[resource]
        model = _estimator_name(clf) if isinstance(clf, BaseEstimator) else None
        model = model or default_model
        iteration = int(results["iter"][i]) if halving else None
        label = None if labels is None else labels[i]
        key = (label, model, iteration, _params_key(params))
        group = groups.setdefault(
            key, {"label": label, "model": model, "params": params, "rows": []}
        )
        group["rows"].append(i)

    table = []
    for (label, model, iteration, _), group in groups.items():
        rows = group["rows"]
        if split_keys:
            scores = np.array([results[key][i] for i in rows for key in split_keys])
        else:  # OptunaSearchCV without split scores: pool the means
            scores = np.array([results[f"mean_test_{metric}"][i] for i in rows])
        complete = bool(np.isfinite(scores).all())
        row = {"rank": None}
        if labels is not None:
            row["sweep"] = label
        row.update(
            model=model,
            params=group["params"],
            mean_test_score=float(scores.mean()) if complete else math.nan,
            std_test_score=float(scores.std()) if complete else math.nan,
            mean_fit_time=_mean_of(results, "mean_fit_time", rows),
            mean_score_time=_mean_of(results, "mean_score_time", rows),
            n_scores=int(scores.size),
        )
        if halving:
            row["iter"] = iteration
            row["n_resources"] = int(results["n_resources"][rows[0]])
        table.append(row)

    keys = [
        (
            -(row.get("iter") or 0),
            math.inf if math.isnan(row["mean_test_score"]) else -row["mean_test_score"],
        )
        for row in table
    ]
    for row, rank in zip(table, _ranks(keys)):
        row["rank"] = rank
    return table


def _maybe_frame(rows, as_frame):
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame is True:
            raise
        return rows
    return pd.DataFrame(rows)


# -- formatting -----------------------------------------------------------------


def _format_value(value, digits):
    if isinstance(value, BaseEstimator):
        return _estimator_name(value)
    if isinstance(value, bool | np.bool_ | str) or value is None:
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):.{digits + 1}g}"
    if isinstance(value, tuple | list):
        inner = ", ".join(_format_value(v, digits) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return str(value)


def _format_params(params, *, digits=3):
    """``name=value`` pairs of a parameter dict, without pipeline prefixes."""
    return ", ".join(
        f"{name.split('__')[-1]}={_format_value(value, digits)}"
        for name, value in params.items()
    )


def format_table(rows, *, digits=3, max_rows=None):
    """Render :func:`results_table` rows (or a DataFrame of them) as Markdown.

    Parameters
    ----------
    rows : list of dict or pandas.DataFrame
        Rows with at least ``params``, ``mean_test_score`` and
        ``std_test_score``; ``rank``, ``model``, ``mean_fit_time``,
        ``n_resources`` and ``sweep`` are shown when present.

    digits : int, default=3
        Decimals of the scores.

    max_rows : int, default=None
        Show only the first ``max_rows`` rows.

    Returns
    -------
    table : str
        A Markdown table, one line per row, ``score`` as ``mean ± std``;
        parameter names are shown without their pipeline prefix
        (``clf__n_components`` as ``n_components``).

    See Also
    --------
    results_table : Produces the rows.

    Examples
    --------
    >>> from fmnist_estimators.search import format_table
    >>> rows = [{"rank": 1, "model": "SVDSubspaceClassifier",
    ...          "params": {"clf__n_components": 30}, "mean_test_score": 0.8412,
    ...          "std_test_score": 0.0105, "mean_fit_time": 0.52}]
    >>> print(format_table(rows))
    | rank | model | params | score | fit time (s) |
    |---:|:---|:---|:---|---:|
    | 1 | SVDSubspaceClassifier | n_components=30 | 0.841 ± 0.011 | 0.52 |
    """
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    rows = list(rows)[:max_rows]
    optional = [
        ("rank", "rank", "---:"),
        ("sweep", "sweep", ":---"),
        ("model", "model", ":---"),
    ]
    columns = [spec for spec in optional if any(spec[0] in row for row in rows)]
    columns += [("params", "params", ":---"), ("score", "score", ":---")]
    if any("n_resources" in row for row in rows):
        columns.append(("n_resources", "resources", "---:"))
    if any("mean_fit_time" in row for row in rows):
        columns.append(("mean_fit_time", "fit time (s)", "---:"))

    def cell(row, key):
        if key == "params":
            text = _format_params(row["params"], digits=digits) or "(defaults)"
        elif key == "score":
            text = (
                f"{row['mean_test_score']:.{digits}f} ± "
                f"{row['std_test_score']:.{digits}f}"
            )
        elif key == "mean_fit_time":
            text = f"{row[key]:.2f}"
        else:
            text = str(row.get(key, ""))
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(title for _, title, _ in columns) + " |",
        "|" + "|".join(align for _, _, align in columns) + "|",
    ]
    lines += [
        "| " + " | ".join(cell(row, key) for key, _, _ in columns) + " |"
        for row in rows
    ]
    return "\n".join(lines)


# -- distributed ------------------------------------------------------------------


@contextmanager
def dask_backend(address=None, *, n_workers=2, threads_per_worker=1, **cluster_kwargs):
    """Run the joblib-parallel fits of searches on a ``dask.distributed`` cluster.

    Inside the ``with`` block every search (and anything else parallelised by
    joblib) sends its fits to the cluster's workers; a search left at
    ``n_jobs=None`` uses them all. Needs the ``distributed`` extra
    (``pip install fmnist_estimators[distributed]``).

    Each dask worker process starts with ``OMP_NUM_THREADS=1`` (dask's
    default worker environment), which also caps TensorFlow's thread pools in
    that worker (see :class:`~fmnist_estimators.DenseNetClassifier`): give
    each worker one thread and run one worker per core.

    Parameters
    ----------
    address : str or dask.distributed.Client, default=None
        Scheduler address (``"tcp://host:8786"``) or client of an existing
        cluster. ``None`` starts a local cluster of worker processes for the
        block and shuts it down afterwards.

    n_workers : int, default=2
        Worker processes of the local cluster.

    threads_per_worker : int, default=1
        Threads of each local worker.

    **cluster_kwargs
        Further arguments of :class:`dask.distributed.LocalCluster`; by
        default its workers are processes, it listens on 127.0.0.1 only and
        serves no dashboard (``dashboard_address=":8787"`` starts one).

    Yields
    ------
    client : dask.distributed.Client
        The client the fits go through.

    See Also
    --------
    joblib.parallel_config : What this sets, with ``backend="dask"``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from fmnist_estimators import SVDSubspaceClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.search import dask_backend
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> search = GridSearchCV(SVDSubspaceClassifier(), {"n_components": [5, 20]})
    >>> # Threads instead of worker processes, to start in a blink:
    >>> with dask_backend(n_workers=2, processes=False) as client:
    ...     search = search.fit(X[:500], y[:500])
    >>> search.best_params_
    {'n_components': 20}

    In a script, start the cluster under ``if __name__ == "__main__":``: its
    worker processes import the main module.
    """
    import joblib
    from dask.distributed import Client, LocalCluster

    cluster = None
    if address is None:
        options = dict(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
        )
        options.update(cluster_kwargs)
        if options["dashboard_address"] is None:
            # The scheduler serves its health and metrics routes even without
            # a dashboard, by default on port 8787 of every interface: take a
            # free port on the loopback interface instead.
            options.setdefault(
                "scheduler_kwargs",
                {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
        if options["processes"]:
            # Workers in processes talk over TCP: keep it on this machine.
            options.setdefault("host", "127.0.0.1")
        cluster = LocalCluster(**options)
        client = Client(cluster)
    elif isinstance(address, Client):
        client = address
    else:
        client = Client(address)
    try:
        with joblib.parallel_config(backend="dask", n_jobs=-1):
            yield client
    finally:
        if client is not address:
            client.close()
        if cluster is not None:
            cluster.close()
