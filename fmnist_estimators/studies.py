"""The classic Fashion-MNIST hyperparameter studies as ready search spaces.

Each :class:`Study` names an estimator and the parameter sweeps a well-known
study ran around it; :func:`run_study` cross-validates every candidate with
:class:`~sklearn.model_selection.GridSearchCV` on stratified folds, repeats
the training with different seeds if asked, and returns a table of mean ±
standard deviation. The studies, in :data:`STUDIES`:

``"tf_tutorial"``
    One-at-a-time sweeps around the TensorFlow tutorial network (784-128-10,
    Adam, batch 32, 10 epochs): epochs, dropout, learning rate, optimizer,
    activation, batch size, initializer, neurons.

``"fcn"``
    The 784-500-50-10 fully connected network of a deep-learning course's
    "tricks" exercise: optimizer × learning rate, for each of its variants
    (sigmoid with zero initialization, sigmoid, ReLU, ReLU + dropout,
    ReLU + dropout + batch normalization).

``"keras_mlp"``
    The Keras MNIST MLP example (784-512-512-10, dropout 0.2): batch size
    128/256 × SGD/Adam/Nadam/RMSprop × learning rate 0.001/0.01/0.1.

``"cnn_regularization"``
    A two-block convolutional network: dense dropout × L2 penalty.

``"pretrained"``
    Transfer learning from ImageNet: every backbone of
    :class:`~fmnist_estimators.PretrainedNetClassifier` with a frozen
    backbone, then the two-phase schedule (head, then fine-tuning the top
    layers or all of them) on three backbones.

``"dense_cpu"``
    The best fully connected network for a 2-core CPU's budget: a
    784-1024-1024-10 network with batch norm and label smoothing, 40 epochs:
    dropout 0.2, 0.3 and 0.4. Its winner is the package's dense result on
    the benchmarks page.

Full studies train hundreds of networks; ``epochs_scale`` and
``param_overrides`` shrink one to run in seconds on a sample.
"""

# SPDX-License-Identifier: BSD-3-Clause

import dataclasses
import math
from collections.abc import Mapping
from numbers import Integral

from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold

from ._conv import ConvNetClassifier
from ._dense import DenseNetClassifier
from ._keras._names import BACKBONE_MIN_SIZES
from ._pretrained import PretrainedNetClassifier
from .search import results_table

__all__ = ["STUDIES", "Study", "get_study", "run_study"]


@dataclasses.dataclass(frozen=True)
class Study:
    """A named set of parameter sweeps around one estimator.

    Parameters
    ----------
    name : str
        Short identifier, the key in :data:`STUDIES`.

    description : str
        What the study varies and where it comes from.

    estimator : estimator
        The baseline every sweep starts from; parameters a sweep does not
        vary keep its values.

    sweeps : dict of str to dict
        Ordered sweeps, each a label and a parameter grid (a dict of lists of
        values, crossed as by :class:`~sklearn.model_selection.ParameterGrid`).
        A one-at-a-time study has one sweep per parameter; a factorial study
        has one sweep crossing them all.

    Attributes
    ----------
    param_grid : list of dict
        The sweeps as a ``GridSearchCV`` parameter grid.

    n_candidates : int
        Number of parameter settings over all sweeps.

    Raises
    ------
    ValueError
        If a swept parameter is not a parameter of ``estimator``.

    See Also
    --------
    run_study : Cross-validate every candidate of a study.

    Examples
    --------
    >>> from fmnist_estimators import DenseNetClassifier
    >>> from fmnist_estimators.studies import Study
    >>> study = Study(
    ...     "width", "Hidden layer width of a one-layer network.",
    ...     DenseNetClassifier(epochs=5),
    ...     {"neurons": {"hidden_layer_sizes": [(32,), (64,), (128,)]}},
    ... )
    >>> study.n_candidates
    3
    >>> study.scaled(epochs_scale=0.2).estimator.epochs
    1
    """

    name: str
    description: str
    estimator: BaseEstimator
    sweeps: Mapping

    def __post_init__(self):
        valid = self.estimator.get_params()
        for label, grid in self.sweeps.items():
            unknown = sorted(set(grid) - set(valid))
            if unknown:
                raise ValueError(
                    f"Sweep {label!r} of study {self.name!r} varies {unknown}, "
                    f"which are not parameters of "
                    f"{type(self.estimator).__name__}."
                )
            for param, values in grid.items():
                if isinstance(values, str) or not hasattr(values, "__len__"):
                    raise ValueError(
                        f"Sweep {label!r} of study {self.name!r} must give a "
                        f"list of values for {param!r}; got {values!r}."
                    )

    @property
    def param_grid(self):
        return [dict(grid) for grid in self.sweeps.values()]

    @property
    def n_candidates(self):
        return len(ParameterGrid(self.param_grid))

    def scaled(self, epochs_scale=1.0, *, param_overrides=None):
        """A copy of the study, shrunk for a quick run.

        Parameters
        ----------
        epochs_scale : float, default=1.0
            Factor applied to every number of epochs, of the estimator and of
            the sweeps; results are rounded up, at least 1. Values a sweep
            then repeats are dropped.

        param_overrides : dict, default=None
            Parameters set on the estimator, which also replace the values
            any sweep gives them (``{"batch_size": 128}`` turns a batch-size
            sweep into one setting).

        Returns
        -------
        study : Study
            The shrunk study, same name and sweeps.

        Examples
        --------
        >>> from fmnist_estimators.studies import get_study
        >>> study = get_study("tf_tutorial").scaled(0.01)
        >>> study.sweeps["epochs"]
        {'epochs': [1]}
        >>> study.scaled(param_overrides={"epochs": 2}).sweeps["epochs"]
        {'epochs': [2]}
        """
        overrides = dict(param_overrides or {})
        estimator = clone(self.estimator)
        epochs_names = [
            name
            for name in estimator.get_params()
            if name == "epochs" or name.endswith("__epochs")
        ]

        def scale(value):
            if isinstance(value, Integral) and not isinstance(value, bool):
                return max(1, math.ceil(value * epochs_scale))
            return value

        if epochs_scale != 1.0:
            current = estimator.get_params()
            estimator.set_params(**{n: scale(current[n]) for n in epochs_names})
        estimator.set_params(**overrides)
        sweeps = {}
        for label, grid in self.sweeps.items():
            new_grid = {}
            for param, values in grid.items():
                if param in overrides:
                    values = [overrides[param]]
                elif param in epochs_names and epochs_scale != 1.0:
                    values = [scale(value) for value in values]
                new_grid[param] = _unique(values)
            sweeps[label] = new_grid
        return dataclasses.replace(self, estimator=estimator, sweeps=sweeps)

    def make_search(self, *, cv=3, n_repeats=1, random_state=0, n_jobs=None, verbose=0):
        """The study as an unfitted ``GridSearchCV``.

        Parameters
        ----------
        cv : int or cross-validation generator, default=3
            Folds; an int gives :class:`~sklearn.model_selection.StratifiedKFold`
            with shuffling seeded by ``random_state``.

        n_repeats : int, default=1
            Trainings of every candidate on every fold, each with another
            ``random_state`` of the estimator (``random_state``,
            ``random_state + 1``, ...).

        random_state : int, default=0
            Seeds the folds and the estimator.

        n_jobs : int, default=None
            Fits run in parallel.

        verbose : int, default=0
            Verbosity of the search.

        Returns
        -------
        search : :class:`~sklearn.model_selection.GridSearchCV`
            Its grid is the study's, crossed with the seeds.

        Examples
        --------
        >>> from fmnist_estimators.studies import get_study
        >>> search = get_study("keras_mlp").make_search(n_repeats=2)
        >>> search.param_grid[0]["random_state"]
        [0, 1]
        """
        if isinstance(cv, Integral):
            cv = StratifiedKFold(cv, shuffle=True, random_state=random_state)
        seeds = [random_state + repeat for repeat in range(n_repeats)]
        grid = [{**sweep, "random_state": seeds} for sweep in self.param_grid]
        return GridSearchCV(
            clone(self.estimator),
            grid,
            cv=cv,
            n_jobs=n_jobs,
            verbose=verbose,
            error_score="raise",
        )


def _unique(values):
    unique = []
    for value in values:
        if not any(value == seen and type(value) is type(seen) for seen in unique):
            unique.append(value)
    return unique


def _tf_tutorial():
    return Study(
        "tf_tutorial",
        "One-at-a-time sweeps around the TensorFlow tutorial network "
        "(784-128-10 ReLU, Adam, batch 32, 10 epochs): each sweep varies one "
        "hyperparameter and keeps the others at the tutorial's values.",
        # The tutorial's own training: a constant Adam step of 0.001.
        DenseNetClassifier(learning_rate=0.001, lr_schedule="constant"),
        {
            "epochs": {"epochs": [10, 20, 50, 100]},
            "dropout": {"dropout": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]},
            "learning_rate": {"learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]},
            "optimizer": {
                "optimizer": [
                    "adam",
                    "nadam",
                    "adamw",
                    "rmsprop",
                    "sgd",
                    "adagrad",
                    "adadelta",
                ]
            },
            "activation": {
                "activation": [
                    "relu",
                    "elu",
                    "selu",
                    "gelu",
                    "swish",
                    "tanh",
                    "sigmoid",
                ]
            },
            "batch_size": {"batch_size": [16, 32, 64, 128, 256, 512]},
            "initializer": {
                "kernel_initializer": [
                    "glorot_uniform",
                    "glorot_normal",
                    "he_uniform",
                    "he_normal",
                    "lecun_normal",
                    "random_normal",
                    "truncated_normal",
                ]
            },
            "neurons": {
                "hidden_layer_sizes": [(32,), (64,), (128,), (256,), (512,), (1024,)]
            },
        },
    )


def _fcn():
    grid = {
        "optimizer": ["sgd", "rmsprop", "adam"],
        "learning_rate": [0.001, 0.01, 0.1],
    }
    return Study(
        "fcn",
        "The 784-500-50-10 fully connected network of a deep-learning "
        "course's 'tricks' exercise, batch 128, 10 epochs: optimizer x learning "
        "rate for each step of the exercise, from sigmoid units with zero "
        "initialization to ReLU with dropout 0.3 and batch normalization.",
        DenseNetClassifier((500, 50), batch_size=128, epochs=10),
        {
            "sigmoid, zero init": {
                **grid,
                "activation": ["sigmoid"],
                "kernel_initializer": ["zeros"],
            },
            "sigmoid": {**grid, "activation": ["sigmoid"]},
            "relu": {**grid, "activation": ["relu"]},
            "relu + dropout": {**grid, "dropout": [0.3]},
            "relu + dropout + batch norm": {
                **grid,
                "dropout": [0.3],
                "batch_norm": [True],
            },
        },
    )


def _keras_mlp():
    return Study(
        "keras_mlp",
        "The Keras MNIST MLP example (784-512-512-10 ReLU, dropout 0.2, 20 "
        "epochs) on Fashion-MNIST: batch size x optimizer x learning rate.",
        DenseNetClassifier((512, 512), dropout=0.2, batch_size=128, epochs=20),
        {
            "batch x optimizer x learning rate": {
                "batch_size": [128, 256],
                "optimizer": ["sgd", "adam", "nadam", "rmsprop"],
                "learning_rate": [0.001, 0.01, 0.1],
            }
        },
    )


def _cnn_regularization():
    return Study(
        "cnn_regularization",
        "Regularization of a two-block convolutional network (32 and 64 3x3 "
        "filters, max pooling, dense 128; batch 128, 10 epochs): dropout of "
        "the dense layer x L2 penalty on its weights.",
        ConvNetClassifier.from_preset("two_block", batch_size=128, epochs=10),
        {
            "dropout x l2": {
                "dropout": [0.0, 0.25, 0.5],
                "l2": [0.0, 1e-4, 1e-3, 1e-2],
            }
        },
    )


def _pretrained():
    return Study(
        "pretrained",
        "Transfer learning from ImageNet (Keras applications, images resized "
        "to each backbone's smallest input, dense 256 head with dropout 0.5, "
        "Adam, batch 64, 5 epochs): every backbone with a frozen backbone, "
        "then head training followed by 3 epochs of fine-tuning the top 20 "
        "layers or the whole backbone at a learning rate of 1e-5.",
        PretrainedNetClassifier(weights="imagenet", batch_size=64, epochs=5),
        {
            "frozen backbone": {
                "backbone": list(BACKBONE_MIN_SIZES),
                "trainable": ["head"],
            },
            "fine-tuning": {
                "backbone": ["vgg16", "resnet50", "mobilenet_v2"],
                "trainable": [20, "all"],
                "fine_tune_epochs": [3],
            },
        },
    )


def _dense_cpu():
    return Study(
        "dense_cpu",
        "A fully connected network sized for a 2-core CPU (784-1024-1024-10, "
        "batch norm, label smoothing 0.1, Adam at 0.002 with cosine decay, "
        "batch 128, 40 epochs, no augmentation): dropout.",
        DenseNetClassifier(
            (1024, 1024),
            batch_norm=True,
            label_smoothing=0.1,
            learning_rate=0.002,
            batch_size=128,
            epochs=40,
        ),
        # Shifted (and mirrored) training images lost on validation: within
        # 30-40 epochs they slow a dense network's fit more than they
        # regularize it (docs/studies.rst has the figures).
        {"dropout": {"dropout": [0.2, 0.3, 0.4]}},
    )


#: The studies by name; see the module docstring.
STUDIES = {
    study.name: study
    for study in (
        _tf_tutorial(),
        _fcn(),
        _keras_mlp(),
        _cnn_regularization(),
        _pretrained(),
        _dense_cpu(),
    )
}


def get_study(name):
    """Look a study up by name.

    Parameters
    ----------
    name : {"tf_tutorial", "fcn", "keras_mlp", "cnn_regularization", \
"pretrained", "dense_cpu"}
        The study's name.

    Returns
    -------
    study : Study
        The study; its estimator is a fresh clone, safe to modify.

    Examples
    --------
    >>> from fmnist_estimators.studies import get_study
    >>> study = get_study("cnn_regularization")
    >>> study.n_candidates
    12
    >>> list(study.sweeps)
    ['dropout x l2']
    """
    if isinstance(name, Study):
        return name
    try:
        study = STUDIES[name]
    except KeyError:
        raise ValueError(
            f"Unknown study {name!r}; choose one of {sorted(STUDIES)}."
        ) from None
    return dataclasses.replace(study, estimator=clone(study.estimator))


def run_study(
    study,
    X,
    y,
    *,
    cv=3,
    n_repeats=1,
    n_jobs=None,
    epochs_scale=1.0,
    param_overrides=None,
    random_state=0,
    verbose=0,
    as_frame="auto",
    return_search=False,
):
    """Cross-validate every candidate of a study and tabulate the results.

    Parameters
    ----------
    study : str or Study
        A name from :data:`STUDIES` or a :class:`Study`.

    X : array-like of shape (n_samples, 784)
        Training images; the test set stays out of a study.

    y : array-like of shape (n_samples,)
        Labels.

    cv : int or cross-validation generator, default=3
        Folds; an int gives shuffled stratified folds seeded by
        ``random_state``, the same for every candidate.

    n_repeats : int, default=1
        Trainings of every candidate on every fold, each with another seed;
        the table pools their scores.

    n_jobs : int, default=None
        Fits run in parallel (joblib; see
        :func:`fmnist_estimators.search.dask_backend` for a cluster).

    epochs_scale : float, default=1.0
        Shrink every number of epochs (see :meth:`Study.scaled`).

    param_overrides : dict, default=None
        Fix parameters of the estimator and of the sweeps (see
        :meth:`Study.scaled`).

    random_state : int, default=0
        Seeds the folds and the first repeat.

    verbose : int, default=0
        Verbosity of the search.

    as_frame : bool or "auto", default="auto"
        Return type of the table, as in
        :func:`~fmnist_estimators.search.results_table`.

    return_search : bool, default=False
        Also return the fitted ``GridSearchCV``.

    Returns
    -------
    table : pandas.DataFrame or list of dict
        One row per candidate, in the order of the sweeps, with the
        ``sweep`` label, ``params`` (without the seed), ``mean_test_score``
        and ``std_test_score`` over folds and repeats, ``n_scores``,
        ``mean_fit_time`` and ``rank`` over the whole study.

    search : GridSearchCV
        Only with ``return_search=True``.

    See Also
    --------
    Study.make_search : The search this runs.
    fmnist_estimators.search.format_table : The table as Markdown.

    Examples
    --------
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.studies import run_study
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> table = run_study(
    ...     "keras_mlp", X[:600], y[:600], cv=2, epochs_scale=0.05,
    ...     param_overrides={"hidden_layer_sizes": (32,), "batch_size": 128,
    ...                      "optimizer": "adam", "learning_rate": 0.01},
    ...     as_frame=False,
    ... )
    >>> len(table), table[0]["sweep"], table[0]["n_scores"]
    (1, 'batch x optimizer x learning rate', 2)
    """
    study = get_study(study).scaled(epochs_scale, param_overrides=param_overrides)
    search = study.make_search(
        cv=cv,
        n_repeats=n_repeats,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    search.fit(X, y)
    # Candidate i of the search comes from sweep `labels[i]`: ParameterGrid
    # walks the sweeps in order.
    labels = [
        label
        for label, grid in zip(study.sweeps, search.param_grid)
        for _ in ParameterGrid(grid)
    ]
    table = results_table(
        search,
        average_over=["random_state"],
        labels=labels,
        sort=False,
        as_frame=as_frame,
    )
    return (table, search) if return_search else table
