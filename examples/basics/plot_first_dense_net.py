"""
=====================
A first dense network
=====================

Train :class:`~fmnist_estimators.DenseNetClassifier`, the fully connected
network of the TensorFlow tutorial, on the Fashion-MNIST sample shipped with
the package, and look at its predictions.
"""

# %%
# Load the sample
# ---------------
# :func:`~fmnist_estimators.datasets.load_fashion_mnist_sample` needs no
# download: 5,000 training and 1,000 test images, 28 x 28 grey-scale pixels
# flattened to rows of 784 ``uint8`` values.
import matplotlib.pyplot as plt
import numpy as np

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

train = load_fashion_mnist_sample(subset="train")
test = load_fashion_mnist_sample(subset="test")
X_train, y_train = train.data, train.target
X_test, y_test = test.data, test.target
class_names = train.target_names
print(X_train.shape, X_train.dtype, X_test.shape)

fig, axes = plt.subplots(2, 5, figsize=(8, 3.6))
for label, ax in enumerate(axes.flat):
    ax.imshow(train.images[y_train == label][0], cmap="gray_r")
    ax.set_title(class_names[label], fontsize=9)
    ax.axis("off")
fig.suptitle("One training image per class")
fig.tight_layout()

# %%
# Train the network
# -----------------
# The defaults are the tutorial's: one hidden layer of 128 ReLU units, Adam,
# batch 32. Raw pixels go in as they are: ``pixel_scale="auto"`` divides them
# by 255 inside the estimator. Five epochs keep this example short.
clf = DenseNetClassifier(epochs=5, random_state=0)
clf.fit(X_train, y_train)
print(f"pixel scale: {clf.pixel_scale_:.5f}, epochs trained: {clf.n_iter_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The fitted Keras model is ``clf.model_``; its summary shows the layers the
# parameters built. The first, ``pixel_scale``, multiplies the raw pixels by
# ``clf.pixel_scale_``, so ``model_`` takes images as they are.
clf.model_.summary(print_fn=print)

# %%
# The training history
# --------------------
# ``history_`` holds the loss and accuracy of every epoch on the training data.
for epoch, (loss, acc) in enumerate(
    zip(clf.history_["loss"], clf.history_["accuracy"]), start=1
):
    print(f"epoch {epoch}: loss {loss:.3f}, accuracy {acc:.3f}")

# %%
# Predictions and their confidence
# --------------------------------
# ``predict_proba`` returns the softmax output, one column per class of
# ``classes_``. Below: test images with the predicted class and its
# probability, in red where the prediction is wrong.
proba = clf.predict_proba(X_test)
y_pred = clf.classes_[proba.argmax(axis=1)]

rng = np.random.default_rng(0)
shown = rng.choice(len(X_test), size=12, replace=False)
fig, axes = plt.subplots(2, 6, figsize=(9, 3.8))
for index, ax in zip(shown, axes.flat):
    ax.imshow(test.images[index], cmap="gray_r")
    correct = y_pred[index] == y_test[index]
    ax.set_title(
        f"{class_names[y_pred[index]]}\n{proba[index].max():.0%}",
        fontsize=8,
        color="black" if correct else "tab:red",
    )
    ax.axis("off")
fig.suptitle("Predicted class and probability (red: wrong)")
fig.tight_layout()
plt.show()
