"""Whisper (faster-whisper) on the speech regions, loaded once per worker, and the numeric and
memory conditions every model process runs under."""
