"""Integration tests use the basalt.testing fixtures."""

pytest_plugins = ["basalt.testing"]
