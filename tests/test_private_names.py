"""Private names of Keras, TensorFlow, scikeras and scikit-learn live in two modules.

Each library's private names (``sklearn.utils._param_validation``,
``keras.src``, ``Adam._momentums``, ``tf.raw_ops``...) may change in any
release. The package reads them only in its compatibility modules, where each
is guarded; these tests read the source of every other module and fail on
any use, then check that the guards fall back to public paths.
"""

import ast
import importlib
import inspect
import pkgutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fmnist_estimators

PACKAGE = Path(fmnist_estimators.__file__).parent
LIBRARIES = ("keras", "tensorflow", "scikeras", "sklearn")
# The one compatibility module per library, where private names belong.
COMPAT_MODULES = {"_sklearn_compat.py", "_keras/_private.py"}
# Public-looking paths that are internal (keras.src), or that TensorFlow
# exports without promising to keep (its v1 API and raw kernels).
PRIVATE_PATHS = (
    "keras.src",
    "tensorflow.python",
    "tensorflow.compat.v1",
    "tensorflow.raw_ops",
)
# The names under which the package imports the libraries from its own
# modules (``from ._runtime import keras, tf``).
LIBRARY_ALIASES = {"tf": "tensorflow", **{name: name for name in LIBRARIES}}


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_private_path(dotted):
    parts = dotted.split(".")
    return parts[0] in LIBRARIES and (
        any(_is_private(part) for part in parts[1:])
        or any(
            dotted == path or dotted.startswith(path + ".") for path in PRIVATE_PATHS
        )
    )


def _private_prefix(dotted):
    """The shortest private prefix of ``dotted``: one finding per chain."""
    parts = dotted.split(".")
    return next(
        ".".join(parts[:n])
        for n in range(1, len(parts) + 1)
        if _is_private_path(".".join(parts[:n]))
    )


def _sources(include_compat=False):
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if include_compat or relative not in COMPAT_MODULES:
            yield relative, ast.parse(path.read_text(), filename=str(path))


def _attribute_names(tree):
    """(name, node) of each attribute read or written, also by getattr & co."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            yield node.attr, node
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            yield node.args[1].value, node


def _own_names():
    """Every name the package defines outside its compatibility modules."""
    names = set()
    for _, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
            ):
                names.add(node.args[1].value)
    return names


def _imported_names(tree):
    """name -> dotted origin of each name the module imports."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    bound[root] = root
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                if node.level == 0:
                    bound[name] = f"{node.module}.{alias.name}"
                elif alias.name in LIBRARY_ALIASES:
                    bound[name] = LIBRARY_ALIASES[alias.name]
                elif (node.module or "").endswith("_sklearn_compat"):
                    # what the compatibility module hands out is scikit-learn's
                    bound[name] = f"sklearn.{alias.name}"
                else:
                    bound[name] = f"fmnist_estimators.{alias.name}"
    return bound


def _chain(node, bound):
    """``tensorflow.compat.v1.nn`` for ``tf.compat.v1.nn``; the root's origin
    first, ``()`` for a call. ``None`` when the root is not a plain name."""
    parts = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[]")
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(bound.get(node.id, node.id))
            return ".".join(reversed(parts)), node.id
        else:
            return None, None


def _uses_of_private_names(relative, tree, own_names):
    """Lines of ``tree`` that use a private name of one of the LIBRARIES."""
    found = []
    bound = _imported_names(tree)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Import | ast.ImportFrom)
            and getattr(node, "level", 0) == 0
        ):
            modules = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            )
            if isinstance(node, ast.ImportFrom):
                modules = [f"{node.module}.{a.name}" for a in node.names]
            found += [
                (node.lineno, f"import {m}") for m in modules if _is_private_path(m)
            ]
    for name, node in _attribute_names(tree):
        target = node.value if isinstance(node, ast.Attribute) else node.args[0]
        dotted, root = _chain(target, bound)
        dotted = None if dotted is None else f"{dotted}.{name}"
        if dotted is not None and _is_private_path(dotted):
            # tf.raw_ops.X, keras.src.Y, BaseSearchCV._format_results
            found.append((node.lineno, _private_prefix(dotted)))
        elif (
            _is_private(name)
            and name not in own_names
            and (
                root is None
                or root not in bound
                or bound[root].split(".")[0] in LIBRARIES
            )
        ):
            # optimizer._momentums: a private name the package never defines is
            # a library's, whatever object it is read on (not os._exit).
            found.append((node.lineno, f"{dotted or '...'} ({name} is not ours)"))
    return [f"{relative}:{line}: {what}" for line, what in sorted(set(found))]


def test_no_private_library_name_outside_the_compat_modules():
    own_names = _own_names()
    found = []
    for relative, tree in _sources():
        found += _uses_of_private_names(relative, tree, own_names)
    assert not found, (
        "private names of keras, tensorflow, scikeras or sklearn outside "
        f"{sorted(COMPAT_MODULES)}:\n" + "\n".join(found)
    )


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from sklearn.utils._param_validation import Interval", "_param_validation"),
        ("from sklearn.base import _fit_context", "_fit_context"),
        ("from keras.src.trainers import epoch_iterator", "keras.src"),
        ("import tensorflow as tf\ny = tf.compat.v1.nn.fused_batch_norm", "compat.v1"),
        ("from ._runtime import tf\ntf.raw_ops.ResourceApplyAdam(var=1)", "raw_ops"),
        (
            "from ._runtime import keras\nkeras.optimizers.Adam()._momentums",
            "_momentums",
        ),
        ("def f(optimizer):\n    return optimizer._velocities", "_velocities"),
        ("def f(o):\n    return getattr(o, '_get_variable_index')", "_get_variable"),
        (
            "from .._sklearn_compat import BaseSearchCV\nBaseSearchCV._format_results",
            "_format",
        ),
    ],
)
def test_the_check_finds_each_kind_of_private_name(source, expected):
    found = _uses_of_private_names("m.py", ast.parse(source), own_names={"f", "o"})
    assert len(found) == 1 and expected in found[0]


@pytest.mark.parametrize(
    "source",
    [
        "class A:\n    def _x(self):\n        return self._x()",
        "import os\nos._exit(0)",
        "from ._runtime import tf\ntf.nn.softmax",
        "from sklearn.utils.validation import check_is_fitted",
        "from . import _private\n_private.fused_batch_norm",
        "from . import _private",
    ],
)
def test_the_check_leaves_the_packages_own_private_names_alone(source):
    own_names = _own_names() | {"_x"}
    assert _uses_of_private_names("m.py", ast.parse(source), own_names) == []


def _package_classes():
    for module in pkgutil.walk_packages([str(PACKAGE)], "fmnist_estimators."):
        if module.name.endswith(("_private", "_sklearn_compat")):
            continue
        imported = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(imported, inspect.isclass):
            if cls.__module__ == module.name:
                yield cls


def _private_overrides(classes):
    """Private methods of Keras, TensorFlow or scikeras that ``classes`` override."""
    found = []
    for cls in classes:
        theirs = [
            base
            for base in cls.__mro__
            if base.__module__.split(".")[0] in ("keras", "tensorflow", "scikeras")
        ]
        ours = [
            base
            for base in cls.__mro__
            if base.__module__.startswith("fmnist_estimators")
        ]
        for base in ours:
            if base.__module__.endswith("_private"):
                continue
            for name in vars(base):
                if _is_private(name) and any(hasattr(t, name) for t in theirs):
                    found.append(f"{base.__module__}.{base.__qualname__}.{name}")
    return sorted(set(found))


def test_no_class_overrides_a_private_method_of_keras_outside_the_compat_module():
    # A method named like a private Keras one (Optimizer._all_reduce_sum_gradients)
    # replaces it; only _keras/_private.py may do that.
    assert _private_overrides(_package_classes()) == []


def test_the_override_check_finds_a_private_override_in_a_mixin():
    from fmnist_estimators._keras._runtime import keras

    class Mixin:
        def _all_reduce_sum_gradients(self, grads_and_vars):
            return grads_and_vars

        def _our_own_helper(self):
            pass

    class Fast(Mixin, keras.optimizers.SGD):
        pass

    Mixin.__module__ = Fast.__module__ = "fmnist_estimators._keras._optimizers"
    assert _private_overrides([Fast]) == [
        "fmnist_estimators._keras._optimizers."
        "test_the_override_check_finds_a_private_override_in_a_mixin.<locals>."
        "Mixin._all_reduce_sum_gradients"
    ]


# -- the guards of the private TensorFlow names ---------------------------------------


@pytest.fixture
def hide(monkeypatch):
    """Make ``_private`` treat one name as missing, with its warning unsent."""
    from fmnist_estimators._keras import _private

    monkeypatch.setattr(_private, "_warned", set())

    def hide(name):
        monkeypatch.setattr(_private, "HIDDEN", {name})

    return hide


def _adam_steps(optimizer, n_steps=3):
    from fmnist_estimators._keras._runtime import keras

    variable = keras.Variable(np.linspace(-1.0, 1.0, 6).reshape(2, 3), dtype="float32")
    for step in range(n_steps):
        gradient = np.full((2, 3), 0.1 * (step + 1), np.float32)
        optimizer.apply_gradients([(gradient, variable)])
    return variable.numpy()


def test_adam_takes_the_fused_kernel_or_falls_back_with_one_warning(hide, monkeypatch):
    from fmnist_estimators._keras import _optimizers
    from fmnist_estimators._keras._runtime import keras

    expected = _adam_steps(keras.optimizers.Adam(learning_rate=0.1))
    calls = []
    fused_step = _optimizers.fused_adam_step
    monkeypatch.setattr(
        _optimizers,
        "fused_adam_step",
        lambda *args: calls.append(1) or fused_step(*args),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fused = _adam_steps(_optimizers.FusedAdam(learning_rate=0.1))
    assert calls  # the kernel ran
    hide("tf.raw_ops.ResourceApplyAdam")
    calls.clear()
    with pytest.warns(RuntimeWarning, match=r"tensorflow\.raw_ops\.ResourceApplyAdam"):
        plain = _adam_steps(_optimizers.FusedAdam(learning_rate=0.1))
    assert not calls
    # the same rule in another order of float32 operations: three steps of
    # about 0.1, each m / (sqrt(v) + eps) a few ulps apart
    assert_allclose(fused, expected, atol=1e-5)
    assert_allclose(plain, expected, atol=1e-6)
    assert not np.allclose(fused, _adam_steps(keras.optimizers.Adam(0.1), 2), atol=1e-3)


def test_batch_norm_falls_back_to_keras_with_one_warning(hide):
    from fmnist_estimators._keras._layers import FusedBatchNormalization
    from fmnist_estimators._keras._runtime import keras, tf

    x = tf.constant(np.random.default_rng(0).normal(2, 3, (16, 5)), tf.float32)
    expected = keras.layers.BatchNormalization()(x, training=True)
    hide("tf.compat.v1.nn.fused_batch_norm")
    layer = FusedBatchNormalization()
    with pytest.warns(RuntimeWarning, match=r"tensorflow\.compat\.v1\.nn") as record:
        outputs = [layer(x, training=True), layer(x, training=False)]
    assert len(record) == 1
    assert_allclose(outputs[0], expected, rtol=1e-5, atol=1e-5)


def test_softmax_keeps_the_loss_on_logits_or_falls_back_with_one_warning(hide):
    from fmnist_estimators._keras._layers import softmax
    from fmnist_estimators._keras._runtime import keras, tf

    logits = tf.constant([[0.0, 40.0], [1.0, -2.0]])

    @tf.function
    def probabilities_and_loss():
        probabilities = softmax(logits)
        labels = tf.constant([0, 0])
        loss = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        return probabilities, loss, probabilities.op.type

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        probabilities, loss, op = probabilities_and_loss()
    assert op.numpy() != b"Softmax"
    assert_allclose(probabilities, tf.nn.softmax(logits), rtol=1e-6)
    # From the logits: -log_softmax; from clipped probabilities the first
    # loss would be -log(1e-7) = 16.1.
    assert_allclose(loss, -tf.nn.log_softmax(logits)[:, 0], rtol=1e-6)
    hide("Tensor._keras_logits")
    with pytest.warns(RuntimeWarning, match=r"softmax's output\._keras_logits"):
        op = tf.function(lambda: softmax(logits).op.type)()
    assert op.numpy() == b"Softmax"
