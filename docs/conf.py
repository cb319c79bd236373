"""Sphinx configuration: ``sphinx-build -W docs docs/_build``.

The build works offline: links into other projects' documentation
(intersphinx) need the network and are made only with
``SKLEARN_EDNN_INTERSPHINX=1``. The gallery's examples and the notebooks run
at build time, in their quick mode (``SKLEARN_EDNN_QUICK=1``).
"""

import os
import shutil
from pathlib import Path

import sklearn_ednn

HERE = Path(__file__).resolve().parent
os.environ.setdefault("SKLEARN_EDNN_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# The notebooks live in examples/; the docs render copies of them.
NOTEBOOKS = HERE / "notebooks"
NOTEBOOKS.mkdir(exist_ok=True)
for notebook in (HERE.parent / "examples").glob("*.ipynb"):
    shutil.copy2(notebook, NOTEBOOKS / notebook.name)

project = "sklearn-ednn"
release = sklearn_ednn.__version__
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "doc_module": ("sklearn_ednn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_ednn": None},
}
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }
    if os.environ.get("SKLEARN_EDNN_INTERSPHINX")
    else {}
)
html_theme = "alabaster"
# The gallery writes a notebook beside every example it renders; only the
# notebooks of examples/ (copied to notebooks/) are documents.
exclude_patterns = [
    "_build",
    "jupyter_execute",
    "**.ipynb_checkpoints",
    "auto_examples/**.ipynb",
]
