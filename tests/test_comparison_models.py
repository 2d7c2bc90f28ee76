"""The best models in the comparison: the best CNN preset and a pretrained network."""

import dataclasses

import pytest

from benchmarks.comparison import cli, evaluation, roster, tuning
from fmnist_estimators import ConvNetClassifier, PretrainedNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

SMALL = ["--n-train", "100", "--n-test", "50", "--cv", "2", "--fast"]
SMALL += ["--n-jobs", "1", "--n-threads", "0"]


def test_all_is_the_default_set_and_the_best_models_run_by_name():
    default = cli.parse_args([]).models
    assert default == list(roster.DEFAULT_MODELS) == cli.parse_models("all")
    assert "best_cnn" not in default and "pretrained" not in default
    models = cli.parse_args(["--models", "all,best_cnn,pretrained"]).models
    assert models == default + ["best_cnn", "pretrained"]
    # a name twice runs once
    assert cli.parse_models("svd,all,svd") == default


def test_unknown_models_name_the_choices(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--models", "all,best_cpu"])
    error = capsys.readouterr().err
    assert "unknown model(s) ['best_cpu']; choose from svd," in error
    assert "best_cnn, pretrained or 'all' (svd, classical," in error


def test_the_best_models_are_the_package_presets():
    cnn = roster.MODELS["best_cnn"].build(0, 60_000)
    best_cpu = ConvNetClassifier.from_preset("best_cpu", random_state=0)
    assert cnn.get_params() == best_cpu.get_params()
    pretrained = roster.MODELS["pretrained"].build(0, 60_000)
    assert isinstance(pretrained, PretrainedNetClassifier)
    assert pretrained.weights == "imagenet" and pretrained.trainable == "head"
    for name in ("best_cnn", "pretrained"):
        assert roster.MODELS[name].fit_once and not roster.MODELS[name].tuned


def test_a_weights_file_on_the_command_line_goes_to_the_pretrained_model(tmp_path):
    path = tmp_path / "mobilenet.h5"
    path.write_bytes(b"")
    args = cli.parse_args(["--pretrained-weights", str(path)])
    model = roster.with_options(roster.MODELS["pretrained"], args)
    assert model.build(0, 100).weights == path
    # the other models have no such option
    assert roster.with_options(roster.MODELS["svd"], args) is roster.MODELS["svd"]


def test_a_missing_weights_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--pretrained-weights", str(tmp_path / "none.h5")])
    assert "argument --pretrained-weights: expected a weights file, got" in (
        capsys.readouterr().err
    )


def test_a_preset_is_fitted_once_without_cv(one_blas_thread):
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    model = dataclasses.replace(roster.MODELS["svd"], fit_once=True)
    args = cli.parse_args(SMALL)
    fits = []
    real_build = model.build
    model = dataclasses.replace(
        model, build=lambda *a: fits.append(1) or real_build(*a)
    )
    lines = []
    data = (X[:300], y[:300], X_test[:100], y_test[:100], [])
    record = evaluation.run_model(model, data, None, args, lines.append)
    assert len(fits) == 1  # no CV, no refit
    assert record["search"] == "fit once, no CV" and record["n_candidates"] == 1
    assert record["cv_mean"] is None and record["cv_std"] is None
    assert record["candidates"] == [] and record["best_params"] == {}
    assert record["search_time_s"] == record["fit_time_s"] > 0
    assert 0.5 < record["test_accuracy"] <= 1
    assert lines[0] == "  fit once, no CV, SVDSubspaceClassifier"
    assert lines[-1].startswith("  (defaults): fit once, no CV | test ")


def test_a_model_with_nothing_to_tune_is_fitted_once_unless_cv_untuned(
    one_blas_thread,
):
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X_test, y_test = load_fashion_mnist_sample(subset="test", return_X_y=True)
    data = (X[:300], y[:300], X_test[:100], y_test[:100], [])
    # svd under an empty grid: as the untuned networks and patch-PCA pipeline
    model = dataclasses.replace(roster.MODELS["svd"], grid={})
    args = cli.parse_args(SMALL)
    record = evaluation.run_model(model, data, None, args, [].append)
    assert record["search"] == "fit once, no CV" and record["cv_mean"] is None

    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    args = cli.parse_args(SMALL + ["--cv-untuned"])
    record = evaluation.run_model(model, data, cv, args, [].append)
    assert record["search"] == "GridSearchCV" and record["n_candidates"] == 1
    assert 0.5 < record["cv_mean"] <= 1 and record["cv_std"] >= 0


@pytest.mark.parametrize(
    "name, search, options, once",
    [
        ("conv", "auto", [], True),
        ("classical", "auto", [], True),
        ("dense", "auto", [], True),
        ("conv", "auto", ["--cv-untuned"], False),
        ("classical", "auto", ["--cv-untuned"], False),
        # classical has a space to sample: --search random tunes it
        ("classical", "random", [], False),
        ("best_cnn", "auto", ["--cv-untuned"], True),
        ("svd", "auto", [], False),
        ("svc", "auto", [], False),
    ],
)
def test_which_models_are_fitted_once(name, search, options, once):
    args = cli.parse_args(["--search", search] + options)
    assert evaluation.fits_once(roster.MODELS[name], args) is once


def test_the_pca_svc_is_tuned_by_halving_on_samples():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, StratifiedKFold

    args = cli.parse_args(["--n-jobs", "1"])
    model = roster.MODELS["svc"]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = tuning.make_search(
        model, model.strategy(args.search), cv, args, 5000, label_only=True
    )
    assert isinstance(search, HalvingRandomSearchCV)
    assert search.resource == "n_samples" and search.n_candidates == 4


@pytest.mark.slow
def test_without_imagenet_weights_the_pretrained_model_is_skipped_in_one_line(
    tmp_path, monkeypatch, capsys, one_blas_thread
):
    import keras

    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: [Errno -3] no network")

    # an empty Keras cache, and no network
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(keras.utils, "get_file", offline)
    argv = SMALL + ["--models", "pretrained,svd", "--output-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    # one line, beside the scoreboard's row
    (line,) = [line for line in out.splitlines() if "pretrained: skipped" in line]
    assert line.startswith("[1/2] pretrained: skipped, its ImageNet weights are not")
    assert (
        "Download https://storage.googleapis.com/tensorflow/keras-applications/"
        "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    ) in line
    assert f"in {tmp_path / 'keras' / 'models'} (Keras's cache" in line
    assert line.endswith("or give compare.py the file as --pretrained-weights PATH")
    assert "weights=None" not in line and "Downloading" not in out
    # the run went on without it
    rows = [line.split(" | ")[0] for line in out.splitlines()]
    assert "| svd" in rows and "| pretrained" not in rows
    (row,) = [line for line in out.splitlines() if "| pretrained VGG" in line]
    assert row.endswith("| skipped in this run: its line in the log says why |")
    assert not (tmp_path / "models" / "pretrained.json").exists()
