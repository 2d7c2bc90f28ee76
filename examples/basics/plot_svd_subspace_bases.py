"""
=================================================
The SVD subspace classifier and its class bases
=================================================

:class:`~fmnist_estimators.SVDSubspaceClassifier` models every class by an
affine subspace: the class mean plus the span of the leading right singular
vectors of the class's centred images. An image is assigned to the class whose
subspace reconstructs it with the smallest residual. The bases are images
themselves, which this example shows, with the accuracy as a function of the
subspace dimension.
"""

# %%
# Fit the classifier
# ------------------
# Training is a truncated SVD per class: a fraction of a second on the 5,000
# images of the sample. The classifier needs no pixel scaling; ``float32``
# input computes in single precision.
import matplotlib.pyplot as plt
import numpy as np

from fmnist_estimators import SVDSubspaceClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

train = load_fashion_mnist_sample(subset="train")
test = load_fashion_mnist_sample(subset="test")
X_train, y_train = train.data.astype(np.float32), train.target
X_test, y_test = test.data.astype(np.float32), test.target
class_names = train.target_names

clf = SVDSubspaceClassifier(n_components=20).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
print("components_:", clf.components_.shape, " means_:", clf.means_.shape)

# %%
# The class bases as images
# -------------------------
# Each row shows a class mean (first column) and the first five basis vectors
# of that class, in order of decreasing singular value. Positive weights are
# red, negative blue: the first vectors capture how items of the class vary
# most — width, sleeve length, brightness, heel height.
n_shown = 5
fig, axes = plt.subplots(10, n_shown + 1, figsize=(6.5, 11))
for c, row in enumerate(axes):
    row[0].imshow(clf.means_[c].reshape(28, 28), cmap="gray_r")
    row[0].set_ylabel(class_names[c], rotation=0, ha="right", va="center")
    for j in range(n_shown):
        component = clf.components_[c, j].reshape(28, 28)
        limit = np.abs(component).max()
        row[j + 1].imshow(component, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for ax in row:
        ax.set_xticks([])
        ax.set_yticks([])
for j, title in enumerate(["mean"] + [f"v{j + 1}" for j in range(n_shown)]):
    axes[0, j].set_title(title)
fig.suptitle("Class means and leading singular vectors")
fig.tight_layout()

# %%
# Residuals to each subspace
# --------------------------
# ``transform`` returns the distance from each image to each class subspace;
# ``predict`` picks the smallest. A shirt, for instance, is close to the
# T-shirt, pullover and coat subspaces too.
index = int(np.flatnonzero(y_test == 6)[0])  # the first test shirt
residuals = clf.transform(X_test[index : index + 1])[0]

fig, (ax_image, ax_bar) = plt.subplots(
    1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [1, 3]}
)
ax_image.imshow(test.images[index], cmap="gray_r")
ax_image.set_title(f"true: {class_names[y_test[index]]}")
ax_image.axis("off")
colors = ["tab:orange" if c == residuals.argmin() else "tab:blue" for c in range(10)]
ax_bar.barh(class_names, residuals, color=colors)
ax_bar.invert_yaxis()
ax_bar.set_xlabel("residual (pixel units)")
ax_bar.set_title("distance to each class subspace (orange: predicted)")
fig.tight_layout()

# %%
# Accuracy and subspace dimension
# -------------------------------
# Zero dimensions is the nearest class mean. Accuracy rises quickly with the
# dimension, peaks around 20 on this sample of 500 images per class, then
# falls once the subspaces are large enough to reconstruct images of other
# classes too. On the full dataset (6,000 images per class),
# ``n_components=30`` reaches 84 % test accuracy.
dimensions = [0, 1, 5, 20, 60]
scores = [
    SVDSubspaceClassifier(n_components=k).fit(X_train, y_train).score(X_test, y_test)
    for k in dimensions
]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(dimensions, scores, marker="o")
ax.set_xscale("symlog", linthresh=1)
ax.set_xticks(dimensions, [str(k) for k in dimensions])
ax.set_xlabel("n_components (per class)")
ax.set_ylabel("test accuracy")
ax.set_title("SVDSubspaceClassifier on the sample")
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
