"""Helpers the tests share: a real daemon in a subprocess, test-only actors, process checks."""
