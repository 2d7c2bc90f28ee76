"""Hyperband's schedule: brackets, rounds, candidates and epochs per round.

Arithmetic only, no fitting, so that each rule can be tested alone (as
keras-tuner's ``tuners/hyperband.py`` and dask-ml's ``_get_hyperband_params``
keep theirs). The *levels* of a search are the epochs ``min_epochs *
factor ** k`` not above ``max_epochs``; bracket ``b`` starts at level ``b``,
and the last round of every bracket trains to the top level.
"""

# SPDX-License-Identifier: BSD-3-Clause

import dataclasses

__all__ = [
    "Bracket",
    "bracket_rounds",
    "bracket_sizes",
    "n_first_candidates",
    "n_levels",
    "n_required_rounds",
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
