"""
The pydoctor system that builds stomp_twisted's API reference.

conf.py names it with C{--system-class}.  It changes two things in
pydoctor's defaults:

  - A public module that lists a name in C{__all__} is where that name is
    documented when the module that defines it is not API (underscored,
    or made private with C{--privacy}): C{stomp_twisted.connect}, not
    C{stomp_twisted._connect.connect}.  pydoctor itself moves a re-exported
    name only when the defining module's own C{__all__} leaves it out,
    and the private modules list what they define.
  - Twisted's names and Python's link to their documentation without
    fetching an inventory (the build has no network): a name links only
    if it imports, so a misspelt one still fails the build.  Other
    packages' names are not linked: docstrings write them as C{code}.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from functools import cache
from types import ModuleType

from pydoctor import model
from pydoctor.extensions import ExtRegistrar
from pydoctor.options import Options
from pydoctor.sphinx import SphinxInventory
from zope.interface.interface import InterfaceClass

TWISTED_API = "https://docs.twisted.org/en/stable/api/"
PYTHON_LIBRARY = "https://docs.python.org/3/library/"


def _is_public(module: model.Module) -> bool:
    return module.privacyClass is model.PrivacyClass.PUBLIC


def _publish_reexports(system: model.System) -> None:
    """
    Move each name a public module re-exports from a module that is not
    API into the public module.

    Submodules go before their packages, so that a name exported by both
    C{stomp_twisted.failover} and C{stomp_twisted} lives in the former,
    where the guides refer to it.
    """
    modules = sorted(
        system.objectsOfType(model.Module),
        key=lambda module: (-module.fullName().count("."), module.fullName()),
    )
    for module in modules:
        if module.all is None or not _is_public(module):
            continue
        for name in module.all:
            if name in module.contents:
                continue
            found = module.resolveName(name)
            if found is not None and found.parent is found.module and not _is_public(found.module):
                found.reparent(module, name)


def setup_pydoctor_extension(registrar: ExtRegistrar) -> None:
    """
    pydoctor's extension hook: run L{_publish_reexports} before pydoctor's
    own post-processing (priority 200) computes classes' bases and
    subclasses.
    """
    registrar.register_post_processor(_publish_reexports, priority=300)


def _imported(name: str) -> tuple[ModuleType, object] | None:
    """
    Import C{name}: its longest importable module prefix, then attributes.

    @return: The module and the object, or L{None} if C{name} names
        nothing.
    """
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        found: object = module
        for attribute in parts[split:]:
            found = _attribute(found, attribute)
            if found is None:
                return None
        return module, found
    return None


def _attribute(owner: object, name: str) -> object | None:
    # An interface's methods are not attributes of the interface: they are
    # found with its get().
    if isinstance(owner, InterfaceClass):
        return owner.get(name)
    return getattr(owner, name, None)


def _twisted_link(name: str, module: ModuleType, found: object) -> str:
    # Twisted's reference is pydoctor's too: a page per module and class,
    # an anchor per function, method or attribute on its parent's page.
    if isinstance(found, (ModuleType, type)):
        return f"{TWISTED_API}{name}.html"
    parent, _, attribute = name.rpartition(".")
    return f"{TWISTED_API}{parent}.html#{attribute}"


@cache
def external_link(name: str) -> str | None:
    """
    The documentation address of a Twisted or standard library name.

    @param name: A dotted name, as pydoctor expanded it from a docstring.
    @return: The address, or L{None} for a name of this package or of
        another project, or one that does not import.
    """
    root = name.partition(".")[0]
    if root == "twisted":
        imported = _imported(name)
        return None if imported is None else _twisted_link(name, *imported)
    if "." not in name:
        # Only classes: a short name may also be a local one (L{send}),
        # which pydoctor tries here before its own scopes.
        found = getattr(builtins, name, None)
        if not isinstance(found, type):
            return None
        page = "exceptions" if issubclass(found, BaseException) else "functions"
        return f"{PYTHON_LIBRARY}{page}.html#{name}"
    if root in sys.stdlib_module_names:
        imported = _imported(name)
        if imported is None:
            return None
        module = imported[0].__name__
        return f"{PYTHON_LIBRARY}{module}.html#{name}"
    return None


class ExternalLinks(SphinxInventory):
    """
    pydoctor's inventory of other projects' names, answering from
    L{external_link} when no loaded inventory knows the name.
    """

    def getLink(self, name: str) -> str | None:
        return super().getLink(name) or external_link(name)


class StompTwistedSystem(model.System):
    """
    pydoctor's system with L{ExternalLinks} and this module's extension.
    """

    custom_extensions = [__name__]

    def __init__(self, options: Options | None = None) -> None:
        super().__init__(options)
        self.intersphinx = ExternalLinks(logger=self.msg)
