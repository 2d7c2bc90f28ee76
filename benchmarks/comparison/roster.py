"""The models of the comparison, how each is tuned, and which cost most.

Every entry builds an unfitted estimator from a seed and carries two search
spaces: ``grid`` (lists, for ``GridSearchCV``) and ``distributions`` (lists
and ``scipy.stats`` distributions, for ``RandomizedSearchCV`` and
``HalvingRandomSearchCV``), plus the search it uses by default. A model
with nothing to tune under the run's search (an empty ``grid`` under
``grid``: the untuned networks, the patch-PCA pipeline) is fitted once on
the training set, without cross-validation, unless ``--cv-untuned`` asks
for its CV scores; a ``fit_once`` model (``best_cnn``, ``pretrained``) is
fitted once always. Sized so that the default comparison runs in about a
minute on the 5,000-image sample and in half the time of the first
full-data runs on 60,000 images; ``best_cnn`` and ``pretrained`` run only
when ``--models`` names them.

Each entry also carries its expected cost, the worker-seconds it took on
the sample and on the full data, from which the progress lines estimate the
time to the end of a run (:func:`expected_cost`).
"""

import dataclasses
import math
from collections.abc import Callable

from scipy.stats import loguniform, randint
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    PretrainedNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.classical import (
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
    svc_params,
)

from . import as_float32

SEARCHES = ("grid", "random", "halving")

# Models from the longest to the shortest on the embedded sample and on the
# full data: started in this order, two workers finish at about the same time.
# The two networks come first so that each worker's first task imports
# TensorFlow: loky measures a worker's memory after its first task and
# replaces a worker that grows 300 MB past it, as importing TensorFlow later
# would, and the replacement imports everything again (4-5 s). The
# pretrained network comes first of all: without its weights it ends at
# once, and the line that says so comes at the start of the run.
LONGEST_FIRST = (
    "pretrained",
    "best_cnn",
    "conv",
    "dense_tuned",
    "classical",
    "svc",
    "mlp",
    "dense",
    "logreg",
    "svd",
)


@dataclasses.dataclass(frozen=True)
class Model:
    """One contender: how to build it and how to tune it."""

    name: str
    label: str
    family: str
    build: Callable
    grid: dict
    distributions: dict
    search: str = "grid"
    n_iter: int = 4
    network: bool = False
    # Successive halving of a network spends epochs, first and last round's;
    # the comparison continues each survivor (HyperbandSearchCV).
    min_epochs: int = 1
    max_epochs: int = 9
    # The pipeline step that is a calibrated SVC (CalibratedClassifierCV),
    # which the comparison tunes without its calibration under a label scorer.
    calibrated_step: str | None = None
    # Worker-seconds of the whole model (search, refit, test) on the
    # COST_SIZES training images: what the progress lines expect it to take.
    cost: tuple[float, float] = (10.0, 100.0)
    # Fitted once on the training set, without CV, even under --cv-untuned:
    # a preset with nothing to tune whose every fit takes many minutes.
    fit_once: bool = False
    # In the models of "--models all" (the default); the others run by name.
    default: bool = True
    # Estimator parameters set from options of the command line: parameter
    # name -> attribute of the parsed arguments (unset when that is None).
    options: dict = dataclasses.field(default_factory=dict)
    # fit reads a weights file that may be absent: an OSError then skips the
    # model with one line instead of ending the run.
    needs_weights: bool = False

    @property
    def tuned(self):
        return bool(self.grid or self.distributions)

    def strategy(self, search):
        """The search of the run's ``--search`` (``"auto"``: the model's own)."""
        return self.search if search == "auto" else search

    def tunes(self, search):
        """Whether the search of the run's ``--search`` has anything to tune."""
        strategy = self.strategy(search)
        return bool(self.grid if strategy == "grid" else self.distributions)


def _patch_pca_svc(random_state, n_train):
    model = make_patch_pca_svc_pipeline(random_state=random_state)
    # PCA keeps fewer components than a training fold has images, even the
    # subsets of successive halving on samples.
    n_components = model.get_params()["pca__n_components"]
    return model.set_params(pca__n_components=min(n_components, n_train // 10))


def _scaled_pixels():
    # MinMaxScaler keeps float32 (from uint8 pixels it would make float64):
    # the baselines' matrix products then run at the networks' precision, about
    # twice as fast (LogisticRegression 0.45 s instead of 0.9 s per fit on a
    # fold of the sample, MLPClassifier 0.64 s instead of 1.1 s).
    return [("float32", FunctionTransformer(as_float32)), ("scale", MinMaxScaler())]


def _logreg(random_state, n_train):
    return Pipeline(
        _scaled_pixels()
        + [("logreg", LogisticRegression(max_iter=100, random_state=random_state))]
    )


def _mlp(random_state, n_train):
    mlp = MLPClassifier((128,), batch_size=128, max_iter=20, random_state=random_state)
    return Pipeline(_scaled_pixels() + [("mlp", mlp)])


# Below this many training images (the embedded sample) the CNN trains
# SMALL_DATA_EPOCHS of its preset's 8 epochs: a time budget, so that the
# default comparison takes about a minute on two cores (8 epochs cost 4 times
# the rest of the comparison there). The network is the same at every size:
# batch norm's statistics are recomputed at the end of fit, so a few dozen
# steps are enough for it.
SMALL_DATA = 20_000
SMALL_DATA_EPOCHS = 3


def _conv(random_state, n_train):
    epochs = {"epochs": SMALL_DATA_EPOCHS} if n_train < SMALL_DATA else {}
    return ConvNetClassifier.from_preset("fast", random_state=random_state, **epochs)


def _pretrained(random_state, n_train):
    # MobileNetV2 at 32 pixels, frozen: its features cost one pass over the
    # images (19 s per 60,000 on two cores), then the head's epochs 4 s each;
    # the ResNets and VGGs of the classic study cost 3-10 times more.
    return PretrainedNetClassifier(
        "mobilenet_v2",
        weights="imagenet",
        batch_size=64,
        epochs=10,
        random_state=random_state,
    )


MODELS = {
    model.name: model
    for model in [
        Model(
            "svd",
            "SVDSubspaceClassifier",
            "subspace",
            lambda rs, n_train: SVDSubspaceClassifier(random_state=rs),
            grid={"n_components": [10, 20, 30, 50]},
            distributions={"n_components": randint(5, 60)},
            cost=(3, 19),
        ),
        Model(
            "classical",
            "PCA patch filters + RBF SVC (classical.make_patch_pca_svc_pipeline)",
            "classical",
            _patch_pca_svc,
            grid={},
            # the SVC inside the calibration that gives predict_proba
            distributions=svc_params({"svc__C": loguniform(3, 30)}),
            calibrated_step="svc",
            cost=(5, 293),
        ),
        Model(
            "logreg",
            "LogisticRegression (pixels scaled to 0-1)",
            "sklearn",
            _logreg,
            grid={"logreg__C": [0.01, 0.1]},
            distributions={"logreg__C": loguniform(1e-3, 1)},
            n_iter=2,
            cost=(5, 46),
        ),
        Model(
            "svc",
            "PCA + RBF SVC (classical.make_pca_svc_pipeline)",
            "sklearn",
            lambda rs, n_train: make_pca_svc_pipeline(random_state=rs),
            grid=svc_params({"pca__n_components": [30, 50], "svc__C": [3.0, 10.0]}),
            distributions=svc_params(
                {"pca__n_components": randint(20, 80), "svc__C": loguniform(1, 30)}
            ),
            # Successive halving on samples: the 4 draws on a third of every
            # fold, the best 2 on all of it (2.4 full-fold fits instead of 4).
            search="halving",
            calibrated_step="svc",
            cost=(5, 207),
        ),
        Model(
            "mlp",
            "MLPClassifier (128, 20 epochs)",
            "sklearn",
            _mlp,
            grid={"mlp__alpha": [1e-4, 1e-2]},
            distributions={
                "mlp__alpha": loguniform(1e-5, 1e-1),
                "mlp__learning_rate_init": loguniform(3e-4, 3e-3),
            },
            search="random",
            n_iter=2,
            cost=(8, 78),
        ),
        Model(
            "dense",
            "DenseNetClassifier (defaults)",
            "network",
            lambda rs, n_train: DenseNetClassifier(random_state=rs),
            grid={},
            distributions={},
            network=True,
            cost=(2, 9),
        ),
        Model(
            # Tuned by HyperbandSearchCV (search "halving"): three draws of
            # dropout and learning rate for 4 epochs on every fold, the best
            # continued to 12. Twice the defaults' units, with dropout and
            # more epochs, beats them for about the cost of the former
            # tuned model (batch 128, 9 epochs, no dropout), which did not.
            "dense_tuned",
            "DenseNetClassifier (256 units, tuned dropout and learning rate)",
            "network",
            lambda rs, n_train: DenseNetClassifier(
                (256,), batch_size=32, epochs=12, random_state=rs
            ),
            grid={"dropout": [0.2, 0.4], "learning_rate": [1e-3, 2e-3]},
            distributions={
                "dropout": [0.2, 0.4],
                "learning_rate": loguniform(1e-3, 3e-3),
            },
            search="halving",
            n_iter=3,
            network=True,
            min_epochs=4,
            max_epochs=12,
            cost=(20, 80),
        ),
        Model(
            "conv",
            "ConvNetClassifier ('fast' preset; 3 epochs below 20,000 images)",
            "network",
            _conv,
            grid={},
            distributions={},
            network=True,
            cost=(13, 201),
        ),
        Model(
            "best_cnn",
            "ConvNetClassifier.from_preset('best_cpu') (17 epochs)",
            "network",
            lambda rs, n_train: ConvNetClassifier.from_preset(
                "best_cpu", random_state=rs
            ),
            grid={},
            distributions={},
            network=True,
            # 118 s on the sample, 1,430 s on the full data (2026-12-04), in
            # a worker of one thread (825 s on two)
            cost=(118, 1430),
            fit_once=True,
            default=False,
        ),
        Model(
            "pretrained",
            "PretrainedNetClassifier (MobileNetV2, ImageNet weights, frozen)",
            "network",
            _pretrained,
            grid={},
            distributions={},
            network=True,
            cost=(15, 70),
            fit_once=True,
            default=False,
            options={"weights": "pretrained_weights"},
            needs_weights=True,
        ),
    ]
}
# The models of "--models all", the default.
DEFAULT_MODELS = tuple(name for name, model in MODELS.items() if model.default)

# Training images of the sample and of the full data, where Model.cost was
# measured: the seconds each model took in its worker in the default run on
# each, two workers of one thread on two cores (2026-12-04, 35 s and 476 s
# in all). With --cv-untuned, the untuned models cost about 3 times more;
# the estimate follows as they finish.
COST_SIZES = (5_000, 60_000)
# Worker-seconds a model takes whatever the data: starting a network
# (TensorFlow's import, building and tracing it) takes about 10 s on two cores.
MIN_COST = {True: 10.0, False: 1.0}


def expected_cost(model, n_train):
    """Worker-seconds ``model`` is expected to take on ``n_train`` training images.

    A power law through its two measured costs (:data:`COST_SIZES`):
    interpolated between them, extrapolated beyond, and at least the cost
    of starting the model (:data:`MIN_COST`).

    Examples
    --------
    >>> round(expected_cost(MODELS["conv"], 5_000))
    13
    >>> round(expected_cost(MODELS["conv"], 20_000))
    60
    """
    (n_0, n_1), (cost_0, cost_1) = COST_SIZES, model.cost
    power = math.log(cost_1 / cost_0) / math.log(n_1 / n_0)
    cost = cost_0 * (max(n_train, 1) / n_0) ** power
    return max(cost, MIN_COST[model.network])


def with_options(model, args):
    """``model`` whose estimator takes the parameters of its ``options`` from ``args``.

    An option left unset (None) leaves the estimator's own value.
    """
    values = {
        param: getattr(args, attribute, None)
        for param, attribute in model.options.items()
    }
    values = {param: value for param, value in values.items() if value is not None}
    if not values:
        return model
    build = model.build

    def configured_build(random_state, n_train):
        return build(random_state, n_train).set_params(**values)

    return dataclasses.replace(model, build=configured_build)


def scale_epochs(value, scale):
    """``value`` epochs times ``scale``, rounded up, at least 1."""
    return max(1, math.ceil(value * scale))


def shrink(model, *, epochs_scale=1.0, fast=False):
    """``model`` with fewer epochs and, when ``fast``, smaller searches."""
    if fast:
        epochs_scale = min(epochs_scale, 0.0)
        grid = {name: list(values)[:2] for name, values in model.grid.items()}
        model = dataclasses.replace(model, grid=grid, n_iter=min(model.n_iter, 2))
    if epochs_scale == 1.0 or not model.network:
        return model
    build = model.build

    def scaled_build(random_state, n_train):
        estimator = build(random_state, n_train)
        return estimator.set_params(
            epochs=scale_epochs(estimator.get_params()["epochs"], epochs_scale)
        )

    return dataclasses.replace(
        model,
        build=scaled_build,
        min_epochs=scale_epochs(model.min_epochs, epochs_scale),
        max_epochs=scale_epochs(model.max_epochs, epochs_scale),
    )
