"""Command-line commands that live in their own modules.

Each module here imports `bench.cli.app` and adds its commands with
`@app.command()`; `bench.cli` imports the modules listed in its
`COMMAND_MODULES`. Like `bench.cli`, they import heavy packages only inside
the command functions.
"""
