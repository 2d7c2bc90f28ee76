"""A head trained on a frozen extractor's features, and the model it makes.

A network whose training phase takes ``"features"`` (see
:mod:`fmnist_estimators._phases`) trains its head on features that a frozen
extractor computed once per ``fit``, standardized with the statistics of the
network's first training images. :func:`features_then_head` puts the pieces
back together as one model from raw images to probabilities, the
``model_`` every network of the package has.
"""

from ._runtime import keras, np


def feature_scaling(features):
    """``(scale, offset)`` that standardize each column of ``features``.

    The head trains on standardized features: a randomly initialized
    MobileNetV2 or EfficientNet gives features of magnitude 1e-13 to 1e-7,
    which no head learns from at a usual learning rate, and pretrained
    features differ in scale by orders of magnitude between backbones.
    """
    features = features.astype(np.float64)
    mean, std = features.mean(axis=0), features.std(axis=0)
    std[~(std > 0)] = 1.0  # a constant feature: centred, not scaled
    return 1.0 / std, -mean / std


def standardized(features, scaling):
    """``features`` times ``scale`` plus ``offset`` (``scaling``), as float32:
    what the head trains and predicts on."""
    scale, offset = scaling
    return (features * scale + offset).astype(np.float32)


def standardize(x, scaling):
    """Features times ``scale`` plus ``offset`` (``scaling``), if any."""
    if scaling is None:
        return x
    scale, offset = scaling
    return keras.layers.Rescaling(
        [float(v) for v in scale], offset=[float(v) for v in offset], name="standardize"
    )(x)


def flat_layers(model, *, open_models=True):
    """The layers of ``model`` after its input, nested models opened up
    (``open_models``) or kept whole.

    A head trained alone comes back from the engine as it built it (the head
    itself, or the head inside a model with the engine's own input).
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if open_models and isinstance(layer, keras.Model):
            yield from flat_layers(layer)
        else:
            yield layer


def features_then_head(extractor, scaling, head, input_shape, name="network"):
    """One model from raw images to probabilities: the extractor's layers (a
    chain, such as pixel scaling then the ``features`` model), the scaling,
    the head's layers."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for layer in flat_layers(extractor, open_models=False):
        x = layer(x)
    x = standardize(x, scaling)
    for layer in flat_layers(head):
        x = layer(x)
    return keras.Model(inputs, x, name=name)


def is_features_then_head(model, extractor, head):
    """Whether ``model`` is :func:`features_then_head` of ``extractor`` and
    ``head`` with their very layers (weights shared, not copied), and so
    gives what ``extractor``, then the scaling, then ``head`` give."""
    if extractor is None or head is None:
        return False
    layers = list(flat_layers(model, open_models=False))
    firsts = list(flat_layers(extractor, open_models=False))
    lasts = list(flat_layers(head))
    return (
        len(layers) == len(firsts) + 1 + len(lasts)
        and all(a is b for a, b in zip(layers, firsts))
        and all(a is b for a, b in zip(layers[::-1], lasts[::-1]))
    )
