"""Model-based sampling of candidates: a multivariate Parzen estimator.

Random sampling draws every candidate blind. BOHB [1]_ draws Hyperband's
candidates from a model of the results so far instead: a kernel density
``l`` of the good candidates and ``g`` of the others, both over the search
space, and it takes the one of several draws from ``l`` that maximizes
``l / g`` (the tree-structured Parzen estimator's rule [2]_, for which
``l / g`` is monotone in expected improvement). :class:`ParzenSampler` does
that on the space of :class:`~sklearn.model_selection.ParameterSampler`:

* a :mod:`scipy.stats` distribution is modelled through its own CDF, so the
  kernels live on ``[0, 1]``, where its prior is uniform (a log-uniform
  learning rate is modelled on a log scale); a discrete one is an integer
  distribution, whose values keep the middle of their step of the CDF;
* a list is a categorical dimension (Aitchison-Aitken kernel: most of the
  weight stays on the value, the rest is spread over the others);
* an object with only ``rvs`` is drawn from its prior, not modelled.

A candidate that went further ranks above one that stopped sooner, whatever
their scores, and among those that reached the same epochs the higher mean
score ranks first: so every candidate is an observation, and the few that
reached the most epochs are the good ones (Optuna's TPE ranks pruned trials
the same way). Each density is a mixture of its kernels and the prior, the
prior weighing as one kernel, and each kernel's width shrinks with the
number of points it is fitted to, from a third of the range (two points) to
a hundredth. A third of the candidates is drawn at random, as in BOHB, and
all of them until twice as many candidates as dimensions, plus two, have
results.

With ``per_second=True`` the sampler weighs each draw's promise against its
cost, as "expected improvement per second" does [3]_: the tree-structured
Parzen estimator's expected improvement is proportional to
``1 / (gamma + (1 - gamma) g / l)`` (``gamma`` the good share) [2]_, and it
is divided by the draw's predicted seconds per epoch, a kernel regression
(Nadaraya-Watson, the same kernels) of the log of each candidate's measured
seconds per epoch. Of two draws equally likely to be good, the cheaper wins;
the expected improvement saturates, so a draw much more promising than the
rest is still taken when it costs more.

References
----------
.. [1] S. Falkner, A. Klein and F. Hutter, "BOHB: Robust and Efficient
   Hyperparameter Optimization at Scale", ICML 2018.
.. [2] J. Bergstra, R. Bardenet, Y. Bengio and B. Kégl, "Algorithms for
   Hyper-Parameter Optimization", NeurIPS 2011.
.. [3] J. Snoek, H. Larochelle and R. P. Adams, "Practical Bayesian
   Optimization of Machine Learning Algorithms", NeurIPS 2012.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr, ndtri
from scipy.stats import rv_discrete
from sklearn.model_selection import ParameterGrid, ParameterSampler

__all__ = ["ParzenSampler", "grid_size", "subspaces"]

#: Share of the candidates drawn at random once the model is in use (BOHB's).
RANDOM_FRACTION = 1 / 3
#: Share of the ranked candidates that are "good" (BOHB's 15 %).
GOOD_FRACTION = 0.15
#: Draws from ``l`` among which the best ``l / g`` is taken (BOHB's 64).
N_DRAWS = 64
#: Tries to draw a candidate not yet in the bracket, on a finite grid.
N_TRIES = 100


def grid_size(param_distributions):
    """Candidates in the space, or None where a distribution makes it infinite."""
    spaces = subspaces(param_distributions)
    if any(not isinstance(v, list) for space in spaces for v in space.values()):
        return None
    return len(ParameterGrid(spaces))


def subspaces(param_distributions):
    """The dicts of a ``param_distributions``: itself if it is one dict."""
    if isinstance(param_distributions, Mapping):
        return [param_distributions]
    return list(param_distributions)


class ParzenSampler:
    """Draw candidates from a Parzen estimator of the results so far.

    Parameters
    ----------
    param_distributions : dict or list of dict
        As for :class:`~sklearn.model_selection.ParameterSampler`.
    rng : numpy.random.RandomState
        Every draw's randomness.
    per_second : bool, default=False
        Whether to divide each draw's expected improvement by its predicted
        seconds per epoch.
    """

    def __init__(self, param_distributions, rng, per_second=False):
        self.priors = subspaces(param_distributions)
        self.spaces = [
            {name: _dimension(values) for name, values in space.items()}
            for space in self.priors
        ]
        self.rng = rng
        self.per_second = per_second

    def draw(self, history, exclude=()):
        """One candidate.

        Parameters
        ----------
        history : list of (dict, tuple, float)
            Each candidate with a result so far, its rank key (a higher key
            is a better candidate: ``(epochs, mean score)``) and its seconds
            of fitting per epoch and fold (NaN where unknown; used only with
            ``per_second``).
        exclude : list of dict, default=()
            Candidates not to draw again where the space is a finite grid.
        """
        rng = self.rng
        index = rng.randint(len(self.spaces)) if len(self.spaces) > 1 else 0
        space = self.spaces[index]
        modelled = [name for name, dim in space.items() if dim.modelled]
        points = [point for point in history if _in(point[0], space)]
        finite = all(dim.finite for dim in space.values())
        if (
            not modelled
            or len(points) < 2 * len(modelled) + 2
            or rng.uniform() < RANDOM_FRACTION
        ):
            return self._random(index, exclude if finite else ())
        encoded, seconds = _encode(points, modelled, space)
        n_good = max(1, math.ceil(GOOD_FRACTION * len(points)))
        l_model = _Parzen(encoded[:n_good], space, modelled)
        g_model = _Parzen(encoded[n_good:], space, modelled)
        draws = l_model.sample(N_DRAWS, rng)
        ratio = l_model.log_density(draws) - g_model.log_density(draws)
        if self.per_second:
            gamma = n_good / len(points)
            # log EI up to a constant, less the log of the predicted cost.
            ratio = -np.log(gamma + (1 - gamma) * np.exp(-ratio))
            with np.errstate(divide="ignore"):  # a 0 s fit is left out
                log_seconds = np.log(seconds)
            ratio -= _Parzen(encoded, space, modelled).regress(draws, log_seconds)
        for i in np.argsort(-ratio, kind="stable"):
            params = {n: space[n].decode(draws[i, j]) for j, n in enumerate(modelled)}
            params |= {n: dim.draw(rng) for n, dim in space.items() if not dim.modelled}
            if not finite or not _among(params, exclude):
                return params
        return self._random(index, exclude)

    def _random(self, index, exclude):
        """A draw from the prior, as ParameterSampler draws it."""
        space = self.priors[index]
        for _ in range(N_TRIES):
            params = next(iter(ParameterSampler(space, 1, random_state=self.rng)))
            if not _among(params, exclude):
                return params
        return params


def _in(params, space):
    """Whether a candidate's parameters are those of ``space``, in its support."""
    return set(params) == set(space) and all(
        dim.holds(params[name]) for name, dim in space.items()
    )


def _rank_key(key):
    """A rank key with NaN scores (failed fits) below every other score."""
    epochs, score = key
    return epochs, score if score == score else -math.inf


def _encode(points, modelled, space):
    """The candidates as encoded points, best first, and their seconds per
    epoch (NaN where unknown)."""
    keys = [_rank_key(point[1]) for point in points]
    order = sorted(range(len(points)), key=keys.__getitem__, reverse=True)
    encoded = np.array(
        [[space[n].encode(points[i][0][n]) for n in modelled] for i in order]
    )
    seconds = np.array([points[i][2] if len(points[i]) > 2 else np.nan for i in order])
    return encoded, seconds


class _Parzen:
    """A mixture of product kernels around ``points`` and the prior."""

    def __init__(self, points, space, modelled):
        self.points = points
        self.dims = [space[n] for n in modelled]
        n = len(points)
        # Narrower with more points: a third of the range for 2, at least
        # a hundredth (the bounds of Optuna's TPE).
        floor = 1 / min(100, n + 1)
        # Scott's rule on the CDF's scale (0 for one point, so the floor);
        # a list's values have no scale.
        scott = points.std(axis=0) * 1.06 * n ** (-1 / 5)
        self.widths = np.array(
            [
                min(max(s, floor), 1.0) if isinstance(dim, _Continuous) else floor
                for s, dim in zip(scott, self.dims)
            ]
        )

    def sample(self, n_draws, rng):
        """Points drawn from the mixture (the prior weighs as one kernel)."""
        n = len(self.points)
        out = np.empty((n_draws, len(self.dims)))
        for row in range(n_draws):
            which = rng.randint(n + 1)
            for d, dim in enumerate(self.dims):
                if which == n:
                    out[row, d] = dim.prior_draw(rng)
                else:
                    centre = self.points[which, d]
                    out[row, d] = dim.kernel_draw(centre, self.widths[d], rng)
        return out

    def kernels(self, x):
        """Each point's kernel at each row of ``x``: shape (len(x), n)."""
        out = np.ones((len(x), len(self.points)))
        for d, (dim, width) in enumerate(zip(self.dims, self.widths)):
            out *= dim.kernel(x[:, d, None], self.points[None, :, d], width)
        return out

    def log_density(self, x):
        """Log of the mixture's density at each row of ``x``."""
        prior = math.prod(dim.prior for dim in self.dims)
        return np.log((prior + self.kernels(x).sum(axis=1)) / (len(self.points) + 1))

    def regress(self, x, values):
        """Kernel-weighted mean of the points' ``values`` at each row of ``x``
        (NaN values left out); their plain mean where no kernel reaches."""
        known = np.isfinite(values)
        if not known.any():
            return np.zeros(len(x))
        weights = self.kernels(x)[:, known]
        total = weights.sum(axis=1)
        reached = total > 1e-12
        fitted = weights @ values[known] / np.where(reached, total, 1)
        return np.where(reached, fitted, values[known].mean())


def _dimension(values):
    if isinstance(values, list):
        return _Categorical(values)
    dist = getattr(values, "dist", None)
    if hasattr(values, "cdf") and hasattr(values, "ppf"):
        return _Continuous(values, discrete=isinstance(dist, rv_discrete))
    return _Opaque(values)


class _Categorical:
    """A list of values, each an index; a kernel keeps ``1 - w`` on its value."""

    modelled, finite = True, True

    def __init__(self, values):
        self.values = values
        self.prior = 1 / len(values)

    def holds(self, value):
        return any(_same(value, v) for v in self.values)

    def encode(self, value):
        return next(i for i, v in enumerate(self.values) if _same(value, v))

    def decode(self, code):
        return self.values[int(code)]

    def prior_draw(self, rng):
        return rng.randint(len(self.values))

    def _off(self, width):
        # Weight on each other value: the kernel is uniform at width 1.
        return width / len(self.values)

    def kernel_draw(self, centre, width, rng):
        if len(self.values) > 1 and rng.uniform() < self._off(width) * (
            len(self.values) - 1
        ):
            others = [i for i in range(len(self.values)) if i != centre]
            return others[rng.randint(len(others))]
        return centre

    def kernel(self, x, centres, width):
        off = self._off(width)
        return np.where(x == centres, 1 - off * (len(self.values) - 1), off)


class _Continuous:
    """A scipy.stats distribution, modelled on its CDF's scale ``[0, 1]``."""

    modelled, finite, prior = True, False, 1.0

    def __init__(self, dist, discrete):
        self.dist, self.discrete = dist, discrete

    def holds(self, value):
        u = self.encode(value)
        return np.isfinite(u) and 0 <= u <= 1

    def encode(self, value):
        if self.discrete:
            # The middle of the value's step of the CDF.
            return float((self.dist.cdf(value) + self.dist.cdf(value - 1)) / 2)
        return float(self.dist.cdf(value))

    def decode(self, u):
        value = self.dist.ppf(min(max(u, 1e-12), 1 - 1e-12))
        return int(value) if self.discrete else float(value)

    def prior_draw(self, rng):
        return rng.uniform()

    def kernel_draw(self, centre, width, rng):
        # Inverse CDF of the normal truncated to [0, 1].
        low, high = ndtr(-centre / width), ndtr((1 - centre) / width)
        return float(centre + width * ndtri(low + rng.uniform() * (high - low)))

    def kernel(self, x, centres, width):
        mass = ndtr((1 - centres) / width) - ndtr(-centres / width)
        z = (x - centres) / width
        return np.exp(-0.5 * z**2) / (width * math.sqrt(2 * math.pi) * mass)


class _Opaque:
    """An object with ``rvs`` only: drawn from its prior, not modelled."""

    modelled, finite = False, False

    def __init__(self, dist):
        self.dist = dist

    def holds(self, value):
        return True

    def draw(self, rng):
        return self.dist.rvs(random_state=rng)


def _among(params, drawn):
    """Whether ``params`` is one of the candidates ``drawn`` (by :func:`_same`)."""
    return any(
        set(other) == set(params) and all(_same(params[k], other[k]) for k in params)
        for other in drawn
    )


def _same(a, b):
    """Equality that holds for arrays and values of other types."""
    try:
        return bool(a == b) and type(a) is type(b) or a is b
    except (TypeError, ValueError):
        return a is b
