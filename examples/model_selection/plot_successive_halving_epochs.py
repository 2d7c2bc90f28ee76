"""
=====================================
Successive halving on training epochs
=====================================

Most candidates of a search are bad, and a network that is bad after one epoch
rarely becomes the best after ten. Successive halving exploits this: it
trains many candidates briefly, keeps the best third, trains those three
times longer, and so on — the bracket at the heart of Hyperband.
:func:`~fmnist_estimators.search.make_epoch_halving_search` builds
scikit-learn's :class:`~sklearn.model_selection.HalvingRandomSearchCV` with
the number of training epochs as the budget.
"""

# %%
# The search
# ----------
# Nine random candidates train for 1 epoch, the best three for 3 epochs, the
# best of those for 9. A full search of the same nine candidates at 9 epochs
# would train 81 epochs per split; this one trains 9 + 9 + 9 = 27. To keep the
# example short, candidates are scored on one stratified hold-out split of the
# training images rather than cross-validated; the splitter must give the same
# split on every call, hence its int ``random_state``.
import matplotlib.pyplot as plt
from scipy.stats import loguniform
from sklearn.model_selection import StratifiedShuffleSplit

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    format_table,
    make_epoch_halving_search,
    results_table,
)

X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:2000], y[:2000]

search = make_epoch_halving_search(
    DenseNetClassifier(batch_size=64, random_state=0),
    {
        "hidden_layer_sizes": [(32,), (128,), (256, 128)],
        "learning_rate": loguniform(1e-4, 1e-2),
        "dropout": [0.0, 0.2],
    },
    min_epochs=1,
    max_epochs=9,
    factor=3,
    n_candidates=9,
    cv=StratifiedShuffleSplit(n_splits=1, test_size=0.3, random_state=0),
    random_state=0,
)
search.fit(X_train, y_train)
print("epochs per round:    ", search.n_resources_)
print("candidates per round:", search.n_candidates_)
best = search.best_params_
print(
    f"best: hidden_layer_sizes={best['hidden_layer_sizes']}, "
    f"learning_rate={best['learning_rate']:.2g}, dropout={best['dropout']}, "
    f"epochs={best['epochs']}"
)
print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# %%
# One row per candidate and round
# -------------------------------
# :func:`~fmnist_estimators.search.results_table` keeps the round (``iter``)
# and its epochs (``n_resources``); candidates of later rounds rank first, so
# rank 1 is ``best_params_``.
table = results_table(search)
print(format_table(table))

# %%
# How the candidates progressed
# -----------------------------
# Each line follows one candidate from round to round. Candidates stop where
# the halving dropped them; the scores rise with the epochs of the survivors.
fig, ax = plt.subplots(figsize=(9, 4))
table["candidate"] = table["params"].map(lambda params: repr(sorted(params.items())))
for _, rows in table.groupby("candidate", sort=False):
    rows = rows.sort_values("n_resources")
    params = rows["params"].iloc[0]
    label = (
        f"{params['hidden_layer_sizes']}, lr={params['learning_rate']:.0e}, "
        f"dropout={params['dropout']}"
    )
    ax.plot(rows["n_resources"], rows["mean_test_score"], marker="o", label=label)
ax.set_xscale("log", base=3)
ax.set_xticks(search.n_resources_, [str(n) for n in search.n_resources_])
ax.set_xlabel("training epochs (round budget)")
ax.set_ylabel("hold-out accuracy")
ax.set_title("Successive halving on epochs")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()
