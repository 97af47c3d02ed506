"""Who spoke when and who is who: turns from words and speech activity, mono diarization
(pyannote), and the agent/customer roles."""
