"""Training phases: what one ``fit`` of a Keras network trains, in order.

A network declares its phases (:meth:`BaseKerasClassifier.training_phases`)
and one loop in the base class runs them: the package's dense, convolutional
and custom networks train in one phase; a pretrained backbone trains its
head on cached features, then (with ``fine_tune_epochs``) fine-tunes. A warm
start or ``partial_fit`` continues the last phase, and a search's resource is
the parameter that sets the last phase's epochs (:func:`resource_parameter`),
so the epochs a search spends are the epochs it reports.

No Keras here: the search modules read phases without importing TensorFlow.
"""

import dataclasses

__all__ = ["Phase", "resource_parameter"]


@dataclasses.dataclass(frozen=True)
class Phase:
    """One training phase of a network.

    Parameters
    ----------
    name : str
        ``"train"``, ``"head"`` or ``"fine_tune"``; the ``phase`` column of
        ``history_``.
    trainable : "all", "head" or int, default="all"
        What trains: the whole network, the head on a frozen backbone, or
        the head and the top ``N`` layers of the backbone.
    inputs : {"images", "features"}, default="images"
        What the trained model takes: images, or the frozen backbone's
        features, computed once per ``fit`` call.
    epochs : str, default="epochs"
        Name of the estimator parameter that sets the phase's epochs.
    learning_rate : str, default="learning_rate"
        Name of the estimator parameter that sets the phase's step size.

    Examples
    --------
    >>> from fmnist_estimators._phases import Phase
    >>> Phase("fine_tune", trainable=20, epochs="fine_tune_epochs").epochs
    'fine_tune_epochs'
    """

    name: str
    trainable: object = "all"
    inputs: str = "images"
    epochs: str = "epochs"
    learning_rate: str = "learning_rate"


def resource_parameter(estimator):
    """Name of the parameter that sets the epochs of ``estimator``'s last phase.

    What a warm start continues, and so what an epoch-budget search (Hyperband,
    successive halving on epochs) drives.

    Parameters
    ----------
    estimator : estimator
        A Keras classifier of the package.

    Returns
    -------
    name : str
        ``"epochs"``, or ``"fine_tune_epochs"`` for a pretrained network
        that fine-tunes.

    Examples
    --------
    >>> from fmnist_estimators import DenseNetClassifier
    >>> from fmnist_estimators._phases import resource_parameter
    >>> resource_parameter(DenseNetClassifier())
    'epochs'
    """
    return estimator.training_phases()[-1].epochs
