"""
stomp_twisted's test suite.  Run it with C{python -m twisted.trial test}:
plain C{trial test} finds CPython's own C{test} package instead.
"""
