"""One module per actor; each runs as its own process: `python -m actors.<name> --run-dir DIR`.

`base` is the runtime every actor shares. Actors import `messages` and `config`, never each
other: they talk only through the bus.
"""
