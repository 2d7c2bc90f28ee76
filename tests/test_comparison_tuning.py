"""How the comparison names and tunes a calibrated SVC: classical.svc_params."""

import pytest

from benchmarks.comparison import roster, tuning
from fmnist_estimators.classical import (
    FastPredictSVC,
    make_pca_svc_pipeline,
    svc_params,
)


def test_svc_params_name_the_parameters_set_params_takes():
    space = {"pca__n_components": 30, "svc__C": 3.0, "svc__gamma": 0.01}
    calibrated = make_pca_svc_pipeline().set_params(**svc_params(space))
    assert calibrated["svc"].estimator.C == 3.0
    assert calibrated["svc"].estimator.gamma == 0.01
    assert calibrated["pca"].n_components == 30
    bare = make_pca_svc_pipeline(probability=False)
    bare.set_params(**svc_params(svc_params(space), calibrated=False))
    assert (bare["svc"].C, bare["svc"].gamma) == (3.0, 0.01)


def test_svc_params_leave_the_calibration_and_other_steps_alone():
    params = {"svc__cv": 5, "svc__method": "sigmoid", "patches__n_filters": 8}
    assert svc_params(params) == params
    # names already in the requested form stay as they are
    assert svc_params({"svc__estimator__C": 1.0}) == {"svc__estimator__C": 1.0}
    assert svc_params({"svc__C": 1.0}, calibrated=False) == {"svc__C": 1.0}
    # another step name
    assert svc_params({"clf__C": 1.0}, step="clf") == {"clf__estimator__C": 1.0}
    assert svc_params({"svc__C": 1.0}, step="clf") == {"svc__C": 1.0}


def test_svc_params_refuse_calibration_parameters_for_a_bare_svc():
    with pytest.raises(ValueError, match="'svc__cv' is a parameter of the calibration"):
        svc_params({"svc__estimator__C": 1.0, "svc__cv": 5}, calibrated=False)


def test_svc_params_validate_their_arguments():
    with pytest.raises(ValueError, match="params"):
        svc_params([("svc__C", 1.0)])
    with pytest.raises(ValueError, match="calibrated"):
        svc_params({}, calibrated="yes")


@pytest.mark.parametrize("name", ["classical", "svc"])
def test_roster_tunes_its_calibrated_svcs_bare(name):
    model = roster.MODELS[name]
    estimator = model.build(0, 5000)
    # the roster's spaces name the SVC inside the calibration ...
    assert "svc__estimator__C" in model.distributions
    bare, grid, distributions = tuning.uncalibrated(model, estimator)
    # ... and the bare search names the SVC itself, with the same values
    assert type(bare["svc"]) is FastPredictSVC and bare["svc"].break_ties
    assert distributions["svc__C"] is model.distributions["svc__estimator__C"]
    assert bare.get_params()["svc__C"] == estimator.get_params()["svc__estimator__C"]
    assert set(grid) == {key.replace("estimator__", "") for key in model.grid}
    best = tuning.calibrated_params(model, {"svc__C": 2.0})
    assert best == {"svc__estimator__C": 2.0}
    assert estimator.set_params(**best)["svc"].estimator.C == 2.0
