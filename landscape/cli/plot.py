"""Placeholder: filled in by the plot work."""
