# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo demo-reset shell test install bench faults eval clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

install: $(VENV)/.installed

demo: install
	$(PY) scripts/demo.py

# Forget the demo's database and Redis keys: the next `make demo` starts from nothing.
demo-reset: install
	$(PY) scripts/demo.py --reset

# A Django shell on the local settings (the first manage.py command writes a development .env).
shell: install
	$(PY) manage.py shell

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/sync.py
	$(PY) bench/limits.py
	$(PY) bench/link_preview.py
	$(PY) bench/classifier.py
	$(PY) bench/recommendations.py
	$(PY) bench/metrics.py
	$(PY) bench/pipeline.py
	$(MAKE) faults

# The seller's voice on the project's corpora of model replies (bench/corpora); any corpus:
# .venv/bin/python bench/voice.py --corpus FILE.jsonl
eval: install
	$(PY) bench/voice.py

# The fault suite (also part of `make test`), its figures written to bench/results/faults.json.
faults: install
	rm -f bench/results/faults.json
	FAULTS_RESULTS=bench/results/faults.json FAULTS_ORDERS=$${FAULTS_ORDERS:-200} $(PY) -m pytest -q -m faults tests/faults $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
