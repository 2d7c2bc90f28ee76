"""The user's (or our) network, made ready to train: built, checked, completed.

A network is a function ``model(input_shape, n_classes, **params[, seed])``
returning an uncompiled ``keras.Model``, or a ``keras.Model`` copied for each
fit. :func:`build_model` puts pixel scaling (and a reshape, where the
network's input declares another shape) in front of it, adds a softmax where
its output is not already a probability distribution, and compiles it.
"""

import inspect
import math

# First: TensorFlow's quiet import.
from ._runtime import keras  # isort: skip
from ._optimizers import compile_model  # isort: skip


def _sources(node):
    """Names of the layers whose outputs a serialized node takes."""
    if isinstance(node, dict):
        history = node.get("config", {}).get("keras_history")
        if node.get("class_name") == "__keras_tensor__" and history:
            return [history[0]]
        return [name for value in node.values() for name in _sources(value)]
    if isinstance(node, list | tuple):
        return [name for value in node for name in _sources(value)]
    return []


def _endpoints(value):
    """Layer names of a config's ``input_layers`` or ``output_layers``.

    One tensor is written ``[name, node, index]``, several as a list of those.
    """
    if isinstance(value, list | tuple) and value and isinstance(value[0], str):
        return [value[0]]
    return [name for item in value or () for name in _endpoints(item)]


def layer_chain(model):
    """The layers of ``model`` after its input, if each feeds only the next.

    Read from the model's config (public, and unambiguous for layers that
    another model also uses); ``None`` for any other graph: several inputs or
    outputs, branches, residual connections, subclassed models.
    """
    if isinstance(model, keras.Sequential):
        return list(model.layers)
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError, ValueError):
        return None
    layers = config.get("layers") if isinstance(config, dict) else None
    if not layers or len(_endpoints(config.get("input_layers"))) != 1:
        return None
    for previous, layer in zip(layers, layers[1:]):
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) != 1 or _sources(nodes[0]) != [previous["name"]]:
            return None
    if _endpoints(config.get("output_layers")) != [layers[-1]["name"]]:
        return None
    return [model.get_layer(layer["name"]) for layer in layers[1:]]


def _ends_in_softmax(network):
    last = network.layers[-1] if network.layers else None
    if isinstance(last, keras.layers.Softmax):
        return True
    return getattr(last, "activation", None) is keras.activations.softmax


def accepts(function, name):
    """Whether ``function`` takes a keyword argument ``name``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


def make_network(model, params, input_shape, n_classes, seed, pixel_scale):
    """The user's (or our) network: built by ``model`` or copied from it.

    A function that takes ``seed`` gets the fit's seed; one that takes
    ``pixel_scale`` scales the pixels itself, as the package's networks do.
    """
    if isinstance(model, keras.Model):
        if params:
            raise ValueError(
                f"model__ parameters {sorted(params)} need a model-building "
                "function; a keras.Model instance takes none."
            )
        # A new model with freshly initialized weights: no fit continues
        # another fit's training.
        return keras.models.clone_model(model)
    kwargs = dict(params)
    if accepts(model, "seed"):
        kwargs["seed"] = seed
    if accepts(model, "pixel_scale"):
        kwargs["pixel_scale"] = pixel_scale
    network = model(input_shape, n_classes, **kwargs)
    if not isinstance(network, keras.Model):
        raise TypeError(
            f"model(input_shape, n_classes, ...) must return a keras.Model; "
            f"{getattr(model, '__name__', model)!r} returned "
            f"{type(network).__name__}."
        )
    return network


def _network_input(network, input_shape):
    """The shape the network's input declares, checked against the images'."""
    if len(network.inputs) != 1 or len(network.outputs) != 1:
        raise ValueError(
            f"The model must have one input and one output; it has "
            f"{len(network.inputs)} and {len(network.outputs)}."
        )
    declared = tuple(network.inputs[0].shape[1:])
    if None in declared:  # e.g. a fully convolutional network
        compatible = len(declared) == len(input_shape) and all(
            d is None or d == s for d, s in zip(declared, input_shape)
        )
        if compatible:
            return tuple(input_shape)
    if None in declared or math.prod(declared) != math.prod(input_shape):
        raise ValueError(
            f"The model's input has shape {declared}, but the images have shape "
            f"{tuple(input_shape)} ({math.prod(input_shape)} values each)."
        )
    return declared


def build_model(settings, meta, compile_kwargs):
    """scikeras build function: pixel scaling + the network + compile settings.

    Pixels are scaled inside the network, batch by batch: the data set is
    handed to Keras as it came (uint8 images stay uint8, a quarter of the
    bytes that Keras copies into a tensor at every fit). The package's
    networks take ``pixel_scale`` and put the scaling layer first themselves,
    so that ``model_`` is one flat model; any other network becomes one
    layer of a model that scales, reshapes where its input declares another
    shape, and adds a softmax where it ends in logits.

    Module-level (bound with :func:`functools.partial`) so that fitted
    estimators pickle without pickling the estimator itself.
    """
    n_classes = meta["n_classes_"]
    input_shape = tuple(settings["input_shape"])
    scale = settings["pixel_scale"]
    model_fn = settings["model"]
    network = make_network(
        model_fn, settings["params"], input_shape, n_classes, settings["seed"], scale
    )
    declared = _network_input(network, input_shape)
    units = network.outputs[0].shape[-1]
    if units != n_classes:
        raise ValueError(
            f"The model's output has {units} units, but y has {n_classes} "
            "classes: its last layer must have one unit per class."
        )
    scales_itself = not isinstance(model_fn, keras.Model) and accepts(
        model_fn, "pixel_scale"
    )
    if scales_itself and declared == input_shape and _ends_in_softmax(network):
        model = network
    else:
        inputs = keras.Input(shape=input_shape)
        x = inputs
        if scale != 1.0 and not scales_itself:
            x = keras.layers.Rescaling(scale, name="pixel_scale")(x)
        if declared != input_shape:
            x = keras.layers.Reshape(declared)(x)
        x = network(x)
        if not _ends_in_softmax(network):
            x = keras.layers.Softmax()(x)  # logits -> probabilities
        model = keras.Model(inputs, x)
    compile_model(model, **settings["compile"])
    return model
