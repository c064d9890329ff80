"""The bus between the daemon and its actors: where it lives (`bus.endpoints`), its CURVE keys
across hosts (`bus.curve`), and what the daemon and an actor agree on — the environment, the run
directory's layout, the control client (`bus.runtime`)."""
