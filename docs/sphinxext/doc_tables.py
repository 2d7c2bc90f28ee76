"""Write reST tables from the package's own data, before Sphinx reads the pages.

Pages include the generated ``*.rst.inc`` files, so that the documented presets
and study search spaces are always those of the installed code.
"""

from pathlib import Path


def _literal(value):
    """A parameter value as inline code, tuples written as Python writes them."""
    return f"``{value!r}``"


def presets_table():
    """reST list-table of :data:`fmnist_estimators.CONVNET_PRESETS`."""
    from fmnist_estimators import CONVNET_PRESETS

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 20 80",
        "",
        "   * - Preset",
        "     - Parameters (passed to ``ConvNetClassifier``)",
    ]
    for name, params in CONVNET_PRESETS.items():
        settings = ", ".join(f"{key}={value!r}" for key, value in params.items())
        lines += [f'   * - ``"{name}"``', f"     - ``{settings}``"]
    return "\n".join(lines) + "\n"


def _study_epochs(study):
    """Epochs trained per fold and repeat over every candidate of ``study``."""
    from sklearn.model_selection import ParameterGrid

    default = study.estimator.get_params().get("epochs", 0)
    return sum(
        params.get("epochs", default)
        for grid in study.sweeps.values()
        for params in ParameterGrid(grid)
    )


def _estimator_call(estimator):
    """``Class(param=value, ...)`` with the parameters that differ from defaults."""
    return " ".join(repr(estimator).split())


def studies_summary_table():
    """reST list-table with one row per study of ``STUDIES``."""
    from fmnist_estimators.studies import STUDIES

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 18 40 10 12 20",
        "",
        "   * - Study",
        "     - Baseline estimator",
        "     - Sweeps",
        "     - Candidates",
        "     - Epochs per fold (one repeat)",
    ]
    for name, study in STUDIES.items():
        lines += [
            f"   * - :ref:`{name} <study-{name}>`",
            f"     - ``{_estimator_call(study.estimator)}``",
            f"     - {len(study.sweeps)}",
            f"     - {study.n_candidates}",
            f"     - {_study_epochs(study)}",
        ]
    return "\n".join(lines) + "\n"


def study_table(study):
    """reST description of one study: baseline, then its sweeps as a table."""
    lines = [
        f"Baseline: ``{_estimator_call(study.estimator)}``; "
        f"{study.n_candidates} candidates, {_study_epochs(study)} epochs per fold "
        "and repeat.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 25 25 50",
        "",
        "   * - Sweep (``sweep`` column)",
        "     - Parameter",
        "     - Values",
    ]
    for label, grid in study.sweeps.items():
        first = True
        for param, values in grid.items():
            shown = ", ".join(f"``{value!r}``" for value in values)
            lines += [
                f"   * - {label}" if first else "   * -",
                f"     - ``{param}``",
                f"     - {shown}",
            ]
            first = False
    return "\n".join(lines) + "\n"


def write_generated_tables(folder):
    """Write every generated table into ``folder``; return the paths written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from fmnist_estimators.studies import STUDIES

    tables = {
        "presets_table.rst.inc": presets_table(),
        "studies_summary.rst.inc": studies_summary_table(),
    }
    for name, study in STUDIES.items():
        tables[f"study_{name}.rst.inc"] = study_table(study)
    written = []
    for name, text in tables.items():
        path = folder / name
        # Rewrite only on change: an unchanged mtime keeps incremental builds fast.
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
