# hpt — developer entry points. Every target installs what it needs first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
PYTHON ?= python3
# PyTorch's build for this machine, picked by uv from PyTorch's own index: cpu, cu126, ..., auto
# (empty: the default index's torch, a CUDA build on Linux). `make install TORCH_BACKEND=cpu`.
TORCH_BACKEND ?=
# Real MNIST lives here on the development machines; elsewhere torchvision downloads it.
export HPT_DATA_DIR ?= $(if $(wildcard ../shared/datasets/MNIST/raw),$(abspath ../shared/datasets),$(HOME)/.cache/hpt/data)

.PHONY: help install demo test test-all lint format typecheck bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

install: $(STAMP)  ## .venv with hpt and its test extras (uv when it can)

# uv is much faster than pip: use the one on PATH, else bootstrap it into the venv,
# and fall back to plain pip if that fails. Re-runs only when pyproject.toml changes.
$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@set -e; \
	UV=$$(command -v uv || true); \
	if [ -z "$$UV" ]; then $(PY) -m pip install -q uv >/dev/null 2>&1 && UV=$(VENV)/bin/uv || true; fi; \
	if [ -n "$$UV" ]; then \
	  echo "installing with $$UV"; \
	  $$UV pip install -q --compile-bytecode --python $(PY) \
	    $(if $(TORCH_BACKEND),--torch-backend=$(TORCH_BACKEND)) -e '.[dev]'; \
	else \
	  echo "uv unavailable: installing with pip (slower)"; \
	  $(if $(TORCH_BACKEND),echo "pip cannot pick TORCH_BACKEND=$(TORCH_BACKEND): install uv";) \
	  $(PY) -m pip install -q --upgrade pip; \
	  $(PY) -m pip install -q -e '.[dev]'; \
	fi
	@$(PY) -m hpt.torch_check  # one line and exit 1 when torchvision was built for another torch
	@touch $(STAMP)

# Real MNIST when it is there; else the same demo on the 2,000 real images hpt ships (offline).
# DEMO adds overrides to the run and the sweep, DEMO_TRIALS / DEMO_JOBS set the sweep's budget
# and workers (tests/core/test_demo.py runs it smaller: DEMO_TRIALS=3 DEMO_JOBS=1 DEMO=...).
DEMO ?=
DEMO_TRIALS ?= 8
DEMO_JOBS ?= 2
demo: install  ## train, sweep and summarize (real MNIST, else data=mnist_tiny)
	@set -e; \
	if [ -f "$(HPT_DATA_DIR)/MNIST/raw/train-images-idx3-ubyte" ] || [ -f "$(HPT_DATA_DIR)/MNIST/raw/train-images-idx3-ubyte.gz" ]; then \
	  DATA="data.subset=12000"; \
	else \
	  echo "MNIST not found under HPT_DATA_DIR=$(HPT_DATA_DIR): running the demo on data=mnist_tiny (bundled)"; \
	  DATA="data=mnist_tiny"; \
	fi; \
	$(VENV)/bin/hpt train $${DATA/data.subset=12000/} $(DEMO); \
	$(VENV)/bin/hpt sweep search=tpe hydra.sweeper.n_trials=$(DEMO_TRIALS) hydra.sweeper.n_jobs=$(DEMO_JOBS) trainer.epochs=2 $$DATA $(DEMO) hydra.sweep.dir=outputs/sweeps/demo; \
	$(VENV)/bin/hpt summarize outputs/sweeps/demo

test: install  ## the test suite, CPU (GPU and slow tests skipped)
	$(PY) -m pytest -q

test-all: install  ## every test, slow and GPU ones too
	$(PY) -m pytest -q -m "" 

typecheck: install  ## mypy on hpt/
	$(VENV)/bin/mypy

lint: install  ## ruff check, ruff format --check, mypy (as CI)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install  ## ruff format and ruff check --fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install  ## the loop-overhead benchmark
	$(PY) benchmarks/loop_overhead.py

clean:  ## remove .venv and outputs
	rm -rf $(VENV) outputs multirun .pytest_cache .ruff_cache .mypy_cache
