"""
==================================================
Grid search over hidden layers and dropout
==================================================

Every hyperparameter of :class:`~fmnist_estimators.DenseNetClassifier` is a
constructor parameter, so scikit-learn's
:class:`~sklearn.model_selection.GridSearchCV` searches them like those of any
other estimator. This example crosses three architectures with two dropout
rates and plots the cross-validated accuracy of each.
"""

# %%
# The search
# ----------
# Two-fold cross-validation on 2,500 images of the sample, four epochs per
# fit, to keep the example short. ``random_state`` makes the whole search
# repeatable on one machine.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:2500], y[:2500]

param_grid = {
    "hidden_layer_sizes": [(32,), (256,), (256, 128)],
    "dropout": [0.0, 0.3],
}
search = GridSearchCV(
    DenseNetClassifier(epochs=4, batch_size=64, random_state=0),
    param_grid,
    cv=2,
)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted best network: {search.score(X_test, y_test):.3f}")

# %%
# The results table
# -----------------
# ``cv_results_`` holds every candidate's scores and times.
results = pd.DataFrame(search.cv_results_)
results["architecture"] = results["param_hidden_layer_sizes"].map(
    lambda sizes: "784-" + "-".join(map(str, sizes)) + "-10"
)
table = results[
    ["architecture", "param_dropout", "mean_test_score", "std_test_score"]
    + ["mean_fit_time", "rank_test_score"]
]
table.sort_values("rank_test_score").round(3)

# %%
# Accuracy by architecture and dropout
# ------------------------------------
# Bars show the mean accuracy over the two folds, error bars its standard
# deviation. With so little data and so few epochs the differences are small
# and partly noise; on the full dataset with more epochs, wider networks with
# dropout pull ahead.
architectures = list(dict.fromkeys(results["architecture"]))
dropouts = param_grid["dropout"]
width = 0.8 / len(dropouts)
fig, ax = plt.subplots(figsize=(7, 4))
for i, dropout in enumerate(dropouts):
    rows = results[results["param_dropout"] == dropout].set_index("architecture")
    rows = rows.loc[architectures]
    ax.bar(
        np.arange(len(architectures)) + (i - (len(dropouts) - 1) / 2) * width,
        rows["mean_test_score"],
        width,
        yerr=rows["std_test_score"],
        capsize=3,
        label=f"dropout {dropout}",
    )
ax.set_xticks(np.arange(len(architectures)), architectures)
scores = results["mean_test_score"]
ax.set_ylim(scores.min() - 0.05, scores.max() + 0.04)
ax.set_ylabel("cross-validated accuracy")
ax.set_title("GridSearchCV over DenseNetClassifier (4 epochs, 2,500 images)")
ax.legend(loc="upper left", ncols=3)
fig.tight_layout()
plt.show()
