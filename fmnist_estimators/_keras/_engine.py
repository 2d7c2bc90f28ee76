"""Build, compile, fit and predict: the one module that drives scikeras.

The estimators own a :class:`scikeras.wrappers.KerasClassifier` as fitted
state (``keras_classifier_``) rather than subclassing it: scikeras 0.13
harvests parameters from ``__dict__``, lists ``ClassifierMixin`` after its
base class and has no ``__sklearn_tags__``, so on scikit-learn >= 1.6 a
subclass would not be a classifier for ``is_classifier``. This module uses
scikeras's public API only, and is the only module that touches scikeras.

The surface of scikeras the package uses, all of it here (scikeras 0.13.0,
April 2024, is its last release; Keras >= 3.8 ships ``keras.wrappers`` with
a similar classifier, so an engine that moves needs these and no more):

- ``KerasClassifier(model=, loss=, batch_size=, verbose=0, shuffle=True,
  callbacks=[one dispatcher])``: ``model`` is a build function called as
  ``model(meta=..., compile_kwargs=...)``, of which only
  ``meta["n_classes_"]`` is read; ``loss`` is the compiled loss's name
  (scikeras checks it, and one-hot encodes labels for a categorical
  cross-entropy).
- ``initialize(X, y)`` builds the model; ``set_params(warm_start=True,
  batch_size=...)``; ``get_params()["callbacks"]``.
- ``fit(X, y, epochs=, sample_weight=, validation_data=)`` with labels
  already encoded as ``0 .. n_classes - 1``.
- ``model_`` (the compiled ``keras.Model``) and ``history_`` (a dict of
  per-epoch lists), and the wrapper's pickling (the model saved to bytes).

A network is a function ``model(input_shape, n_classes, **params[, seed])``
returning an uncompiled ``keras.Model``, or a ``keras.Model`` copied for each
fit. :func:`build_model` puts pixel scaling (and a reshape, where the
network's input declares another shape) in front of it, adds a softmax where
its last layer has none, and compiles it.
"""

import functools
import inspect
import math
import sys
import time

# First: TensorFlow's quiet import, before scikeras imports it.
from ._runtime import configure_tensorflow, keras, np  # isort: skip
from ._optimizers import LOSS, compile_model  # isort: skip
from ._private import untuned_input_pipelines  # isort: skip

# -- the network -------------------------------------------------------------------


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


# -- callbacks -----------------------------------------------------------------------

_HOOKS = {
    "on_train_begin": (),
    "on_train_end": (),
    "on_epoch_begin": (),
    "on_epoch_end": (),
    "on_train_batch_begin": ("on_batch_begin",),
    "on_train_batch_end": ("on_batch_end",),
    "on_test_begin": (),
    "on_test_end": (),
    "on_test_batch_begin": (),
    "on_test_batch_end": (),
    "on_predict_begin": (),
    "on_predict_end": (),
    "on_predict_batch_begin": (),
    "on_predict_batch_end": (),
}


def _overrides(callback, name):
    return getattr(type(callback), name) is not getattr(keras.callbacks.Callback, name)


class FitCallbacks(keras.callbacks.Callback):
    """The one callback scikeras holds: it runs the callbacks of this fit call.

    scikeras reads its ``callbacks`` parameter once, when it builds the
    model; early stopping on this call's validation data, the user's own
    callbacks and the progress lines change from call to call, so they are
    handed to this object (:meth:`use`) before each fit. Only the hooks that
    one of them implements are forwarded, so that Keras keeps dispatching
    the others asynchronously.
    """

    def __init__(self):
        super().__init__()
        self.callbacks = []

    def use(self, callbacks):
        self.callbacks = list(callbacks)
        for hook, aliases in _HOOKS.items():
            names = (hook, *aliases)
            if any(_overrides(c, n) for c in self.callbacks for n in names):
                setattr(self, hook, functools.partial(self._forward, hook))
            else:
                self.__dict__.pop(hook, None)

    def _forward(self, hook, *args, **kwargs):
        for callback in self.callbacks:
            getattr(callback, hook)(*args, **kwargs)

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def __reduce__(self):
        # Nothing of one fit call outlives it: a pickled or copied engine
        # gets an empty dispatcher, not the model the callbacks point to.
        return (FitCallbacks, ())


class EpochLog(keras.callbacks.Callback):
    """One line per epoch on stdout: figures and seconds (``verbose >= 1``)."""

    def __init__(self, first_epoch, n_epochs):
        super().__init__()
        self.first_epoch = first_epoch
        self.n_epochs = n_epochs

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        figures = ", ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items())
        seconds = time.perf_counter() - self._start
        last = self.first_epoch + self.n_epochs
        print(
            f"epoch {self.first_epoch + epoch + 1}/{last}: {figures} ({seconds:.1f} s)",
            file=sys.stdout,
            flush=True,
        )


# -- fit and predict -----------------------------------------------------------------


def make_keras_classifier(settings, *, batch_size):
    """A scikeras classifier that builds ``settings``' network.

    Labels reach scikeras already encoded as ``0..n_classes-1``. Seeding is
    the caller's job (:func:`._runtime.seeded`); Keras's own progress output
    stays off (:class:`EpochLog` prints ours).
    """
    from scikeras.wrappers import KerasClassifier

    configure_tensorflow()
    # scikeras checks that the compiled loss is the one it was given, and
    # one-hot encodes the labels for a categorical cross-entropy.
    loss = settings["compile"].get("loss")
    return KerasClassifier(
        model=functools.partial(build_model, settings),
        loss=LOSS if loss is None else loss,
        batch_size=batch_size,
        verbose=0,
        shuffle=True,
        callbacks=[FitCallbacks()],
    )


def fit_keras_classifier(engine, X, y, *, epochs, callbacks=(), **fit_kwargs):
    """``engine.fit`` with this call's callbacks (see :class:`FitCallbacks`),
    its input pipeline without tf.data's autotuning (see
    :func:`._private.untuned_input_pipelines`)."""
    dispatcher = engine.get_params()["callbacks"][0]
    dispatcher.use(callbacks)
    try:
        with untuned_input_pipelines():
            return engine.fit(X, y, epochs=epochs, **fit_kwargs)
    finally:
        dispatcher.use(())


# Rows per call into the network at predict time: large enough that the
# per-call cost is negligible, small enough to bound a CNN's activations.
PREDICT_ROWS = 1024


def predict_rows(model, X, rows=None):
    """``model``'s outputs for ``X``, ``rows`` (``PREDICT_ROWS``) rows at a time.

    Keras's ``predict`` unrolls ``steps_per_execution`` batches into one graph:
    256 copies of the network, 4-5 s of tracing that every newly fitted model
    would pay at its first prediction (in a grid search, at every scoring).
    ``predict_on_batch`` traces the network once.
    """
    rows = rows or PREDICT_ROWS
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(X[start : start + rows]))
            for start in range(0, X.shape[0], rows)
        ]
    )


def new_estimator(cls):
    """Unpickling entry point of fitted networks: see ``__reduce_ex__``."""
    return cls.__new__(cls)
