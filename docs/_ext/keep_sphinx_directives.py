"""
Keep Sphinx's reST directives for the guides while pydoctor runs in the
same process.

pydoctor registers its own C{code-block}, C{code}, C{versionadded},
C{seealso}, ... with docutils when it is imported, for every document
parsed afterwards: the guides' code blocks would lose their captions and
highlighting.  Listed in conf.py's C{extensions} before pydoctor's, this
extension notes the directives Sphinx registered, and puts back the ones
pydoctor replaced once pydoctor has run (at C{builder-inited}), before
Sphinx reads a page.
"""

from __future__ import annotations

from typing import Any

from docutils.parsers.rst import Directive, directives
from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    # docutils keeps its registry in a module global, without an accessor.
    registered: dict[str, type[Directive]] = dict(directives._directives)

    def restore(app: Sphinx) -> None:
        for name, directive in registered.items():
            if directives._directives.get(name) is not directive:
                directives.register_directive(name, directive)

    # pydoctor's extension builds the API reference at priority 490.
    app.connect("builder-inited", restore, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
