"""What the agent and the cloud agree on; the only part of iotcard the collector imports.

    messages     the MQTT messages and cloud commands as pydantic models, topics, JSON Schemas (docs/telemetry.md):
                 the single definition, what the collector validates with
    wire         topics, priorities, limits and plain twins of the device -> cloud messages, encoded to the same
                 bytes without pydantic (what the agent's daemon builds; tests hold them to the models)
    commands     the cloud's commands read without pydantic, to the same answers as the models
    card_state   the card's flags (low, exhausted, expiring, expired, renewal advice): one rule for agent and cloud
    errors       the root of every iotcard error tree
    mqtt         the MQTT session plumbing both sides share: broker URLs, TLS, the thread that owns a paho client

Import the submodule you need: `errors`, `card_state`, `wire` and `commands` are standard library only, so the
drivers and the agent's daemon use them without loading pydantic; `mqtt` needs paho-mqtt only.
"""
