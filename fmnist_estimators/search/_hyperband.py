"""Hyperband on epochs under cross-validation, continuing every model between rounds.

scikit-learn's halving searches retrain a surviving candidate from scratch in
every round; keras-tuner's Hyperband continues it but has no cross-validation;
dask-ml's continues it through ``partial_fit`` but scores one validation
split. :class:`HyperbandSearchCV` keeps one model per (candidate, fold) and
continues it with ``warm_start`` from round to round, so a candidate that
reaches the last round has been trained for the last round's epochs once.

The schedule is arithmetic in :mod:`._schedule`, the fits of a round run in
:mod:`._rounds`, and asynchronous promotion (ASHA) in :mod:`._asha` on the
pools of :mod:`._workers`; this module samples candidates, keeps the
survivors of each round, and refits the best.
"""

# SPDX-License-Identifier: BSD-3-Clause

import gc
import time
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn import get_config
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterSampler, check_cv
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.metadata_routing import process_routing

# scikit-learn's Parallel carries its configuration (metadata routing
# included) into the workers, as in GridSearchCV.
from sklearn.utils.parallel import Parallel
from sklearn.utils.validation import indexable

from .._sklearn_compat import (
    BASE_SEARCH_CONSTRAINTS,
    BaseSearchCV,
    Interval,
    StrOptions,
    check_method_params,
    fit_context,
    format_results,
    scorer_accepts_sample_weight,
)
from .._warn import warn_user
from ._asha import Ladder, run_asha
from ._names import epochs_parameter, warm_start_parameter
from ._rounds import Fits, mean_scores, run_round, score_keys
from ._sampling import ParzenSampler, grid_size, subspaces
from ._schedule import (
    bracket_rounds,
    bracket_sizes,
    n_first_candidates,
    n_levels,
    top_k,
)
from ._workers import worker_pool

__all__ = ["HyperbandSearchCV"]


class HyperbandSearchCV(BaseSearchCV):
    """Cross-validated Hyperband on epochs that continues each model between rounds.

    Successive halving [2]_ on training epochs: many sampled candidates are
    trained for ``min_epochs`` on every fold, the best ``1 / factor`` of them
    continue for ``factor`` times as many epochs in all, and so on up to
    ``max_epochs``. Unlike
    :class:`~sklearn.model_selection.HalvingRandomSearchCV` (see
    :func:`make_epoch_halving_search`), a surviving candidate is not trained
    again from scratch: each (candidate, fold) model continues from the
    weights and optimizer state the previous round left
    (``warm_start=True``), on the same folds, with the same seeds. With
    ``n_brackets`` above 1 it runs the brackets of Hyperband [1]_: further
    halving runs that start with fewer candidates trained longer.

    Parameters
    ----------
    estimator : estimator
        A Keras classifier of the package, or a pipeline such as
        :func:`make_family_pipeline` holding exactly one. The resource is the
        parameter that sets the epochs of the network's last training phase:
        ``epochs``, or ``fine_tune_epochs`` for a
        :class:`~fmnist_estimators.PretrainedNetClassifier` that fine-tunes
        (``<step>__`` in a pipeline); see Notes. Another estimator needs one
        parameter ``epochs`` (``<step>__epochs``) with a ``warm_start``
        beside it, and must continue training when refit with
        ``warm_start=True``.

    param_distributions : dict or list of dict
        Parameter lists or :mod:`scipy.stats` distributions, as for
        :class:`~sklearn.model_selection.RandomizedSearchCV`; must not
        include the resource parameter.

    max_epochs : int, default=None
        Epochs of the last round (at most): the last round of every bracket
        trains to ``min_epochs * factor ** k``, the largest such value not
        above ``max_epochs`` (``max_resources_``). ``None`` takes the value of
        the estimator's resource parameter.

    min_epochs : int, default=1
        Epochs of the first round of the first bracket.

    factor : int, default=3
        Each round keeps the best ``ceil(n / factor)`` of its ``n``
        candidates and trains them up to ``factor`` times the epochs so far.

    n_candidates : int or "exhaust", default="exhaust"
        Candidates of the first round of the first bracket. ``"exhaust"``
        takes ``max_epochs // min_epochs``, as
        :class:`~sklearn.model_selection.HalvingRandomSearchCV` does. With
        fewer candidates than the levels need, the bracket runs fewer rounds
        and its last round still trains to ``max_resources_``. Later
        brackets get Hyperband's share: ``ceil(n * (s_max + 1) / (s + 1) /
        factor ** (s_max - s))`` for the bracket of ``s + 1`` rounds.

    n_brackets : int or "all", default=1
        Hyperband's brackets to run, most exploratory first. Bracket ``b``
        (from 0) starts at ``min_epochs * factor ** b`` epochs and ends, like
        every bracket, at ``min_epochs * factor ** s_max``, the largest such
        value not above ``max_epochs``. ``1`` is plain successive halving;
        ``"all"`` is Hyperband, down to the bracket that trains its few
        candidates for ``max_epochs`` from the start.

    promotion : {"sync", "async"}, default="sync"
        When candidates go on to the next round. ``"sync"``: once every fit
        of the round has finished, the best ``1 / factor`` go on.
        ``"async"``: asynchronous successive halving (ASHA [3]_): a
        candidate goes on as soon as all its folds have finished the round
        and it ranks in the best ``1 / factor`` of the candidates that have
        finished it so far, so no worker waits for the end of a round. Each
        round takes as many candidates, and the search trains as many
        epochs, as with ``"sync"``, but not always the same candidates; see
        Notes.

    sampler : {"random", "tpe", "tpe_per_second"}, default="random"
        How candidates are drawn. ``"random"``: all of them up front, from
        ``param_distributions``, as
        :class:`~sklearn.model_selection.RandomizedSearchCV` draws them.
        ``"tpe"``: one at a time from a model of the results so far, as BOHB
        [4]_ does (a multivariate tree-structured Parzen estimator): it
        favours the parts of the space where the candidates that went
        furthest lie, and draws a third of its candidates, and every
        candidate until enough have results, at random. With ``promotion=
        "async"`` a candidate is drawn as its first fit starts; with
        ``"sync"``, a bracket's candidates are drawn before it starts, from
        the brackets before it, so the first bracket is drawn at random.
        ``"tpe_per_second"``: the same, but each draw's expected improvement
        is divided by its predicted seconds of fitting per epoch (learnt from
        the fits so far), so of two equally promising candidates the cheaper
        is drawn. See Notes.

    cv : int, cross-validation generator or iterable, default=3
        As in :class:`~sklearn.model_selection.GridSearchCV`; an int gives
        stratified folds for a classifier. The folds are drawn once and
        shared by every candidate and round.

    scoring : str, callable, list, tuple or dict, default=None
        Score(s) to maximise; ``None`` is the estimator's accuracy. With
        several, ``refit`` names the one that selects the survivors.

    refit : bool, str or callable, default=True
        Refit the best candidate on the whole data (see Notes). As in
        :class:`~sklearn.model_selection.GridSearchCV`; a callable receives
        ``cv_results_`` and returns the index of the best row.

    n_jobs : int, default=None
        (candidate, fold) fits run in parallel with joblib (a round at a
        time with ``promotion="sync"``, ``n_jobs`` at all times with
        ``"async"``); ``None`` means 1 unless in a
        :func:`joblib.parallel_config` context, such as
        :func:`dask_backend`.

    random_state : int, RandomState instance or None, default=None
        Seeds the sampling of candidates (and the draws of ``sampler="tpe"``
        and ``"tpe_per_second"``).

    verbose : int, default=0
        Above 0, print one line per round (with ``promotion="async"``, per
        candidate that finishes a round).

    pre_dispatch : int or str, default="2*n_jobs"
        Fits dispatched ahead of time, as in
        :class:`~sklearn.model_selection.GridSearchCV`; with
        ``promotion="async"``, ``n_jobs`` fits run and none waits ahead.

    error_score : "raise" or float, default=np.nan
        Score of a fit that fails; its model is dropped, and the candidate
        scores ``error_score`` on that fold in the rounds after. ``"raise"``
        raises instead.

    return_train_score : bool, default=False
        Also score the training folds.

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        One row per candidate and round, in the format of
        :class:`~sklearn.model_selection.HalvingRandomSearchCV`: ``params``
        (with the epochs parameter set to the epochs trained so far),
        ``split<k>_test_score``, ``mean_test_score``, ``rank_test_score``,
        ``mean_fit_time`` (the round's own training, not the epochs before
        it), ``iter`` (round of the bracket, from 0), ``n_resources``
        (epochs of the resource trained so far) and ``bracket``.

    best_estimator_ : estimator
        The best candidate refit on the whole data; only with ``refit``.

    best_score_ : float
        Mean cross-validated score of the best candidate.

    best_params_ : dict
        Parameters of the best candidate, epochs included.

    best_index_ : int
        Row of ``cv_results_`` of the best candidate: the best of the rows
        with the most epochs (the last round).

    scorer_ : callable or dict
        The scorer(s) used.

    n_splits_ : int
        Number of folds.

    refit_time_ : float
        Seconds spent refitting the best candidate.

    multimetric_ : bool
        Whether several scores were computed.

    resource_ : str
        The resource parameter: ``"epochs"``, ``"fine_tune_epochs"``, or
        either behind a step's path, such as ``"clf__epochs"``.

    min_resources_, max_resources_ : int
        Epochs of the first round of the first bracket, and of the last
        round of every bracket.

    n_brackets_ : int
        Brackets run.

    n_iterations_ : int
        Rounds run, over all brackets.

    n_required_iterations_ : int
        Rounds the first bracket needs for its last round to hold fewer than
        ``factor`` candidates, starting with ``min_resources_`` epochs, as in
        :class:`~sklearn.model_selection.HalvingRandomSearchCV`.

    n_possible_iterations_ : int
        Rounds that fit between ``min_resources_`` and ``max_resources_``
        epochs. The first bracket runs the smaller of the two.

    n_resources_ : list of int
        Epochs trained so far after each round, bracket after bracket.

    n_candidates_ : list of int
        Candidates of each round, bracket after bracket.

    epochs_trained_ : int
        Epochs of the resource trained over every (candidate, fold) model,
        the refit not included: what retraining survivors from scratch would
        multiply.

    n_features_in_ : int
        Number of features seen during fit; only with ``refit``.

    classes_ : ndarray of shape (n_classes,)
        Class labels; only with ``refit``.

    See Also
    --------
    make_epoch_halving_search : The same rounds, retraining every survivor.
    results_table : The results, one row per candidate and round.
    dask_backend : Run the fits of each round on a Dask cluster.

    Notes
    -----
    **Rounds.** Bracket ``b`` samples its ``n`` candidates (all of them up
    front, with ``random_state``) and runs ``min(1 + floor(log_factor(n)), s
    + 1)`` rounds, where ``s + 1 = s_max + 1 - b`` is the most it could fit;
    round ``i`` trains to ``min_epochs * factor ** (b + i)`` epochs, and the
    last round to ``max_resources_``, so that the best candidate is always
    trained the most epochs (as keras-tuner trains its best models to the
    maximum). With one bracket and candidates enough for every level (as
    with ``n_candidates="exhaust"``) the candidates, rounds and epochs are
    those of ``HalvingRandomSearchCV(resource="epochs",
    min_resources=min_epochs, max_resources=max_epochs)`` with the same
    ``random_state``, and :func:`make_epoch_halving_search` builds that
    search; with fewer, that search stops short of ``max_resources_``
    (``max_epochs=9, n_candidates=2, factor=3``: one round of 1 epoch),
    and this one trains its one round to 9 epochs. A candidate that reaches
    round ``k`` costs ``r_k`` epochs per fold here, and ``r_0 + r_1 + ... +
    r_k`` there.

    **Fine-tuning a pretrained network.** With
    :class:`~fmnist_estimators.PretrainedNetClassifier` and
    ``fine_tune_epochs > 0`` the resource is ``fine_tune_epochs``: a new
    model trains its head for ``epochs`` on the frozen backbone's features,
    then fine-tunes for the round's epochs, and every later round continues
    fine-tuning for the epochs it adds. ``n_resources_``, ``best_params_``
    and ``epochs_trained_`` count fine-tuning epochs; the networks'
    ``n_iter_`` (``best_estimator_.n_iter_``) also counts the head's
    ``epochs``, trained once per model.

    **Fit parameters** (``sample_weight``, ``X_val``, ``y_val``) reach every
    fit of every round and of the refit, as in
    :class:`~sklearn.model_selection.GridSearchCV`: ``sample_weight`` split
    with the folds, a validation set of your own whole. The test scores
    are weighted as GridSearchCV weights them: with scikit-learn 1.7 or
    later, a scorer that takes ``sample_weight`` gets the test fold's
    weights; with metadata routing, a scorer that requested them
    (``make_scorer(...).set_score_request(sample_weight=True)``).

    **Learning-rate schedule.** Each round continues a model by refitting it
    with ``warm_start=True`` and the resource set to the round's new epochs,
    so the estimator's warm-start rules decide the schedule: a constant
    learning rate continues unchanged, and ``lr_schedule="cosine"`` decays
    over the epochs of each round and restarts at the next (warm restarts).
    A continued candidate is therefore scored after that restarted schedule,
    not after one cosine over all its epochs. With a constant rate, no
    dropout and batches holding the whole training fold, continuing for
    ``k`` then ``m`` epochs trains the same network as ``k + m`` epochs in
    one go (up to float32 rounding). The refit replays the best candidate's
    rounds (the same warm-started fits, on the whole data), so
    ``best_estimator_`` is trained on the schedule it was scored with; its
    parameters are then set back to ``best_params_`` (epochs in all, and
    the estimator's own ``warm_start``), and a later ``fit`` of it trains
    that many epochs in one go.

    **Parallelism and memory.** With ``promotion="sync"`` the fits of a
    round run in one :class:`joblib.Parallel` call, whose workers stay up
    for the whole search. When fits run in other processes (``n_jobs`` other than 1, or
    the Dask backend), a model travels as pickled bytes: back to this
    process after each round it is kept for, and out to a worker for the
    next; the last round sends no model back, and this process never
    rebuilds a network from them. With one job the models stay live in
    this process, and nothing is pickled. The search keeps the models of
    the survivors only: at most ``n_candidates * n_splits_`` models, at the
    end of the first round, and about twice the survivors' models while a
    later round runs.

    **Asynchronous promotion** (``promotion="async"``). The rounds of each
    bracket become ASHA's rungs [3]_. Whenever a worker is free, it takes
    a fit that a promotion waits for (the highest round first), else the
    next (candidate, fold) of a first round; every bracket's candidates are
    drawn up front and their first rounds start bracket after bracket. A
    candidate's score in a round is its mean over the folds, known once
    all its folds have finished the round; it then goes on if it ranks in
    the best ``floor(n / factor)`` of the ``n`` candidates that have
    finished that round so far and the round has not yet sent on as many
    candidates as the next round of ``"sync"`` holds (``n_candidates_``).
    Once every candidate of a round has finished it, its best fill the
    places left, so each round holds the candidates of ``"sync"``'s and the
    search trains exactly ``epochs_trained_`` epochs either way, and the
    models continue with ``warm_start`` in the same way. What changes is
    which candidates go on: one promoted early stays promoted, so a better
    candidate that finishes a round late can find no place left (ASHA's
    trade of a little accuracy for no idle workers). With one job the
    order of the fits is fixed, and the search is deterministic given
    ``random_state``; with several, which candidates go on can depend on
    the order in which fits finish, so two runs can differ. Fits run in
    this process for one job, on threads under
    ``joblib.parallel_config(backend="threading")``, on the cluster inside
    :func:`dask_backend`, and otherwise in loky worker processes that this
    search keeps warm for the next (beside joblib's own, which ``"sync"``
    uses); the data are written once to a temporary file that the workers
    memory-map (scattered once on a cluster). A model is kept while its
    candidate can still go on: until its round is complete, at most the
    first round's ``n_candidates * n_splits_`` models of a bracket, as with
    ``"sync"``. In worker processes (loky's or a cluster's) a model stays
    in the worker that fitted it, and its next fit goes to that worker, which
    continues it as it is: a model sent to another process is unpickled
    there, and Keras builds and traces its training step again, which costs
    a small dense network about as much as an epoch of 40,000 images. A free
    worker takes a fit continuing one of its own models first, then a first
    round's fit, and a model of another worker (sent pickled) only when
    nothing else is left; the workers drop the models when the search
    ends. ``cv_results_`` has the same
    rows and columns as with ``"sync"``, the candidates of each round in
    the order drawn.

    **Model-based sampling** (``sampler="tpe"``). A candidate that reached
    more epochs ranks above one that stopped sooner, and among those that
    reached the same epochs the higher mean score ranks first; the best 15 %
    are the "good" candidates. The sampler fits a density ``l`` to the good
    candidates and ``g`` to the others (a kernel per candidate, plus the
    prior as one more), draws 64 points from ``l`` and takes the one with
    the largest ``l / g``. A :mod:`scipy.stats` distribution is modelled on
    the scale of its CDF (so ``loguniform`` on a log scale), a list as
    categories; an object with only ``rvs`` is always drawn at random. It
    uses the model once ``2 d + 2`` candidates have results, for ``d``
    modelled parameters, and even then draws a third of its candidates at
    random (BOHB's share). Where every parameter is a list, a bracket never
    draws the same candidate twice and holds at most the grid's size. The
    schedule is unchanged: the same rounds, candidates per round and epochs.
    What it changes is which candidates are tried, so it pays where the
    later candidates are many: with ``promotion="async"``, where each
    candidate is drawn as its first fit starts (the first bracket's later
    candidates already learn from its early results), and with ``"sync"``
    and ``n_brackets`` above 1, where each bracket learns from the brackets
    before it (with one bracket, ``"sync"`` draws every candidate at
    random). Reproducibility is as with ``"random"``: given
    ``random_state``, ``"sync"`` draws the same candidates for any
    ``n_jobs``, and ``"async"`` with one job; with several jobs
    asynchronously, the results in at each draw depend on the order in
    which fits finish.

    **Expected improvement per second** (``sampler="tpe_per_second"``), as
    Snoek et al. [5]_ propose for costs that vary across the space: the
    estimator's expected improvement, proportional to ``1 / (0.15 + 0.85 g
    / l)``, is divided by the draw's predicted seconds per epoch, a kernel
    regression of the log of the seconds per epoch each candidate took so
    far. The expected improvement saturates where ``l / g`` is large, so a
    much more promising draw still wins when it costs more; among draws
    about as promising, the cheaper one (a larger batch, a narrower layer)
    wins. Where the costs do not vary, it draws as ``"tpe"``. The seconds
    are those of the fits on this machine, so the draws depend on its speed
    as well as on ``random_state``.

    **Other steps of a pipeline** are refit on every round; they should be
    deterministic (a scaler, a fixed feature map).

    References
    ----------
    .. [1] L. Li, K. Jamieson, G. DeSalvo, A. Rostamizadeh and A. Talwalkar,
       "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
       Optimization", JMLR 18(185), 2018.
    .. [2] K. Jamieson and A. Talwalkar, "Non-stochastic Best Arm
       Identification and Hyperparameter Optimization", AISTATS 2016.
    .. [3] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-Tzur, M.
       Hardt, B. Recht and A. Talwalkar, "A System for Massively Parallel
       Hyperparameter Tuning", MLSys 2020.
    .. [4] S. Falkner, A. Klein and F. Hutter, "BOHB: Robust and Efficient
       Hyperparameter Optimization at Scale", ICML 2018.
    .. [5] J. Snoek, H. Larochelle and R. P. Adams, "Practical Bayesian
       Optimization of Machine Learning Algorithms", NeurIPS 2012.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from fmnist_estimators import DenseNetClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.search import HyperbandSearchCV
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> search = HyperbandSearchCV(
    ...     DenseNetClassifier((16,), batch_size=128, random_state=0),
    ...     {"learning_rate": loguniform(1e-3, 1e-2)},
    ...     max_epochs=2, factor=2, cv=2, random_state=0,
    ... ).fit(X[:400], y[:400])
    >>> search.n_resources_, search.n_candidates_
    ([1, 2], [2, 1])
    >>> search.epochs_trained_  # 2 x 1 + 1 x 1 epochs, on each of 2 folds
    6
    >>> search.best_estimator_.n_iter_
    2
    """

    _parameter_constraints: dict = {
        **BASE_SEARCH_CONSTRAINTS,
        "param_distributions": [dict, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), None],
        "min_epochs": [Interval(Integral, 1, None, closed="left")],
        "factor": [Interval(Integral, 2, None, closed="left")],
        "n_candidates": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"exhaust"}),
        ],
        "n_brackets": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"all"}),
        ],
        "random_state": ["random_state"],
        "promotion": [StrOptions({"sync", "async"})],
        "sampler": [StrOptions({"random", "tpe", "tpe_per_second"})],
    }

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        max_epochs=None,
        min_epochs=1,
        factor=3,
        n_candidates="exhaust",
        n_brackets=1,
        promotion="sync",
        sampler="random",
        cv=3,
        scoring=None,
        refit=True,
        n_jobs=None,
        random_state=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_distributions = param_distributions
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.factor = factor
        self.n_candidates = n_candidates
        self.n_brackets = n_brackets
        self.promotion = promotion
        self.sampler = sampler
        self.random_state = random_state

    # -- set-up ---------------------------------------------------------------
    def _check_estimator(self):
        """Names of the epochs and warm-start parameters; max epochs."""
        epochs = epochs_parameter(self.estimator)
        warm_start = warm_start_parameter(epochs)
        params = self.estimator.get_params()
        if warm_start not in params:
            raise ValueError(
                f"HyperbandSearchCV continues each model with {warm_start!r}, "
                f"which {type(self.estimator).__name__} does not have; use "
                f"make_epoch_halving_search, which retrains instead."
            )
        max_epochs = params[epochs] if self.max_epochs is None else self.max_epochs
        if not isinstance(max_epochs, Integral) or max_epochs < self.min_epochs:
            raise ValueError(
                f"max_epochs must be an int of at least min_epochs="
                f"{self.min_epochs}; got {max_epochs!r}."
            )
        return epochs, warm_start, int(max_epochs)

    def _scorers(self):
        """The scorer, or a dict of named scorers; whether there are several."""
        scoring = self.scoring
        if scoring is None or isinstance(scoring, str) or callable(scoring):
            return check_scoring(self.estimator, scoring), False
        if not isinstance(scoring, dict):
            scoring = {name: name for name in scoring}
        scorers = {
            name: check_scoring(self.estimator, value)
            for name, value in scoring.items()
        }
        refit = self.refit
        if refit is not False and not callable(refit) and refit not in scorers:
            raise ValueError(
                f"With several scores, refit must name one of them "
                f"{sorted(scorers)}, be a callable, or be False; got {refit!r}."
            )
        return scorers, True

    def _route(self, X, params, scorer):
        """``fit``'s parameters for the estimator, the splitter and the scorer.

        As :class:`~sklearn.model_selection.GridSearchCV` (1.7 and later)
        routes them: with metadata routing, where each consumer requested
        them; without, all to the estimator but ``groups``, which goes to the
        splitter, and ``sample_weight`` also to the scorers that take it.
        """
        params = check_method_params(X, params)
        if get_config()["enable_metadata_routing"]:
            return process_routing(self, "fit", **params)
        groups = params.pop("groups", None)
        weights = params.get("sample_weight")
        scorers = scorer.values() if isinstance(scorer, dict) else [scorer]
        weighted = weights is not None and any(
            scorer_accepts_sample_weight(s) for s in scorers
        )
        return Bunch(
            estimator=Bunch(fit=params),
            splitter=Bunch(split={"groups": groups}),
            scorer=Bunch(score={"sample_weight": weights} if weighted else {}),
        )

    def _brackets(self, max_epochs):
        """The search's levels, and the candidates to draw per bracket."""
        factor, min_epochs = self.factor, self.min_epochs
        levels = n_levels(min_epochs, max_epochs, factor)
        n_brackets = levels if self.n_brackets == "all" else self.n_brackets
        if n_brackets > levels:
            raise ValueError(
                f"n_brackets={n_brackets}, but min_epochs={min_epochs}, "
                f"max_epochs={max_epochs} and factor={factor} allow at most "
                f"{levels} bracket(s) (n_brackets='all')."
            )
        n_first = n_first_candidates(self.n_candidates, min_epochs, max_epochs)
        return levels, bracket_sizes(n_first, levels, factor, n_brackets)

    def _check_space(self, epochs_name):
        for space in subspaces(self.param_distributions):
            if epochs_name in space:
                raise ValueError(
                    f"{epochs_name!r} is the resource of the search and must not "
                    f"be among the searched parameters."
                )

    def _plan_brackets(self, max_epochs):
        """Each bracket's rounds and candidates, and the model-based sampler.

        With ``sampler="random"`` every candidate is drawn now and the
        sampler is None; otherwise each bracket's candidates are None,
        drawn one by one as the search runs.
        """
        levels, sizes = self._brackets(max_epochs)
        rng = check_random_state(self.random_state)
        sampler = None
        if self.sampler != "random":
            sampler = ParzenSampler(
                self.param_distributions,
                rng,
                per_second=self.sampler == "tpe_per_second",
            )
            grid = grid_size(self.param_distributions)
            if grid is not None and grid < max(sizes):
                # As ParameterSampler warns: a bracket draws each candidate
                # of a finite grid at most once.
                warn_user(
                    f"The total space of parameters {grid} is smaller than the "
                    f"{max(sizes)} candidates of a bracket; it draws {grid}."
                )
                sizes = [min(size, grid) for size in sizes]
        plans = []
        for index, size in enumerate(sizes):
            candidates = None
            if sampler is None:
                candidates = list(
                    ParameterSampler(self.param_distributions, size, random_state=rng)
                )
                size = len(candidates)  # fewer where a grid is smaller
            bracket = bracket_rounds(
                index,
                size,
                min_epochs=self.min_epochs,
                factor=self.factor,
                n_levels=levels,
            )
            plans.append((bracket, candidates))
        return plans, sampler

    # -- fit ------------------------------------------------------------------
    @fit_context(
        # The estimator is validated by its own fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y=None, **params):
        """Run the search: every bracket's rounds, then the refit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Training images.

        y : array-like of shape (n_samples,)
            Labels.

        **params : dict of str -> object
            Parameters of the estimator's ``fit``, the scorer and the splitter,
            routed as :class:`~sklearn.model_selection.GridSearchCV` routes
            them. An array as long as ``X``, such as ``sample_weight``, is
            split with the folds (and also weights the test scores of a scorer
            that takes it); ``X_val`` and ``y_val`` (a validation set of your
            own) are passed whole; ``groups`` goes to a group splitter given as
            ``cv``. With ``sklearn.set_config(enable_metadata_routing=True)``,
            each goes where it was requested (``set_fit_request``,
            ``set_score_request``, ``set_split_request``).

        Returns
        -------
        self : object
            The fitted search.
        """
        epochs_name, warm_name, max_epochs = self._check_estimator()
        scorer, multimetric = self._scorers()
        X, y = indexable(X, y)
        routed = self._route(X, params, scorer)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        # Drawn once: every candidate and round sees the same folds.
        splits = list(cv.split(X, y, **routed.splitter.split))
        self.n_splits_ = len(splits)
        self._check_space(epochs_name)
        plans, sampler = self._plan_brackets(max_epochs)
        fits = Fits(
            X,
            y,
            splits,
            fit_params=routed.estimator.fit,
            score_params=routed.scorer.score,
            score_keys=score_keys(scorer, routed.scorer.score, self),
            epochs_name=epochs_name,
            warm_name=warm_name,
            scorer=scorer,
            return_train_score=self.return_train_score,
            error_score=self.error_score,
            # Pickle the models only when they cross to other processes.
            serialize=effective_n_jobs(self.n_jobs) != 1,
        )
        base = clone(self.estimator)
        record = _Record()
        metric = self._refit_metric(multimetric)
        if self.promotion == "async":
            self._run_asha(plans, sampler, base, fits, record, metric)
        else:
            self._run_brackets(plans, sampler, base, fits, record, metric)
        self._store_results(record, scorer, multimetric, epochs_name)
        if self.refit:
            self._refit(X, y, base, fits, record.brackets)
        return self

    def _run_brackets(self, plans, sampler, base, fits, record, metric):
        """Run the brackets one after the other, each round after round.

        With a ``sampler``, a bracket's candidates are drawn just before it
        runs, from the results of the brackets before it.
        """
        # (bracket, candidate) -> (params, (epochs, score), seconds per epoch)
        history = {}
        with Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch) as run:
            for bracket, candidates in plans:
                if candidates is None:
                    done, candidates = list(history.values()), []
                    for _ in range(bracket.n_candidates[0]):
                        candidates.append(sampler.draw(done, exclude=candidates))
                self._run_bracket(
                    run, bracket, candidates, base, fits, record, metric, history
                )

    def _run_bracket(
        self, parallel, bracket, candidates, base, fits, record, metric, history
    ):
        """Run the rounds of ``bracket``, keeping the best candidates between
        them; each candidate's furthest round and score go in ``history``."""
        record.brackets.append(bracket)
        models = _new_models(base, candidates, fits)
        drawn = list(enumerate(candidates))
        n_folds = len(fits.splits)
        seconds = np.zeros(len(candidates))  # of fitting, by candidate drawn
        done = 0
        for i, epochs in enumerate(bracket.epochs):
            last = i == len(bracket.epochs) - 1
            if self.verbose > 0:
                print(
                    f"[HyperbandSearchCV] bracket {bracket.index}, round {i}: "
                    f"{len(candidates)} candidate(s) x {self.n_splits_} folds, "
                    f"epochs {done} -> {epochs}"
                )
            out, models = run_round(
                parallel, models, fits, epochs=epochs - done, keep=not last
            )
            self._check_failures(out, first_round=not record.out)
            record.add_round(bracket, i, candidates, out, fits, epochs - done)
            done = epochs
            scores = mean_scores(out, n_folds, metric)
            for row, ((c, params), score) in enumerate(zip(drawn, scores)):
                folds = out[row * n_folds : (row + 1) * n_folds]
                seconds[c] += sum(fold["fit_time"] for fold in folds)
                per_epoch = seconds[c] / (epochs * n_folds)
                history[bracket.index, c] = params, (epochs, float(score)), per_epoch
            if last:
                break
            keep = top_k(scores, bracket.n_candidates[i + 1])
            candidates = [candidates[c] for c in keep]
            models = [models[c] for c in keep]
            drawn = [drawn[c] for c in keep]
            if not fits.serialize:
                # Release the losers' networks now, not at some later
                # garbage collection.
                gc.collect()

    def _run_asha(self, plans, sampler, base, fits, record, metric):
        """Run the rungs of every bracket at once, promoting as ASHA does.

        With a ``sampler``, each candidate is drawn as its first fit starts,
        from the results of every bracket so far.
        """
        ladders = [
            Ladder(bracket, candidates, _new_models(base, candidates, fits))
            if candidates is not None
            else Ladder.undrawn(bracket)
            for bracket, candidates in plans
        ]

        def draw(ladder):
            history = [done for each in ladders for done in each.history()]
            drawn = [params for params in ladder.candidates if params is not None]
            params = sampler.draw(history, exclude=drawn)
            return params, _new_models(base, [params], fits)[0]

        with worker_pool(self.n_jobs) as (pool, n_workers):
            run_asha(
                pool,
                n_workers,
                ladders,
                fits,
                factor=self.factor,
                metric=metric,
                verbose=self.verbose,
                draw=draw,
            )
        for ladder in ladders:
            record.brackets.append(ladder.bracket)
            for rung, order, out in ladder.rounds():
                self._check_failures(out, first_round=not record.out)
                candidates = [ladder.candidates[c] for c in order]
                new_epochs = ladder.new_epochs(rung)
                record.add_round(
                    ladder.bracket, rung, candidates, out, fits, new_epochs
                )

    def _store_results(self, record, scorer, multimetric, epochs_name):
        """``cv_results_``, the schedule's attributes, and the best candidate."""
        _fill_error_scores(
            record.out, scorer if multimetric else None, self.error_score
        )
        results = format_results(
            self, record.params, self.n_splits_, record.out, record.more
        )
        first = record.brackets[0]
        self.cv_results_ = results
        self.multimetric_ = multimetric
        self.scorer_ = scorer
        self.resource_ = epochs_name
        self.min_resources_ = self.min_epochs
        self.max_resources_ = first.epochs[-1]
        self.n_brackets_ = len(record.brackets)
        self.n_required_iterations_ = first.n_required
        self.n_possible_iterations_ = first.n_possible
        self.n_iterations_ = len(record.n_resources)
        self.n_resources_ = record.n_resources
        self.n_candidates_ = record.n_candidates
        self.epochs_trained_ = record.epochs_trained
        if self.refit or not multimetric:
            metric = self._refit_metric(multimetric)
            self.best_index_ = _best_index(self.refit, metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]

    def _refit_metric(self, multimetric):
        return self.refit if multimetric and isinstance(self.refit, str) else "score"

    def _check_failures(self, out, first_round):
        failed = [result["fit_error"] for result in out if result["fit_error"]]
        if not failed:
            return
        if len(failed) == len(out) and first_round:
            raise ValueError(
                f"All the {len(out)} fits of the first round failed; the first "
                f"error was:\n{failed[0]}"
            )
        warn_user(
            f"{len(failed)} of the {len(out)} fits of a round failed and score "
            f"error_score={self.error_score!r}; the first error was:\n{failed[0]}",
            FitFailedWarning,
        )

    def _refit(self, X, y, base, fits, brackets):
        """Train the best candidate on all of ``X`` through the same rounds."""
        i = self.best_index_
        bracket = brackets[int(self.cv_results_["bracket"][i])]
        rounds = bracket.epochs[: int(self.cv_results_["iter"][i]) + 1]
        params = clone(self.best_params_, safe=False)
        estimator = clone(base).set_params(**params)
        start = time.perf_counter()
        done = 0
        for epochs in rounds:
            estimator.set_params(
                **{fits.warm_name: True, fits.epochs_name: epochs - done}
            )
            estimator.fit(X, y, **fits.fit_params)
            done = epochs
        self.refit_time_ = time.perf_counter() - start
        # Parameters as best_params_ says: a later fit trains as many epochs.
        warm_start = base.get_params()[fits.warm_name]
        estimator.set_params(**{fits.warm_name: warm_start, fits.epochs_name: done})
        self.best_estimator_ = estimator
        if hasattr(estimator, "feature_names_in_"):
            self.feature_names_in_ = estimator.feature_names_in_


class _Record:
    """What the rounds leave: a row per candidate and round, and the totals."""

    def __init__(self):
        self.params, self.out, self.brackets = [], [], []
        self.more = {"iter": [], "n_resources": [], "bracket": []}
        self.n_resources, self.n_candidates = [], []
        self.epochs_trained = 0

    def add_round(self, bracket, i, candidates, out, fits, new_epochs):
        """Rows of round ``i`` of ``bracket``, which trained ``new_epochs`` more."""
        epochs, n = bracket.epochs[i], len(candidates)
        self.params.extend(
            {**params, fits.epochs_name: epochs} for params in candidates
        )
        self.out.extend(out)
        self.more["iter"] += [i] * n
        self.more["n_resources"] += [epochs] * n
        self.more["bracket"] += [bracket.index] * n
        self.n_resources.append(epochs)
        self.n_candidates.append(n)
        self.epochs_trained += n * len(fits.splits) * new_epochs


def _new_models(base, candidates, fits):
    """One model per (candidate, fold): a fresh clone, to be continued round
    after round (None once a fit failed)."""
    return [
        [clone(base).set_params(**clone(params, safe=False)) for _ in fits.splits]
        for params in candidates
    ]


def _fill_error_scores(out, scorers, error_score):
    """Failed fits of a multi-metric search score ``error_score`` for each metric."""
    names = list(scorers) if scorers is not None else None
    if names is None:
        # A callable scorer returning a dict: its names are in the scored fits.
        names = next(
            (list(r["test_scores"]) for r in out if isinstance(r["test_scores"], dict)),
            None,
        )
    if names is None:
        return
    for result in out:
        for key in ("test_scores", "train_scores"):
            if key in result and isinstance(result[key], Real):
                result[key] = dict.fromkeys(names, error_score)


def _best_index(refit, metric, results):
    """The best row among those trained the most epochs."""
    if callable(refit):
        index = refit(results)
        if not isinstance(index, Integral):
            raise TypeError("best_index_ returned is not an integer")
        if not 0 <= index < len(results["params"]):
            raise IndexError("best_index_ index out of range")
        return int(index)
    resources = np.asarray(results["n_resources"])
    rows = np.flatnonzero(resources == resources.max())
    ranks = np.asarray(results[f"rank_test_{metric}"])[rows]
    return int(rows[np.argmin(ranks)])
