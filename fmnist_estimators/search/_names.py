"""Names shared by the modules of :mod:`fmnist_estimators.search`."""

# SPDX-License-Identifier: BSD-3-Clause

from .._phases import resource_parameter

#: Name of the classifier step of :func:`make_family_pipeline`.
STEP = "clf"


def epochs_parameter(estimator):
    """The parameter of ``estimator`` that sets the epochs a search drives.

    For the package's Keras classifiers, alone or as the one such step of a
    pipeline (``<step>__``), it is the parameter that sets the epochs of
    the network's last training phase (see
    :func:`fmnist_estimators._phases.resource_parameter`): ``"epochs"``, or
    ``"fine_tune_epochs"`` for a
    :class:`~fmnist_estimators.PretrainedNetClassifier` that fine-tunes.
    For any other estimator it is its one parameter named ``epochs``, or
    ``<step>__epochs`` for a step that is an estimator; an argument routed
    to a network (``model__epochs`` of
    :class:`~fmnist_estimators.KerasModelClassifier`) is not a step's.

    Parameters
    ----------
    estimator : estimator
        A Keras classifier, or a pipeline holding exactly one.

    Returns
    -------
    name : str
        ``"epochs"``, ``"fine_tune_epochs"``, or either behind the path of
        the step holding the network, such as ``"clf__epochs"``.

    Raises
    ------
    ValueError
        If there is no such parameter, or more than one.

    Examples
    --------
    >>> from fmnist_estimators import DenseNetClassifier, PretrainedNetClassifier
    >>> from fmnist_estimators.search import make_family_pipeline
    >>> from fmnist_estimators.search._names import epochs_parameter
    >>> epochs_parameter(make_family_pipeline(DenseNetClassifier()))
    'clf__epochs'
    >>> epochs_parameter(PretrainedNetClassifier(trainable=20, fine_tune_epochs=3))
    'fine_tune_epochs'
    """
    if _has_phases(estimator):
        return resource_parameter(estimator)
    params = estimator.get_params(deep=True)
    networks = [path for path, value in params.items() if _has_phases(value)]
    if len(networks) > 1:
        raise ValueError(
            f"{type(estimator).__name__} holds several networks {networks}; an "
            f"epoch-budget search drives the epochs of exactly one."
        )
    if networks:
        return f"{networks[0]}__{resource_parameter(params[networks[0]])}"
    # Any other estimator: ``epochs`` of itself or of a step that is an
    # estimator, not an argument routed to a function (``model__epochs``).
    names = [
        name
        for name in params
        if name == "epochs"
        or (
            name.endswith("__epochs")
            and hasattr(params.get(name[: -len("__epochs")]), "get_params")
        )
    ]
    if len(names) != 1:
        raise ValueError(
            f"Cannot tell which parameter of {type(estimator).__name__} counts "
            f"the training epochs: expected a Keras classifier of the package, "
            f"or exactly one parameter named 'epochs' or '<step>__epochs', got "
            f"{names}."
        )
    return names[0]


def warm_start_parameter(epochs_name):
    """The ``warm_start`` beside the epochs parameter ``epochs_name``.

    Examples
    --------
    >>> from fmnist_estimators.search._names import warm_start_parameter
    >>> warm_start_parameter("clf__fine_tune_epochs")
    'clf__warm_start'
    """
    path, _, _ = epochs_name.rpartition("__")
    return f"{path}__warm_start" if path else "warm_start"


def _has_phases(value):
    """Whether ``value`` is a Keras classifier that declares training phases."""
    return not isinstance(value, type) and callable(
        getattr(value, "training_phases", None)
    )
