# The README's commands. Each target sets up what it needs in .venv and is idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch 2.13.0 is installed first, pinned, so nothing pulls a CUDA build.
TORCH := torch==2.13.0
# llama-cpp-python is compiled here for any x86-64 with AVX2 (GGML_NATIVE=OFF) and never
# taken from pip's wheel cache: a cached wheel may have been compiled with -march=native on
# another CPU (AVX-512, AMX) and die with "Illegal instruction" on this one. Keep the pin
# equal to pyproject.toml's.
LLAMA := llama-cpp-python[server]==0.3.36
# `make demo` needs these extras; the benchmarks and the tests need every one
# (bench/finetune.py: train, bench/scale_out.py: server); the demo writes with SmolLM2.
DEMO_EXTRAS := local,fusion,eval,privacy,smollm2
ALL_EXTRAS := $(DEMO_EXTRAS),train,server

.PHONY: demo test test-fast test-lowest lint format bench docs view clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# pip 25.1 is the first to install PEP 735 dependency groups (--group)
	$(BIN)/pip install --quiet --upgrade "pip>=25.1" setuptools wheel

$(VENV)/.local-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet --no-cache-dir --no-binary llama-cpp-python "$(LLAMA)"
	$(BIN)/pip install --quiet -e ".[$(DEMO_EXTRAS)]"
	touch $@

$(VENV)/.all-installed: pyproject.toml $(VENV)/.local-installed
	$(BIN)/pip install --quiet -e ".[$(ALL_EXTRAS)]"
	touch $@

# the contributors' tools: pytest, ruff, mypy, mkdocs ([dependency-groups] dev)
$(VENV)/.test-installed: pyproject.toml $(VENV)/.all-installed
	$(BIN)/pip install --quiet --group dev
	touch $@

demo: $(VENV)/.local-installed
	$(BIN)/cogenesis demo

# The whole suite, after the lint gate (ruff, format, mypy).
test: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25

# The fast tier for iterating: unit tests only (no real model, store or server).
test-fast: $(VENV)/.test-installed
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not integration" tests/unit

# The fast tier again, on the lowest versions pyproject.toml allows of the LangChain and
# LangGraph packages (each ">=X" read as "==X"): they are installed into build/lowest,
# ahead of .venv on the path; the whole suite runs on the newest.
LOWEST_PINS = $(shell $(BIN)/python -c 'import re, tomllib; deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print(" ".join(re.sub(r">=([^,]+).*", r"==\1", d) for d in deps if d.startswith(("langchain", "langgraph"))))')
test-lowest: $(VENV)/.test-installed
	rm -rf build/lowest
	$(BIN)/pip install --quiet --target build/lowest $(LOWEST_PINS)
	PYTHONPATH=build/lowest $(BIN)/python -c 'import langchain_core as c; print("langchain-core", c.__version__, "from", c.__file__)'
	PYTHONPATH=build/lowest $(BIN)/python -m pytest -q -n 2 --dist loadfile -p no:cacheprovider -m "not integration" tests/unit

# mypy cannot follow [tool.setuptools.package-dir] (graphs/ and retrievers/ are
# installed inside langchain_cogenesis), so it checks a symlinked view of the package.
TYPECHECK := build/typecheck
view:
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/langchain_cogenesis
	for entry in langchain_cogenesis/*; do ln -s "$(CURDIR)/$$entry" $(TYPECHECK)/langchain_cogenesis/; done
	ln -s "$(CURDIR)/graphs" $(TYPECHECK)/langchain_cogenesis/graphs
	ln -s "$(CURDIR)/retrievers" $(TYPECHECK)/langchain_cogenesis/retrievers

lint: $(VENV)/.test-installed view
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p langchain_cogenesis

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.all-installed
	$(BIN)/python bench/run_all.py
	# fine-tuning measured a second time on the authors' dev split (skipped where absent)
	$(BIN)/python bench/run_all.py finetune:paper -- --dataset paper --train-users 60

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache

# The guides and the API reference (mkdocs + mkdocstrings), built strictly: a warning fails.
docs: $(VENV)/.test-installed view
	$(BIN)/mkdocs build --strict --quiet
