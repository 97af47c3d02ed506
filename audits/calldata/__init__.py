"""The data contract between the pipeline and the checklist engine: the transcript, the
measurements and the call's metadata, with their file formats. Imports nothing from either side."""
