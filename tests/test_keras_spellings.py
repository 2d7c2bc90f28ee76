"""Networks written as the Keras and TensorFlow guides write them.

Every spelling of a softmax output is recognised (no second softmax), logits
get one; subclassed models and ``Sequential`` models without an ``Input`` are
built on the images' shape, passed as a function or as an instance.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone

from fmnist_estimators import KerasModelClassifier

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

# A double softmax of 10 classes never gives a class more than
# e / (e + 9) = 0.23: a top probability well above it rules one out.
DOUBLE_SOFTMAX_MAX = np.e / (np.e + 9)
# Two epochs on 300 images at this rate: a mean top probability of 0.45 to
# 0.55, depending on the spelling's initial weights.
FIT = {"epochs": 2, "learning_rate": 0.003, "random_state": 0}


@pytest.fixture(scope="module")
def data(images):
    X, y = images
    return X[:300].reshape(-1, 28, 28), y[:300]


def _hidden():
    return [keras.layers.Flatten(), keras.layers.Dense(32, activation="relu")]


# -- the spellings of an output of probabilities (and of logits) -----------------------


def tutorial(input_shape, n_classes):
    """TensorFlow's Fashion-MNIST tutorial (basic classification), verbatim
    but for the width: no Input, the shape on Flatten, tf.nn.softmax."""
    with warnings.catch_warnings():  # Keras 3 prefers an Input; the tutorial has none
        warnings.simplefilter("ignore", UserWarning)
        flatten = keras.layers.Flatten(input_shape=(28, 28))
    return keras.Sequential(
        [
            flatten,
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(n_classes, activation=tf.nn.softmax),
        ]
    )


def activation_string(input_shape, n_classes):
    layers = [*_hidden(), keras.layers.Dense(n_classes, activation="softmax")]
    return keras.Sequential([keras.Input((28, 28)), *layers])


def activation_function(input_shape, n_classes):
    last = keras.layers.Dense(n_classes, activation=keras.activations.softmax)
    return keras.Sequential([keras.Input((28, 28)), *_hidden(), last])


def softmax_layer(input_shape, n_classes):
    last = [keras.layers.Dense(n_classes), keras.layers.Softmax()]
    return keras.Sequential([keras.Input((28, 28)), *_hidden(), *last])


def activation_layer(input_shape, n_classes):
    last = [keras.layers.Dense(n_classes), keras.layers.Activation("softmax")]
    return keras.Sequential([keras.Input((28, 28)), *_hidden(), *last])


def ops_softmax(input_shape, n_classes):
    """The functional API with an operation on the output."""
    inputs = keras.Input((28, 28))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, keras.ops.softmax(keras.layers.Dense(n_classes)(x)))


class SoftmaxNet(keras.Model):
    """Keras's subclassing guide form, its softmax inside ``call``: only the
    numbers tell."""

    def __init__(self, n_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(32, activation="relu")
        self.out = keras.layers.Dense(n_classes)

    def call(self, inputs):
        return keras.ops.softmax(self.out(self.hidden(self.flatten(inputs))))


def subclassed_softmax(input_shape, n_classes):
    return SoftmaxNet(n_classes)


def logits(input_shape, n_classes):
    """The tutorial's other form: logits, for a from_logits loss."""
    return keras.Sequential([*_hidden(), keras.layers.Dense(n_classes)])


def _is_added_softmax(layer):
    """Whether ``layer`` is the softmax the estimator adds after logits."""
    return (
        isinstance(layer, keras.layers.Activation)
        and layer.get_config()["activation"] == "softmax"
    )


def _network_output(clf, X):
    """What the user's network itself outputs inside ``model_``."""
    inner = next(layer for layer in clf.model_.layers if isinstance(layer, keras.Model))
    x = X.reshape((len(X), *clf.model_.input_shape[1:])).astype("float32")
    for layer in clf.model_.layers[1:]:  # pixel scaling, reshape, the network
        x = layer(x)
        if layer is inner:
            return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize(
    "network",
    [
        tutorial,
        activation_string,
        activation_function,
        softmax_layer,
        activation_layer,
        ops_softmax,
        subclassed_softmax,
    ],
)
def test_an_output_of_probabilities_gets_no_second_softmax(network, data):
    X, y = data
    clf = KerasModelClassifier(network, **FIT).fit(X, y)
    proba = clf.predict_proba(X[:50])
    assert proba.max(axis=1).mean() > 1.5 * DOUBLE_SOFTMAX_MAX
    assert_allclose(proba, _network_output(clf, X[:50]), rtol=1e-5, atol=1e-6)
    assert not _is_added_softmax(clf.model_.layers[-1])


def test_logits_get_a_softmax(data):
    X, y = data
    clf = KerasModelClassifier(logits, **FIT).fit(X, y)
    proba = clf.predict_proba(X[:50])
    outputs = _network_output(clf, X[:50])
    assert _is_added_softmax(clf.model_.layers[-1])
    assert (outputs < 0).any()  # logits, not probabilities
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(outputs))
    assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    assert proba.max(axis=1).mean() > 1.5 * DOUBLE_SOFTMAX_MAX


# -- subclassed models -----------------------------------------------------------------


class Net(keras.Model):
    """The Keras guide's subclassed model, ending in logits, with the
    get_config that lets Keras copy and save it."""

    def __init__(self, units=32, n_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.n_classes = n_classes
        self.flatten = keras.layers.Flatten()
        self.dense1 = keras.layers.Dense(units, activation="relu")
        self.dense2 = keras.layers.Dense(n_classes)

    def call(self, x):
        return self.dense2(self.dense1(self.flatten(x)))

    def get_config(self):
        config = super().get_config()
        return {**config, "units": self.units, "n_classes": self.n_classes}


class MyModel(keras.Model):
    """The Keras guide's first subclassed model: no arguments, no config."""

    def __init__(self):
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.dense1 = keras.layers.Dense(32, activation="relu")
        self.dense2 = keras.layers.Dense(10, activation="softmax")

    def call(self, inputs):
        return self.dense2(self.dense1(self.flatten(inputs)))


class NoConfigNet(keras.Model):
    """Arguments but no get_config: Keras 3 would copy it with the defaults."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.flatten = keras.layers.Flatten()
        self.out = keras.layers.Dense(10)

    def call(self, x):
        return self.out(self.hidden(self.flatten(x)))


def build_net(input_shape, n_classes, units=32):
    return Net(units, n_classes)


class Wrapped(keras.Model):
    """Takes a layer in __init__, which Keras cannot serialize: no config."""

    def __init__(self, body, **kwargs):
        super().__init__(**kwargs)
        self.body = body
        self.head = keras.layers.Dense(10)

    def call(self, x):
        return self.head(self.body(x))


def build_wrapped(input_shape, n_classes):
    return Wrapped(keras.layers.Flatten())


def test_subclassed_model_from_a_function(data):
    X, y = data
    clf = KerasModelClassifier(build_net, model__units=16, **FIT).fit(X, y)
    assert isinstance(clf.model_.layers[-2], Net)
    assert clf.model_.layers[-2].dense1.units == 16
    assert _is_added_softmax(clf.model_.layers[-1])  # logits
    assert clf.score(X, y) > 0.4


# clone deep-copies the unbuilt instance through Keras's saving, which warns.
@pytest.mark.filterwarnings("ignore:You are saving a model that has not yet been built")
def test_subclassed_model_instance_is_copied_with_fresh_weights(data):
    X, y = data
    template = Net(16)
    first = KerasModelClassifier(template, epochs=1, random_state=0).fit(X, y)
    second = KerasModelClassifier(clone(first).model, epochs=1, random_state=1)
    second.fit(X, y)
    nets = [clf.model_.layers[-2] for clf in (first, second)]
    assert all(isinstance(net, Net) and net is not template for net in nets)
    assert [net.dense1.units for net in nets] == [16, 16]  # the given units
    assert not template.built  # the instance given is never trained
    assert nets[0] is not nets[1]
    assert not np.allclose(nets[0].dense1.kernel.numpy(), nets[1].dense1.kernel.numpy())


def build_my_model(input_shape, n_classes):
    return MyModel()


def test_subclassed_model_without_config_from_a_function(data):
    X, y = data
    clf = KerasModelClassifier(build_my_model, epochs=1, random_state=0).fit(X, y)
    assert isinstance(clf.model_.layers[-1], MyModel)  # softmax: nothing added


@pytest.mark.parametrize(
    "instance",
    [
        lambda: MyModel(),  # Keras cannot rebuild it: no **kwargs
        lambda: NoConfigNet(units=8),  # Keras would rebuild it with 32 units
        lambda: Wrapped(keras.layers.Flatten()),  # no config at all
    ],
)
def test_subclassed_model_instance_without_config_must_be_a_function(instance, data):
    X, y = data
    clf = KerasModelClassifier(instance(), epochs=1)
    name = type(clf.model).__name__
    with pytest.raises(TypeError, match=rf"{name} defines no get_config.*function"):
        clf.fit(X, y)


# -- Sequential without an Input ------------------------------------------------------


def keras_tutorial(input_shape, n_classes):
    """keras.io's form: no Input, built on the first batch."""
    return keras.Sequential(
        [
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(n_classes),
        ]
    )


def convolutional(input_shape, n_classes):
    return keras.Sequential(
        [
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(n_classes),
        ]
    )


@pytest.mark.parametrize("flat", [True, False])
@pytest.mark.parametrize("network", [keras_tutorial, convolutional, tutorial])
def test_sequential_without_input_from_a_function(network, flat, data):
    X, y = data
    X = X.reshape(len(X), -1) if flat else X
    clf = KerasModelClassifier(network, epochs=1, random_state=0).fit(X, y)
    assert clf.model_.input_shape == (None, 28, 28, 1)
    assert clf.predict_proba(X[:4]).shape == (4, 10)


def test_sequential_without_input_as_an_instance(data):
    X, y = data
    template = keras_tutorial(None, 10)
    clf = KerasModelClassifier(template, **FIT).fit(X, y)
    assert not template.built
    assert clf.model_.layers[-2] is not template
    assert clf.score(X, y) > 0.4


def test_network_without_input_that_keeps_the_image_axes(data):
    X, y = data

    def dense_only(input_shape, n_classes):
        return keras.Sequential([keras.layers.Dense(n_classes)])

    with pytest.raises(ValueError, match=r"shape \(28, 28, 10\) per image.*Flatten"):
        KerasModelClassifier(dense_only, epochs=1).fit(X, y)
