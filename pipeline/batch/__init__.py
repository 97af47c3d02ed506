"""The nightly batch: plan an archive's calls, hand them to workers (local processes or Ray
actors), store each outcome, show progress."""
