"""
Run this project's trial suite and refuse a run that tested the wrong
thing.

A top-level C{test} package shares its name with CPython's regression
suite, and C{trial test} has been seen to run CPython's and report PASSED.
This wrapper checks that C{test} is ours, runs trial on it, and fails
unless trial ran tests of ours, and at least C{--min-tests} of them; it
ends with a "N passed, N failed" line that CI reads.

With C{--no-brokers} it runs the tests that need no broker, as the check
on every supported Python does (C{scripts/test_pythons}): trial runs in a
network namespace of its own (C{unshare}) whose loopback holds no broker,
with C{CI} unset, so every broker test skips through
C{test.brokers.require} and no other test can reach a broker even by
mistake; the scripted fake brokers of C{test/hostile.py} listen on that
namespace's loopback.

With C{--compiled DIR} the package is imported from C{DIR}, a build of it
with the codec compiled by mypyc (C{scripts/build_compiled}), and the
tests from this tree: the run is refused unless the decoder it imports is
the compiled one.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A shell line run inside the new network namespace: its loopback starts
#: down, and the fake brokers and test servers listen on 127.0.0.1.
LOOPBACK_UP = 'ip link set lo up && exec "$@"'


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-tests", type=int, default=500)
    parser.add_argument(
        "--no-brokers",
        action="store_true",
        help="run in a network namespace with no broker, so broker tests skip",
    )
    parser.add_argument(
        "--compiled",
        metavar="DIR",
        help="import stomp_twisted from DIR, a build with the codec compiled",
    )
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
    if args.compiled:
        compiled = os.path.abspath(args.compiled)
        env["PYTHONPATH"] = compiled + os.pathsep + env["PYTHONPATH"]
        # -P: the current directory (this tree, whose stomp_twisted is the
        # pure one) is not put first on sys.path.
        command[1:1] = ["-P"]
        if not imports_compiled(command[:2], env):
            print(f"{compiled} holds no compiled stomp_twisted decoder", file=sys.stderr)
            return 2
    if args.no_brokers:
        # A trial directory per Python, since scripts/test_pythons runs
        # several at once from the top of the tree.
        command.insert(
            -len(args.tests),
            f"--temp-directory=_trial_temp-py{sys.version_info[0]}{sys.version_info[1]}",
        )
        isolated = without_brokers(command, env)
        if isolated is None:
            return 2
        command = isolated
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


def imports_compiled(python: list[str], env: dict[str, str]) -> bool:
    """
    Whether C{python}, in C{env}, imports a compiled decoder
    (C{stomp_twisted.frame.COMPILED}).
    """
    check = "from stomp_twisted.frame import COMPILED; print(COMPILED)"
    found = subprocess.run([*python, "-c", check], env=env, capture_output=True, text=True)
    return found.returncode == 0 and found.stdout.strip() == "True"


def without_brokers(command: list[str], env: dict[str, str]) -> list[str] | None:
    """
    Wrap C{command} to run in a new network namespace, and unset C{CI} in
    C{env}: there a missing broker is the expected state, a skip and not
    a failure.

    @return: the wrapped command, or C{None} (after saying why) when this
        machine cannot make a network namespace.
    """
    env.pop("CI", None)
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if missing:
        print(f"--no-brokers needs {' and '.join(missing)} (util-linux, iproute2)", file=sys.stderr)
        return None
    wrapped = ["unshare", "--net", "--map-root-user", "sh", "-c", LOOPBACK_UP, "sh", *command]
    probe = subprocess.run([*wrapped[: -len(command)], "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(
            f"--no-brokers: cannot make a network namespace: {probe.stderr.strip()}",
            file=sys.stderr,
        )
        return None
    return wrapped


if __name__ == "__main__":
    sys.exit(main())
