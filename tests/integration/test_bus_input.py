"""Malformed bytes on the bus are counted and dropped; the receiving actor keeps running."""

from __future__ import annotations

import zmq

from bus.endpoints import endpoints_for
from config.build import configured, topology
from messages import topics
from messages.codec import Codec
from messages.market import Clock
from messages.system import Pulse
from supervisor.harness import running_daemon

# Each starts with a prefix the sink subscribes to, as anything that reaches an actor does.
MALFORMED_FRAMES = [
    b"bench.pulse-without-a-separator",
    b"bench.pulse.unknown \x81\xa4type\xa5Pulse",
    b"bench.pulse \xff\xfe\xfd not msgpack",
    Codec().encode(topics.PULSE, Clock(bar_time=1)),  # a Clock on the Pulse topic
]


def test_malformed_frames_are_counted_and_dropped_and_the_actor_keeps_running(tmp_path):
    with running_daemon(tmp_path, configured(actors=topology("sink"))) as daemon:
        sink_pid = daemon.actor("sink").pid
        context = zmq.Context()
        publisher = context.socket(zmq.PUB)
        publisher.setsockopt(zmq.LINGER, 0)
        publisher.connect(endpoints_for(daemon.config.bus, daemon.run_dir).publish)
        try:
            # A new PUB learns the subscriptions asynchronously: resend until the sink has counted
            # one full round of bad frames (each round adds exactly len(MALFORMED_FRAMES)).
            def send_round_and_count() -> int:
                for frame in MALFORMED_FRAMES:
                    publisher.send(frame)
                return daemon.actor("sink").malformed

            counted = daemon.wait_for(lambda: send_round_and_count() >= len(MALFORMED_FRAMES), 10, "malformed counted")
            good = Codec().encode(topics.PULSE, Pulse(payload=b"ok", seq=1, src="test"))
            publisher.send(good)
            sink = daemon.wait_for(
                lambda: (s := daemon.actor("sink")).counters.pulses >= 1 and s, 10, "good frame handled"
            )
        finally:
            publisher.close()
            context.term()
        assert sink.pid == sink_pid
        assert sink.restarts == 0
        assert sink.state == "running"
        assert sink.malformed >= len(MALFORMED_FRAMES) and counted
        assert sink.msgs_in >= 1
        log = daemon.log()
        for reason in (
            "no topic separator",
            "unknown topic 'bench.pulse.unknown'",
            "undecodable payload on 'bench.pulse'",
            "Clock on 'bench.pulse', which carries Pulse",
        ):
            assert reason in log
