"""Compare every model family of fmnist_estimators on the same folds.

Each model is tuned on the training set by stratified cross-validation
(``GridSearchCV``, ``RandomizedSearchCV`` or ``HalvingRandomSearchCV``; the
same folds for every model), refit on the whole training set, and evaluated
once on the test set; a preset with nothing to tune is fitted once, without
cross-validation. Results go to ``--output-dir``: ``results.md``,
``results.csv``, ``results.json``, ``scoreboard.csv`` (ours beside the
classic studies' figures), one ``models/<name>.json`` per model, written as
soon as the model finishes (``--resume`` skips those), and plots.

Models (``--models``; see ``roster.py`` for their search spaces)::

    svd          SVDSubspaceClassifier, n_components tuned
    classical    classical.make_patch_pca_svc_pipeline (the best classical model)
    logreg       LogisticRegression on pixels scaled to 0-1
    svc          classical.make_pca_svc_pipeline: PCA + RBF SVC
    mlp          scikit-learn MLPClassifier (128)
    dense        DenseNetClassifier with its defaults
    dense_tuned  DenseNetClassifier of 256 units, dropout and learning rate
                 tuned by HyperbandSearchCV (warm-started successive halving
                 on epochs: 3 candidates for 4 epochs, the best to 12)
    conv         ConvNetClassifier, the "fast" preset (3 of its 8 epochs below
                 20,000 training images, to keep the sample run short)

and, by name only (``--models all,best_cnn,pretrained``), each fitted once::

    best_cnn     ConvNetClassifier, the "best_cpu" preset
    pretrained   PretrainedNetClassifier, a frozen MobileNetV2 with ImageNet
                 weights (Keras's cache or --pretrained-weights PATH; skipped
                 with one line without them)

The searches rank candidates by ``--scoring`` (any scikit-learn scorer name;
accuracy by default). On the test set every model is judged by accuracy,
macro precision, recall and F1 and, from its ``predict_proba``, by macro
one-vs-rest ROC AUC, log-loss and the expected calibration error (ECE) of its
top label, drawn as a reliability diagram.

A calibrated SVC (the ``predict_proba`` of ``classical`` and ``svc``) is
tuned without its calibration when the scorer judges labels only, as
accuracy does: its predictions are those of the bare SVC, whose fit costs
half as much or less, and the best candidate is refit calibrated.

Fit time is the refit of the best candidate on the whole training set;
predict time is measured after a warm-up call on training images (a network
traces its graph on the first call). Every process computes with one BLAS and
TensorFlow thread by default (``--n-threads``): timings compare like with
like, and multithreaded BLAS cannot thrash on a busy machine. The machine's
cores are used by ``--n-jobs`` worker processes instead (default: one per
core): the models run side by side, one per worker, the longest first, and a
run of a single model spreads the fits of its search over the workers.

While models train, a line every ``--progress-interval`` seconds (a tqdm bar
where stderr is a terminal) gives the time elapsed and an estimate of the
time to go, from each model's expected cost refined as models finish.
``--scheduler tcp://HOST:PORT`` runs the models and their searches' fits on a
Dask cluster, with the CV scores of a local run.

Ctrl-C stops a run with one line saying which models are saved; the same
command with ``--resume`` continues from there.

One job per module:

- ``cli``: the command line, its checks, and the order of the run;
- ``roster``: the models, their search spaces, default searches and costs;
- ``data``: the images and their stratified subsets;
- ``tuning``: the search that tunes a model;
- ``evaluation``: one model tuned, refit and tested (or fitted once), as a
  record;
- ``run``: the models on joblib workers or a Dask cluster, and ``--resume``;
- ``progress``: the time elapsed and the estimated time to go;
- ``report``, ``scoreboard`` and ``plots``: tables and figures, from the
  records alone.
"""

# The comparison is imported as ``comparison`` by ``python
# benchmarks/compare.py`` (benchmarks/ is on sys.path) and as
# ``benchmarks.comparison`` by the tests (the repository root is): the
# shared bench helpers are ``_common`` in the first case and
# ``benchmarks._common`` in the second.
if "." in __name__:
    from .._common import as_float32, environment
else:
    from _common import as_float32, environment

__all__ = ["as_float32", "environment"]
