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

The network itself (the user's, or the package's) is built, checked and
compiled in :mod:`._build`.
"""

import functools
import sys
import time

# First: TensorFlow's quiet import, before scikeras imports it.
from ._runtime import configure_tensorflow, keras, np  # isort: skip
from ._optimizers import LOSS  # isort: skip
from ._private import untuned_input_pipelines  # isort: skip
from ._build import build_model  # isort: skip


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
    the caller's job (:func:`._seeding.seeded`); Keras's own progress output
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


def fit_keras_classifier(
    engine, X, y, *, epochs, steps_per_epoch, callbacks=(), **fit_kwargs
):
    """``engine.fit`` with this call's callbacks (see :class:`FitCallbacks`),
    its input pipeline without tf.data's autotuning (see
    :func:`._private.untuned_input_pipelines`), and the steps of an epoch.

    ``steps_per_epoch`` is the exact count of batches, the last, partial one
    included. Given none, Keras makes a new iterator over the data after each
    epoch, then discards it and makes another when the next epoch starts:
    ~17 ms each, a third of a small network's 50-epoch fit on a few hundred
    images. Given the count, it keeps the one it made; the batches, their
    order and the weights are the same.
    """
    dispatcher = engine.get_params()["callbacks"][0]
    dispatcher.use(callbacks)
    try:
        with untuned_input_pipelines():
            return engine.fit(
                X, y, epochs=epochs, steps_per_epoch=steps_per_epoch, **fit_kwargs
            )
    finally:
        dispatcher.use(())


# Rows per call into the network at predict time: large enough that the
# per-call cost is negligible, small enough to bound a CNN's activations.
PREDICT_ROWS = 1024
# Images up to which a model's first prediction runs eagerly (see predict_rows).
EAGER_ROWS = 256


def predict_rows(model, X, rows=None, *, eager=True):
    """``model``'s outputs for ``X``, ``rows`` (``PREDICT_ROWS``) rows at a time.

    Keras's ``predict`` unrolls ``steps_per_execution`` batches into one graph:
    256 copies of the network, 4-5 s of tracing that every newly fitted model
    would pay at its first prediction (in a grid search, at every scoring).
    ``predict_on_batch`` traces the network once. ``eager=False`` traces it
    even for a few images: for a model that many calls will use (a frozen
    extractor).
    """
    rows = rows or PREDICT_ROWS
    small = X.shape[0] <= min(rows, EAGER_ROWS)
    if eager and small and getattr(model, "predict_function", None) is None:
        # A few images through a model that never predicted: one eager call,
        # instead of tracing a graph (about a second for a backbone) that a
        # single call would use once.
        return np.asarray(model(np.asarray(X, dtype=np.float32), training=False))
    return np.concatenate(
        [
            np.asarray(model.predict_on_batch(X[start : start + rows]))
            for start in range(0, X.shape[0], rows)
        ]
    )


def _seed_variables(model):
    states = model.non_trainable_variables
    return [v for v in states if v.path.endswith("seed_generator_state")]


def seed_states(model):
    """Where ``model``'s random layers (dropout, noise, augmentation) are in
    their sequences: the states of their seed generators.

    Keras's saving, and so pickling, leaves them out: a loaded network would
    draw its first epoch's dropout masks again, and a search would score a
    warm-started candidate differently with ``n_jobs=2`` (its networks
    pickled to the workers) than with ``n_jobs=1``.
    """
    return [np.asarray(v.numpy()) for v in _seed_variables(model)]


def set_seed_states(model, states):
    """Put back the seed generators' states that :func:`seed_states` read."""
    variables = _seed_variables(model)
    if len(variables) != len(states):
        raise ValueError(
            f"{len(states)} seed states saved for {len(variables)} seed generators."
        )
    for variable, state in zip(variables, states):
        variable.assign(state)


def new_estimator(cls, custom_objects=None):
    """Unpickling entry point of fitted networks: see ``__reduce_ex__``.

    ``custom_objects``, the user's classes and functions that the pickled
    Keras models name (see :func:`._custom_objects.custom_objects`), are
    registered with Keras here, before pickle unpickles the models.
    """
    if custom_objects:
        from ._custom_objects import register_custom_objects

        register_custom_objects(custom_objects)
    return cls.__new__(cls)
