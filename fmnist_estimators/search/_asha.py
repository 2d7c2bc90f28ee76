"""Asynchronous successive halving (ASHA) of (candidate, fold) fits.

The synchronous search (:func:`._rounds.run_round`) waits for every fit of a
round before it keeps the best candidates, so workers idle while the
slowest fits of a round finish. Here each (candidate, fold) fit is
submitted alone, and a candidate goes on to the next rung of its bracket as
soon as ASHA's rule (:func:`._schedule.promotable`) allows [1]_. The rungs
are the rounds of the synchronous schedule (:class:`._schedule.Bracket`),
and each fit is :func:`._rounds.train_and_score`, continuing the model its
previous rung left with ``warm_start``, as the synchronous rounds do.

In worker processes a continued model stays where its last fit left it
(:func:`._workers.keep_resident`), and a worker that comes free takes, in
order: a fit continuing one of its own models, a fit of a first rung, a fit
continuing a model of another worker (sent pickled). So a model crosses
between processes only when a worker would otherwise idle.

References
----------
.. [1] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-Tzur,
   M. Hardt, B. Recht and A. Talwalkar, "A System for Massively Parallel
   Hyperparameter Tuning", MLSys 2020.
"""

# SPDX-License-Identifier: BSD-3-Clause

import bisect
import dataclasses
import gc
import itertools
import pickle
import uuid
from typing import NamedTuple

from sklearn import config_context, get_config

from ._rounds import mean_scores, train_and_score
from ._schedule import promotable
from ._workers import clear_resident, keep_resident, load_shared, take_resident

__all__ = ["Ladder", "fit_task", "run_asha"]


class Task(NamedTuple):
    """One fit: ``fold`` of ``candidate`` at ``rung`` of ladder ``ladder``."""

    ladder: int
    candidate: int
    rung: int
    fold: int

    @property
    def model_key(self):
        """The (candidate, fold) model this fit continues."""
        return self.ladder, self.candidate, self.fold


class Ladder:
    """The rungs of one bracket while they run: models, results, promotions.

    Parameters
    ----------
    bracket : Bracket
        The synchronous schedule: rung ``k`` trains to ``bracket.epochs[k]``
        and holds ``bracket.n_candidates[k]`` candidates in the end.
    candidates : list of dict
        The bracket's parameters, by candidate (None while not yet drawn).
    models : list of list
        Per candidate, per fold: the model to continue (a fresh clone at
        first, None once a fit failed or the candidate is dropped); None for
        a candidate not yet drawn.
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

    @classmethod
    def undrawn(cls, bracket):
        """A ladder whose candidates are drawn as their first fits start."""
        n = bracket.n_candidates[0]
        return cls(bracket, [None] * n, [None] * n)

    def history(self):
        """Each candidate with a result: its parameters, the epochs and mean
        score of the furthest rung it has completed, and its seconds of
        fitting per epoch and fold up to that rung."""
        for candidate, params in enumerate(self.candidates):
            for rung in reversed(range(len(self.scores))):
                score = self.scores[rung].get(candidate)
                if score is not None:
                    epochs = self.bracket.epochs[rung]
                    n_folds = len(self.models[candidate])
                    seconds = sum(
                        fold["fit_time"]
                        for done in self.results[: rung + 1]
                        for fold in done[candidate]
                    )
                    yield params, (epochs, score), seconds / (epochs * n_folds)
                    break

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
        candidate, rung = task.candidate, task.rung
        n_folds = len(self.models[candidate])
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


def fit_task(shared, model, fold, epochs, keep, config, place=None):
    """One fit in a worker: :func:`train_and_score` under the caller's config.

    ``place`` is ``(search, task, evict)`` where the pool is sticky: the
    model ``task`` continues is taken from this process if its last fit
    left it here (``model``, its pickle, is loaded otherwise), and the model
    to keep stays here as well as going back pickled; the resident models
    of ``evict`` (model keys) are dropped first.
    """
    fits = load_shared(shared)
    with config_context(**config):
        if place is None:
            return train_and_score(model, fits, fold, epochs=epochs, keep=keep)
        search, task, evict = place
        clear_resident(search, evict)
        resident = take_resident(search, task.model_key, task.rung - 1)
        result, kept = train_and_score(
            model if resident is None else resident,
            dataclasses.replace(fits, serialize=False),
            fold,
            epochs=epochs,
            keep=keep,
        )
    if kept is None:
        return result, None
    keep_resident(search, task.model_key, task.rung, kept)
    return result, pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)


def run_asha(pool, n_workers, ladders, fits, *, factor, metric, verbose=0, draw=None):
    """Run the fits of every ladder, promoting candidates as ASHA does.

    While fewer than ``n_workers`` fits run, it submits a fit that a
    promotion is waiting for (the highest rung first), else the next
    (candidate, fold) of a first rung, bracket after bracket and candidate
    after candidate; when nothing can start, it waits for a running fit.
    Where ``pool.sticky``, a free worker prefers the promoted fits whose
    models it holds, and takes another worker's only when no first rung is
    left to start (see the module's docstring).

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
    draw : callable, default=None
        ``draw(ladder)`` returns the parameters of a new candidate of
        ``ladder`` and its model per fold; called as the first fit of a
        candidate not yet drawn (:meth:`Ladder.undrawn`) starts, so it can
        use every result in so far.
    """
    queue = _Queue(ladders, len(fits.splits))
    places = _Places(pool, ladders, n_workers)
    config = get_config()
    running = {}
    with pool.share(fits) as shared:
        try:
            while True:
                for slot in places.free(running.values()):
                    task = queue.pop(places.holds(slot))
                    if task is None:
                        break
                    future = _submit(
                        pool, shared, ladders, task, slot, places, config, draw
                    )
                    running[future] = task, slot
                if not running:
                    return
                # Fits done at once are recorded in a fixed order.
                for future in sorted(pool.wait(running), key=running.get):
                    task, _ = running.pop(future)
                    ladder = ladders[task.ladder]
                    promote = ladder.finish(
                        task, *future.result(), factor=factor, metric=metric
                    )
                    queue.promote(task, promote)
                    places.finished(task)
                    if verbose > 0 and task.candidate in ladder.scores[task.rung]:
                        _report(ladder, task, promote)
                    if ladder.complete(task.rung) and not fits.serialize:
                        # Release the dropped networks now, not at some
                        # later garbage collection.
                        gc.collect()
        finally:
            for future in running:
                future.cancel()
            places.release()


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
        # Sorted: the highest rung first, then in the order promoted.
        self.promoted, self.order = [], itertools.count()

    def promote(self, task, candidates):
        """Queue every fold of ``candidates``, promoted from ``task.rung``."""
        for c in candidates:
            for k in range(self.n_folds):
                new = Task(task.ladder, c, task.rung + 1, k)
                bisect.insort(self.promoted, (-new.rung, next(self.order), new))

    def pop(self, holds=None):
        """The next fit to start, or None.

        ``holds(task)`` tells whether the free worker holds the model of
        ``task``: then its promoted fits go first, then first rungs, then
        the other promoted fits.
        """
        if holds is not None:
            for i, (*_, task) in enumerate(self.promoted):
                if holds(task):
                    return self.promoted.pop(i)[-1]
            first = next(self.first_rungs, None)
            if first is not None:
                return first
        if self.promoted:
            return self.promoted.pop(0)[-1]
        return next(self.first_rungs, None)


class _Places:
    """Which worker holds each model, where the pool keeps them resident."""

    def __init__(self, pool, ladders, n_workers):
        self.pool, self.ladders, self.n_workers = pool, ladders, n_workers
        self.search = uuid.uuid4().hex if pool.sticky else None
        self.owner = {}  # model key -> slot
        self.in_flight = set()  # model keys
        self.evict = [set() for _ in range(n_workers)]  # per slot

    def free(self, running):
        """The free slots, in order."""
        busy = {slot for _, slot in running}
        return [slot for slot in range(self.n_workers) if slot not in busy]

    def holds(self, slot):
        """``task -> bool``: whether ``slot`` holds the task's model."""
        if self.search is None:
            return None
        return lambda task: self.owner.get(task.model_key) == slot

    def place(self, task, slot):
        """What :func:`fit_task` needs to run ``task`` in ``slot``, if sticky."""
        if self.search is None:
            return None
        key = task.model_key
        previous = self.owner.get(key)
        if previous is not None and previous != slot:
            self.evict[previous].add(key)  # its copy there is stale now
        self.owner[key] = slot
        self.in_flight.add(key)
        evict, self.evict[slot] = self.evict[slot], set()
        return self.search, task, evict

    def finished(self, task):
        """After a fit: forget the models that no fit will continue."""
        if self.search is None:
            return
        self.in_flight.discard(task.model_key)
        for key, slot in list(self.owner.items()):
            ladder, candidate, fold = key
            if (
                key not in self.in_flight
                and self.ladders[ladder].models[candidate][fold] is None
            ):
                # Dropped by its rung (or failed, or done: nothing there).
                self.evict[slot].add(key)
                del self.owner[key]

    def release(self):
        """Drop every model this search left in the workers."""
        if self.search is None:
            return
        try:
            self.pool.broadcast(clear_resident, self.search)
        except Exception:
            # The pool broke (a worker died): the error that broke it goes
            # on, and its workers, with what they held, are gone.
            pass


def _submit(pool, shared, ladders, task, slot, places, config, draw):
    ladder = ladders[task.ladder]
    if ladder.candidates[task.candidate] is None:
        params, models = draw(ladder)
        ladder.candidates[task.candidate] = params
        ladder.models[task.candidate] = models
    model = ladder.models[task.candidate][task.fold]
    # In flight: the fit gives back the model to keep.
    ladder.models[task.candidate][task.fold] = None
    keep = not ladder.is_top(task.rung)
    epochs = ladder.new_epochs(task.rung)
    place = places.place(task, slot)
    return pool.submit(
        fit_task, shared, model, task.fold, epochs, keep, config, place, slot=slot
    )


def _report(ladder, task, promote):
    score = ladder.scores[task.rung][task.candidate]
    print(
        f"[HyperbandSearchCV] bracket {ladder.bracket.index}, rung {task.rung} "
        f"({ladder.bracket.epochs[task.rung]} epochs): candidate "
        f"{task.candidate} scored {score:.4f}; promoted {promote}"
    )
