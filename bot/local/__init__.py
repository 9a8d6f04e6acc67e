"""The local edge: files and git on disk."""
