"""Names shared by the modules of :mod:`fmnist_estimators.search`."""

# SPDX-License-Identifier: BSD-3-Clause

#: Name of the classifier step of :func:`make_family_pipeline`.
STEP = "clf"


def epochs_parameter(estimator):
    """The one parameter of ``estimator`` named ``epochs`` or ``<step>__epochs``.

    Parameters
    ----------
    estimator : estimator
        A Keras classifier, or a pipeline holding exactly one.

    Returns
    -------
    name : str
        ``"epochs"``, or ``"<step>__epochs"`` for a pipeline.

    Raises
    ------
    ValueError
        If there is no such parameter, or more than one.

    Examples
    --------
    >>> from fmnist_estimators import DenseNetClassifier
    >>> from fmnist_estimators.search import make_family_pipeline
    >>> from fmnist_estimators.search._names import epochs_parameter
    >>> epochs_parameter(make_family_pipeline(DenseNetClassifier()))
    'clf__epochs'
    """
    names = [
        name
        for name in estimator.get_params()
        if name == "epochs" or name.endswith("__epochs")
    ]
    if len(names) != 1:
        raise ValueError(
            f"Cannot tell which parameter of {type(estimator).__name__} counts "
            f"the training epochs: expected exactly one parameter named "
            f"'epochs' or '<step>__epochs', got {names}."
        )
    return names[0]
