"""The search that tunes a model of the roster; a calibrated SVC's bare search."""

import numpy as np

from fmnist_estimators.classical import svc_params

# Scorers of predicted labels, with their variants (f1_macro, ...): under them
# a calibrated SVC is tuned without its calibration (see ``uncalibrated``).
LABEL_SCORERS = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "jaccard",
    "matthews_corrcoef",
)


def scores_labels(scoring):
    """Whether scorer ``scoring`` judges predicted labels only."""
    return any(scoring == n or scoring.startswith(n + "_") for n in LABEL_SCORERS)


def uncalibrated(model, estimator):
    """``estimator`` with the bare SVC for its calibrated one, and the search spaces.

    The calibrated SVC (``ensemble=False``) predicts with the SVC it fits on
    all the data, the class of the largest one-vs-rest decision value, as
    ``SVC(break_ties=True)`` does: the bare SVC gets the same cross-validation
    scores under a label scorer, without the calibration's three extra SVC
    fits (half of the classical pipeline's fit time, 60 % of the PCA + SVC's).
    """
    from sklearn.base import clone

    step = model.calibrated_step
    svc = clone(estimator.get_params()[step].estimator).set_params(break_ties=True)
    estimator = clone(estimator).set_params(**{step: svc})

    def rename(space):
        return svc_params(space, calibrated=False, step=step)

    return estimator, rename(model.grid), rename(model.distributions)


def calibrated_params(model, params):
    """``params`` of an ``uncalibrated`` search, named for the calibrated model."""
    return svc_params(params, step=model.calibrated_step)


def _search_options(args, cv, label_only):
    # A failing candidate scores NaN (shown in the log) instead of ending the run.
    return dict(
        cv=cv,
        scoring=args.scoring,
        n_jobs=args.n_jobs,
        error_score=np.nan,
        refit=not label_only,
    )


def make_search(model, strategy, cv, args, n_train, *, label_only=False):
    """The search that tunes ``model``.

    ``label_only``: the search of a calibrated SVC, bare and without refit.
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from fmnist_estimators.search import HyperbandSearchCV

    estimator = model.build(args.random_state, n_train)
    grid, distributions = model.grid, model.distributions
    if label_only:
        estimator, grid, distributions = uncalibrated(model, estimator)
    common = _search_options(args, cv, label_only)
    seed = args.random_state
    if not model.tuned or strategy == "grid":
        return GridSearchCV(estimator, grid, **common)
    if strategy == "random":
        return RandomizedSearchCV(
            estimator, distributions, n_iter=model.n_iter, random_state=seed, **common
        )
    if model.network:
        # Successive halving on epochs that continues each survivor.
        return HyperbandSearchCV(
            estimator,
            distributions,
            max_epochs=model.max_epochs,
            min_epochs=model.min_epochs,
            n_candidates=model.n_iter,
            random_state=seed,
            **common,
        )
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV(
        estimator,
        distributions,
        n_candidates=max(model.n_iter, 3),
        min_resources="exhaust",
        random_state=seed,
        **common,
    )
