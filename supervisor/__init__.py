"""The supervisor daemon (`supervisor.daemon`) and the `python -m supervisor` / `peper` command line
(`supervisor.commands`, one module per command; `supervisor.__main__` parses and dispatches)."""
