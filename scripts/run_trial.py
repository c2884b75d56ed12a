"""
Run this project's trial suite and refuse a run that tested the wrong
thing.

A top-level C{test} package shares its name with CPython's regression
suite, and C{trial test} has been seen to run CPython's and report PASSED.
This wrapper checks that C{test} is ours, runs trial on it, and fails
unless trial ran tests of ours, and at least C{--min-tests} of them; it
ends with a "N passed, N failed" line that CI reads.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-tests", type=int, default=500)
    parser.add_argument("tests", nargs="*", default=["test"])
    args = parser.parse_args()
    os.chdir(TOP)
    sys.path.insert(0, TOP)
    import test

    if os.path.dirname(os.path.abspath(test.__file__)) != os.path.join(TOP, "test"):
        print(f"'test' resolves to {test.__file__}, not this project's suite", file=sys.stderr)
        return 2
    env = dict(os.environ, PYTHONPATH=TOP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, "-m", "twisted.trial", "--reporter=bwverbose", *args.tests]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    status = process.wait()
    output = "".join(lines)
    ran = re.search(r"^Ran (\d+) tests?", output, re.MULTILINE)
    ours = re.findall(r"^test\.test_\w+\.", output, re.MULTILINE)
    foreign = re.findall(r"^test\.(?!test_\w+\.\w+\.)\S+", output, re.MULTILINE)
    total = int(ran.group(1)) if ran else 0
    bad = sum(int(n) for n in re.findall(r"(?:failures|errors|unexpectedSuccesses)=(\d+)", output))
    skipped = sum(int(n) for n in re.findall(r"skips=(\d+)", output))
    print(f"{total - bad - skipped} passed, {bad} failed, {skipped} skipped")
    if status != 0:
        return status
    if not ours or total < args.min_tests:
        print(f"trial ran {total} tests, {len(ours)} of ours: not this suite", file=sys.stderr)
        return 3
    if foreign:
        print(f"trial ran tests that are not ours: {foreign[:3]}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
