"""
The packaging's promises that a test can keep: one version, the installed
one; exact pins for the development tools and none in the published
metadata; a README that names every documentation page.  The built sdist
and wheel are checked by C{scripts/check_package} (CI), not here.
"""

from __future__ import annotations

import configparser
import re
from importlib import metadata
from pathlib import Path

from twisted.trial.unittest import TestCase

import stomp_twisted

TOP = Path(__file__).resolve().parent.parent


def setup_cfg() -> configparser.ConfigParser:
    """
    The project's C{setup.cfg}, parsed as setuptools reads it.
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(TOP / "setup.cfg")
    return parser


def listed(value: str) -> list[str]:
    """
    The entries of a multi-line C{setup.cfg} value, without comments.
    """
    return [line.strip() for line in value.splitlines() if line.strip() and "#" not in line[:1]]


class VersionTests(TestCase):
    """
    C{stomp_twisted.__version__} is the only place the version is written.
    """

    def test_installed_metadata_agrees(self) -> None:
        """
        The installed distribution's version is the module's: setup.cfg
        reads it from there (C{make install} refreshes the installed copy).
        """
        self.assertEqual(metadata.version("stomp_twisted"), stomp_twisted.__version__)

    def test_setup_cfg_reads_it_from_the_module(self) -> None:
        """
        setup.cfg does not repeat the version, it points at the module.
        """
        self.assertEqual(
            setup_cfg()["metadata"]["version"].strip(), "attr: stomp_twisted.__version__"
        )

    def test_it_is_a_release_version(self) -> None:
        """
        The version is a PEP 440 public version, as PyPI demands.
        """
        self.assertRegex(
            stomp_twisted.__version__, r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$"
        )


class PinTests(TestCase):
    """
    The development tools are pinned exactly in requirements-dev.txt, and
    the published metadata pins nothing.
    """

    def test_development_tools_pinned_exactly(self) -> None:
        """
        Every requirement in requirements-dev.txt is C{name==version}.
        """
        lines = (TOP / "requirements-dev.txt").read_text().splitlines()
        requirements = [line.split("#")[0].strip() for line in lines]
        requirements = [line for line in requirements if line]
        self.assertGreater(len(requirements), 5)
        loose = [r for r in requirements if not re.fullmatch(r"[A-Za-z0-9._-]+==[\w.]+", r)]
        self.assertEqual(loose, [], "requirements-dev.txt pins every tool with ==")

    def test_published_requirements_not_pinned(self) -> None:
        """
        C{install_requires} and the extras give lower bounds, never an exact
        version that would fight the user's own pins.
        """
        parser = setup_cfg()
        published = listed(parser["options"]["install_requires"])
        for extra in parser["options.extras_require"].values():
            published += listed(extra)
        self.assertIn("Twisted[tls]>=23.8", published)
        self.assertEqual([r for r in published if "==" in r], [])
        self.assertNotIn("dev", parser["options.extras_require"])

    def test_compiler_pinned_as_mypy(self) -> None:
        """
        The mypy that compiles the optional compiled decoder (setup.py's
        C{MYPYC}, fetched by pip's build) is the one that type-checks the
        sources it compiles (requirements-dev.txt).
        """
        setup_py = (TOP / "setup.py").read_text()
        compiler = re.search(r'^MYPYC = "([^"]+)"$', setup_py, re.MULTILINE)
        assert compiler is not None, "setup.py names no MYPYC"
        pins = (TOP / "requirements-dev.txt").read_text().splitlines()
        self.assertIn(compiler.group(1), pins)
        self.assertTrue(compiler.group(1).startswith("mypy=="))


class ReadmeTests(TestCase):
    """
    The README, which is also the package's long description on PyPI,
    names every documentation page.
    """

    def test_every_page_named(self) -> None:
        """
        Each page in docs/index.rst's tables of contents appears in the
        README by its file name.
        """
        index = (TOP / "docs" / "index.rst").read_text()
        pages = re.findall(r"^   ([\w-]+)$", index, re.MULTILINE)
        self.assertIn("quickstart", pages)
        readme = (TOP / "README.md").read_text()
        missing = [page for page in pages if f"{page}.rst`" not in readme]
        self.assertEqual(missing, [], "README.md's Documentation section lacks these pages")

    def test_supported_pythons_stated(self) -> None:
        """
        The README states the versions the classifiers claim (those CI
        tests), and C{python_requires} starts at the oldest of them.
        """
        classifiers = listed(setup_cfg()["metadata"]["classifiers"])
        versions = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
        self.assertIn("3.11", versions)
        self.assertEqual(setup_cfg()["options"]["python_requires"].strip(), f">={versions[0]}")
        readme = " ".join((TOP / "README.md").read_text().split())
        stated = f"tested on {', '.join(versions[:-1])} and {versions[-1]}"
        self.assertIn(stated, readme)
