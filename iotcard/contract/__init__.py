"""What the agent and the cloud agree on; the only part of iotcard the collector imports.

    messages     the MQTT messages and cloud commands as pydantic models, topics, JSON Schemas (docs/telemetry.md)
    card_state   the card's flags (low, exhausted, expiring, expired, renewal advice): one rule for agent and cloud
    errors       the root of every iotcard error tree
    mqtt         the MQTT session plumbing both sides share: broker URLs, TLS, the thread that owns a paho client

Import the submodule you need: `errors` and `card_state` are standard library only, so the lowest layers (drivers)
can use them without loading pydantic; `mqtt` needs paho-mqtt only.
"""
