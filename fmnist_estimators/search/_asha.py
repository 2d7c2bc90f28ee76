"""Asynchronous successive halving (ASHA) of (candidate, fold) fits.

The synchronous search (:func:`._rounds.run_round`) waits for every fit of a
round before it keeps the best candidates, so workers idle while the
slowest fits of a round finish. Here each (candidate, fold) fit is
submitted alone, and a candidate goes on to the next rung of its bracket as
soon as ASHA's rule (:func:`._schedule.promotable`) allows [1]_. The rungs
are the rounds of the synchronous schedule (:class:`._schedule.Bracket`),
and each fit is :func:`._rounds.train_and_score`, continuing the model its
previous rung left with ``warm_start``, as the synchronous rounds do.

References
----------
.. [1] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-Tzur,
   M. Hardt, B. Recht and A. Talwalkar, "A System for Massively Parallel
   Hyperparameter Tuning", MLSys 2020.
"""

# SPDX-License-Identifier: BSD-3-Clause

import gc
import heapq
import itertools
from typing import NamedTuple

from sklearn import config_context, get_config

from ._rounds import mean_scores, train_and_score
from ._schedule import promotable
from ._workers import load_shared

__all__ = ["Ladder", "fit_task", "run_asha"]


class Task(NamedTuple):
    """One fit: ``fold`` of ``candidate`` at ``rung`` of ladder ``ladder``."""

    ladder: int
    candidate: int
    rung: int
    fold: int


class Ladder:
    """The rungs of one bracket while they run: models, results, promotions.

    Parameters
    ----------
    bracket : Bracket
        The synchronous schedule: rung ``k`` trains to ``bracket.epochs[k]``
        and holds ``bracket.n_candidates[k]`` candidates in the end.
    candidates : list of dict
        The bracket's parameters, by candidate.
    models : list of list
        Per candidate, per fold: the model to continue (a fresh clone at
        first, None once a fit failed or the candidate is dropped).
    """

    def __init__(self, bracket, candidates, models):
        self.bracket = bracket
        self.candidates = candidates
        self.models = models
        n_rungs = len(bracket.epochs)
        # Per rung: {candidate: result of each fold (None while running)},
        # {candidate: mean score} once every fold is done, and the
        # candidates promoted from it, in order.
        self.results = [{} for _ in range(n_rungs)]
        self.scores = [{} for _ in range(n_rungs)]
        self.promoted = [[] for _ in range(n_rungs)]

    def new_epochs(self, rung):
        """Epochs a fit of ``rung`` adds to the model its last rung left."""
        epochs = self.bracket.epochs
        return epochs[rung] - (epochs[rung - 1] if rung else 0)

    def is_top(self, rung):
        return rung == len(self.bracket.epochs) - 1

    def complete(self, rung):
        """Whether every candidate that will reach ``rung`` has completed it."""
        return len(self.scores[rung]) == self.bracket.n_candidates[rung]

    def finish(self, task, result, model, *, factor, metric):
        """Record a finished fit; return the candidates its rung promotes now."""
        candidate, rung, n_folds = task.candidate, task.rung, len(self.models[0])
        self.models[candidate][task.fold] = model
        folds = self.results[rung].setdefault(candidate, [None] * n_folds)
        folds[task.fold] = result
        if None in folds:
            return []
        self.scores[rung][candidate] = float(mean_scores(folds, n_folds, metric)[0])
        if self.is_top(rung):
            return []
        promote = promotable(
            self.scores[rung],
            self.promoted[rung],
            factor=factor,
            quota=self.bracket.n_candidates[rung + 1],
            complete=self.complete(rung),
        )
        self.promoted[rung] += promote
        if self.complete(rung):
            # The rung promotes no more: drop the other candidates' models.
            for other in set(self.scores[rung]) - set(self.promoted[rung]):
                self.models[other] = [None] * n_folds
        return promote

    def rounds(self):
        """Per rung: its candidates in the order drawn, and their results."""
        for rung, results in enumerate(self.results):
            order = sorted(results)
            yield rung, order, [r for c in order for r in results[c]]


def fit_task(shared, model, fold, epochs, keep, config):
    """One fit in a worker: :func:`train_and_score` under the caller's config."""
    with config_context(**config):
        return train_and_score(
            model, load_shared(shared), fold, epochs=epochs, keep=keep
        )


def run_asha(pool, n_workers, ladders, fits, *, factor, metric, verbose=0):
    """Run the fits of every ladder, promoting candidates as ASHA does.

    While fewer than ``n_workers`` fits run, it submits a fit that a
    promotion is waiting for (the highest rung first), else the next
    (candidate, fold) of a first rung, bracket after bracket and candidate
    after candidate; when nothing can start, it waits for a running fit.

    Parameters
    ----------
    pool : object
        From :func:`._workers.worker_pool`.
    n_workers : int
        Fits to keep running.
    ladders : list of Ladder
        Filled with the results.
    fits : Fits
        Data, folds, routed parameters and scorer.
    factor : int
        The search's ``factor``.
    metric : str
        The score that ranks candidates.
    verbose : int, default=0
        Above 0, print a line per candidate that completes a rung.
    """
    queue = _Queue(ladders, len(fits.splits))
    config = get_config()
    running = {}
    with pool.share(fits) as shared:
        try:
            while True:
                while len(running) < n_workers and (task := queue.pop()) is not None:
                    future = _submit(pool, shared, ladders[task.ladder], task, config)
                    running[future] = task
                if not running:
                    return
                # Fits done at once are recorded in a fixed order.
                for future in sorted(pool.wait(running), key=running.get):
                    task = running.pop(future)
                    ladder = ladders[task.ladder]
                    promote = ladder.finish(
                        task, *future.result(), factor=factor, metric=metric
                    )
                    queue.promote(task, promote)
                    if verbose > 0 and task.candidate in ladder.scores[task.rung]:
                        _report(ladder, task, promote)
                    if ladder.complete(task.rung) and not fits.serialize:
                        # Release the dropped networks now, not at some
                        # later garbage collection.
                        gc.collect()
        finally:
            for future in running:
                future.cancel()


class _Queue:
    """The fits to start: those promotions wait for, then first rungs."""

    def __init__(self, ladders, n_folds):
        self.n_folds = n_folds
        self.first_rungs = (
            Task(i, c, 0, k)
            for i, ladder in enumerate(ladders)
            for c in range(len(ladder.candidates))
            for k in range(n_folds)
        )
        self.promoted, self.order = [], itertools.count()  # a heap

    def promote(self, task, candidates):
        """Queue every fold of ``candidates``, promoted from ``task.rung``."""
        for c in candidates:
            for k in range(self.n_folds):
                new = Task(task.ladder, c, task.rung + 1, k)
                heapq.heappush(self.promoted, (-new.rung, next(self.order), new))

    def pop(self):
        """The next fit to start, or None."""
        if self.promoted:
            return heapq.heappop(self.promoted)[-1]
        return next(self.first_rungs, None)


def _submit(pool, shared, ladder, task, config):
    model = ladder.models[task.candidate][task.fold]
    # In flight: the fit gives back the model to keep.
    ladder.models[task.candidate][task.fold] = None
    keep = not ladder.is_top(task.rung)
    return pool.submit(
        fit_task, shared, model, task.fold, ladder.new_epochs(task.rung), keep, config
    )


def _report(ladder, task, promote):
    score = ladder.scores[task.rung][task.candidate]
    print(
        f"[HyperbandSearchCV] bracket {ladder.bracket.index}, rung {task.rung} "
        f"({ladder.bracket.epochs[task.rung]} epochs): candidate "
        f"{task.candidate} scored {score:.4f}; promoted {promote}"
    )
