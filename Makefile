# The project's commands.  `make listen` and `make test` are the README's
# quick start; both create .venv and install the project into it first.

VENV ?= .venv
PY := $(VENV)/bin/python
DESTINATION ?= /queue/demo

.PHONY: install listen demo-send test lint docs brokers clean check-package test-pythons \
	compiled test-compiled

# A normal (not editable) install: a default editable install hides
# twisted/plugins/ from twistd.  Sources run from the work tree anyway,
# since trial and the examples run from the top of it.
install: $(VENV)/.deps
	@$(PY) -m pip install -q --no-deps --force-reinstall . 2>&1 | grep -v -i -e warning -e "^ *return" || true
	@$(PY) -c 'from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))'

# The development tools come pinned from requirements-dev.txt, the
# package's own dependencies from setup.cfg.
$(VENV)/.deps: setup.cfg pyproject.toml requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt .
	touch $@

brokers:
	bash scripts/brokers start

# The main job: a listener on $(DESTINATION) of the local RabbitMQ.
# Messages go to standard output; stomp-listen sends twistd's log to
# standard error.  --pidfile= lets several listeners run at once.
listen: install
	@bash scripts/brokers start rabbitmq
	@$(VENV)/bin/twistd --nodaemon --pidfile= stomp-listen --destination $(DESTINATION)

demo-send: install
	@bash scripts/brokers start rabbitmq
	printf 'hello %s from stomp_twisted\n' 1 2 3 | $(VENV)/bin/stomp-send --lines --verbose --destination $(DESTINATION)

# The whole test suite, brokers included.
test: install
	bash scripts/brokers start
	bash scripts/brokers cluster start
	bash scripts/test

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The guides (Sphinx) and the API reference (pydoctor, which docs/conf.py
# runs within the same build, into docs/_build/html/apidocs), warnings as
# errors in both.
docs: install
	$(PY) -m sphinx -q -W --keep-going -b html docs docs/_build/html

# The sdist and wheel built, checked with twine, and the wheel installed
# into a fresh virtualenv where twistd and stomp-send must start (CI runs it).
check-package: install
	VENV=$(VENV) bash scripts/check_package

# The tests that need no broker, on every other Python version the
# classifiers claim (CI runs it; the whole suite runs on $(VENV)'s Python).
test-pythons: install
	VENV=$(VENV) bash scripts/test_pythons

# The package with its codec compiled by mypyc (setup.py's
# STOMP_TWISTED_COMPILE=1), into build/compiled/, rebuilt when a source
# changes; and the tests that need no broker run on it (CI runs them).
compiled: build/compiled/.built
build/compiled/.built: $(VENV)/.deps setup.py setup.cfg $(wildcard stomp_twisted/*.py)
	VENV=$(VENV) bash scripts/build_compiled build/compiled
	touch $@

test-compiled: compiled
	$(PY) scripts/run_trial.py --no-brokers --compiled build/compiled

clean:
	rm -rf build dist docs/_build _trial_temp* *.egg-info

# The memory benchmark (bench/README.md): 100,000 messages through a slow
# consumer, stomp_twisted against stomp.py, on the local RabbitMQ; about
# 5 minutes.  Fails if stomp_twisted's memory passes the stated bound.
.PHONY: bench-memory
bench-memory: install
	@bash scripts/brokers start rabbitmq
	$(PY) -m bench.memory

# The performance benchmarks (docs/performance.rst): stomp_twisted, stomp.py
# and stompman through the same workloads on both brokers, with the
# raw-socket ceiling and the codec micro-benchmark; about 15 minutes, or
# 2 with BENCH_ARGS=--quick.  Rewrites docs/_perf_table.rst.
.PHONY: bench
bench: install compiled
	@bash scripts/brokers start
	$(PY) -m bench.run $(BENCH_ARGS)
