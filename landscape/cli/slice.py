"""Placeholder: filled in by the slice work."""
