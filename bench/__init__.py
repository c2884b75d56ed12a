"""
Benchmarks of stomp_twisted against live brokers (see bench/README.md).
"""
