"""Every message on the Peper bus and the control socket, as msgspec Structs.

One module per domain: `market`, `signals`, `trading`, `learning`, `llm`, `system` (bus-wide
events) and `control` (the supervisor's ROUTER protocol). `topics` builds every topic string;
`codec` turns (topic, message) into one ZeroMQ frame and back.

Schema evolution rules (messages are recorded to LMDB and replayed later):
- every message derives from `base.Message` and is tagged by its class name;
- a new field needs a default, so old recordings still decode;
- a field is never renamed, retyped or removed; add a new one instead;
- a renamed class keeps its old tag (`tag="OldName"`).
Imports point one way: this package imports nothing else of Peper's.
"""
