"""One round of an epoch-budget search: continue and score (candidate, fold) models.

The only side effects of :class:`HyperbandSearchCV` live here: each task
continues one model on one training fold for the round's epochs and scores
it. The schedule (:mod:`._schedule`) says how many epochs and which
candidates; the search keeps the survivors.
"""

# SPDX-License-Identifier: BSD-3-Clause

import dataclasses
import pickle
import time
import traceback

import numpy as np
from sklearn import get_config
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.parallel import delayed

from .._sklearn_compat import (
    check_method_params,
    safe_indexing,
    scorer_accepts_sample_weight,
)
from .._warn import warn_user

__all__ = ["Fits", "mean_scores", "run_round", "score_keys", "train_and_score"]

# Fit parameters passed whole to every fold: a validation set of the user's
# own, which no fold's rows index (GridSearchCV would split one as long as X).
_WHOLE = ("X_val", "y_val")


@dataclasses.dataclass(frozen=True)
class Fits:
    """What every (candidate, fold) fit of a search shares.

    Parameters
    ----------
    X, y : array-like
        The whole training data; each task takes its fold's rows.
    splits : list of (ndarray, ndarray)
        The (train, test) indices of each fold.
    fit_params, score_params : dict
        Routed parameters of the estimator's ``fit`` and of the scorer,
        whole; each task splits the per-sample ones with its fold.
    score_keys : dict or None
        Of several scorers, the score parameters each gets (see
        :func:`score_keys`); None for one scorer.
    epochs_name, warm_name : str
        The resource parameter and the ``warm_start`` beside it.
    scorer : callable or dict
        The scorer, or named scorers.
    return_train_score : bool
        Also score the training fold.
    error_score : "raise" or float
        Score of a failed fit.
    serialize : bool
        Pickle the models kept: they cross to other processes.
    """

    X: object
    y: object
    splits: list
    fit_params: dict
    score_params: dict
    score_keys: object
    epochs_name: str
    warm_name: str
    scorer: object
    return_train_score: bool
    error_score: object
    serialize: bool


def run_round(parallel, models, fits, *, epochs, keep):
    """Continue every (candidate, fold) model for ``epochs`` epochs and score it.

    The side effects of the synchronous search: each task is one independent
    (model, fold) fit, :func:`train_and_score`, which the asynchronous
    search (:mod:`._asha`) dispatches one by one instead.

    Parameters
    ----------
    parallel : joblib.Parallel
        Runs the fits.
    models : list of list
        Per candidate, per fold: a fresh clone, a fitted model, its pickle,
        or None after a failed fit.
    fits : Fits
        Data, folds, routed parameters and scorer.
    epochs : int
        Epochs each model trains in this round.
    keep : bool
        Whether to return the models for another round.

    Returns
    -------
    out : list of dict
        One result per (candidate, fold), candidate after candidate.
    models : list of list
        The models to continue, shaped as ``models`` (None where not kept).
    """
    results = parallel(
        delayed(train_and_score)(model, fits, k, epochs=epochs, keep=keep)
        for row in models
        for k, model in enumerate(row)
    )
    n_folds = len(fits.splits)
    out = [result for result, _ in results]
    kept = [
        [model for _, model in results[c * n_folds : (c + 1) * n_folds]]
        for c in range(len(models))
    ]
    return out, kept


def train_and_score(model, fits, fold, *, epochs, keep):
    """Continue ``model`` for ``epochs`` on training fold ``fold`` and score it.

    ``model`` is a fresh clone, a fitted estimator, its pickle, or None when
    an earlier round's fit failed. Returns the result dict of this fit and
    the model to keep for the next round (None when ``keep`` is False or the
    fit failed), pickled when ``fits.serialize``.
    """
    train, test = fits.splits[fold]
    error_score = fits.error_score
    result = {
        "fit_error": None,
        "fit_time": 0.0,
        "score_time": 0.0,
        "n_test_samples": len(test),
    }
    failed_scores = {"test_scores": error_score}
    if fits.return_train_score:
        failed_scores["train_scores"] = error_score
    if model is None:
        result["fit_error"] = "The fit of an earlier round failed."
        return {**result, **failed_scores}, None
    if isinstance(model, bytes):
        model = pickle.loads(model)
    X_train, y_train = safe_indexing(fits.X, train), safe_indexing(fits.y, train)
    start = time.perf_counter()
    try:
        model.set_params(**{fits.warm_name: True, fits.epochs_name: epochs})
        model.fit(X_train, y_train, **_fold_params(fits.X, fits.fit_params, train))
    except Exception:
        if error_score == "raise":
            raise
        result["fit_time"] = time.perf_counter() - start
        result["fit_error"] = traceback.format_exc()
        return {**result, **failed_scores}, None
    result["fit_time"] = time.perf_counter() - start
    start = time.perf_counter()
    X_test, y_test = safe_indexing(fits.X, test), safe_indexing(fits.y, test)
    score_params = _fold_params(fits.X, fits.score_params, test)
    result["test_scores"] = _score(model, X_test, y_test, score_params, fits)
    result["score_time"] = time.perf_counter() - start
    if fits.return_train_score:
        score_params = _fold_params(fits.X, fits.score_params, train)
        result["train_scores"] = _score(model, X_train, y_train, score_params, fits)
    if not keep:
        return result, None
    if fits.serialize:
        model = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    return result, model


def mean_scores(out, n_folds, metric):
    """Mean over folds of each candidate's score, NaN if a fold has none.

    ``out`` holds the results of :func:`train_and_score`, candidate after
    candidate, ``n_folds`` each; of several scores, ``metric`` is averaged.
    """
    scores = []
    for result in out:
        score = result["test_scores"]
        if isinstance(score, dict):
            score = score[metric] if metric in score else next(iter(score.values()))
        scores.append(np.nan if score is None else float(score))
    return np.asarray(scores, dtype=float).reshape(-1, n_folds).mean(axis=1)


def _fold_params(X, params, indices):
    """``params`` for the fold ``indices``: arrays as long as ``X`` are split,
    as :class:`~sklearn.model_selection.GridSearchCV` splits them; a
    validation set of the user's own (``X_val``, ``y_val``) is not."""
    whole = {name: value for name, value in params.items() if name in _WHOLE}
    split = {name: value for name, value in params.items() if name not in _WHOLE}
    return {**check_method_params(X, split, indices=indices), **whole}


def _score(model, X, y, params, fits):
    """Score(s) of ``model``: a float, or a dict for several scorers.

    ``params`` are the fold's score parameters; of several scorers, each
    gets those of ``fits.score_keys``.
    """
    scorer, error_score = fits.scorer, fits.error_score
    try:
        if isinstance(scorer, dict):
            return {
                name: float(
                    s(model, X, y, **{k: params[k] for k in fits.score_keys[name]})
                )
                for name, s in scorer.items()
            }
        score = scorer(model, X, y, **params)
    except Exception:
        if error_score == "raise":
            raise
        warn_user(
            f"Scoring failed and scores error_score={error_score!r}:\n"
            f"{traceback.format_exc()}",
            UserWarning,
        )
        if isinstance(scorer, dict):
            return dict.fromkeys(scorer, error_score)
        return error_score
    return score if isinstance(score, dict) else float(score)


def score_keys(scorer, params, owner):
    """Of several scorers, the score parameters each gets, by name.

    As scikit-learn's searches share them among several scorers: with
    metadata routing, those a scorer requested; without, only
    ``sample_weight``, to the scorers that take it. None for one scorer,
    which gets all its routed parameters.
    """
    if not isinstance(scorer, dict):
        return None
    if get_config()["enable_metadata_routing"]:
        # Routed, and checked (an unset request raises), as scikit-learn's
        # multimetric scorer routes them.
        router = MetadataRouter(owner=owner)
        for name, s in scorer.items():
            router.add(
                **{name: s},
                method_mapping=MethodMapping().add(caller="score", callee="score"),
            )
        routed = process_routing(router, "score", **params)
        return {name: sorted(routed[name].score) for name in scorer}
    weighted = "sample_weight" in params
    return {
        name: ["sample_weight"] if weighted and scorer_accepts_sample_weight(s) else []
        for name, s in scorer.items()
    }
