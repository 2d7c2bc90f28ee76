"""The user's own classes and functions that a pickled Keras model needs back.

Keras pickles a model as its config, in which a class or function of the
user's is a name only (``"Scale"``, ``"my_activation"``, ``"softmax_v2"``
for ``tf.nn.softmax``), and loads it by looking the name up among the objects
registered with ``keras.saving.register_keras_serializable``. A fitted
estimator whose network has an unregistered custom layer would pickle, and
the pickle fail to load, even in the process that wrote it. skorch's networks
do not have this problem because pickle refers to any importable class by its
module and name: :func:`custom_objects` finds the user's objects of the Keras
models an estimator holds, for its pickle to carry them that way, and
:func:`register_custom_objects` registers them again before the models load
(see ``BaseKerasClassifier.__reduce_ex__`` and ``_engine.new_estimator``).
"""

import functools
import sys
import types

from sklearn.base import BaseEstimator

from ._runtime import keras  # isort: skip
from ._build import copied_wrong  # isort: skip

# What Keras saves as a config, and pickles through it (scikeras makes
# models, losses, metrics and optimizers pickle that way).
KERAS_OBJECTS = (
    keras.layers.Layer,
    keras.losses.Loss,
    keras.metrics.Metric,
    keras.optimizers.Optimizer,
)

# Modules whose objects Keras finds without registration, or that are never
# a user's layer or activation: their objects are not looked into.
LIBRARIES = ("keras", "tensorflow", "numpy", "builtins", "scikeras", "sklearn")


def _from_library(obj):
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in LIBRARIES


def _keras_objects(value, seen):
    """The Keras objects in ``value``: an estimator's state, with the
    scikeras classifier it owns and the build settings that one holds."""
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, KERAS_OBJECTS):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _keras_objects(item, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _keras_objects(item, seen)
    elif isinstance(value, functools.partial):
        yield from _keras_objects([value.args, value.keywords], seen)
    elif isinstance(value, BaseEstimator):
        yield from _keras_objects(vars(value), seen)


def _parts(value, seen):
    """The functions and the objects of classes not a library's that Keras
    object (or user's object) ``value`` is made of: itself, its layers,
    activations, initializers, losses and metrics, found through their
    attributes."""
    if isinstance(value, types.FunctionType):
        # TensorFlow's too: Keras knows tf.nn.softmax as "softmax_v2" only.
        yield value
        return
    if isinstance(value, list | tuple | dict):
        items = value.values() if isinstance(value, dict) else value
        for item in list(items):
            if id(item) not in seen:
                seen.add(id(item))
                yield from _parts(item, seen)
        return
    is_keras = isinstance(value, KERAS_OBJECTS)
    if not is_keras and (_from_library(type(value)) or not hasattr(value, "__dict__")):
        return
    if not _from_library(type(value)):
        yield value
    yield from _parts(dict(vars(value)), seen)


def _names_looked_up(config):
    """The names Keras looks up to load ``config``: those of its objects
    from outside Keras, as registered (or, unregistered, their own names)."""
    if isinstance(config, dict):
        module = config.get("module") or ""
        class_name = config.get("class_name")
        custom = "registered_name" in config and not (
            module == "keras" or module.startswith("keras.")
        )
        if custom and class_name == "function" and isinstance(config["config"], str):
            yield config["config"]
        elif custom and isinstance(class_name, str) and not class_name.startswith("_"):
            if module != "builtins":
                yield config["registered_name"] or class_name
        for value in config.values():
            yield from _names_looked_up(value)
    elif isinstance(config, list | tuple):
        for value in config:
            yield from _names_looked_up(value)


def _config(obj):
    try:
        return keras.saving.serialize_keras_object(obj)
    except Exception:  # any error of a config: Keras's own pickling reports it
        return None


def _importable(obj):
    """Whether pickle can refer to ``obj`` by its module and name."""
    target = sys.modules.get(getattr(obj, "__module__", None) or "")
    for part in getattr(obj, "__qualname__", "<locals>").split("."):
        target = getattr(target, part, None)
    return target is obj


# Names registered only for a copy of an estimator (``copy.deepcopy``) of
# objects that pickle cannot refer to: not registered by the user, so that a
# pickle of them would still not load in another process.
COPIED = set()


class Unpicklable:
    """A class or function that a pickle cannot refer to, standing in for it.

    Pickling it raises ``message``; copies (``copy.deepcopy``, which needs
    no reference) keep the object itself.
    """

    def __init__(self, obj, message):
        self.obj = obj
        self.message = message

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError(self.message)


def _unpicklable(obj, owner):
    name = obj.__qualname__
    return Unpicklable(
        obj,
        f"This fitted {owner} cannot be pickled: its Keras network uses {name} "
        f"(module {obj.__module__}), defined inside a function, which a pickle "
        f"cannot refer to, and which Keras finds only when registered. Define "
        f"{name.split('.')[-1]} at module level (importable), or register it "
        "with @keras.saving.register_keras_serializable() where it is defined "
        "(then the pickle loads where that registration has run).",
    )


def _check_config(part, owner):
    """Refuse a subclassed model that Keras would load wrong, or not at all."""
    if copied_wrong(type(part)):
        name = type(part).__name__
        raise TypeError(
            f"This {owner} cannot be pickled: its Keras network includes "
            f"{name}, a keras.Model subclass that defines no get_config(). "
            f"Keras 3 saves such a model with the default values of its "
            f"__init__ arguments, not the ones it was built with, and may not "
            f"load it back. Give {name} a get_config() method that returns its "
            f"__init__ arguments."
        )


def custom_objects(state, owner="estimator"):
    """``{name: object}``: the user's classes and functions that the Keras
    objects in ``state`` (an estimator's ``__getstate__``) need to load.

    Each is pickled by reference (module and name). One that pickle cannot
    refer to (defined inside a function) and that the user did not register
    with Keras is replaced by an :class:`Unpicklable`, so that pickling fails
    with a message saying what to do, before the estimator is written.
    """
    found, needed = {}, set()
    for obj in _keras_objects(state, set()):
        needed.update(_names_looked_up(_config(obj)))
        for part in _parts(obj, {id(obj)}):
            _check_config(part, owner)
            if not isinstance(part, types.FunctionType):
                part = type(part)
            found.setdefault(keras.saving.get_registered_name(part), part)
    registered = keras.saving.get_custom_objects()
    objects = {}
    for name in sorted(needed & found.keys()):
        obj = found[name]
        if _importable(obj):
            objects[name] = obj
        elif registered.get(name) is not obj or name in COPIED:
            objects[name] = _unpicklable(obj, owner)
    return objects


def register_custom_objects(objects):
    """Register ``objects`` (from :func:`custom_objects`) with Keras, so
    that the models of the estimator being unpickled (or copied) find them."""
    for name, obj in objects.items():
        if isinstance(obj, Unpicklable):  # a copy: this process only
            COPIED.add(name)
            obj = obj.obj
        keras.saving.get_custom_objects()[name] = obj
