"""Hyperband's schedule, arithmetic only: levels, brackets, rounds."""

import math

import pytest

from fmnist_estimators.search._schedule import (
    Bracket,
    bracket_rounds,
    bracket_sizes,
    n_first_candidates,
    n_levels,
    n_required_rounds,
)


@pytest.mark.parametrize(
    "min_epochs, max_epochs, factor, expected",
    [(1, 1, 3, 1), (1, 2, 3, 1), (1, 3, 3, 2), (1, 9, 3, 3), (1, 10, 3, 3),
     (2, 4, 2, 2), (2, 3, 2, 1), (1, 81, 3, 5), (3, 27, 3, 3)],
)  # fmt: skip
def test_levels_are_min_epochs_times_powers_of_factor(
    min_epochs, max_epochs, factor, expected
):
    levels = n_levels(min_epochs, max_epochs, factor)
    assert levels == expected
    # The top level fits under max_epochs, the next one does not.
    assert min_epochs * factor ** (levels - 1) <= max_epochs
    assert min_epochs * factor**levels > max_epochs


def test_first_candidates():
    assert n_first_candidates("exhaust", 1, 27) == 27
    assert n_first_candidates("exhaust", 2, 9) == 4
    assert n_first_candidates(5, 1, 27) == 5


@pytest.mark.parametrize("n, factor", [(1, 2), (2, 3), (3, 3), (8, 2), (26, 3),
                                       (27, 3), (243, 3), (1000, 10)])  # fmt: skip
def test_required_rounds_leave_fewer_than_factor(n, factor):
    rounds = n_required_rounds(n, factor)
    # scikit-learn's 1 + floor(log(n, factor)), exact where the float log
    # of a power of factor rounds down (log(243, 3) = 4.999...).
    assert factor ** (rounds - 1) <= n < factor**rounds
    if n not in (243, 1000):
        assert rounds == 1 + math.floor(math.log(n, factor))


def test_bracket_sizes_are_hyperbands_shares():
    # Li et al.'s n = ceil(B / R * eta**s / (s + 1)), relative to bracket 0.
    assert bracket_sizes(27, 4, 3, n_brackets=4) == [27, 12, 6, 4]
    assert bracket_sizes(10, 3, 3, n_brackets=3) == [10, 5, 4]
    assert bracket_sizes(1, 3, 3, n_brackets=3) == [1, 1, 1]
    assert bracket_sizes(9, 3, 3, n_brackets=1) == [9]


def test_full_bracket_is_successive_halving():
    bracket = bracket_rounds(0, 27, min_epochs=1, factor=3, n_levels=4)
    assert bracket == Bracket(0, (27, 9, 3, 1), (1, 3, 9, 27), 4, 4)
    later = bracket_rounds(2, 6, min_epochs=1, factor=3, n_levels=4)
    assert later == Bracket(2, (6, 2), (9, 27), 2, 2)
    # The last bracket trains its candidates to the top level in one round.
    assert bracket_rounds(3, 4, min_epochs=1, factor=3, n_levels=4).epochs == (27,)


def test_rounds_stop_when_the_levels_run_out():
    # 30 candidates would need 4 rounds; 3 levels fit: 30, 10, 4.
    bracket = bracket_rounds(0, 30, min_epochs=2, factor=3, n_levels=3)
    assert bracket.n_candidates == (30, 10, 4)
    assert bracket.epochs == (2, 6, 18)
    assert (bracket.n_required, bracket.n_possible) == (4, 3)


def test_last_round_trains_to_the_top_level_when_candidates_run_out():
    # 2 candidates and factor 3: one round, trained to the top (9), not 1.
    bracket = bracket_rounds(0, 2, min_epochs=1, factor=3, n_levels=3)
    assert bracket == Bracket(0, (2,), (9,), 1, 3)
    # 4 candidates: two rounds, the second jumps to the top level.
    bracket = bracket_rounds(0, 4, min_epochs=1, factor=3, n_levels=3)
    assert bracket.n_candidates == (4, 2)
    assert bracket.epochs == (1, 9)
    # Whatever the candidates, epochs grow and the last is the top level.
    for index in range(4):
        for n in range(1, 40):
            epochs = bracket_rounds(index, n, min_epochs=1, factor=3, n_levels=4).epochs
            assert epochs[-1] == 27
            assert list(epochs) == sorted(set(epochs))
