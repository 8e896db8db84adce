# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine:
# they create the virtual environment and install wavegen into it first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench install clean

$(BIN)/.installed: pyproject.toml setup.py wavegen/audio/wavenet/kernels/wavenet_cpu.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/wavegen recipe segan --data demo

test: $(BIN)/.installed
	$(BIN)/pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_segan.py
	$(BIN)/python benchmarks/bench_wavenet.py

clean:
	rm -rf $(VENV) exp
