"""The user's (or our) network, made ready to train: built, checked, completed.

A network is a function ``model(input_shape, n_classes, **params[, seed])``
returning an uncompiled ``keras.Model``, or a ``keras.Model`` copied with
fresh weights for each fit. Any of the forms Keras's guides write is
accepted: a functional model, a ``Sequential`` with or without an ``Input``,
a subclassed ``keras.Model``. :func:`build_model` puts pixel scaling (and a
reshape, where the network's input declares another shape) in front of it,
builds it on the images' shape where it declares none, adds a softmax where
its output is not already a probability distribution, and compiles it.
"""

import inspect
import math

# First: TensorFlow's quiet import.
from ._runtime import keras, np, tf  # isort: skip
from ._optimizers import compile_model  # isort: skip
from ._layers import softmax, use_fast_softmax  # isort: skip


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
    by_name = {layer.name: layer for layer in model.layers}
    names = [layer["name"] for layer in layers[1:]]
    if any(name not in by_name for name in names):
        return None  # an operation (``keras.ops.softmax(x)``), not a layer
    return [by_name[name] for name in names]


# Every spelling of a softmax a network's last layer may use: Keras's
# activation (``"softmax"``, ``keras.activations.softmax``), its operation
# (``keras.ops.softmax``) and TensorFlow's (``tf.nn.softmax``, as TensorFlow's
# own Fashion-MNIST tutorial writes it), and the package's own
# (:func:`._layers.softmax`). Anything else is checked numerically.
SOFTMAXES = (keras.activations.softmax, keras.ops.softmax, tf.nn.softmax, softmax)

# Images the network's output is checked on when its last layer does not say
# whether it outputs probabilities; and by how much a row of probabilities
# may miss a sum of 1 (float32 softmaxes miss it by ~1e-7 per class;
# 1e-3 also admits a float16 softmax of mixed precision).
PROBE_IMAGES = 8
PROBE_TOLERANCE = 1e-3


def _last_layer_says(network):
    """Whether ``network`` ends in a softmax, where its last layer says.

    ``True`` for a softmax (a ``Softmax`` layer, or a last layer whose
    activation is one of :data:`SOFTMAXES`), ``False`` for a ``Dense`` layer
    without activation (logits), ``None`` for anything else: a graph whose
    output is not its last layer's, an operation, a subclassed model, a
    custom layer or activation.
    """
    chain = layer_chain(network)
    if not chain:
        return None
    last = chain[-1]
    if isinstance(last, keras.layers.Softmax):
        return True
    activation = getattr(last, "activation", None)
    if any(activation is softmax for softmax in SOFTMAXES):
        return True
    if type(last) is keras.layers.Dense and activation is keras.activations.linear:
        return False
    return None


def _outputs_probabilities(network, images):
    """Whether ``network``'s outputs on ``images`` are rows of probabilities:
    non-negative, each summing to 1."""
    outputs = keras.ops.convert_to_numpy(network(images, training=False))
    outputs = np.asarray(outputs, dtype=np.float64)
    sums = outputs.sum(axis=-1)
    return bool(np.all(outputs >= 0) and np.allclose(sums, 1.0, atol=PROBE_TOLERANCE))


def _probe_images(input_shape, scale, shape):
    """A few images as the network receives them: random pixels and one
    black image, scaled by ``scale`` and reshaped to ``shape``."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(PROBE_IMAGES, *input_shape))
    images[0] = 0
    return (images * scale).astype(np.float32).reshape((PROBE_IMAGES, *shape))


def _ends_in_softmax(network, input_shape, scale, declared):
    """Whether the built ``network`` outputs probabilities, whatever spelling
    made them: its last layer says so (:func:`_last_layer_says`), or else
    its outputs on a few images are rows of probabilities.

    Logits pass for probabilities only if every output is non-negative and
    every row sums to 1 whatever the image, which needs a last layer that
    ignores its input (a zero kernel with biases of ``1 / n_classes``).
    """
    said = _last_layer_says(network)
    if said is not None:
        return said
    images = _probe_images(input_shape, scale, declared or input_shape)
    return _outputs_probabilities(network, images)


def accepts(function, name):
    """Whether ``function`` takes a keyword argument ``name``."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters


def copied_wrong(cls):
    """Whether Keras copies and saves subclassed ``keras.Model`` ``cls``
    wrongly: its class defines no ``get_config``, and its ``__init__`` takes
    arguments or no ``**kwargs``.

    Keras copies (``clone_model``, ``copy.deepcopy``) and saves a subclassed
    model through its config. Where the class writes none, Keras 3 makes one,
    but for a ``keras.Model`` subclass it records the *defaults* of
    ``__init__`` (``keras.Model.__new__`` does not hand the given values on):
    ``Net(units=64)`` comes back as ``Net()``. It also passes ``trainable``
    and ``dtype`` back, which an ``__init__`` without ``**kwargs`` refuses.
    Functional and ``Sequential`` models define their own ``get_config``.
    """
    if not issubclass(cls, keras.Model) or cls.get_config is not keras.Model.get_config:
        return False
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    arguments = [p for p in parameters if p.kind in named and p.name != "name"]
    return bool(arguments) or not takes_kwargs


def fresh_copy(model):
    """A new ``model``, same architecture, freshly initialized weights.

    Keras copies a model through its config: a functional or ``Sequential``
    model always has one; a subclassed model has a faithful one when its
    class defines ``get_config``, or when its ``__init__`` takes no
    arguments (see :func:`copied_wrong`).
    """
    name = type(model).__name__
    if copied_wrong(type(model)):
        # Refused even where the copy would happen to be right: scikit-learn's
        # clone has deep-copied the model through that config already.
        raise TypeError(
            f"KerasModelClassifier copies a keras.Model instance with fresh "
            f"weights for every fit, from its config, but {name} defines no "
            f"get_config(): Keras 3 copies such a model with the default values "
            f"of its __init__ arguments, not the ones given (so does "
            f"scikit-learn's clone), or fails. Give {name} a get_config() "
            f"method that returns its __init__ arguments, or pass a "
            f"module-level function that builds the model instead: "
            f"def build(input_shape, n_classes): return {name}(...)."
        )
    try:
        return keras.models.clone_model(model)
    except (NotImplementedError, TypeError) as error:
        raise TypeError(
            f"KerasModelClassifier copies a keras.Model instance with fresh "
            f"weights for every fit, from its config, but Keras cannot copy "
            f"{name} (see the error above): its __init__ takes arguments that "
            f"Keras cannot serialize. Give {name} a get_config() method that "
            f"returns them, or pass a module-level function that builds the "
            f"model instead: def build(input_shape, n_classes): return {name}(...)."
        ) from error


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
        return fresh_copy(model)
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
    """The shape the network's input declares, checked against the images'.

    ``None`` for a network that declares none (a subclassed model, a
    ``Sequential`` without ``Input``): it is built on the images' shape, as
    Keras builds it on the first batch.
    """
    try:
        inputs, outputs = network.inputs, network.outputs
    except (AttributeError, ValueError):  # Keras 3 raises either, by version
        return None
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"The model must have one input and one output; it has "
            f"{len(inputs)} and {len(outputs)}."
        )
    declared = tuple(inputs[0].shape[1:])
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


def _check_output(output, n_classes):
    """One output of one unit per class, for every image."""
    if not hasattr(output, "shape"):
        raise ValueError(
            f"The model must have one output; it returned {type(output).__name__}."
        )
    shape = tuple(output.shape[1:])
    if len(shape) != 1:
        raise ValueError(
            f"The model's output has shape {shape} per image, but it must be "
            f"({n_classes},), one unit per class: flatten or pool before the "
            "last Dense layer (e.g. keras.layers.Flatten() first)."
        )
    if shape[0] != n_classes:
        raise ValueError(
            f"The model's output has {shape[0]} units, but y has {n_classes} "
            "classes: its last layer must have one unit per class."
        )


def build_model(settings, meta, compile_kwargs):
    """scikeras build function: pixel scaling + the network + compile settings.

    Pixels are scaled inside the network, batch by batch: the data set is
    handed to Keras as it came (uint8 images stay uint8, a quarter of the
    bytes that Keras copies into a tensor at every fit). The package's
    networks take ``pixel_scale`` and put the scaling layer first themselves,
    so that ``model_`` is one flat model; any other network becomes one
    layer of a model that scales, reshapes where its input declares another
    shape, and adds a softmax where its output is not already probabilities
    (see :func:`_ends_in_softmax`).

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
    scales_itself = not isinstance(model_fn, keras.Model) and accepts(
        model_fn, "pixel_scale"
    )
    if declared is not None:
        _check_output(network.outputs[0], n_classes)
    if scales_itself and declared == input_shape and _last_layer_says(network):
        model = network
    else:
        inputs = keras.Input(shape=input_shape)
        x = inputs
        if scale != 1.0 and not scales_itself:
            x = keras.layers.Rescaling(scale, name="pixel_scale")(x)
        if declared is not None and declared != input_shape:
            x = keras.layers.Reshape(declared)(x)
        x = network(x)  # builds a network that declares no input
        _check_output(x, n_classes)
        probe_scale = 1.0 if scales_itself else scale
        if not _ends_in_softmax(network, input_shape, probe_scale, declared):
            # logits -> probabilities; use_fast_softmax computes it in
            # elementwise ops (a Softmax layer would run TensorFlow's kernel).
            x = keras.layers.Activation("softmax")(x)
        model = keras.Model(inputs, x)
    # Also a network of the user's: the same softmax before and after a pickle.
    use_fast_softmax(model)
    compile_model(model, **settings["compile"])
    return model
