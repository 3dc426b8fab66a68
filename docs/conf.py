"""Sphinx configuration of the hiercls documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html``
(``pip install -e ".[docs]"`` first). The API pages (``generated/``) and the
example gallery (``auto_examples/``) are generated at build time.
"""

from __future__ import annotations

import os
import sys
import warnings

# The examples fit many small models: BLAS threads only add overhead there, and on
# a busy 2-core machine they make each fit many times slower.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import hiercls  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sphinxext"))

project = "hiercls"
author = "hiercls developers"
copyright = "hiercls developers"
release = hiercls.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/*.ipynb", "**/*.py", "**/*.zip", "**/*.md5"]
root_doc = "index"
default_role = "literal"

# API pages: one per object, generated from the docstrings by autosummary.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
# "fit()" rather than "HierarchicalClassifier.fit()" in the page outline.
toc_object_entries_show_parents = "hide"
# numpydoc renders the docstring sections; the class template lists the methods,
# so numpydoc does not add its own member tables (they would duplicate them).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

html_theme = "pydata_sphinx_theme"
html_title = f"hiercls {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    # Example pages show code and output: no right-hand column, for wider code.
    "secondary_sidebar_items": {
        "index": ["page-toc"],
        "api": ["page-toc"],
        "user_guide/*": ["page-toc"],
        "generated/*": ["page-toc"],
        "auto_examples/*": [],
    },
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"index": []}
html_show_sourcelink = False
html_static_path: list[str] = []

# The gallery: each example runs at build time (seconds each) and its figures are kept.
sphinx_gallery_conf = {
    "examples_dirs": os.path.join("..", "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "sphinx_gallery.sorting.FileNameSortKey",
    "matplotlib_animations": False,
    "show_memory": False,
    "plot_gallery": "True",
    # hiercls.reports' plots are figures outside pyplot: a scraper of their own.
    "image_scrapers": ("gallery_scrapers.unmanaged_figures", "matplotlib"),
    # "Examples using X" on each API page.
    "doc_module": ("hiercls",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
}

# Warnings from the examples' own libraries are not documentation errors.
warnings.filterwarnings("ignore", category=UserWarning, message=".*Matplotlib is currently using agg.*")
warnings.filterwarnings("ignore", category=DeprecationWarning)


def _skip_metadata_requests(app, what, name, obj, skip, options):  # type: ignore[no-untyped-def]
    # scikit-learn adds set_fit_request & co. to every estimator class; their
    # docstrings point into scikit-learn's own docs and say nothing about hiercls.
    short_name = name.rsplit(".", 1)[-1]
    if short_name.startswith("set_") and short_name.endswith("_request"):
        return True
    return skip


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-skip-member", _skip_metadata_requests)
