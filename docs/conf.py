"""Sphinx configuration of the fmnist_estimators documentation.

Build the HTML pages, running every gallery example, with::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the examples (a quick build of the
text). The build needs no network: there is no intersphinx, the examples use
the Fashion-MNIST sample shipped with the package, and no page loads a script
or style sheet from the internet (MathJax comes from the build's ``_static``).
"""

import sys
from pathlib import Path

DOCS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS_DIR / "sphinxext"))

# The halving searches are experimental in scikit-learn, importable only after
# enable_halving_search_cv: Sphinx-Gallery imports them to link the examples.
from doc_tables import write_generated_tables  # noqa: E402
from sklearn.experimental import enable_halving_search_cv  # noqa: E402, F401
from threadpoolctl import threadpool_limits  # noqa: E402

import fmnist_estimators  # noqa: E402

# The examples run in this process. One BLAS thread keeps their NumPy/SciPy
# parts (SVDs, PCA, t-SNE) from thrashing when other jobs load the machine,
# which multithreaded OpenBLAS does badly; TensorFlow keeps its own threads.
threadpool_limits(1, user_api="blas")

# -- Project ---------------------------------------------------------------------
project = "fmnist_estimators"
author = "fmnist_estimators developers"
copyright = "fmnist_estimators developers"
release = fmnist_estimators.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    # MathJax from the package's own copy, not a CDN: the pages work offline.
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sklearn_refs",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "gen_modules/backreferences", "**.ipynb_checkpoints"]
default_role = "literal"
# "fit()" rather than "DenseNetClassifier.fit()" in the page tables of contents.
toc_object_entries_show_parents = "hide"
# Tables generated from the package's own data (presets, study search spaces),
# so that the pages cannot drift from the code. ``*.rst.inc`` files are
# included by pages, never built on their own.
write_generated_tables(DOCS_DIR / "gen_modules")

# -- autodoc / autosummary / numpydoc -------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Type cross-references need intersphinx targets (NumPy, Python), which an
# offline build does not have.
numpydoc_xref_param_type = False

# -- Sphinx-Gallery ----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "subsection_order": [
        "../examples/basics",
        "../examples/model_selection",
        "../examples/inspection",
        "../examples/parallel",
    ],
    "within_subsection_order": "FileNameSortKey",
    # Every failing example fails the build.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "doc_module": ("fmnist_estimators",),
    "backreferences_dir": "gen_modules/backreferences",
    "reset_modules": ("matplotlib", "gallery_reset.reset_keras"),
    "min_reported_time": 0,
    # The execution-times pages load jQuery and DataTables from CDNs.
    "write_computation_times": False,
    "show_memory": False,
    "remove_config_comments": True,
    "download_all_examples": False,
}

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fmnist_estimators {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Pages without sub-pages get the full width instead of an empty navigation bar.
html_sidebars = {
    page: [] for page in ("index", "install", "quick_start", "benchmarks", "studies")
}
