"""
Sphinx configuration for the stomp_twisted documentation.

One build makes both halves of the site: Sphinx the guides, pydoctor (run
by its Sphinx extension, before Sphinx reads the pages) the API reference
from the package's epytext docstrings, into C{apidocs/}.  Build with
warnings as errors, from the repository root::

    .venv/bin/python -m sphinx -q -W --keep-going -b html docs docs/_build/html

A warning of either tool fails that build: a docstring pydoctor cannot
parse or a link it cannot resolve, and (C{nitpicky}) a guide's reference
to a name of this package that the API reference does not have.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from docutils.nodes import Element, TextElement
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

DOCS = Path(__file__).resolve().parent
PACKAGE = DOCS.parent / "stomp_twisted"
# The package, even without PYTHONPATH, and the local extensions.
sys.path.insert(0, str(DOCS.parent))
sys.path.insert(0, str(DOCS / "_ext"))

project = "stomp_twisted"
author = "the stomp_twisted authors"
copyright = "the stomp_twisted authors"

extensions = [
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    # Before pydoctor's: see its docstring.
    "keep_sphinx_directives",
    "pydoctor.sphinx_ext.build_apidocs",
]

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_static_path: list[str] = []
html_theme = "alabaster"

# In the pages, `name` (single backquotes) refers to a Python object.
default_role = "py:obj"
primary_domain = "py"
highlight_language = "python3"

# --- the API reference ------------------------------------------------------

# The modules that are not API (docs/api.rst says why): pydoctor shows them
# and their contents as private, behind its "Show Private API" switch, like
# the underscored modules.
NOT_API = (
    "stomp_twisted.arguments",
    "stomp_twisted.cli_options",
    "stomp_twisted.observers",
    "stomp_twisted.reconnect",
    "stomp_twisted.resolve",
    "stomp_twisted.send",
    "stomp_twisted.tap",
)
# Public modules' internals without an underscore.
NOT_API_NAMES = ("stomp_twisted.stats.Counters",)

pydoctor_args = [
    "--project-name=stomp_twisted",
    # The header's project link leads back to the guides.
    "--project-url=../index.html",
    "--docformat=epytext",
    "--system-class=pydoctor_system.StompTwistedSystem",
    "--cls-member-order=source",
    "--warnings-as-errors",
    "--html-output={outdir}/apidocs",
    "--privacy=PRIVATE:stomp_twisted._*.**",
    *(f"--privacy=PRIVATE:{module}{names}" for module in NOT_API for names in ("", ".**")),
    *(f"--privacy=PRIVATE:{name}" for name in NOT_API_NAMES),
    str(PACKAGE),
]
# pydoctor's pages replace the placeholder apidocs/index.rst at the end of
# the build; the extension adds the objects.inv it wrote to
# intersphinx_mapping (a local file: no network), so that the guides'
# references such as :py:class:`~stomp_twisted.client.StompClient` link there.
pydoctor_url_path = "apidocs"
intersphinx_mapping: dict[str, tuple[str, tuple[str, ...]]] = {}

# A reference to a name of this package that resolves to nothing is an
# error; Twisted's and Python's names link where they import (see
# _link_external), and any other name shows as code.
# pydoctor's inventory types a module's variables as attributes: refer to
# them with :py:obj: or :py:attr:, not :py:data:.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!stomp_twisted(\.|$)).*")]


def _link_external(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: TextElement
) -> Element | None:
    """
    Link a guide's reference to a Twisted or Python name, as pydoctor
    links the docstrings' (L{pydoctor_system.external_link}).
    """
    # Imported here, not with the configuration: pydoctor registers
    # docutils directives when imported, and Sphinx must register its own
    # first.
    from pydoctor_system import external_link

    if node.get("refdomain") != "py":
        return None
    url = external_link(node["reftarget"])
    if url is None:
        return None
    reference = nodes.reference("", "", internal=False, refuri=url)
    reference += contnode
    return reference


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", _link_external)
