"""
Sphinx configuration for the stomp_twisted documentation.

Build with warnings as errors, from the repository root::

    PYTHONPATH=. .venv/bin/python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sphinx.application import Sphinx

DOCS = Path(__file__).resolve().parent
# The package, even without PYTHONPATH, and the local extensions.
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "_ext"))

project = "stomp_twisted"
author = "the stomp_twisted authors"
copyright = "the stomp_twisted authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "epytext",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"

# In the pages, `name` (single backquotes) refers to a Python object.
default_role = "py:obj"
primary_domain = "py"
highlight_language = "python3"

# References that resolve to nothing (Twisted's classes, the standard
# library) are shown as code without a link: there is no network access for
# intersphinx, and nitpicky mode would make each of them an error.
nitpicky = False

# autodoc: docstrings are epytext, translated by _ext/epytext.py.
autodoc_member_order = "bysource"
autoclass_content = "both"
autodoc_typehints = "signature"
# Twisted's inherited docstrings (connectionMade, dataReceived, ...)
# describe Twisted's interfaces, not this package.
autodoc_inherit_docstrings = False
# Pages add :show-inheritance: where the bases say something; Sphinx 9
# would print "Bases: object" for every plain class.
autodoc_default_options = {"members": True}


# --- signatures -------------------------------------------------------------

# zope.interface classes stringify as "<InterfaceClass a.b.C>", and a
# dataclass field with a default factory as "<factory>": neither parses as
# Python, which makes Sphinx print the whole signature as raw text.
_UNPARSEABLE = re.compile(r"<InterfaceClass ([\w.]+)>|<factory>")


def _readable(text: str | None) -> str | None:
    if text is None:
        return None
    return _UNPARSEABLE.sub(lambda match: match.group(1) or "...", text)


def _process_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None]:
    if what == "class" and getattr(obj, "_is_protocol", False):
        # A typing.Protocol is not meant to be instantiated: no (*args, **kwargs).
        return "", return_annotation
    return _readable(signature), _readable(return_annotation)


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-signature", _process_signature)
