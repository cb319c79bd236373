"""Sphinx configuration: ``sphinx-build docs docs/_build``."""

import sklearn_ednn

project = "sklearn-ednn"
release = sklearn_ednn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": ("sklearn_ednn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_ednn": None},
}
intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "skorch": ("https://skorch.readthedocs.io/en/stable", None),
    "torch": ("https://pytorch.org/docs/stable", None),
}
html_theme = "alabaster"
exclude_patterns = ["_build"]
