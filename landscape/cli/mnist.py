"""Placeholder: filled in by the mnist work."""
