"""The ``basalt`` command line."""
