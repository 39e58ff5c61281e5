"""The `bench` command line: the app, its error handling, one module per command."""

from bench.cli.app import app, main

__all__ = ["app", "main"]
