"""The documentation of the public API: parameters documented, examples that run.

- Every public estimator and splitter (every scikit-learn ``BaseEstimator`` or
  ``BaseCrossValidator`` in ``skvaser.__all__`` and in its modules' ``__all__``) documents
  each ``__init__`` parameter in its numpydoc ``Parameters`` section, and documents no
  parameter it does not take.
- The ``Examples`` of every module of the package, and the ``>>>`` examples of the user guide,
  pass as doctests.
"""

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import skvaser

PUBLIC_MODULES = ["skvaser", "skvaser.datasets", "skvaser.metrics", "skvaser.model_selection",
                  "skvaser.evaluation"]
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _public_classes():
    """Public estimators and splitters, by qualified public name."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator

    classes = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, (BaseEstimator, BaseCrossValidator)):
                classes.setdefault(obj, f"{module_name}.{name}")
    return {name: cls for cls, name in classes.items()}


def _init_params(cls):
    if "__init__" not in {k for c in cls.__mro__ if c is not object for k in vars(c)}:
        return []
    signature = inspect.signature(cls.__init__)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def documented_parameters(docstring):
    """Names in the numpydoc ``Parameters`` section of ``docstring`` (``a, b : int`` gives both)."""
    lines = inspect.cleandoc(docstring or "").splitlines()
    names = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}:
            start = i + 2
            break
    else:
        return names
    for j in range(start, len(lines)):
        line = lines[j]
        nxt = lines[j + 1] if j + 1 < len(lines) else ""
        if line.strip() and set(nxt.strip()) == {"-"} and not line.startswith(" "):
            break  # the next section's title
        if not line or line.startswith(" "):
            continue  # a description or a blank line
        names.extend(n.strip() for n in line.split(" : ")[0].split(","))
    return [n for n in names if n]


@pytest.mark.parametrize("name", sorted(_public_classes()))
def test_every_init_parameter_is_documented(name):
    cls = _public_classes()[name]
    expected = _init_params(cls)
    documented = documented_parameters(cls.__doc__)
    missing = [p for p in expected if p not in documented]
    unknown = [p for p in documented if p not in expected]
    assert not missing, f"{name}'s docstring does not document {missing}"
    assert not unknown, f"{name}'s docstring documents {unknown}, which __init__ does not take"


def _estimators_defined_in_the_package():
    """Every estimator or splitter class that a module of skvaser defines and no other class of
    skvaser extends (base classes such as ``BaseRecommender`` are left out), found by walking
    the modules rather than by reading any ``__all__``."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator

    defined = set()
    for info in pkgutil.walk_packages(skvaser.__path__, "skvaser."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        defined.update(
            obj for obj in vars(module).values()
            if inspect.isclass(obj) and obj.__module__ == info.name
            and issubclass(obj, (BaseEstimator, BaseCrossValidator))
            and not obj.__name__.startswith("_")
        )
    extended = {base for cls in defined for base in cls.__mro__[1:]}
    return defined - extended


def test_every_public_estimator_is_checked():
    """The parametrisation above covers every estimator the package defines: a new estimator
    that no public module exports fails here."""
    defined = _estimators_defined_in_the_package()
    assert {"VASERRecommender", "ItemKNNRecommender", "SessionSplitter"} <= {
        cls.__name__ for cls in defined
    }
    unchecked = sorted(cls.__name__ for cls in defined - set(_public_classes().values()))
    assert not unchecked, f"defined but not exported by a public module: {unchecked}"


def test_documented_parameters_parser():
    doc = """Summary.

    Parameters
    ----------
    a : int
        The a.
    b, c : float, default=1.0
        Two at once.

        A second paragraph.
    flag
        No type.

    Returns
    -------
    out : int
    """
    assert documented_parameters(doc) == ["a", "b", "c", "flag"]
    assert documented_parameters("No sections.") == []


# ---------------------------------------------------------------------------------- doctests
MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(skvaser.__path__, prefix="skvaser.")
    if info.name != "skvaser.__main__"
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _run(tests, name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) of {name} failed (output above)"
    return result.attempted


# the neighbourhood models' examples show the warning for an unknown item (their text says so)
@pytest.mark.filterwarnings("default:.*not seen in fit:UserWarning")
@pytest.mark.parametrize("module_name", ["skvaser", *MODULES])
def test_module_doctests(module_name):
    module = importlib.import_module(module_name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
    _run(tests, module_name)


def test_the_package_has_doctests():
    attempted = 0
    for module_name in ["skvaser", *MODULES]:
        module = importlib.import_module(module_name)
        tests = doctest.DocTestFinder(exclude_empty=True).find(module, module_name)
        attempted += sum(len(test.examples) for test in tests)
    assert attempted >= 20


GUIDE = [
    path
    for path in sorted([*DOCS.glob("*.rst"), *DOCS.glob("user_guide/*.rst")])
    if re.search(r"^\s*>>> ", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
]


@pytest.mark.parametrize("path", GUIDE, ids=lambda p: str(p.relative_to(DOCS)))
def test_user_guide_doctests(path):
    parser = doctest.DocTestParser()
    test = parser.get_doctest(path.read_text(encoding="utf-8"), {}, path.name, str(path), 0)
    _run([test], path.name)
