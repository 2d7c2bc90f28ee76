"""
==============================================
Networks and classical models in one search
==============================================

A scikit-learn search tunes the parameters of one estimator. To compare model
*families* — the SVD subspace baseline, PCA + SVM, a dense and a
convolutional network — put the classifier in a one-step pipeline and let the
parameter grid swap it: :func:`~fmnist_estimators.search.make_family_pipeline`
builds the pipeline and :func:`~fmnist_estimators.search.family_param_grid`
the grid. Every family is then cross-validated on the same folds, and the
search refits the overall winner.
"""

# %%
# The grid
# --------
# Each family comes with the space of its own parameters, names unprefixed;
# an empty dict evaluates the estimator as given. The networks train for a
# few epochs only, to keep the example short.
import matplotlib.pyplot as plt
from sklearn.model_selection import GridSearchCV, ParameterGrid

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.classical import make_pca_svc_pipeline
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    family_param_grid,
    format_table,
    make_family_pipeline,
    results_table,
)

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:2500], y[:2500]

grid = family_param_grid(
    [
        (SVDSubspaceClassifier(), {"n_components": [10, 30]}),
        (make_pca_svc_pipeline(), {"pca__n_components": [30, 60]}),
        (
            DenseNetClassifier(epochs=5, batch_size=64, random_state=0),
            {"hidden_layer_sizes": [(128,), (256, 128)]},
        ),
        (
            ConvNetClassifier(
                filters=(16, 32),
                dense_units=(64,),
                epochs=4,
                batch_size=64,
                random_state=0,
            ),
            {},
        ),
    ]
)
print(f"{len(ParameterGrid(grid))} candidates in {len(grid)} families")

# %%
# The search
# ----------
# Two stratified folds; the pipeline's initial step is a classifier, so
# ``cv=2`` gives stratified folds even though every grid entry replaces it.
search = GridSearchCV(make_family_pipeline(), grid, cv=2)
search.fit(X_train, y_train)
print(f"test accuracy of the refitted winner: {search.score(X_test, y_test):.3f}")

# %%
# :func:`~fmnist_estimators.search.results_table` summarises the search, one
# row per candidate with its family, best first, and
# :func:`~fmnist_estimators.search.format_table` renders it as Markdown — for
# a report or an issue. The ``model`` column names a pipeline by its last
# step; here we relabel the PCA + SVC pipeline.
table = results_table(search)
table["model"] = table["model"].replace({"SVC": "PCA + SVC"})
print(format_table(table))
best = table.iloc[0]
print(f"\nbest: {best['model']} with {best['params']}")

# %%
# Accuracy against cost
# ---------------------
# On 1,250-image folds and a few epochs, the classical models hold their own:
# networks need more data and more epochs to pull ahead, as the
# :doc:`benchmarks </benchmarks>` on full Fashion-MNIST show. Training time
# separates the families too.
fig, ax = plt.subplots(figsize=(7, 4))
for model, rows in table.groupby("model", sort=False):
    ax.errorbar(
        rows["mean_fit_time"],
        rows["mean_test_score"],
        yerr=rows["std_test_score"],
        fmt="o",
        capsize=3,
        label=model,
    )
ax.set_xscale("log")
ax.set_xlabel("mean fit time per fold (s, log scale)")
ax.set_ylabel("cross-validated accuracy")
ax.set_title("One search, four model families")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
