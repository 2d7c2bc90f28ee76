"""
================================================
Which model's probabilities can you trust?
================================================

Every classifier of the package has ``predict_proba``, but the numbers come
from different places: the networks output a softmax, the
:class:`~fmnist_estimators.SVDSubspaceClassifier` fits the temperature of a
softmax of its residuals on the training images, and the SVC pipelines
calibrate their SVC's decision values by cross-validation. A probability can
be trusted when it is *calibrated*: of the images a model is 80 % sure of,
80 % should be right. This example measures it on the embedded sample, draws
reliability diagrams, and recalibrates the models with scikit-learn's
:class:`~sklearn.calibration.CalibratedClassifierCV`.
"""

# %%
# Four models, one held-out set
# -----------------------------
# 4,000 of the sample's training images train the models; the other 1,000
# are kept aside to calibrate them later, and the 1,000 test images judge
# them. The networks are small and train for 3 epochs, so the example runs in
# seconds on a CPU.
import matplotlib.pyplot as plt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.classical import make_pca_svc_pipeline
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.metrics import (
    expected_calibration_error,
    top_label_calibration_curve,
)

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_fit, X_cal, y_fit, y_cal = train_test_split(
    X, y, test_size=1000, stratify=y, random_state=0
)

models = {
    "SVD subspace": SVDSubspaceClassifier(n_components=30),
    "PCA + SVC": make_pca_svc_pipeline(random_state=0),
    "dense net": DenseNetClassifier((128,), epochs=3, random_state=0),
    "conv net": ConvNetClassifier(
        filters=(16, 32),
        convs_per_block=1,
        dense_units=(64,),
        epochs=3,
        batch_size=64,
        random_state=0,
    ),
}
for model in models.values():
    model.fit(X_fit, y_fit)

# %%
# Accuracy says little about probabilities
# ----------------------------------------
# Three measures judge the probabilities on the test set. The macro
# one-vs-rest ROC AUC asks whether the probability of a class ranks its
# images above the others (it ignores calibration). The log-loss punishes
# confident mistakes. The expected calibration error (ECE,
# :func:`~fmnist_estimators.metrics.expected_calibration_error`) averages the
# gap between a model's confidence in its answer and how often that answer is
# right; on 1,000 images even a calibrated model scores up to about 0.05 by
# chance.


def scores(model, X, y):
    proba = model.predict_proba(X)
    return {
        "accuracy": accuracy_score(y, model.classes_[proba.argmax(axis=1)]),
        "ROC AUC": roc_auc_score(y, proba, multi_class="ovr"),
        "log-loss": log_loss(y, proba),
        "ECE": expected_calibration_error(y, proba),
    }


def print_table(results):
    columns = list(next(iter(results.values())))
    print(f"{'model':<14}" + "".join(f"{column:>10}" for column in columns))
    for name, row in results.items():
        print(f"{name:<14}" + "".join(f"{value:>10.3f}" for value in row.values()))


before = {name: scores(model, X_test, y_test) for name, model in models.items()}
print_table(before)

# %%
# Reliability diagrams
# --------------------
# Each point is a bin of test images with similar confidence (the largest
# predicted probability): its mean confidence against the share of right
# answers. Points below the diagonal are overconfident. The subspace
# classifier's temperature, fitted on training images that its subspaces
# reconstruct better than new ones, makes it the most overconfident; the
# networks after a few epochs are close to the diagonal.


def reliability_diagram(ax, models, title):
    ax.plot([0, 1], [0, 1], ls=":", color="grey")
    for name, model in models.items():
        proba = model.predict_proba(X_test)
        accuracy, confidence, _ = top_label_calibration_curve(y_test, proba, n_bins=10)
        ece = expected_calibration_error(y_test, proba)
        ax.plot(confidence, accuracy, marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set(
        xlabel="confidence",
        ylabel="accuracy",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title=title,
    )
    ax.legend(loc="upper left", fontsize=8)


fig, ax = plt.subplots(figsize=(5.5, 5))
reliability_diagram(ax, models, "As trained")
fig.tight_layout()

# %%
# Recalibrating without retraining
# --------------------------------
# :class:`~sklearn.calibration.CalibratedClassifierCV` fixes the probabilities
# of any classifier. Wrapping the *fitted* model in
# :class:`~sklearn.frozen.FrozenEstimator` calibrates it on the held-out
# images without training it again, which matters for a network; with
# ``method="temperature"`` a single softmax temperature is fitted, so the most
# probable class, hence every prediction and the accuracy, stays the same.
# (Calibrating by cross-validation, ``CalibratedClassifierCV(model, cv=5)``,
# would train five more models, the way the SVC pipelines calibrate their
# SVC.)
calibrated = {
    name: CalibratedClassifierCV(FrozenEstimator(model), method="temperature").fit(
        X_cal, y_cal
    )
    for name, model in models.items()
}
after = {name: scores(model, X_test, y_test) for name, model in calibrated.items()}
print_table(after)

fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), sharey=True)
reliability_diagram(axes[0], models, "As trained")
reliability_diagram(axes[1], calibrated, "Temperature-scaled on held-out images")
fig.tight_layout()

# %%
# What to trust
# -------------
# ROC AUC barely moves with recalibration: it depends only on how each
# class's probabilities rank the images, which one temperature hardly
# changes. Log-loss and ECE fall wherever the model was off, most
# for the subspace classifier. The SVC pipeline needs no second calibration:
# ``make_pca_svc_pipeline`` already calibrates its SVC by cross-validation
# (``probability=False`` skips that, and ``predict_proba``). So: take the
# probabilities of any of these models after a temperature fitted on images
# the model did not train on, and check them with a reliability diagram
# before acting on a threshold.
plt.show()
