"""
=====================================
Confusion matrix of the hard classes
=====================================

Fashion-MNIST is hard because of four classes of upper-body garments:
T-shirt/top, Pullover, Coat and Shirt look alike at 28 x 28 pixels. The
confusion matrix shows where a network errs, and the images it gets wrong
show why.
"""

# %%
# Train a network
# ---------------
# A dense network on the 5,000 training images of the sample, evaluated on its
# 1,000 test images.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from fmnist_estimators import DenseNetClassifier, SVDSubspaceClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

train = load_fashion_mnist_sample(subset="train")
test = load_fashion_mnist_sample(subset="test")
names = train.target_names

clf = DenseNetClassifier((256,), epochs=8, batch_size=64, random_state=0)
clf.fit(train.data, train.target)
y_pred = clf.predict(test.data)
print(f"test accuracy: {np.mean(y_pred == test.target):.3f}")

# %%
# All ten classes
# ---------------
# Rows are the true classes, columns the predicted ones, each row normalised
# to sum to one: the diagonal is the recall of each class. Trousers, bags,
# sandals, sneakers and ankle boots are mostly right; the errors gather in the
# upper-body garments.
fig, ax = plt.subplots(figsize=(8, 7))
ConfusionMatrixDisplay.from_predictions(
    test.target,
    y_pred,
    display_labels=names,
    normalize="true",
    values_format=".2f",
    cmap="Blues",
    colorbar=False,
    ax=ax,
)
ax.tick_params(axis="x", labelrotation=45)
ax.set_title("DenseNetClassifier, recall-normalised confusion matrix")
fig.tight_layout()

# %%
# The four hard classes
# ---------------------
# Restricted to T-shirt/top, Pullover, Coat and Shirt, with counts. The
# classical :class:`~fmnist_estimators.SVDSubspaceClassifier` is beside it
# for comparison: both models confuse Shirt with the three others, and
# Pullover with Coat.
hard = [0, 2, 4, 6]
mask = np.isin(test.target, hard)
svd_pred = SVDSubspaceClassifier(n_components=20).fit(train.data, train.target)
svd_pred = svd_pred.predict(test.data)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, (title, pred) in zip(
    axes, [("DenseNetClassifier", y_pred), ("SVDSubspaceClassifier", svd_pred)]
):
    matrix = confusion_matrix(test.target[mask], pred[mask], labels=hard)
    ConfusionMatrixDisplay(matrix, display_labels=names[hard]).plot(
        cmap="Oranges", colorbar=False, ax=ax
    )
    ax.set_title(f"{title}\n(predictions outside these classes not shown)")
    ax.tick_params(axis="x", labelrotation=30)
fig.tight_layout()

# %%
# What the mistakes look like
# ---------------------------
# Test shirts the network took for another class, with the probability it gave
# its wrong answer. Without colour or texture, many are ambiguous to a person
# too.
proba = clf.predict_proba(test.data)
wrong = np.flatnonzero((test.target == 6) & (y_pred != 6))[:10]
fig, axes = plt.subplots(2, 5, figsize=(8, 3.8))
for ax, index in zip(axes.flat, wrong):
    ax.imshow(test.images[index], cmap="gray_r")
    ax.set_title(f"{names[y_pred[index]]}\n{proba[index].max():.0%}", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("True shirts, predicted as ...")
fig.tight_layout()
plt.show()
