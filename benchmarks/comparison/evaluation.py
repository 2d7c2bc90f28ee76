"""One model of the roster tuned, refit and tested: the record of its results."""

import time

import numpy as np

from .report import format_candidate, json_ready
from .tuning import calibrated_params, make_search, scores_labels

# Equal-width confidence bins of the ECE and the reliability diagram.
N_CALIBRATION_BINS = 15
# The "search" of a model fitted once, without cross-validation.
FIT_ONCE = "fit once, no CV"


def final_step(estimator):
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def refit_calibrated(model, params, X, y, args):
    """The calibrated model with the best ``params`` of its bare search, fitted."""
    best = model.build(args.random_state, len(y))
    best.set_params(**calibrated_params(model, params))
    start = time.perf_counter()
    best.fit(X, y)
    return best, time.perf_counter() - start


def tune(model, X, y, cv, args, log):
    """Search ``model``'s space on ``X, y``; the search and the refit best model.

    Returns the search, the best model fitted on all of ``X``, its fit time,
    its parameters and the wall time of the whole search.
    """
    strategy = model.strategy(args.search)
    # The predictions of a calibrated SVC are those of the bare SVC: tune that.
    label_only = model.calibrated_step is not None and scores_labels(args.scoring)
    search = make_search(model, strategy, cv, args, len(y), label_only=label_only)
    kind = type(search).__name__
    log(f"  {kind}, {model.label}" + (", tuned uncalibrated" if label_only else ""))
    start = time.perf_counter()
    search.fit(X, y)
    if label_only:
        best, fit_time = refit_calibrated(model, search.best_params_, X, y, args)
        best_params = calibrated_params(model, search.best_params_)
    else:
        best, fit_time = search.best_estimator_, search.refit_time_
        best_params = dict(search.best_params_)
    return search, best, fit_time, best_params, time.perf_counter() - start


def probability_quality(estimator, X_test, y_test):
    """ROC AUC, log-loss and calibration of ``estimator.predict_proba`` on the test set.

    Values are None, and ``proba_note`` says why, for an estimator without
    ``predict_proba``.
    """
    from sklearn.metrics import log_loss, roc_auc_score

    from fmnist_estimators.metrics import (
        expected_calibration_error,
        top_label_calibration_curve,
    )

    quality = dict(roc_auc_ovr=None, log_loss=None, ece=None, calibration=None)
    if not hasattr(estimator, "predict_proba"):
        name = type(final_step(estimator)).__name__
        quality["proba_note"] = f"no predict_proba ({name} gives no probabilities)"
        return quality
    proba = estimator.predict_proba(X_test)
    labels = estimator.classes_
    bins = dict(n_bins=N_CALIBRATION_BINS, labels=labels)
    accuracy, confidence, counts = top_label_calibration_curve(y_test, proba, **bins)
    quality.update(
        roc_auc_ovr=roc_auc_score(
            y_test, proba, multi_class="ovr", average="macro", labels=labels
        ),
        log_loss=log_loss(y_test, proba, labels=labels),
        ece=expected_calibration_error(y_test, proba, **bins),
        calibration={
            "n_bins": N_CALIBRATION_BINS,
            "confidence": confidence,
            "accuracy": accuracy,
            "count": counts,
        },
        proba_note=None,
    )
    return quality


def label_quality(best, X, y, X_test, y_test):
    """Labels of the test set, once: accuracy, macro P/R/F1, confusions, timing."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    # Warm up on training images (a network traces its predict graph on the
    # first call): the timing below is the steady throughput.
    best.predict(X[:10])
    start = time.perf_counter()
    y_pred = best.predict(X_test)
    predict_time = time.perf_counter() - start
    labels = np.unique(np.concatenate([y, y_test]))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_test, y_pred, labels=labels, average="macro", zero_division=0
    )
    matrix = confusion_matrix(y_test, y_pred, labels=labels)
    return {
        "test_accuracy": accuracy_score(y_test, y_pred),
        "precision_macro": precision,
        "recall_macro": recall,
        "f1_macro": f1,
        "predict_time_per_1000_s": predict_time / len(y_test) * 1000,
        "confusion_matrix": matrix,
        "per_class_accuracy": matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1),
    }


def summary_line(record):
    """The progress line of a finished model."""
    params = record["best_params_text"] or "(defaults)"
    if record["cv_mean"] is None:
        found = f"{params}: {FIT_ONCE}"
    else:
        found = (
            f"best {params}: CV {record['scoring']} {record['cv_mean']:.4f} ± "
            f"{record['cv_std']:.4f}"
        )
    if record["ece"] is None:
        proba_text = record["proba_note"]
    else:
        proba_text = (
            f"AUC {record['roc_auc_ovr']:.4f}, log-loss {record['log_loss']:.3f}, "
            f"ECE {record['ece']:.3f}"
        )
    return (
        f"  {found} | "
        f"test {record['test_accuracy']:.4f} | {proba_text} | "
        f"fit {record['fit_time_s']:.2f} s | "
        f"predict {record['predict_time_per_1000_s']:.3f} s/1000 | "
        f"{record['search_time_s']:.0f} s in all"
    )


def searched(model, X, y, cv, args, log):
    """``model`` tuned by cross-validation: the best model, and how it was found."""
    from fmnist_estimators.search import results_table

    search, best, fit_time, best_params, search_time = tune(model, X, y, cv, args, log)
    candidates = results_table(search, as_frame=False)
    for row in sorted(candidates, key=lambda r: (r.get("iter") or 0, r["rank"])):
        log("    " + format_candidate(row))
    i = search.best_index_
    return best, {
        "search": type(search).__name__,
        "n_candidates": len(search.cv_results_["params"]),
        "resource": getattr(search, "resource", getattr(search, "resource_", None)),
        "cv_mean": search.cv_results_["mean_test_score"][i],
        "cv_std": search.cv_results_["std_test_score"][i],
        "fit_time_s": fit_time,
        "search_time_s": search_time,
        "best_params": best_params,
        "candidates": candidates,
    }


def fits_once(model, args):
    """Whether ``model`` is fitted once, without CV, in the run of ``args``.

    A ``fit_once`` preset always is; a model with nothing to tune under the
    run's search is, unless ``--cv-untuned`` asks for its CV scores.
    """
    return model.fit_once or not (model.tunes(args.search) or args.cv_untuned)


def fitted_once(model, X, y, args, log):
    """``model`` as built, fitted once on all of ``X``: nothing to tune, no CV."""
    log(f"  {FIT_ONCE}, {model.label}")
    best = model.build(args.random_state, len(y))
    start = time.perf_counter()
    best.fit(X, y)
    fit_time = time.perf_counter() - start
    return best, {
        "search": FIT_ONCE,
        "n_candidates": 1,
        "resource": None,
        "cv_mean": None,
        "cv_std": None,
        "fit_time_s": fit_time,
        "search_time_s": fit_time,
        "best_params": {},
        "candidates": [],
    }


def run_model(model, data, cv, args, log):
    """Tune, refit and test one model; the JSON-ready record of its results.

    A model fitted once on the training set instead (:func:`fits_once`) has
    no CV score in its record (``cv_mean`` and ``cv_std`` are None).
    """
    from fmnist_estimators.search import format_params

    X, y, X_test, y_test, class_names = data
    if fits_once(model, args):
        best, how = fitted_once(model, X, y, args, log)
    else:
        best, how = searched(model, X, y, cv, args, log)
    measures = label_quality(best, X, y, X_test, y_test)
    record = {
        "model": model.name,
        "label": model.label,
        "family": model.family,
        "search": how.pop("search"),
        "scoring": args.scoring,
        "n_candidates": how.pop("n_candidates"),
        "resource": how.pop("resource"),
        "cv_mean": how.pop("cv_mean"),
        "cv_std": how.pop("cv_std"),
        "test_accuracy": measures.pop("test_accuracy"),
        "precision_macro": measures.pop("precision_macro"),
        "recall_macro": measures.pop("recall_macro"),
        "f1_macro": measures.pop("f1_macro"),
        **probability_quality(best, X_test, y_test),
        "fit_time_s": how.pop("fit_time_s"),
        "predict_time_per_1000_s": measures.pop("predict_time_per_1000_s"),
        "search_time_s": how.pop("search_time_s"),
        "best_params": how["best_params"],
        "best_params_text": format_params(how.pop("best_params")),
        **measures,
        "history": getattr(final_step(best), "history_", None),
        "candidates": how.pop("candidates"),
    }
    log(summary_line(record))
    return json_ready(record)
