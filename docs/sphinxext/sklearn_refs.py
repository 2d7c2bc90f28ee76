"""Render docstring references to scikit-learn's own docs as plain text.

Docstrings written in scikit-learn's style — ours, and those the estimators
inherit from scikit-learn (``score``, ``get_params``, ...) — use
``:term:`fit``` for scikit-learn's glossary and ``:ref:`accuracy_score``` for
its user guide. Those targets live in scikit-learn's documentation, which this
offline build cannot link to (no intersphinx), so Sphinx would warn on each of
them. This extension renders such references from docstrings as literal text.
References in the documentation's own pages are left alone: a broken link
there still fails the build.
"""

from docutils import nodes


def _from_docstring(node):
    source = node.source or ""
    return "docstring of " in source


def render_as_text(app, env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") not in ("term", "ref"):
        return None
    if not _from_docstring(node):
        return None
    return nodes.literal(contnode.astext(), contnode.astext())


def setup(app):
    # Low priority: run after every resolver that could still find the target.
    app.connect("missing-reference", render_as_text, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
