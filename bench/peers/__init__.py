"""The peers of `bench peer`, each run in a process of its own so its time and peak memory are its
own: nautilus_trader (our environment, the `bench` extra) and freqtrade (a virtual environment of
its own, made by `bench.peers.freqtrade_env` on first use). Both trade the same long-only EMA
10/20 cross with a 0.1 % fee on the same bars."""
