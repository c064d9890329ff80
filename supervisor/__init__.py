"""The supervisor daemon and the `python -m supervisor` command line.

`daemon` runs the broker, control socket and process table; `process_table` and
`actors.restart_policy` keep actors alive; `broker` forwards the bus; `client` talks to a running daemon;
`run_directory` guards the private directory they share.
"""
