# floq-book: two commands on a fresh machine (needs python3.11+, make, npm; chromium for the browser check).
#   make book   build the book (default compute tier: teach) -> open _build/html/index.html
#   make test   library tests, notebooks under nbval (smoke tier), smoke-tier book build with -W,
#               the headless-browser check of that build (network blocked), and every chapter in a
#               Colab-like venv (only its install cell's packages)
# Both create or reuse the virtual environment .venv and vendor the JavaScript the pages need.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
JB_FLAGS := --all -W --keep-going
SMOKE_OUT := _build/smoke
SMOKE_HTML := $(SMOKE_OUT)/_build/html
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: book test install vendor node test-lib test-notebooks test-build test-browser test-colab clean constraints
.DEFAULT_GOAL := book

# (Re)install when the package metadata or the pinned versions change; the package itself is editable.
# constraints.txt pins every package to a tested version (pyproject.toml keeps open ranges, which Colab needs).
# uv (pinned too) installs the same pins as pip in a fraction of the time (2-core CPU, warm caches: 4 s vs 50 s);
# where uv cannot be installed or fails, pip does it.
SPEC := -c constraints.txt -e ".[book,dev,ogbench]"
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "floq-book needs Python >= 3.11 (set PYTHON=python3.11)"'
	@start=$$(date +%s); \
	(test -x $(PY) || $(PYTHON) -m venv $(VENV)) && \
	{ { $(PY) -m pip install -q -c constraints.txt uv && $(BIN)/uv pip install --python $(PY) -q $(SPEC); } || \
	  { echo "[make] uv failed (above): installing with pip"; \
	    $(PY) -m pip install -q --upgrade pip && $(PY) -m pip install -q $(SPEC); }; } && \
	echo "[make] installed floq_lite[book,dev,ogbench] into $(VENV) in $$(( $$(date +%s) - start ))s" && touch $@

install: $(VENV)/.installed

vendor: install
	@tools/vendor_assets.sh $(PY)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
node: node_modules/.package-lock.json

# JAX's persistent compilation cache (keyed on the compiled program, so never stale): a rebuild after a change to
# floq_lite re-executes the notebooks but reuses every compilation the change did not touch.
book: install vendor
	@start=$$(date +%s); \
	FLOQ_PROGRESS=0 JAX_COMPILATION_CACHE_DIR=$${JAX_COMPILATION_CACHE_DIR:-$(CURDIR)/_build/.jax-cache} \
	  JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.2 $(BIN)/jupyter-book build . $(JB_FLAGS); status=$$?; \
	echo "[make book] tier $${FLOQ_TIER:-teach}: build took $$(( $$(date +%s) - start ))s; open _build/html/index.html"; \
	exit $$status

# -k: run all five steps even if one fails, so CI reports every failure; the exit status is still nonzero.
test: install vendor node
	@$(MAKE) --no-print-directory -k test-lib test-notebooks test-build test-browser test-colab
	@echo "[make test] all checks passed"

test-lib:
	@echo "== [1/5] library tests"; start=$$(date +%s); \
	$(BIN)/pytest tests -m "not browser"; status=$$?; \
	echo "[make test] library tests: $$(( $$(date +%s) - start ))s"; exit $$status

# nbval-lax runs every cell and fails on errors; exit code 5 means "no notebooks collected". FLOQ_CHECK_LEGENDS=1:
# a figure drawn with a curve under its legend raises (floq_lite/plotting/legibility.py), here and in the smoke build.
test-notebooks:
	@echo "== [2/5] notebooks under nbval (FLOQ_TIER=smoke, <= 60 s each)"; start=$$(date +%s); \
	FLOQ_TIER=smoke FLOQ_NB_BUDGET_S=60 FLOQ_CHECK_LEGENDS=1 $(BIN)/pytest -p floq_lite._book.nb_budget --nbval-lax --nbval-cell-timeout=600 book/; status=$$?; \
	if [ $$status -eq 5 ]; then echo "(no notebooks collected)"; status=0; fi; \
	echo "[make test] notebooks: $$(( $$(date +%s) - start ))s"; exit $$status

# A notebook execution very rarely hangs with kernel and client both idle (a lost Jupyter message, seen a few times
# in dozens of builds under heavy CPU load). book/_ext/floq_exec.py executes that notebook alone again (once), dumps
# both sides' stacks while the cell hangs and logs it to $(SMOKE_OUT)/_build/notebook-hangs.jsonl; any other failure
# fails at once.
test-build:
	@echo "== [3/5] book build, smoke tier, warnings are errors -> $(SMOKE_HTML)"; start=$$(date +%s); \
	FLOQ_TIER=smoke FLOQ_EXECUTE=force FLOQ_CHECK_LEGENDS=1 FLOQ_REQUIRE_VENDORED=$${FLOQ_REQUIRE_VENDORED:-1} \
	  $(BIN)/jupyter-book build . --path-output $(SMOKE_OUT) $(JB_FLAGS); status=$$?; \
	echo "[make test] smoke build: $$(( $$(date +%s) - start ))s"; exit $$status

test-browser:
	@echo "== [4/5] headless-browser check of $(SMOKE_HTML), network blocked"; start=$$(date +%s); \
	FLOQ_BOOK_HTML=$(SMOKE_HTML) FLOQ_SCREENSHOTS=_build/screenshots $(BIN)/pytest -m browser -s tests/test_book_html.py; status=$$?; \
	echo "[make test] browser check: $$(( $$(date +%s) - start ))s"; exit $$status

# Colab gives a chapter only what its install cell installs: one fresh venv per install spec, every chapter in it.
test-colab:
	@echo "== [5/5] every chapter in a venv holding only its Colab install cell's packages (smoke tier)"; \
	start=$$(date +%s); $(PY) tools/colab_check.py --tier smoke; status=$$?; \
	echo "[make test] Colab-like check: $$(( $$(date +%s) - start ))s"; exit $$status

clean:
	rm -rf _build book/_vendor

# Refresh constraints.txt: install the newest versions the package's ranges allow into a fresh venv, then pin them.
# Run make test afterwards; commit the file only if it passes.
constraints:
	rm -rf _build/constraints-venv && $(PYTHON) -m venv _build/constraints-venv && \
	_build/constraints-venv/bin/pip install -q --upgrade pip && \
	_build/constraints-venv/bin/pip install -q uv -e ".[book,dev,ogbench]" && \
	{ head -2 constraints.txt; _build/constraints-venv/bin/pip freeze --exclude-editable | grep -v '^floq-lite'; } \
	  > constraints.new && mv constraints.new constraints.txt && echo "[make] constraints.txt refreshed"
