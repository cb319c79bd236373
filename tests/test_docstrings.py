"""Every public name has a numpydoc docstring that validates."""

import inspect

import pytest
from numpydoc.validate import validate

import sklearn_ednn
import sklearn_ednn.atoms
import sklearn_ednn.augmentation
import sklearn_ednn.callbacks
import sklearn_ednn.cli
import sklearn_ednn.datasets
import sklearn_ednn.inspection
import sklearn_ednn.montecarlo
import sklearn_ednn.utils.estimator_checks

# Checks we do not enforce, as in scikit-learn's own docstring test: "See Also"
# and "Examples" everywhere (classes and entry points have them), the
# summary/extended-summary layout of short private-facing methods, and return
# names in numpydoc's strict sense.
IGNORED = {"GL01", "GL02", "SA01", "EX01", "ES01", "RT02"}

PUBLIC_MODULES = [
    sklearn_ednn,
    sklearn_ednn.atoms,
    sklearn_ednn.augmentation,
    sklearn_ednn.callbacks,
    sklearn_ednn.cli,
    sklearn_ednn.datasets,
    sklearn_ednn.inspection,
    sklearn_ednn.montecarlo,
    sklearn_ednn.utils.estimator_checks,
]


def public_objects():
    for module in PUBLIC_MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualname = f"{module.__name__}.{name}"
            yield qualname
            if inspect.isclass(obj):
                for method_name, method in vars(obj).items():
                    if method_name.startswith("_") or not inspect.isfunction(method):
                        continue
                    yield f"{qualname}.{method_name}"


@pytest.mark.parametrize("name", sorted(set(public_objects())))
def test_docstring_is_valid(name):
    result = validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code not in IGNORED]
    assert not errors, "\n".join(f"{code}: {msg}" for code, msg in errors)
