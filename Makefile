# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine:
# they create the virtual environment and install wavegen into it first, from the lock.
PYTHON ?= python3
VENV ?= .venv
DEMO_ARGS ?=
BIN := $(VENV)/bin
LOCK := requirements.lock
# The lock also applies inside pip's isolated build environments (pesq and wavegen build from source).
PIP_INSTALL = PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/python -m pip install --quiet

.PHONY: demo test bench install lock doctor clean samples

$(BIN)/.installed: pyproject.toml setup.py $(LOCK) wavegen/audio/wavenet/kernels/wavenet_cpu.c
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) pip
	$(PIP_INSTALL) -e ".[test]"
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/wavegen recipe segan --data demo $(DEMO_ARGS)

# The import contract (pyproject.toml, [tool.importlinter]) first, then the suite.
test: $(BIN)/.installed
	$(BIN)/lint-imports
	$(BIN)/pytest -q

# Train every demo recipe (resumable; about 70 minutes on 2 CPU cores from nothing) and copy a few
# files of each into samples/, with samples/README.md saying which command and checkpoint made them.
samples: $(BIN)/.installed
	$(BIN)/python -m wavegen.recipes.samples

doctor: $(BIN)/.installed
	$(BIN)/wavegen doctor

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_segan.py
	$(BIN)/python benchmarks/bench_wavenet.py
	$(BIN)/python benchmarks/bench_specgan.py
	$(BIN)/python benchmarks/bench_vocoder.py
	$(BIN)/python benchmarks/bench_vision.py
	$(BIN)/python benchmarks/bench_pixelcnn.py

# Re-resolve every dependency to its newest allowed release in a scratch environment, write the
# lock from it (runtime, test and build-time packages), then rebuild .venv from the new lock and
# run the tests. Commit requirements.lock only if they pass.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel cython pytest-runner
	.lock-venv/bin/python -m pip install --quiet -e ".[test]"
	{ echo "# The tested dependency set: written by \`make lock\` with $$(.lock-venv/bin/python --version) on $$(uname -sm)."; \
	  echo "# Installed as constraints (pip install -c), also for build-time packages (setuptools, cython)."; \
	  .lock-venv/bin/python -m pip freeze --all --exclude-editable | sort -f; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .lock-venv $(VENV)
	$(MAKE) test

clean:
	rm -rf $(VENV) .lock-venv exp
