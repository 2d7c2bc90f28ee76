"""Hyperband's schedule: brackets, rounds, candidates and epochs per round.

Arithmetic only, no fitting, so that each rule can be tested alone (as
keras-tuner's ``tuners/hyperband.py`` and dask-ml's ``_get_hyperband_params``
keep theirs). The *levels* of a search are the epochs ``min_epochs *
factor ** k`` not above ``max_epochs``; bracket ``b`` starts at level ``b``,
and the last round of every bracket trains to the top level. Which
candidates go on is arithmetic too: :func:`top_k` after a synchronous round,
:func:`promotable` for asynchronous promotion (ASHA).
"""

# SPDX-License-Identifier: BSD-3-Clause

import dataclasses

import numpy as np

__all__ = [
    "Bracket",
    "bracket_rounds",
    "bracket_sizes",
    "n_first_candidates",
    "n_levels",
    "n_required_rounds",
    "promotable",
    "top_k",
]


@dataclasses.dataclass(frozen=True)
class Bracket:
    """The rounds of one bracket, once its candidates are drawn.

    Parameters
    ----------
    index : int
        The bracket, from 0 (the most exploratory).
    n_candidates : tuple of int
        Candidates of each round.
    epochs : tuple of int
        Epochs trained so far after each round; the last is the top level.
    n_required : int
        Rounds needed for the last to hold fewer than ``factor`` candidates
        (scikit-learn's ``n_required_iterations_``).
    n_possible : int
        Rounds that fit between the bracket's first level and the top one
        (scikit-learn's ``n_possible_iterations_``).

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import bracket_rounds
    >>> bracket_rounds(0, 9, min_epochs=1, factor=3, n_levels=3)
    Bracket(index=0, n_candidates=(9, 3, 1), epochs=(1, 3, 9), n_required=3, \
n_possible=3)
    """

    index: int
    n_candidates: tuple
    epochs: tuple
    n_required: int
    n_possible: int


def n_levels(min_epochs, max_epochs, factor):
    """Number of levels ``min_epochs * factor ** k`` not above ``max_epochs``.

    Hyperband's ``s_max + 1``: the most rounds a bracket can have, and the
    most brackets a search can have.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import n_levels
    >>> n_levels(1, 9, 3), n_levels(1, 10, 3), n_levels(2, 3, 2)
    (3, 3, 1)
    """
    levels = 1
    while min_epochs * factor**levels <= max_epochs:
        levels += 1
    return levels


def n_first_candidates(n_candidates, min_epochs, max_epochs):
    """Candidates of the first bracket; ``"exhaust"`` is ``max // min``.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import n_first_candidates
    >>> n_first_candidates("exhaust", 1, 9), n_first_candidates(4, 1, 9)
    (9, 4)
    """
    if n_candidates == "exhaust":
        # As HalvingRandomSearchCV's n_candidates="exhaust".
        return max_epochs // min_epochs
    return n_candidates


def bracket_sizes(n_first, levels, factor, n_brackets):
    """Candidates to draw for each bracket: Hyperband's shares of ``n_first``.

    Bracket ``b`` of ``s + 1 = levels - b`` rounds gets
    ``ceil(n_first * levels / (s + 1) / factor ** b)`` candidates, at least 1.

    Parameters
    ----------
    n_first : int
        Candidates of the first bracket.
    levels : int
        The search's levels (:func:`n_levels`).
    factor : int
        Each round keeps ``1 / factor`` of its candidates.
    n_brackets : int
        Brackets to run, at most ``levels``.

    Returns
    -------
    sizes : list of int
        One per bracket.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import bracket_sizes
    >>> bracket_sizes(10, 3, 3, n_brackets=3)
    [10, 5, 4]
    """
    # In integers: ceil(a / b) is -(-a // b).
    return [
        max(1, -(-(n_first * levels) // ((levels - b) * factor**b)))
        for b in range(n_brackets)
    ]


def n_required_rounds(n_candidates, factor):
    """Rounds until one holds fewer than ``factor`` candidates.

    ``1 + floor(log(n_candidates, factor))`` in integers, as scikit-learn's
    halving searches count their ``n_required_iterations_``.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import n_required_rounds
    >>> n_required_rounds(2, 3), n_required_rounds(3, 3), n_required_rounds(9, 3)
    (1, 2, 3)
    """
    rounds = 1
    while factor**rounds <= n_candidates:
        rounds += 1
    return rounds


def bracket_rounds(index, n_candidates, *, min_epochs, factor, n_levels):
    """The rounds of bracket ``index`` when it has drawn ``n_candidates``.

    It runs ``min(n_required, n_possible)`` rounds, as scikit-learn's halving
    searches do; each keeps ``ceil(n / factor)`` of its ``n`` candidates.
    Round ``i`` trains to ``min_epochs * factor ** (index + i)`` epochs,
    except the last, which trains to the top level even when the candidates
    run out before the levels do: the best candidate is always trained the
    most epochs of the search (as keras-tuner trains its best models to the
    maximum), not one round's worth.

    Parameters
    ----------
    index : int
        The bracket, from 0; its first round is at level ``index``.
    n_candidates : int
        Candidates of its first round.
    min_epochs : int
        Epochs of level 0.
    factor : int
        Epochs grow, and candidates shrink, by this factor per round.
    n_levels : int
        The search's levels (:func:`n_levels`).

    Returns
    -------
    bracket : Bracket

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import bracket_rounds
    >>> bracket_rounds(0, 2, min_epochs=1, factor=3, n_levels=3).epochs
    (9,)
    >>> bracket_rounds(0, 4, min_epochs=1, factor=3, n_levels=3).epochs
    (1, 9)
    """
    n_required = n_required_rounds(n_candidates, factor)
    n_possible = n_levels - index
    n_rounds = min(n_required, n_possible)
    sizes = [n_candidates]
    for _ in range(n_rounds - 1):
        sizes.append(-(-sizes[-1] // factor))
    epochs = [min_epochs * factor ** (index + i) for i in range(n_rounds - 1)]
    epochs.append(min_epochs * factor ** (n_levels - 1))
    return Bracket(index, tuple(sizes), tuple(epochs), n_required, n_possible)


def top_k(scores, k):
    """Indices of the ``k`` best ``scores``, worst first; NaN counts as worst.

    The order of :class:`~sklearn.model_selection.HalvingRandomSearchCV`'s
    selection (the end of an argsort), so that equal scores keep the same
    candidates; the sort is stable, so of equal scores the later index ranks
    higher, whatever the length and the CPU.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import top_k
    >>> top_k([0.2, float("nan"), 0.9, 0.5], 2), top_k([0.5, 0.5, 0.5], 1)
    ([3, 2], [2])
    """
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="stable")
    order = np.roll(order, np.count_nonzero(np.isnan(scores)))
    return [int(c) for c in order[len(order) - k :]]


def promotable(scores, promoted, *, factor, quota, complete):
    """Candidates of a rung to promote now, by asynchronous successive halving.

    ASHA's rule [1]_: of the ``n`` candidates that have completed the rung so
    far, those among the best ``floor(n / factor)`` that were not promoted
    yet go on, without waiting for the others. A rung promotes at most
    ``quota`` candidates in all (the next round's candidates in the
    synchronous schedule), so the search trains as many epochs as the
    synchronous one; once the rung is complete, its best ``quota`` fill what
    is left of it. A candidate that scores NaN (a failed fit) is promoted
    only then, to fill the quota, as a synchronous round would keep it.

    Parameters
    ----------
    scores : dict of int to float
        Mean score over the folds of each candidate that has completed the
        rung, by candidate.
    promoted : collection of int
        Candidates the rung has promoted so far.
    factor : int
        The search's ``factor``.
    quota : int
        Candidates the rung promotes in all.
    complete : bool
        Whether every candidate that will reach the rung has completed it.

    Returns
    -------
    promote : list of int
        Candidates to promote now, best first; ties go to the later
        candidate, as in :func:`top_k`.

    References
    ----------
    .. [1] L. Li, K. Jamieson, A. Rostamizadeh, E. Gonina, J. Ben-Tzur,
       M. Hardt, B. Recht and A. Talwalkar, "A System for Massively Parallel
       Hyperparameter Tuning", MLSys 2020.

    Examples
    --------
    >>> from fmnist_estimators.search._schedule import promotable
    >>> rule = dict(factor=2, quota=2, complete=False)
    >>> promotable({0: 0.6}, [], **rule)  # 1 // 2: none yet
    []
    >>> promotable({0: 0.6, 1: 0.8}, [], **rule)
    [1]
    >>> promotable({0: 0.6, 1: 0.8, 2: 0.7}, [1], **rule)  # 3 // 2: 1 already
    []
    >>> promotable({0: 0.6, 1: 0.8, 2: 0.7}, [1], factor=2, quota=2, complete=True)
    [2]
    """
    names = sorted(scores)
    n_top = len(names) if complete else len(names) // factor
    best = [names[i] for i in reversed(top_k([scores[c] for c in names], n_top))]
    if not complete:
        best = [c for c in best if not np.isnan(scores[c])]
    new = [c for c in best if c not in promoted]
    return new[: max(quota - len(promoted), 0)]
