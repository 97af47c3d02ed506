"""From a recording to the timing truth: decode (any container, channels apart), the ring-back
phase before the answer, speech activity per channel (Silero VAD)."""
