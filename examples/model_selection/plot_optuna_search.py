"""
===========================
Bayesian search with Optuna
===========================

Optuna's ``OptunaSearchCV`` (from the ``optuna-integration`` package) is a
drop-in replacement for :class:`~sklearn.model_selection.RandomizedSearchCV`
that chooses each new candidate from the results of the previous ones (a
tree-structured Parzen estimator). Because the networks are scikit-learn
estimators, it tunes them unchanged. Install it with
``pip install "fmnist_estimators[optuna]"``; without it, this example only
says so.
"""

# %%
# Is Optuna installed?
# --------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import format_table, results_table

try:
    import optuna
    from optuna_integration import OptunaSearchCV
except ImportError:
    optuna = None
    print(
        "Optuna is not installed: skipping this example. Install it with "
        'pip install "fmnist_estimators[optuna]".'
    )
else:
    print(f"optuna {optuna.__version__}")

# %%
# The search space
# ----------------
# Optuna's distributions replace the lists and :mod:`scipy.stats`
# distributions of scikit-learn's searches. ``hidden_layer_sizes`` accepts a
# single int for one hidden layer, which lets Optuna treat the width as a
# number rather than as unrelated categories. Eight trials of four epochs
# on 1,200 images keep the example short; a real search runs many more.
X, y = load_fashion_mnist_sample(return_X_y=True)
X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
X_train, y_train = X[:1200], y[:1200]

if optuna is not None:
    from optuna.distributions import FloatDistribution, IntDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # OptunaSearchCV is marked experimental, and optuna-integration still calls
    # a module Optuna deprecated; neither warning concerns this example.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings(
        "ignore", message=".*optuna.terminator", category=FutureWarning
    )

    # TPE samples the first trials at random (10 by default) before it models
    # the results; with a budget of 8 trials, start modelling after 4.
    sampler = optuna.samplers.TPESampler(n_startup_trials=4, seed=0)
    search = OptunaSearchCV(
        DenseNetClassifier(epochs=4, batch_size=64, random_state=0),
        {
            "hidden_layer_sizes": IntDistribution(16, 512, log=True),
            "learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
            "dropout": FloatDistribution(0.0, 0.5),
        },
        n_trials=8,
        cv=2,
        study=optuna.create_study(direction="maximize", sampler=sampler),
    )
    search.fit(X_train, y_train)
    best = search.best_params_
    print(
        f"best: hidden_layer_sizes={best['hidden_layer_sizes']}, "
        f"learning_rate={best['learning_rate']:.2g}, dropout={best['dropout']:.2f}"
    )
    print(f"test accuracy: {search.score(X_test, y_test):.3f}")

# %%
# Results
# -------
# :func:`~fmnist_estimators.search.results_table` reads Optuna's trials as it
# reads the ``cv_results_`` of scikit-learn's searches: one row per trial,
# best first. ``trials_dataframe()`` has the same trials in Optuna's layout,
# which the plots use to show how the search moved through the space.
if optuna is not None:
    print(format_table(results_table(search)))
    trials = search.trials_dataframe()

    fig, (ax_history, ax_rate) = plt.subplots(1, 2, figsize=(10, 4))
    ax_history.plot(trials["number"], trials["value"], "o", label="trial")
    ax_history.plot(
        trials["number"], np.maximum.accumulate(trials["value"]), label="best so far"
    )
    ax_history.set_xlabel("trial")
    ax_history.set_ylabel("cross-validated accuracy")
    ax_history.legend()
    points = ax_rate.scatter(
        trials["params_learning_rate"],
        trials["params_hidden_layer_sizes"],
        c=trials["value"],
        cmap="viridis",
        s=60,
    )
    ax_rate.set_xscale("log")
    ax_rate.set_yscale("log")
    ax_rate.set_xlabel("learning rate")
    ax_rate.set_ylabel("hidden units")
    fig.colorbar(points, ax=ax_rate, label="accuracy")
    fig.suptitle("OptunaSearchCV over DenseNetClassifier")
    fig.tight_layout()
    plt.show()
