"""
Render epytext docstrings (Twisted's style) with Sphinx autodoc.

autodoc hands every docstring to ``autodoc-process-docstring`` as a list
of lines; this extension rewrites those lines from epytext into
reStructuredText in place:

- inline markup: ``C{x}`` becomes a literal, ``I{x}`` emphasis, ``B{x}``
  strong, ``L{x}`` and ``L{text<x>}`` a ``:py:obj:`` cross-reference,
  ``U{url}`` and ``U{text<url>}`` a link, ``E{lb}``/``E{rb}``/... the
  escaped character, ``M{x}`` math and ``X{x}`` emphasis;
- fields: ``@param x:``, ``@type x:``, ``@keyword x:``, ``@return:``,
  ``@rtype:``, ``@raise X:``, ``@ivar x:``, ``@cvar x:`` and ``@var x:``
  become Sphinx info fields; ``@note:``, ``@see:``, ``@warning:`` and
  ``@todo:`` become admonitions; any other field becomes a plain field;
- plain text is escaped so that characters that mean something in
  reStructuredText (``*``, ``|``, a backquote, a backslash, a trailing
  underscore) stay plain text.

Literal blocks (after a paragraph ending in ``::``) and doctest blocks
(starting with ``>>>``) are left alone, since epytext and
reStructuredText write them the same way.

``L{name}`` is resolved the way epytext tools do: first against the class
being documented, then against the globals of its module (so an imported
name links to where it is defined), then as a fully qualified name, then
against the names that the package's modules export in ``__all__``.  A
name that resolves to nothing is still shown as code, without a link; with
``nitpicky`` off that is not a warning.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sphinx.application import Sphinx
from sphinx.util.typing import ExtensionMetadata

__all__ = ["epytext_to_rst", "setup"]

# --- fields ------------------------------------------------------------------

# "@tag: body" or "@tag argument: body", the tag at the start of a line.
_FIELD = re.compile(
    r"^(?P<indent>[ \t]*)@(?P<tag>[A-Za-z]+)(?:[ \t]+(?P<arg>[^:]+?))?[ \t]*:(?P<rest>.*)$"
)

_INFO_FIELDS = {
    "param": "param",
    "parameter": "param",
    "arg": "param",
    "argument": "param",
    "type": "type",
    "keyword": "keyword",
    "kwarg": "keyword",
    "kwparam": "keyword",
    "return": "returns",
    "returns": "returns",
    "rtype": "rtype",
    "returntype": "rtype",
    "raise": "raises",
    "raises": "raises",
    "except": "raises",
    "exception": "raises",
    "ivar": "ivar",
    "cvar": "cvar",
    "var": "var",
}

_ADMONITIONS = {
    "note": "note",
    "see": "seealso",
    "seealso": "seealso",
    "warning": "warning",
    "warn": "warning",
    "todo": "note",
}

# --- inline markup -----------------------------------------------------------

_MARKUP_START = re.compile(r"(?<![A-Za-z0-9_])([A-Z])\{")

_SYMBOL_ESCAPES = {"lb": "{", "rb": "}", "at": "@", "lt": "<", "gt": ">"}

# docutils: what may come just before an inline markup start-string, and
# just after an end-string, without a separating space.
_BEFORE_MARKUP = set(" \t\n-:/'\"<([{")
_AFTER_MARKUP = set(" \t\n-.,:;!?\\/'\")]}>")

_DOTTED_NAME = re.compile(r"[A-Za-z_][\w.]*")

_LIST_ITEM = re.compile(r"^[ \t]*(?:-|\d{1,2}\.)[ \t]+\S")

_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=\W|$)")


def _escape_plain(text: str) -> str:
    """
    Escape epytext plain text so that reStructuredText reads it as plain
    text too.
    """
    text = text.replace("\\", "\\\\")
    for char in "*`|":
        text = text.replace(char, "\\" + char)
    return _TRAILING_UNDERSCORE.sub(r"\\_", text)


def _escape_role_text(text: str) -> str:
    # Inside interpreted text, only backslashes, backquotes and angle
    # brackets (which would start an explicit target) matter.
    for char in "\\`<>":
        text = text.replace(char, "\\" + char)
    return text


def _squash(text: str) -> str:
    # Markup may be wrapped over lines; inline constructs read best on one.
    return re.sub(r"\s*\n\s*", " ", text)


def _matching_brace(text: str, start: int) -> int:
    """
    The index of the C{}} closing the brace opened just before C{start},
    or -1 if it is never closed.
    """
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


@dataclass
class _Segment:
    text: str
    markup: bool


def _split_target(content: str) -> tuple[str, str]:
    """
    Split C{text<target>} into its parts; C{target} alone is both.
    """
    match = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>\s*", content)
    if match and match.group(1).strip():
        return _strip_markup(match.group(1)).strip(), match.group(2).strip()
    plain = _strip_markup(content).strip()
    return plain, plain


def _strip_markup(text: str) -> str:
    """
    The text of epytext markup without the markup, for places where
    reStructuredText cannot nest it.
    """
    out: list[str] = []
    position = 0
    for match in _MARKUP_START.finditer(text):
        if match.start() < position:
            continue
        end = _matching_brace(text, match.end())
        if end < 0:
            continue
        out.append(text[position : match.start()])
        letter, inner = match.group(1), text[match.end() : end]
        if letter == "E":
            out.append(_SYMBOL_ESCAPES.get(inner, inner))
        elif letter in "LU":
            out.append(_split_target(inner)[0])
        else:
            out.append(_strip_markup(inner))
        position = end + 1
    out.append(text[position:])
    return "".join(out)


@dataclass
class _Resolver:
    """
    Resolves the target of C{L{...}} for one docstring.

    @ivar classes: the classes enclosing the documented object, innermost
        first.
    @ivar module: the module the documented object belongs to.
    """

    classes: list[type] = field(default_factory=list)
    module: ModuleType | None = None

    @classmethod
    def for_object(cls, name: str, obj: object) -> _Resolver:
        parts = name.split(".")
        module: ModuleType | None = None
        rest: list[str] = []
        for cut in range(len(parts), 0, -1):
            candidate = sys.modules.get(".".join(parts[:cut]))
            if candidate is not None:
                module, rest = candidate, parts[cut:]
                break
        classes: list[type] = []
        current: object = module
        for part in rest:
            current = getattr(current, part, None)
            if inspect.isclass(current):
                classes.insert(0, current)
        if inspect.isclass(obj) and obj not in classes:
            classes.insert(0, obj)
        return cls(classes, module)

    def resolve(self, target: str) -> str:
        head, _, tail = target.partition(".")
        suffix = "." + tail if tail else ""
        for klass in self.classes:
            if hasattr(klass, head):
                return f"{_qualified(klass)}.{head}{suffix}"
        if self.module is not None and head in vars(self.module):
            home = _qualified(vars(self.module)[head], head, self.module)
            return home + suffix
        absolute = _resolve_absolute(target)
        if absolute is not None:
            return absolute
        exported = self._exported(head)
        if exported is not None:
            return exported + suffix
        return target

    def _exported(self, name: str) -> str | None:
        """
        The home of C{name} if exactly one module of this package exports
        an object of that name.
        """
        if self.module is None:
            return None
        package = self.module.__name__.split(".")[0]
        homes = set()
        for module_name, module in list(sys.modules.items()):
            if module is None or module_name.split(".")[0] != package:
                continue
            if name in getattr(module, "__all__", ()) and name in vars(module):
                homes.add(_qualified(vars(module)[name], name, module))
        return homes.pop() if len(homes) == 1 else None


def _qualified(value: Any, name: str = "", found_in: ModuleType | None = None) -> str:
    """
    The fully qualified name under which Sphinx documents C{value}.
    """
    if inspect.ismodule(value):
        return value.__name__
    module_name = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if (
        (inspect.isclass(value) or inspect.isroutine(value))
        and isinstance(module_name, str)
        and isinstance(qualname, str)
        and "<" not in qualname
    ):
        return f"{module_name}.{qualname}"
    # Data has no record of where it was defined: prefer the module of the
    # same package that exports it under this name.
    if found_in is None:
        return name
    package = found_in.__name__.split(".")[0]
    for module_name, module in sorted(sys.modules.items()):
        if module is None or module_name.split(".")[0] != package:
            continue
        if name in getattr(module, "__all__", ()) and vars(module).get(name) is value:
            return f"{module_name}.{name}"
    return f"{found_in.__name__}.{name}"


def _resolve_absolute(target: str) -> str | None:
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is None:
            continue
        value: object = module
        for part in parts[cut:]:
            if not hasattr(value, part):
                return None
            value = getattr(value, part)
        return target
    return None


def _render(letter: str, inner: str, resolver: _Resolver) -> _Segment:
    """
    Translate one piece of epytext inline markup.
    """
    if letter == "C":
        code = _squash(_strip_markup(inner)).strip()
        if not code:
            return _Segment("", False)
        if "`" in code or code.endswith("\\"):
            return _Segment(f":literal:`{_escape_role_text(code)}`", True)
        return _Segment(f"``{code}``", True)
    if letter in "IX":
        text = _squash(_strip_markup(inner)).strip()
        return _Segment(f"*{_escape_plain(text)}*", True) if text else _Segment("", False)
    if letter == "B":
        text = _squash(_strip_markup(inner)).strip()
        return _Segment(f"**{_escape_plain(text)}**", True) if text else _Segment("", False)
    if letter == "L":
        text, target = _split_target(_squash(inner))
        if not target:
            return _Segment(_escape_plain(text), False)
        resolved = resolver.resolve(target)
        if resolved == text:
            return _Segment(f":py:obj:`{_escape_role_text(text)}`", True)
        return _Segment(
            f":py:obj:`{_escape_role_text(text)} <{_escape_role_text(resolved)}>`", True
        )
    if letter == "U":
        text, url = _split_target(_squash(inner))
        if not url:
            return _Segment(_escape_plain(text), False)
        return _Segment(f"`{_escape_role_text(text)} <{url}>`__", True)
    if letter == "E":
        return _Segment(_escape_plain(_SYMBOL_ESCAPES.get(inner, inner)), False)
    if letter == "M":
        math = _squash(_strip_markup(inner)).strip()
        return _Segment(f":math:`{_escape_role_text(math)}`", True)
    # S{...} (symbols), G{...} (graphs) and unknown markup: keep the text.
    return _Segment(_escape_plain(_strip_markup(inner)), False)


def _inline(text: str, resolver: _Resolver) -> str:
    """
    Translate the inline markup and escape the plain text of one paragraph
    or field body.
    """
    segments: list[_Segment] = []
    position = 0
    search_from = 0
    while True:
        match = _MARKUP_START.search(text, search_from)
        if match is None:
            break
        end = _matching_brace(text, match.end())
        if end < 0:
            # Unbalanced: leave the rest as plain text.
            break
        segments.append(_Segment(_escape_plain(text[position : match.start()]), False))
        segments.append(_render(match.group(1), text[match.end() : end], resolver))
        position = search_from = end + 1
    segments.append(_Segment(_escape_plain(text[position:]), False))

    out = ""
    after_markup = False
    for segment in segments:
        if not segment.text:
            continue
        if after_markup and segment.text[0] not in _AFTER_MARKUP:
            out += "\\ "
        if segment.markup and out and out[-1] not in _BEFORE_MARKUP:
            out += "\\ "
        out += segment.text
        after_markup = segment.markup
    return out


# --- block structure ---------------------------------------------------------


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


@dataclass
class _Chunk:
    """
    Consecutive lines translated together: a paragraph, a field, or a
    verbatim block.

    @ivar prefix: the field marker that replaces the epytext one, written
        as is.
    """

    lines: list[str]
    verbatim: bool = False
    prefix: str = ""
    blank_before: bool = False


def _chunks(lines: list[str], resolver: _Resolver) -> Iterator[_Chunk]:
    chunk: _Chunk | None = None
    literal_from: int | None = None  # indent of a "::" paragraph
    list_indent: int | None = None  # indent of the bullet of a list item
    in_field = False
    field_kind = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()

        if literal_from is not None and (not stripped or _indent_of(line) > literal_from):
            # The indented block after "::", blank lines included.
            if chunk is None or not chunk.verbatim:
                if chunk is not None:
                    yield chunk
                # reStructuredText needs a blank line before the block.
                chunk = _Chunk([] if not stripped else [""], verbatim=True)
            chunk.lines.append(line)
            index += 1
            continue
        literal_from = None

        if not stripped:
            if chunk is not None:
                yield chunk
                chunk = None
            list_indent = None
            yield _Chunk([""], verbatim=True)
            index += 1
            continue

        if stripped.startswith(">>>") and chunk is None:
            # A doctest block runs to the next blank line.
            block = []
            while index < len(lines) and lines[index].strip():
                block.append(lines[index])
                index += 1
            yield _Chunk(block, verbatim=True)
            continue

        match = _FIELD.match(line)
        if match:
            if chunk is not None:
                yield chunk
            prefix, kind = _field_prefix(match, resolver)
            chunk = _Chunk(
                [match.group("rest").lstrip()],
                prefix=match.group("indent") + prefix,
                blank_before=(not in_field) or kind == "directive" or field_kind == "directive",
            )
            in_field, field_kind = True, kind
            list_indent = None
        elif _LIST_ITEM.match(line):
            # Epytext lets a list start right after a paragraph line;
            # reStructuredText needs a blank line before it.
            if chunk is not None:
                yield chunk
            chunk = _Chunk([line], blank_before=True)
            list_indent = _indent_of(line)
        elif chunk is None:
            if in_field and _indent_of(line) == 0:
                in_field = False
                field_kind = ""
            chunk = _Chunk([line])
        elif list_indent is not None and _indent_of(line) <= list_indent:
            # Text after a list, again without a blank line.
            yield chunk
            chunk = _Chunk([line], blank_before=True)
            list_indent = None
        elif chunk.prefix and _indent_of(line) <= _indent_of(chunk.prefix):
            # Epytext lets a field's continuation lines start at the
            # field's own indentation; reStructuredText needs them deeper.
            chunk.lines.append(" " * (_indent_of(chunk.prefix) + 4) + line.lstrip())
        else:
            chunk.lines.append(line)
        if stripped.endswith("::"):
            # What follows, indented deeper than the paragraph (or field),
            # is a literal block.
            literal_from = _indent_of(chunk.prefix or chunk.lines[0])
            yield chunk
            chunk = None
        index += 1
    if chunk is not None:
        yield chunk


def _field_prefix(match: re.Match[str], resolver: _Resolver) -> tuple[str, str]:
    """
    The reStructuredText marker for an epytext field, and whether it is a
    C{"field"} or a C{"directive"}.
    """
    tag = match.group("tag").lower()
    arg = (match.group("arg") or "").strip()
    if tag in _ADMONITIONS:
        return f".. {_ADMONITIONS[tag]}:: ", "directive"
    name = _INFO_FIELDS.get(tag, tag.capitalize())
    if name == "raises" and _DOTTED_NAME.fullmatch(arg):
        # Sphinx links the exception; "~" shows only its last component.
        resolved = resolver.resolve(arg)
        if resolved != arg:
            arg = "~" + resolved
    else:
        arg = arg.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`")
    return (f":{name} {arg}: " if arg else f":{name}: "), "field"


def epytext_to_rst(lines: list[str], resolver: _Resolver | None = None) -> list[str]:
    """
    Translate the lines of one epytext docstring into reStructuredText.
    """
    if resolver is None:
        resolver = _Resolver()
    out: list[str] = []
    for chunk in _chunks(lines, resolver):
        if chunk.verbatim:
            out.extend(chunk.lines)
            continue
        if chunk.blank_before and out and out[-1].strip():
            out.append("")
        text = _inline("\n".join(chunk.lines), resolver)
        converted = text.split("\n")
        converted[0] = (chunk.prefix + converted[0]).rstrip()
        out.extend(converted)
    return out


def _process_docstring(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    if not app.config.epytext_docstrings:
        return
    lines[:] = epytext_to_rst(lines, _Resolver.for_object(name, obj))


def setup(app: Sphinx) -> ExtensionMetadata:
    app.setup_extension("sphinx.ext.autodoc")
    app.add_config_value("epytext_docstrings", True, "env", types=frozenset({bool}))
    app.connect("autodoc-process-docstring", _process_docstring)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
