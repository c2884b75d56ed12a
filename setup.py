"""
The build: setup.cfg holds the metadata; this file only adds the optional
compiled codec.

By default the package is pure Python.  With C{STOMP_TWISTED_COMPILE=1} in
the environment, the frame decoder and the header escaping (the modules a
received frame spends most of its time in) are also compiled with mypyc
from the same sources, into extension modules that Python imports in place
of them; the sources stay in the package, and the behaviour is the same.
mypyc compiles the typed Python the project already checks with mypy
(strict), so no second implementation exists to keep in step; writing the
decoder again in C would be one.  docs/performance.rst gives what it buys.
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import setup

#: The modules compiled, when compiling: the decoder and what it calls per
#: header line.
COMPILED = ["stomp_twisted/_decoder.py", "stomp_twisted/_escape.py"]

#: The compiler, pinned as requirements-dev.txt pins mypy (test_packaging
#: checks that they agree): what is compiled is what mypy checked here, not
#: whatever mypy the building machine would fetch.
MYPYC = "mypy==2.4.1"


def compiled_codec() -> dict[str, Any]:
    if os.environ.get("STOMP_TWISTED_COMPILE") != "1":
        return {}
    try:
        from mypyc.build import mypycify
    except ImportError:
        # pip's isolated build asks setuptools for what it needs
        # (setup_requires), installs it, then runs this file again.
        return {"setup_requires": [MYPYC]}
    # The project's mypy settings name a plugin the build does not need
    # (mypy-zope, for zope.interface elsewhere in the package): no
    # configuration, and the other modules' errors silenced, so that a build
    # environment need hold only mypy.  (`make lint` checks them all, with
    # the plugin.)
    return {
        "ext_modules": mypycify(
            ["--config-file=", "--follow-imports=silent", *COMPILED],
            opt_level="3",
            group_name="stomp_twisted",
        )
    }


setup(**compiled_codec())
