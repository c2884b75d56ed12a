"""
Check what the sdist and the wheel in a directory hold, against the work
tree: C{scripts/check_package} runs it after C{python -m build}.

The sdist must hold the documentation and the test suite, every file of
C{docs/} and C{test/} that the work tree has (so its tests run and its docs
build); the wheel must hold every module of the package and the twistd
plugin (setup.cfg lists the packages by hand, so a new subpackage left out
of that list shows here), and nothing else at the top level: no C{test}
package, no C{twisted/plugins/__init__.py} that would hide Twisted's own
plugins.  Both must carry the version written in
C{stomp_twisted/__init__.py}.  Prints one line per problem and exits 1 if
there is any.
"""

from __future__ import annotations

import ast
import sys
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

TOP = Path(__file__).resolve().parent.parent
#: Work-tree directories of caches and output, never in a distribution
#: (MANIFEST.in prunes them); trial's are _trial_temp, _trial_temp-1, ...
UNSHIPPED_DIRECTORIES = ("__pycache__", "_build", "_trial_temp", ".hypothesis")
#: What may sit at the top of the wheel besides its .dist-info directory.
WHEEL_TOP_LEVEL = {"stomp_twisted", "twisted"}


def source_version() -> str:
    """
    Read C{__version__} from C{stomp_twisted/__init__.py} without importing
    it, as setuptools' C{attr:} does.

    @raise SystemExit: if the module assigns no string to C{__version__}.
    """
    tree = ast.parse((TOP / "stomp_twisted" / "__init__.py").read_text())
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise SystemExit("stomp_twisted/__init__.py assigns no string to __version__")


def work_tree_files(directory: str, pattern: str) -> set[str]:
    """
    The files under C{directory} of the work tree matching C{pattern}, as
    POSIX paths relative to the top, leaving out caches and build output.
    """
    return {
        path.relative_to(TOP).as_posix()
        for path in (TOP / directory).rglob(pattern)
        if path.is_file()
        and not any(part.startswith(UNSHIPPED_DIRECTORIES) for part in path.relative_to(TOP).parts)
    }


def check_sdist(sdist: Path, version: str) -> list[str]:
    """
    @return: the problems with the sdist C{sdist}, if any.
    """
    prefix = f"stomp_twisted-{version}/"
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    outside = [name for name in names if not f"{name}/".startswith(prefix)]
    problems = [f"sdist: {name} is outside {prefix}" for name in outside]
    held = {name[len(prefix) :] for name in names}
    wanted = work_tree_files("docs", "*") | work_tree_files("test", "*.py")
    wanted |= {"LICENSE", "README.md", "requirements-dev.txt", "setup.cfg", "pyproject.toml"}
    problems += [f"sdist: {name} is missing" for name in sorted(wanted - held)]
    return problems


def check_wheel(wheel: Path, version: str) -> list[str]:
    """
    @return: the problems with the wheel C{wheel}, if any.
    """
    dist_info = f"stomp_twisted-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        held = set(archive.namelist())
        metadata = read_text(archive, f"{dist_info}/METADATA")
        entry_points = read_text(archive, f"{dist_info}/entry_points.txt")
    problems = []
    tops = {PurePosixPath(name).parts[0] for name in held} - {dist_info}
    problems += [f"wheel: unexpected top-level {top!r}" for top in sorted(tops - WHEEL_TOP_LEVEL)]
    wanted = work_tree_files("stomp_twisted", "*.py") | {
        "stomp_twisted/py.typed",
        "twisted/plugins/stomp_listen.py",
        f"{dist_info}/licenses/LICENSE",
    }
    problems += [f"wheel: {name} is missing" for name in sorted(wanted - held)]
    problems += [
        f"wheel: {name} must not be installed"
        for name in ("twisted/__init__.py", "twisted/plugins/__init__.py")
        if name in held
    ]
    if f"Version: {version}\n" not in metadata:
        problems.append(f"wheel: METADATA does not say Version: {version}")
    if "stomp-send = " not in entry_points:
        problems.append("wheel: no stomp-send console script in entry_points.txt")
    return problems


def read_text(archive: zipfile.ZipFile, name: str) -> str:
    """
    The text of C{name} in C{archive}, or C{""} if it holds no such file.
    """
    return archive.read(name).decode() if name in archive.namelist() else ""


def only(directory: Path, pattern: str) -> Path:
    """
    The one file in C{directory} matching C{pattern}.

    @raise SystemExit: if there is none, or more than one.
    """
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern} in {directory}, found {[f.name for f in found]}")
    return found[0]


def main(argv: list[str]) -> int:
    directory = Path(argv[1] if len(argv) > 1 else "dist")
    version = source_version()
    sdist = only(directory, "*.tar.gz")
    wheel = only(directory, "*.whl")
    problems = check_sdist(sdist, version) + check_wheel(wheel, version)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"{sdist.name}: docs/ and test/ complete; {wheel.name}: the package, the plugin, no test")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
