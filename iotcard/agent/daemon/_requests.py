"""The control socket's requests inside the daemon: the port check, then the CLI's dispatcher with the daemon's modem.

:class:`ControlRequests` is the handler the :class:`iotcard.agent.control.ControlServer` calls, on the socket's
request threads. It runs nothing for another modem than the one this agent owns (``OtherPort``: the CLI then opens
that port itself), serves ``usage sample`` from the agent's own meter, and hands every other command to the
dispatcher ``iotcard run`` handed the daemon, with the daemon's modem (through the modem worker), status and
defaults as values (:class:`iotcard.agent.control.Inside`).

Each request ends with a garbage collection. A command run here builds the CLI's whole argparse tree (hundreds of
objects in reference cycles) and outlives the young generations while it runs, so without it each request left its
parser for the rare full collection; in between, the garbage of dozens of requests spread over the interpreter's
arenas and the daemon's RSS rose by about 2 MB over its first few hundred requests and stayed there
(docs/benchmarks.md, "The agent daemon"). The agent froze its start-up objects (``gc.freeze`` in ``Agent.run``), so
this collection looks only at what came after start-up: well under a millisecond.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Sequence

from iotcard.agent._context import EXIT_USAGE, Context
from iotcard.agent.control import DaemonDefaults, Dispatch, Inside, same_port
from iotcard.agent.errors import OtherPort

from ._meter import MeterOwner
from ._worker import ModemWorker, WorkerModem

__all__ = ["ControlRequests"]


class ControlRequests:
    def __init__(
        self,
        *,
        worker: ModemWorker,
        meter: MeterOwner,
        defaults: DaemonDefaults,
        status: Callable[[], dict[str, object]],
        dispatch: Dispatch | None,
    ) -> None:
        self._worker = worker
        self._meter = meter
        self._defaults = defaults
        self._status = status
        self._dispatch = dispatch

    def __call__(self, argv: Sequence[str], lang: str, tty: bool, port: str | None = None) -> tuple[int, str, str]:
        """Run a CLI command here, on the modem this agent owns; OtherPort for a command about another modem."""
        own_port = self._worker.port
        sample = list(argv[:2]) == ["usage", "sample"]
        if port is not None and not same_port(port, own_port):
            if sample:
                return self._refuse_foreign_sample(port, lang, "--json" in argv)
            raise OtherPort(own_port)
        if self._dispatch is None:
            return EXIT_USAGE, "", "iotcard: error: this agent runs no CLI commands\n"

        def open_modem(named: str, baud: int) -> WorkerModem:
            # The CLI checked the port it resolved (`port`); a port the command found itself (diag's --config, a
            # client that sends none) is checked here: never answer with this modem's facts for another one.
            if port is None and not same_port(named, own_port):
                raise OtherPort(own_port)
            return WorkerModem(self._worker)

        if sample:
            # The agent samples itself; a second sampler beside it would count the same bytes twice. Sample now
            # in the agent's meter (at most once a minute however often it is asked: a commit writes to flash),
            # then show the result.
            self._meter.sample_for_cli()
            argv = ["usage", "show", *[a for a in argv[2:] if a == "--json"]]
        inside = Inside(defaults=self._defaults, open_modem=open_modem, agent_status=self._status)
        try:
            return self._dispatch(argv, lang, inside)
        finally:
            gc.collect()

    def _refuse_foreign_sample(self, port: str, lang: str, as_json: bool) -> tuple[int, str, str]:
        # Sampling beside the agent's own meter would count the same bytes twice, and the agent's meter is not
        # about the other modem: say so rather than sample something else.
        out, err = io.StringIO(), io.StringIO()
        status = Context(out=out, err=err, lang=lang, json=as_json).fail(
            "not_agent_port",
            f"the agent meters usage itself with the modem on {self._worker.port}; {port} is another modem",
            f"'iotcard usage show --port {port}' reads that modem's own counters",
            EXIT_USAGE,
        )
        return status, out.getvalue(), err.getvalue()
