"""Build the documentation, running every gallery example, as a slow test.

The build is the documented command (``docs/conf.py``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

here written to a temporary folder, with warnings as errors, and with every
example run even when an earlier build left its output in
``docs/auto_examples``. It takes a few minutes on two CPU cores and needs the
``docs`` extra; without it the test is skipped.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"

# A <script src=...> or <link href=...> pointing at another host.
REMOTE_ASSET = re.compile(
    r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^\"']+", re.IGNORECASE
)

# Pages that must come out of the build, relative to the HTML root.
KEY_PAGES = [
    "index.html",
    "install.html",
    "quick_start.html",
    "user_guide/index.html",
    "user_guide/searching.html",
    "api.html",
    "gen_modules/fmnist_estimators.DenseNetClassifier.html",
    "gen_modules/fmnist_estimators.search.results_table.html",
    "benchmarks.html",
    "studies.html",
    "auto_examples/index.html",
]


def _docs_requirements_missing():
    modules = ["sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"]
    modules += ["matplotlib", "pandas", "distributed"]
    missing = []
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    return missing


@pytest.mark.slow
def test_docs_build(tmp_path):
    missing = _docs_requirements_missing()
    if missing:
        pytest.skip(f"docs extra not installed (missing {', '.join(missing)})")

    html = tmp_path / "html"
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(tmp_path / "doctrees"),
        # Run the examples even if a previous build left their output behind.
        "-D",
        "sphinx_gallery_conf.run_stale_examples=True",
        str(DOCS),
        str(html),
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        f"docs build failed ({result.returncode}):\n{result.stdout[-6000:]}\n"
        f"{result.stderr[-6000:]}"
    )

    missing_pages = [page for page in KEY_PAGES if not (html / page).is_file()]
    assert not missing_pages, f"pages not built: {missing_pages}"

    for script in sorted(EXAMPLES.rglob("plot_*.py")):
        page = html / "auto_examples" / script.relative_to(EXAMPLES)
        assert page.with_suffix(".html").is_file(), f"example not built: {script}"

    # Offline: no page loads a script or a style sheet from another host.
    remote = {
        f"{page.relative_to(html)}: {match}"
        for page in html.rglob("*.html")
        for match in REMOTE_ASSET.findall(page.read_text(encoding="utf-8"))
    }
    assert not remote, "pages load remote assets:\n" + "\n".join(sorted(remote))
    # Pages with formulas get MathJax from the build itself.
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
