"""Enable the Basalt testing fixtures, as any third-party plugin would."""

pytest_plugins = ["basalt.testing"]
