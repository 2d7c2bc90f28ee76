"""
=================================================
A pretrained backbone: frozen features, one pass
=================================================

:class:`~fmnist_estimators.PretrainedNetClassifier` puts a Keras application
(VGG, ResNet, Inception, MobileNet, EfficientNet) in front of a dense head.
The images are resized inside the network to the backbone's input, repeated
to three channels and preprocessed as the backbone expects.

With a frozen backbone (``trainable="head"``, the default) the backbone's
features are computed once per ``fit`` and the head trains on them. This
example times that against a network that pushes every image through the
same frozen backbone at every epoch.

It runs offline, with a randomly initialized MobileNetV2
(``weights=None``). With a network connection, ``weights="imagenet"`` (the
default) downloads the ImageNet weights once into ``~/.keras/models``; on a
machine without one, copy the file there (the error of ``fit`` names the file,
its URL and the folder). See :doc:`/user_guide/pretrained`.
"""

# %%
# The classifier
# --------------
# MobileNetV2 at its smallest input, 32 x 32: the cheapest backbone to run on
# a CPU. ``weights=None`` keeps the example offline; random features are far
# weaker than ImageNet's, so read the timings, not the accuracy.
import time

import keras
import matplotlib.pyplot as plt

from fmnist_estimators import KerasModelClassifier, PretrainedNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:1000], y[:1000]

EPOCHS = 4
cached = PretrainedNetClassifier(
    "mobilenet_v2",
    weights=None,
    input_size=32,
    dense_units=(64,),
    dropout=0.2,
    learning_rate=0.003,
    epochs=EPOCHS,
    random_state=0,
)
start = time.perf_counter()
cached.fit(X_train, y_train)
cached_seconds = time.perf_counter() - start
accuracy = cached.score(X_test, y_test)
print(f"cached features: {cached_seconds:.1f} s, accuracy {accuracy:.3f}")

# %%
# The same network, features recomputed every epoch
# -------------------------------------------------
# A frozen MobileNetV2 and the same head as a network of our own, under
# :class:`~fmnist_estimators.KerasModelClassifier`: Keras runs the frozen
# backbone forward for every batch of every epoch.


def frozen_mobilenet(input_shape, n_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Resizing(32, 32)(inputs)
    x = keras.layers.Concatenate()([x, x, x])
    x = keras.layers.Rescaling(2.0, offset=-1.0)(x)
    backbone = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg"
    )
    backbone.trainable = False
    x = backbone(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


recomputed = KerasModelClassifier(
    frozen_mobilenet, learning_rate=0.003, epochs=EPOCHS, random_state=0
)
start = time.perf_counter()
recomputed.fit(X_train.reshape(-1, 28, 28, 1), y_train)
recomputed_seconds = time.perf_counter() - start
print(f"recomputed every epoch: {recomputed_seconds:.1f} s")

# %%
# Fit time
# --------
# The cached fit pays one pass of the backbone; the other pays one per epoch,
# and the gap grows with the epochs, the images and the input size.
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(
    ["features recomputed\nevery epoch", "features cached\n(trainable='head')"],
    [recomputed_seconds, cached_seconds],
)
ax.set_xlabel(f"seconds to fit {EPOCHS} epochs on {len(X_train)} images")
fig.tight_layout()
plt.show()

# %%
# With the ImageNet weights
# -------------------------
# Where there is a network connection (or the weights file is in Keras's
# cache), leave ``weights`` at its default, and fine-tune after the head with
# the two-phase schedule:
#
# .. code-block:: python
#
#    clf = PretrainedNetClassifier(
#        "mobilenet_v2", input_size=96, trainable=30,
#        epochs=5, fine_tune_epochs=3, fine_tune_learning_rate=1e-5,
#    )
#    clf.fit(X_train, y_train)
#
# Offline, ``fit`` raises an ``OSError`` at once that names the file to
# download, its URL and the folder to put it in.
