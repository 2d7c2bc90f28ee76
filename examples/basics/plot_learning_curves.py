"""
===================================
Learning curves and early stopping
===================================

Every network records its per-epoch loss and accuracy in ``history_``. With
``early_stopping=True`` it also holds out part of the training data and
records the held-out loss, and stops once that loss stops improving. This
example trains a large network on few images, so that it overfits, and shows
where early stopping cuts the training.
"""

# %%
# A network that overfits
# -----------------------
# Two wide hidden layers and 1,500 training images: the training loss keeps
# falling while the held-out loss turns back up after a few epochs. With
# ``n_iter_no_change`` as large as ``epochs`` the network never stops early,
# so ``history_`` records the whole curve; ``restore_best_weights=False``
# keeps the weights of the last epoch.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:1500], y[:1500]

params = dict(
    hidden_layer_sizes=(512, 256),
    epochs=25,
    batch_size=64,
    early_stopping=True,
    validation_fraction=0.2,
    random_state=0,
)
full = DenseNetClassifier(
    n_iter_no_change=25, restore_best_weights=False, **params
).fit(X_train, y_train)

# %%
# ``history_`` is a dict of lists, one entry per epoch, which makes a
# learning-curve table as a :class:`pandas.DataFrame`.
curve = pd.DataFrame(full.history_)
curve.index = pd.RangeIndex(1, len(curve) + 1, name="epoch")
curve.round(3).head(10)

# %%
# Early stopping
# --------------
# The same network with the default patience-style rule: stop when the
# held-out loss has not improved for ``n_iter_no_change=3`` epochs, and keep
# the weights of the best held-out epoch (``restore_best_weights=True``, the
# default). With the same ``random_state`` it follows the same trajectory
# until it stops.
stopped = DenseNetClassifier(n_iter_no_change=3, **params).fit(X_train, y_train)
best_epoch = int(np.argmin(stopped.history_["val_loss"])) + 1
print(f"stopped after {stopped.n_iter_} epochs; best held-out epoch: {best_epoch}")

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
ax_loss.plot(curve.index, curve["loss"], label="training loss")
ax_loss.plot(curve.index, curve["val_loss"], label="held-out loss")
ax_acc.plot(curve.index, curve["accuracy"], label="training accuracy")
ax_acc.plot(curve.index, curve["val_accuracy"], label="held-out accuracy")
for ax in (ax_loss, ax_acc):
    ax.axvline(stopped.n_iter_, color="grey", linestyle="--", label="stopped")
    ax.axvline(best_epoch, color="tab:green", linestyle=":", label="weights kept")
    ax.set_xlabel("epoch")
    ax.legend()
ax_loss.set_ylabel("cross-entropy")
ax_acc.set_ylabel("accuracy")
fig.suptitle("784-512-256-10 network on 1,500 images")
fig.tight_layout()

# %%
# The held-out *loss* turns up after a few epochs while the held-out
# *accuracy* still creeps up: the network grows overconfident on the images
# it gets wrong faster than it learns new ones. Early stopping monitors the
# loss, so it trains a fraction of the epochs for a test accuracy close to
# that of the full run; a larger ``n_iter_no_change`` lets it train longer.
print(f"all {full.n_iter_} epochs: test accuracy {full.score(X_test, y_test):.3f}")
print(
    f"early stopping after {stopped.n_iter_} epochs: "
    f"test accuracy {stopped.score(X_test, y_test):.3f}"
)

# %%
# Continuing the training
# -----------------------
# ``history_`` spans every epoch the model trained. ``partial_fit`` trains one
# more epoch from the current weights and appends it to the history (it does
# not use the early-stopping hold-out).
stopped.partial_fit(X_train, y_train)
print(f"{stopped.n_iter_} epochs, {len(stopped.history_['loss'])} history entries")
plt.show()
