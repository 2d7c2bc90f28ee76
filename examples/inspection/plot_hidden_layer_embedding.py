"""
==============================================
A 2-D map of a network's hidden-layer features
==============================================

A trained network maps each image to the activations of its hidden layers,
and its last hidden layer is where the classes must be (nearly) linearly
separable. ``clf.model_`` is a plain Keras model, so a second model from its
input to a hidden layer extracts those features. Projected to two dimensions
with PCA and t-SNE, they show how the network arranges the classes, compared
with the raw pixels.
"""

# %%
# Train the network
# -----------------
import keras
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

train = load_fashion_mnist_sample(subset="train")
test = load_fashion_mnist_sample(subset="test")
names = train.target_names

clf = DenseNetClassifier((256, 32), epochs=6, batch_size=64, random_state=0)
clf.fit(train.data, train.target)
print(f"test accuracy: {clf.score(test.data, test.target):.3f}")

# %%
# A feature extractor
# -------------------
# Each hidden layer is ``Dense -> Activation``; the last ``Activation`` layer
# outputs the 32 features the softmax layer classifies. The new model shares
# the trained weights, including the first layer, which multiplies the raw
# pixels by ``clf.pixel_scale_`` (1/255 for ``uint8`` images): the extractor
# takes the images as they are.
hidden = [
    layer for layer in clf.model_.layers if isinstance(layer, keras.layers.Activation)
][-1]
extractor = keras.Model(clf.model_.inputs, hidden.output)
features = extractor.predict(test.data, verbose=0)
print(f"layer {hidden.name!r}: features of shape {features.shape}")

# %%
# Pixels against hidden features
# ------------------------------
# PCA of the raw pixels (left) mixes most classes. PCA of the hidden features
# (middle) already pulls them apart, and t-SNE of the same features (right),
# which preserves neighbourhoods rather than distances, shows clusters per
# class — with T-shirt/top, Pullover, Coat and Shirt touching, the classes the
# network confuses.
embeddings = {
    "PCA of the pixels": PCA(2, random_state=0).fit_transform(test.data / 255),
    "PCA of the hidden features": PCA(2, random_state=0).fit_transform(features),
    # 500 iterations (half the default) are enough for 1,000 points.
    "t-SNE of the hidden features": TSNE(
        2, init="pca", perplexity=30, max_iter=500, random_state=0
    ).fit_transform(features),
}

fig, axes = plt.subplots(1, 3, figsize=(14, 5))
colors = plt.get_cmap("tab10")
for ax, (title, points) in zip(axes, embeddings.items()):
    for label, name in enumerate(names):
        mine = test.target == label
        ax.scatter(*points[mine].T, s=6, color=colors(label), label=name)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
axes[-1].legend(markerscale=3, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
fig.suptitle("1,000 test images, coloured by their true class")
fig.tight_layout()
plt.show()
