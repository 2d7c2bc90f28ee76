"""Successive halving on epochs with scikit-learn's own halving search."""

# SPDX-License-Identifier: BSD-3-Clause

from ._names import epochs_parameter

__all__ = ["make_epoch_halving_search"]


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
    ``resource`` set to the parameter that sets the epochs of the network's
    last training phase (``"epochs"`` for a Keras classifier,
    ``"fine_tune_epochs"`` for a
    :class:`~fmnist_estimators.PretrainedNetClassifier` that fine-tunes,
    ``"clf__epochs"`` for a network inside :func:`make_family_pipeline`),
    and enables scikit-learn's experimental halving searches on the way.

    Every round trains its candidates from scratch: a candidate that reaches
    round ``k`` has been trained ``r_0 + r_1 + ... + r_k`` epochs per fold.
    :class:`HyperbandSearchCV` runs the same rounds on the same candidates
    but continues each (candidate, fold) model from the previous round
    (``r_k`` epochs in all), and offers Hyperband's brackets: prefer it for
    the Keras classifiers. This search needs no ``warm_start``, so it also
    tunes any estimator with one ``epochs`` parameter (``<step>__epochs``
    for a step of a pipeline). The epochs of the last
    round are ``min_epochs * factor ** k``, the largest such value not above
    ``max_epochs``, so pick ``max_epochs`` of that form (1, 3, 9, 27, ...).

    Parameters
    ----------
    estimator : estimator
        A Keras classifier, or a pipeline holding exactly one; or another
        estimator with one ``epochs`` parameter.

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
    HyperbandSearchCV : The same rounds, continuing every survivor.
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
        resource=epochs_parameter(estimator),
        max_resources=max_epochs,
        min_resources=min_epochs,
        cv=cv,
        scoring=scoring,
        refit=refit,
        n_jobs=n_jobs,
        random_state=random_state,
        verbose=verbose,
    )
