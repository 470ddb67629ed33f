# Diffusion Lab. Two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test bench browser clean

run: $(VENV)/.installed
	$(PY) -m streamlit run streamlit_app.py --server.port $(PORT)

test: $(VENV)/.installed-test browser
	$(PY) -m pytest

# Benchmarks print JSON; run them on a quiet machine (they compare side by side).
bench: $(VENV)/.installed
	for b in data forward sample reverse train; do $(PY) bench/$$b.py || exit 1; done

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt constraints.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt -c constraints.txt
	touch $@

# The browser tests drive a real Chromium through Playwright. Debian's package
# where apt exists (no download from a browser CDN); elsewhere Playwright's own.
browser: $(VENV)/.installed-test
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else $(PY) -m playwright install chromium; fi

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
