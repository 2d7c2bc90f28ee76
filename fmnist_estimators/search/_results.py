"""Tables of a fitted search's results: mean ± std over folds, ranks, Markdown."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import re
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ._names import STEP

__all__ = ["format_params", "format_table", "results_table"]


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


def results_table(
    search, *, average_over=None, labels=None, sort=True, as_frame="auto"
):
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

    labels : sequence of str, default=None
        One label per candidate of the search (per entry of
        ``cv_results_["params"]``), for example the sweep each candidate
        comes from: shown as a ``sweep`` column, and candidates with
        different labels are never pooled.

    sort : bool, default=True
        Sort the rows by ``rank``; ``False`` keeps the order of the search's
        candidates (the first candidate of each pooled group decides).

    as_frame : bool or "auto", default="auto"
        Return a :class:`pandas.DataFrame` (``True``), a list of dicts
        (``False``), or a DataFrame when pandas is installed (``"auto"``).

    Returns
    -------
    table : pandas.DataFrame or list of dict
        Rows sorted by ``rank`` (unless ``sort=False``), with keys:

        - ``rank``: 1 for the best candidate. For a halving search,
          candidates trained with more resources (later rounds) rank above
          those trained with less, so rank 1 is ``best_params_``.
        - ``sweep``: the candidate's label, only when ``labels`` is given.
        - ``model``: class name of the classifier (the swapped ``"clf"`` step
          of a family pipeline, or the estimator's final step).
        - ``params``: the candidate's parameters, without the ``"clf"``
          estimator itself and those in ``average_over``.
        - ``mean_test_score``, ``std_test_score``: over the folds (and the
          pooled candidates).
        - ``mean_fit_time``, ``mean_score_time``: seconds per fold.
        - ``n_scores``: number of test scores behind the mean.
        - ``iter``, ``n_resources``: the round and its resource (samples or
          epochs), for halving searches only; ``bracket`` too for a
          :class:`HyperbandSearchCV` with several brackets.

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
    rows = _summarise(search, average_over, labels)
    if sort:
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
    brackets = "bracket" in results and len(set(results["bracket"])) > 1
    # scikit-learn's halving searches name their resource in a parameter,
    # HyperbandSearchCV in a fitted attribute.
    resource = getattr(search, "resource_", None) or getattr(search, "resource", None)
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
        bracket = int(results["bracket"][i]) if brackets else None
        label = None if labels is None else labels[i]
        key = (label, model, bracket, iteration, _params_key(params))
        group = groups.setdefault(
            key, {"label": label, "model": model, "params": params, "rows": []}
        )
        group["rows"].append(i)

    table = []
    for (label, model, bracket, iteration, _), group in groups.items():
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
        if brackets:
            row["bracket"] = bracket
        if halving:
            row["iter"] = iteration
            row["n_resources"] = int(results["n_resources"][rows[0]])
        table.append(row)

    # Halving: rows trained with more resources (later rounds) rank first.
    keys = [
        (
            -(row.get("n_resources") or 0),
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


def format_params(params, *, digits=3):
    """Render a parameter dict as ``name=value`` pairs, without pipeline prefixes.

    Parameters
    ----------
    params : dict
        Parameters, such as ``best_params_`` of a search.

    digits : int, default=3
        Significant digits of floats, less one.

    Returns
    -------
    text : str
        ``"name=value, ..."``: estimators by class name, tuples in brackets,
        the step prefix dropped (``clf__n_components`` as ``n_components``).

    See Also
    --------
    format_table : A whole results table as Markdown.

    Examples
    --------
    >>> from fmnist_estimators import SVDSubspaceClassifier
    >>> from fmnist_estimators.search import format_params
    >>> format_params({"clf": SVDSubspaceClassifier(), "clf__n_components": 30,
    ...                "clf__tol": 0.000123456, "clf__sizes": (64,)})
    'clf=SVDSubspaceClassifier, n_components=30, tol=0.0001235, sizes=(64,)'
    """
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
        ``std_test_score``; ``rank``, ``sweep``, ``bracket``, ``model``,
        ``n_resources`` and ``mean_fit_time`` are shown when present.

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
        ("bracket", "bracket", "---:"),
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
            text = format_params(row["params"], digits=digits) or "(defaults)"
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
