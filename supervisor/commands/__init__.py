"""The command line, one module per command: each has `add_parser(commands, common)` and
`main(config, args) -> exit status`; `supervisor.__main__` parses, loads the config and dispatches.

`run` (the daemon, `status`, `stop`), `monitor`, `demo`, `train`, `report`, `export`, `weights`,
`policy`, `db`, `llm`.
"""
