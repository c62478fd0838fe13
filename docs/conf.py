"""Sphinx configuration of the skvaser documentation.

Build (warnings are errors)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The gallery (``examples/plot_*.py``) is executed during the build on the synthetic generator.
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# The gallery trains small networks in this process: one thread (unless the environment says
# otherwise) keeps the build polite on shared machines and its results reproducible. Set
# before torch is first imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import skvaser  # noqa: E402

project = "skvaser"
author = "skvaser developers"
copyright = "skvaser developers"
version = release = skvaser.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc ------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- HTML -----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skvaser {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_show_sourcelink = False

# -- sphinx-gallery -------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("skvaser",),
    "reference_url": {"skvaser": None},
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "run_stale_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    "write_computation_times": False,
}


# -- every public name has a page -----------------------------------------------------------
def _public_names():
    """``module.name`` of everything in ``__all__`` of the package and its public modules."""
    import importlib

    names = {f"skvaser.{name}" for name in skvaser.__all__}
    for module in ("skvaser.datasets", "skvaser.metrics", "skvaser.model_selection",
                   "skvaser.evaluation", "skvaser.persistence"):
        mod = importlib.import_module(module)
        top = set(skvaser.__all__)
        names |= {f"{module}.{name}" for name in mod.__all__ if name not in top}
    return names


def _check_api_page(app):
    """Warn (an error under -W) about public names that docs/api.rst does not list."""
    from sphinx.util import logging

    text = (HERE / "api.rst").read_text()
    listed, module = set(), None
    for line in text.splitlines():
        match = re.match(r"\.\. currentmodule:: (\S+)", line)
        if match:
            module = match.group(1)
            continue
        match = re.match(r"   ([A-Za-z_][A-Za-z0-9_]*)\s*$", line)
        if match and module:
            listed.add(f"{module}.{match.group(1)}")
    missing = sorted(_public_names() - listed)
    if missing:
        logging.getLogger(__name__).warning(
            "docs/api.rst does not list these public names (add them to an autosummary "
            "block): %s", ", ".join(missing)
        )


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's metadata-routing methods (``set_fit_request``, ...).

    Their docstrings point into scikit-learn's own documentation (glossary, labels); the user
    guide explains metadata routing where it matters (:ref:`tuning`).
    """
    if re.fullmatch(r"set_\w+_request|get_metadata_routing", name):
        return True
    return skip


def _document_reexported_data(app, what, name, obj, options, lines):
    """Give re-exported module-level data the ``#:`` comment of the module defining it.

    autodoc reads such comments from the source of the module a name is documented in, and
    ``skvaser.SCORERS`` is defined in :mod:`skvaser.metrics`.
    """
    described = [line for line in lines if line.strip() and not line.startswith(("..", "    !!"))]
    if what != "data" or described:
        return
    from sphinx.pycode import ModuleAnalyzer

    attribute = name.rpartition(".")[2]
    for module in ("skvaser.metrics", "skvaser.datasets._synthetic", "skvaser.base"):
        docs = ModuleAnalyzer.for_module(module).find_attr_docs()
        if ("", attribute) in docs:
            lines[:0] = list(docs[("", attribute)])
            return


def _unlink_metric_names(app, doctree):
    """Keep "Recall@20" and "MRR@20" as text: docutils reads them as e-mail addresses."""
    from docutils import nodes

    for reference in list(doctree.findall(nodes.reference)):
        text = reference.astext()
        if reference.get("refuri", "").startswith("mailto:") and re.fullmatch(
            r"[^\s@]+@\d+", text
        ):
            reference.replace_self(nodes.Text(text))


def setup(app):
    app.connect("builder-inited", _check_api_page)
    app.connect("doctree-read", _unlink_metric_names)
    app.connect("autodoc-process-docstring", _document_reexported_data)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
