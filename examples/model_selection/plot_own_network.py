"""
=========================================
Your own network beside the SVD baseline
=========================================

:class:`~fmnist_estimators.KerasModelClassifier` turns a function that builds
a Keras network into a scikit-learn classifier trained like the package's own
networks. The function's arguments become estimator parameters with the
prefix ``model__``, so a search tunes them as it tunes any other parameter.
Here a small residual network of our own is tuned in one
:class:`~sklearn.model_selection.GridSearchCV` beside the
:class:`~fmnist_estimators.SVDSubspaceClassifier` baseline, on the same folds.
"""

# %%
# The network
# -----------
# The function receives the shape of one image — ``(28, 28, 1)`` here — and
# the number of classes, then its own arguments: the width ``filters`` and the
# number of residual blocks ``n_blocks``. It returns an uncompiled
# ``keras.Model`` whose last layer has one unit per class (a softmax here; a
# layer without one is taken to output logits and gets a softmax added). The
# estimator compiles and trains it, and puts the pixel scaling in front.
#
# A function that takes a ``seed`` argument gets one derived from the
# estimator's ``random_state``; this one draws a seed per layer from it, since
# a Keras initializer used twice repeats its draws. The function is defined at
# module level so that it pickles: ``n_jobs > 1`` and saving a fitted estimator
# both need that.
import keras
import numpy as np
from sklearn.model_selection import GridSearchCV, ParameterGrid

from fmnist_estimators import KerasModelClassifier, SVDSubspaceClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    family_param_grid,
    format_table,
    make_family_pipeline,
    results_table,
)


def residual_cnn(input_shape, n_classes, filters=16, n_blocks=1, seed=None):
    """A convolution stem, ``n_blocks`` residual blocks, a softmax head."""
    rng = np.random.default_rng(seed)

    def conv(x, activation="relu"):
        return keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            activation=activation,
            kernel_initializer=keras.initializers.HeNormal(
                seed=int(rng.integers(2**31 - 1))
            ),
        )(x)

    inputs = keras.Input(input_shape)
    x = keras.layers.MaxPooling2D(2)(conv(inputs))  # the stem: 14 x 14 maps
    for _ in range(n_blocks):
        # Two convolutions whose output is added to the block's input.
        shortcut = x
        x = conv(conv(x), activation=None)
        x = keras.layers.Activation("relu")(keras.layers.Add()([shortcut, x]))
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


# %%
# The estimator
# -------------
# Training parameters (``epochs``, ``batch_size``, ``learning_rate``, ...) are
# the estimator's own; the network's arguments carry the ``model__`` prefix.
# ``get_params`` lists them and ``set_params`` changes them, as for any
# parameter, so ``clone`` and the searches keep them.
net = KerasModelClassifier(
    residual_cnn,
    model__filters=8,
    model__n_blocks=1,
    epochs=3,
    learning_rate=3e-3,
    random_state=0,
)
net.set_params(model__filters=16)
print({k: v for k, v in net.get_params().items() if k.startswith("model__")})

# %%
# One search, two families
# ------------------------
# :func:`~fmnist_estimators.search.family_param_grid` pairs each estimator
# with the space of its own parameters and checks the names against
# ``get_params``: a ``model__`` parameter is searchable once the estimator
# has it, as ``net`` has both here. Four networks and two subspace
# classifiers on 1,200 sample images, two stratified folds, three epochs per
# network: a quick look, not a benchmark.
X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:1200], y[:1200]

grid = family_param_grid(
    [
        (SVDSubspaceClassifier(), {"n_components": [10, 30]}),
        (net, {"model__filters": [8, 16], "model__n_blocks": [1, 2]}),
    ]
)
print(f"{len(ParameterGrid(grid))} candidates in {len(grid)} families")

search = GridSearchCV(make_family_pipeline(), grid, cv=2)
search.fit(X_train, y_train)
print(f"test accuracy of the refitted winner: {search.score(X_test, y_test):.3f}")

# %%
# :func:`~fmnist_estimators.search.results_table` has one row per candidate,
# best first; :func:`~fmnist_estimators.search.format_table` renders it as
# Markdown. Its ``params`` column drops the prefixes: ``filters=16`` is the
# pipeline's ``clf__model__filters``.
table = results_table(search)
print(format_table(table))

# %%
# On 600-image folds and three epochs, the subspace classifier is hard to
# beat: a network needs more images and epochs to pull ahead (see the
# :doc:`benchmarks </benchmarks>`), and wider or deeper variants cost more
# time per fold, as the ``fit`` column shows.
#
# Everything the package's networks offer applies to your own: ``fit`` takes
# ``sample_weight`` (routed through pipelines and searches with scikit-learn's
# metadata routing) and ``X_val``/``y_val``; ``class_weight``, early stopping
# on ``monitor="val_loss"`` or ``"val_accuracy"``, and Keras ``callbacks``
# such as a ``CSVLogger`` are constructor parameters. See
# :doc:`/user_guide/own_network`.
