"""The searches that ``bench_peers.py`` races: one function per tool.

Every tool tunes the same dense network (784 -> units -> 10, ReLU, dropout,
Adam at a constant learning rate, inputs scaled to [0, 1]) over the same
space, :data:`SPACE`, with the epochs as the resource where the tool has
one. Each function runs one search on the training images and returns a
:class:`Outcome`; every validation score the tool computes is appended, with
its wall-clock time, to the file ``log`` (one JSON object per line), so that
``bench_peers.py`` can draw the best score found against time whatever the
tool, its workers or threads. A (candidate, epochs) evaluation under
cross-validation is complete once all its folds are in the log.
"""

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import loguniform
from sklearn.model_selection import StratifiedKFold, train_test_split

#: The space every tool searches: 4 x 5 x 4 values and a log-uniform rate.
UNITS = [64, 128, 256, 512]
DROPOUTS = [0.0, 0.1, 0.2, 0.3, 0.4]
BATCH_SIZES = [32, 64, 128, 256]
LEARNING_RATES = (1e-4, 1e-2)
SPACE = {
    "learning_rate": loguniform(*LEARNING_RATES),
    "dropout": DROPOUTS,
    "hidden_layer_sizes": [(units,) for units in UNITS],
    "batch_size": BATCH_SIZES,
}

#: Hyperband's shape for every tool that has one.
MAX_EPOCHS, FACTOR, N_FOLDS = 27, 3, 3

TOOLS = (
    "hyperband_async",
    "hyperband_sync",
    "hyperband_tpe",
    "hyperband_tpe_s",
    "halving",
    "optuna",
    "keras_tuner",
)


@dataclass
class Outcome:
    """What one search found: its winner and how long the search took."""

    search_s: float
    best_params: dict
    best_validation: float
    test_accuracy: float
    refit_s: float = 0.0
    notes: dict = field(default_factory=dict)


class LoggedAccuracy:
    """A scorer that appends each score to ``log`` with the wall-clock time.

    Picklable, so that it reaches worker processes; each line is written
    with one ``O_APPEND`` write, which the processes do not interleave.
    """

    def __init__(self, log):
        self.log = str(log)

    def __call__(self, estimator, X, y):
        score = float(estimator.score(X, y))
        params = estimator.get_params()
        write_event(
            self.log,
            candidate=candidate_key(
                params["learning_rate"],
                params["dropout"],
                params["hidden_layer_sizes"][0],
                params["batch_size"],
            ),
            epochs=int(estimator.n_iter_),
            folds=N_FOLDS,
            score=score,
        )
        return score


def candidate_key(learning_rate, dropout, units, batch_size):
    """One candidate's name in the log, the same for every tool."""
    return (
        f"lr={learning_rate:.6g} dropout={dropout:g} units={units} batch={batch_size}"
    )


def write_event(log, **event):
    line = json.dumps({"t": time.time(), "pid": os.getpid(), **event}) + "\n"
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def dense_net(seed, **params):
    from fmnist_estimators import DenseNetClassifier

    return DenseNetClassifier(lr_schedule="constant", random_state=seed, **params)


def folds(seed):
    return StratifiedKFold(N_FOLDS, shuffle=True, random_state=seed)


def run_cv_search(search, X, y, X_test, y_test, notes):
    """Fit a scikit-learn-style ``search`` (refit included); its outcome.

    ``notes`` takes the fitted search and returns the facts to report.
    """
    start = time.perf_counter()
    search.fit(X, y)
    refit_s = float(getattr(search, "refit_time_", 0.0))
    return Outcome(
        time.perf_counter() - start - refit_s,
        search.best_params_,
        float(search.best_score_),
        float(search.best_estimator_.score(X_test, y_test)),
        refit_s,
        notes(search),
    )


def halving_rounds(log, seed, n_jobs):
    """The arguments that give the Hyperband and halving searches the same
    network, candidates, folds and rounds (their signatures match)."""
    return dict(
        estimator=dense_net(seed),
        param_distributions=SPACE,
        max_epochs=MAX_EPOCHS,
        factor=FACTOR,
        cv=folds(seed),
        scoring=LoggedAccuracy(log),
        n_jobs=n_jobs,
        random_state=seed,
    )


def hyperband(
    promotion, X, y, X_test, y_test, *, log, seed, n_jobs, n_brackets, sampler
):
    """:class:`HyperbandSearchCV`, asynchronous or synchronous, its candidates
    drawn at random or from a model of the results so far (``"tpe"``)."""
    from fmnist_estimators.search import HyperbandSearchCV

    search = HyperbandSearchCV(
        **halving_rounds(log, seed, n_jobs),
        n_brackets=n_brackets,
        promotion=promotion,
        sampler=sampler,
    )
    return run_cv_search(
        search,
        X, y, X_test, y_test,
        lambda search: {
            "candidates": int(np.sum(search.cv_results_["iter"] == 0)),
            "epochs_trained": search.epochs_trained_,
        },
    )  # fmt: skip


def halving(X, y, X_test, y_test, *, log, seed, n_jobs):
    """scikit-learn's HalvingRandomSearchCV on epochs: retrains every round."""
    from fmnist_estimators.search import make_epoch_halving_search

    search = make_epoch_halving_search(**halving_rounds(log, seed, n_jobs))
    # HalvingRandomSearchCV also scores the training folds by default; the
    # log is for validation scores only.
    search.set_params(return_train_score=False)
    return run_cv_search(
        search,
        X, y, X_test, y_test,
        lambda search: {"candidates": int(search.n_candidates_[0])},
    )  # fmt: skip


def optuna_search(X, y, X_test, y_test, *, log, seed, n_jobs, budget):
    """Optuna's OptunaSearchCV: TPE, pruned per epoch by Optuna's Hyperband."""
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {
        "learning_rate": FloatDistribution(*LEARNING_RATES, log=True),
        "dropout": CategoricalDistribution(DROPOUTS),
        # Tuples are not storable in a database, but Optuna's in-memory
        # storage takes them (with a warning, filtered by the caller).
        "hidden_layer_sizes": CategoricalDistribution([(u,) for u in UNITS]),
        "batch_size": CategoricalDistribution(BATCH_SIZES),
    }
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.HyperbandPruner(1, MAX_EPOCHS, FACTOR),
    )
    search = OptunaSearchCV(
        # The refit trains the winner for the most epochs a trial trains.
        dense_net(seed, epochs=MAX_EPOCHS),
        space,
        cv=folds(seed),
        enable_pruning=True,
        max_iter=MAX_EPOCHS,
        n_jobs=n_jobs,
        n_trials=None,
        timeout=budget,
        random_state=seed,
        scoring=LoggedAccuracy(log),
        study=study,
    )
    return run_cv_search(search, X, y, X_test, y_test, trial_states)


def trial_states(search):
    """How many of an Optuna search's trials completed, were pruned, ..."""
    states = [trial.state.name.lower() for trial in search.study_.trials]
    return {state: states.count(state) for state in set(states)}


def keras_tuner_search(X, y, X_test, y_test, *, log, seed, budget, directory):
    """keras-tuner's Hyperband on one validation split (it has no CV).

    The split holds out a third of the images, as one of the other tools'
    folds does. keras-tuner has no time limit: the search stops starting
    trials, and stops training, once ``budget`` seconds have passed.
    """
    import keras
    import keras_tuner

    deadline = time.time() + budget
    epoch_logger = make_epoch_logger()
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=1 / N_FOLDS, stratify=y, random_state=seed
    )

    class DenseHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential(
                [
                    keras.Input((784,)),
                    keras.layers.Rescaling(1 / 255),
                    keras.layers.Dense(hp.Choice("units", UNITS), activation="relu"),
                    keras.layers.Dropout(hp.Choice("dropout", DROPOUTS)),
                    keras.layers.Dense(10, activation="softmax"),
                ]
            )
            rate = hp.Float("learning_rate", *LEARNING_RATES, sampling="log")
            model.compile(
                keras.optimizers.Adam(rate),
                "sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )
            return model

        def fit(self, hp, model, *args, **kwargs):
            batch = hp.Choice("batch_size", BATCH_SIZES)
            logger = epoch_logger(log, hp, deadline)
            callbacks = [*kwargs.pop("callbacks", []), logger]
            return model.fit(*args, batch_size=batch, callbacks=callbacks, **kwargs)

    class DeadlineHyperband(keras_tuner.Hyperband):
        def pre_create_trial(self):
            # The oracle starts no trial beyond max_trials: stop at the deadline.
            if time.time() >= deadline:
                self.oracle.max_trials = len(self.oracle.trials)

    tuner = DeadlineHyperband(
        DenseHyperModel(),
        objective="val_accuracy",
        max_epochs=MAX_EPOCHS,
        factor=FACTOR,
        hyperband_iterations=None,
        seed=seed,
        directory=directory,
        project_name="bench_peers",
        overwrite=True,
    )
    start = time.perf_counter()
    tuner.search(
        X_train.astype(np.float32),
        y_train,
        validation_data=(X_val.astype(np.float32), y_val),
        verbose=0,
    )
    search_s = time.perf_counter() - start
    values = tuner.get_best_hyperparameters(1)[0].values
    best_hp = {k: v for k, v in values.items() if not k.startswith("tuner/")}
    model = tuner.get_best_models(1)[0]
    _, test_accuracy = model.evaluate(X_test.astype(np.float32), y_test, verbose=0)
    best_trial = tuner.oracle.get_best_trials(1)[0]
    return Outcome(
        search_s,
        best_hp,
        float(best_trial.score),
        float(test_accuracy),
        0.0,
        {"trials": len(tuner.oracle.trials)},
    )


def make_epoch_logger():
    """The Keras callback class of :func:`keras_tuner_search` (imports Keras)."""
    import keras

    class _EpochLogger(keras.callbacks.Callback):
        def __init__(self, log, hp, deadline):
            super().__init__()
            self.log, self.hp, self.deadline = log, hp, deadline

        def on_epoch_end(self, epoch, logs=None):
            # keras-tuner continues a trial with initial_epoch: epoch counts all.
            values = self.hp.values
            write_event(
                self.log,
                candidate=candidate_key(
                    values["learning_rate"],
                    values["dropout"],
                    values["units"],
                    values["batch_size"],
                ),
                epochs=epoch + 1,
                folds=1,
                score=float(logs["val_accuracy"]),
                trial=values.get("tuner/trial_id"),
            )
            if time.time() >= self.deadline:
                self.model.stop_training = True

    return _EpochLogger
