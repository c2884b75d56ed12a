"""
Run one workload of one client: see L{bench.workloads}.
"""

from __future__ import annotations

from bench.harness import deadline_guard, emit
from bench.workloads import parse_job


def main() -> None:
    job, deadline = parse_job()
    deadline_guard(deadline)
    if job.client == "stomp_twisted":
        from bench.workloads import twisted_client as module
    elif job.client == "stomp.py":
        from bench.workloads import stomppy_client as module  # type: ignore[no-redef]
    else:
        from bench.workloads import stompman_client as module  # type: ignore[no-redef]
    emit(module.run(job))


if __name__ == "__main__":
    main()
