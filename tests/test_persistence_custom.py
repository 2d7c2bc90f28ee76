"""Pickles of networks with the user's own layers: written only if they load.

Keras saves a custom layer by name and finds it back only when registered;
the estimator's pickle carries the class by reference, as pickle does for any
importable class, so that it loads in this process and in others.
"""

import copy
import pickle

import joblib
import pytest
from numpy.testing import assert_array_equal
from sklearn.model_selection import StratifiedKFold, cross_validate

from fmnist_estimators import KerasModelClassifier

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")


class Linear(keras.layers.Layer):
    """The Keras guide's custom layer ("Making new layers and models via
    subclassing"), with get_config and not registered."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def linear_net(input_shape, n_classes, units=16):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Activation("relu")(Linear(units)(x))
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x))


def tutorial(input_shape, n_classes):
    """TensorFlow's Fashion-MNIST tutorial: Keras saves tf.nn.softmax by a
    name of TensorFlow's, ``softmax_v2``, that it cannot find back."""
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(n_classes, activation=tf.nn.softmax),
        ]
    )


class LinearNet(keras.Model):
    """A subclassed model made of the custom layer."""

    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.flatten = keras.layers.Flatten()
        self.hidden = Linear(units)
        self.out = keras.layers.Dense(10)

    def call(self, x):
        return self.out(keras.ops.relu(self.hidden(self.flatten(x))))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class NoConfigNet(keras.Model):
    """A subclassed model with an argument and no get_config."""

    def __init__(self, units=16, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.flatten = keras.layers.Flatten()
        self.hidden = keras.layers.Dense(units)
        self.out = keras.layers.Dense(10)

    def call(self, x):
        return self.out(self.hidden(self.flatten(x)))


def no_config_net(input_shape, n_classes, units=16):
    return NoConfigNet(units)


def local_net(input_shape, n_classes):
    """A custom layer defined inside the function: pickle cannot refer to it."""

    class Doubling(keras.layers.Layer):
        def call(self, x):
            return 2 * x

    inputs = keras.Input(input_shape)
    x = Doubling()(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Dense(n_classes)(x))


@pytest.fixture(scope="module")
def data(images):
    X, y = images
    return X[:300], y[:300], X[300:400]


@pytest.mark.filterwarnings("ignore:You are saving a model that has not yet been built")
@pytest.mark.parametrize("model", [linear_net, tutorial, LinearNet(8)])
def test_pickle_round_trip_of_custom_layers(model, data):
    X, y, X_test = data
    clf = KerasModelClassifier(model, epochs=1, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X_test), clf.predict_proba(X_test))
    # The restored network trains on, custom layer and all.
    restored.set_params(warm_start=True, epochs=1).fit(X, y)
    assert restored.n_iter_ == 2


def test_joblib_dump_and_load_of_a_custom_layer(data, tmp_path):
    X, y, X_test = data
    clf = KerasModelClassifier(linear_net, epochs=1, random_state=0).fit(X, y)
    path = tmp_path / "linear.joblib"
    joblib.dump(clf, path)
    restored = joblib.load(path)
    assert_array_equal(restored.predict(X_test), clf.predict(X_test))
    assert type(restored.model_.layers[-2].layers[2]) is Linear


@pytest.mark.filterwarnings("ignore:You are saving a model that has not yet been built")
def test_unfitted_estimator_with_a_custom_model_instance_pickles():
    clf = KerasModelClassifier(LinearNet(8), epochs=1)
    restored = pickle.loads(pickle.dumps(clf))
    assert type(restored.model) is LinearNet
    assert restored.model.units == 8


@pytest.mark.slow  # two worker processes start TensorFlow
def test_fitted_custom_layers_come_back_from_worker_processes(data):
    # Each worker pickles its fitted estimator back to this process, which
    # loads it (as HyperbandSearchCV's workers do after every round).
    X, y, _ = data
    clf = KerasModelClassifier(linear_net, epochs=1, random_state=0)
    cv = StratifiedKFold(2)
    result = cross_validate(clf, X, y, cv=cv, n_jobs=2, return_estimator=True)
    folds = [test for _, test in cv.split(X, y)]
    for fitted, test, score in zip(result["estimator"], folds, result["test_score"]):
        assert type(fitted.model_.layers[-2].layers[2]) is Linear
        # The network the worker trained and scored, unchanged.
        assert fitted.score(X[test], y[test]) == pytest.approx(score)


def test_a_class_pickle_cannot_refer_to_fails_before_writing(data, tmp_path):
    X, y, X_test = data
    clf = KerasModelClassifier(local_net, epochs=1, random_state=0).fit(X, y)
    message = r"local_net.<locals>.Doubling.*module level.*register_keras_serializable"
    with pytest.raises(TypeError, match=message):
        pickle.dumps(clf)
    path = tmp_path / "local.joblib"
    with pytest.raises(TypeError, match=message):
        joblib.dump(clf, path)
    # Nothing of the estimator was written: joblib opens the file before
    # pickling, and pickle writes its two-byte protocol header first.
    assert not path.exists() or path.stat().st_size <= 2
    # A copy in memory needs no reference: it works, and does not make the
    # class picklable for later.
    assert_array_equal(copy.deepcopy(clf).predict(X_test), clf.predict(X_test))
    with pytest.raises(TypeError, match=message):
        pickle.dumps(clf)


def test_a_subclassed_model_that_keras_would_load_wrong_is_refused(data):
    # Keras 3 saves a keras.Model subclass without get_config with the
    # defaults of its __init__: this network would load with 16 units.
    X, y, _ = data
    clf = KerasModelClassifier(no_config_net, model__units=8, epochs=1).fit(X, y)
    with pytest.raises(TypeError, match=r"NoConfigNet.*defines no get_config"):
        pickle.dumps(clf)
