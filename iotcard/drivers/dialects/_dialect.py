"""A vendor dialect is a small overlay on the 3GPP TS 27.007 base.

Data first; a function only where data cannot say it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..at import Command, FinalError, FinalOk
from ..models import VendorFacts

__all__ = ["Dialect", "ModelQueries", "VendorQuery"]

FactsParser = Callable[[Sequence[str]], VendorFacts]


@dataclass(frozen=True, slots=True)
class VendorQuery:
    """A vendor command and the pure parser that turns its answer lines into :class:`VendorFacts`.

    A query that answers ERROR (firmware without it) or does not parse is skipped; the base still answers.
    ``fills`` names the :class:`VendorFacts` fields the query can give; when earlier queries already gave all of
    them the query is not sent (an empty set means: always send). ``split`` are the parts of a concatenated
    ``command``, sent one by one when the module refuses the whole line; the parser reads whichever came back.
    """

    command: Command
    parse: FactsParser
    fills: frozenset[str] = frozenset()
    split: tuple[Command, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelQueries:
    """Queries that replace the dialect's own for the models matching ``model_patterns`` (lowercase substrings of
    the ``+CGMM`` answer): one vendor's families can print the same command in different units."""

    model_patterns: tuple[str, ...]
    queries: tuple[VendorQuery, ...] | None = None
    extras: tuple[VendorQuery, ...] | None = None


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one vendor's modules differ from the base.

    ``manufacturer_patterns`` are lowercase substrings matched against the ``+CGMI``/``ATI`` answer.
    ``iccid_commands`` are tried before the base's ``+CCID``/``+ICCID``/``+CRSM`` ladder.
    ``queries`` run after the base reads and fill or refine facts (serving cell, SINR, technology).
    ``counters`` reads the module's own byte counters (the meter's second opinion).
    ``boot_urcs`` are URC prefixes that mean the module has (re)booted.
    ``model_queries`` replace ``queries`` for some model families (first match wins).
    ``extras`` read what is not about the radio link (temperature, network time, SIM slot); empty means the
    27.007 clock read only.
    ``skip_base`` names base reads the dialect answers better itself (e.g. ``"csq"`` when a query gives RSSI),
    so no command is sent whose answer would not be used.
    """

    name: str
    display_name: str
    manufacturer_patterns: tuple[str, ...] = ()
    urc_prefixes: tuple[str, ...] = ()
    extra_finals: tuple[tuple[str, FinalOk | FinalError], ...] = ()
    iccid_commands: tuple[Command, ...] = ()
    queries: tuple[VendorQuery, ...] = ()
    counters: VendorQuery | None = None
    boot_urcs: tuple[str, ...] = ()
    skip_base: frozenset[str] = field(default_factory=frozenset)
    model_queries: tuple[ModelQueries, ...] = ()
    extras: tuple[VendorQuery, ...] = ()

    def queries_for(self, model: str | None) -> tuple[VendorQuery, ...]:
        """The queries to send to ``model``: a model family's own, else the dialect's."""
        text = (model or "").lower()
        for family in self.model_queries:
            if family.queries is not None and any(pattern in text for pattern in family.model_patterns):
                return family.queries
        return self.queries

    def extras_for(self, model: str | None) -> tuple[VendorQuery, ...]:
        """The extras to read on ``model``: a model family's own, else the dialect's."""
        text = (model or "").lower()
        for family in self.model_queries:
            if family.extras is not None and any(pattern in text for pattern in family.model_patterns):
                return family.extras
        return self.extras

    def matches(self, manufacturer_text: str) -> bool:
        text = manufacturer_text.lower()
        return any(pattern in text for pattern in self.manufacturer_patterns)
