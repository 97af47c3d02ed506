"""callqa's data path: audio -> speech activity -> transcript -> roles -> measurements -> audit."""

__version__ = "0.1.0"
