"""``iotcard-collector serve``: the read-only HTTP JSON API for the app, with its OpenAPI document.

The standard library's :class:`~http.server.ThreadingHTTPServer` is enough here: four GET routes, JSON out, no
sessions, no uploads; each request is one or two indexed queries through the data layer's connection pool. A
framework would add an ASGI server and dependencies without making these faster (see the benchmark for p99).

Routes: ``GET /cards`` (``company``, ``filter``, ``search``, ``limit`` ≤ 1000, ``offset``), ``GET /cards/{iccid}``,
``GET /cards/{iccid}/usage?granularity=day|month`` (``periods``: 30 days or 12 months by default),
``GET /openapi.json``, ``GET /health``. Errors are ``{"error": {"code", "message"}}`` with 400, 404, 405 or 503.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic.json_schema import models_json_schema

from ._errors import CollectorError, SettingsError, StoreError
from ._store import DEFAULT_THRESHOLDS, FILTERS, CardQuery, Store, Thresholds
from ._views import CardDetail, CardList, UsageSeries, card_detail, card_summary

__all__ = ["ApiServer", "openapi_document"]

log = logging.getLogger(__name__)

_CARD_PATH = re.compile(r"^/cards/([0-9A-Fa-f]{1,32})$")
_USAGE_PATH = re.compile(r"^/cards/([0-9A-Fa-f]{1,32})/usage$")
MAX_LIMIT = 1000


def openapi_document(version: str = "1") -> dict[str, Any]:
    """OpenAPI 3.1 for the routes above; the schemas are generated from the same models that answer."""
    _, defs = models_json_schema(
        [(CardList, "serialization"), (CardDetail, "serialization"), (UsageSeries, "serialization")],
        ref_template="#/components/schemas/{model}",
    )
    schemas = defs.get("$defs", {})
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    }

    def ok(model: str, description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        }

    def error(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    iccid = {"name": "iccid", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "iotcard collector",
            "version": version,
            "description": "Card records built from the devices' MQTT reports: read-only.",
        },
        "paths": {
            "/cards": {
                "get": {
                    "summary": "List cards, with the app's quick filters",
                    "operationId": "listCards",
                    "parameters": [
                        {"name": "company", "in": "query", "schema": {"type": "string"}},
                        {"name": "filter", "in": "query", "schema": {"type": "string", "enum": list(FILTERS)}},
                        {
                            "name": "search",
                            "in": "query",
                            "description": "part of an ICCID, IMEI, device id or device name",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
                        },
                        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
                    ],
                    "responses": {"200": ok("CardList", "a page of cards"), "400": error("a bad parameter")},
                }
            },
            "/cards/{iccid}": {
                "get": {
                    "summary": "One card: device, SIM, plan, usage totals, signal, diagnosis, bindings, alarms",
                    "operationId": "getCard",
                    "parameters": [iccid],
                    "responses": {"200": ok("CardDetail", "the card"), "404": error("no such card")},
                }
            },
            "/cards/{iccid}/usage": {
                "get": {
                    "summary": "Data used per day or per month (the collector's time zone)",
                    "operationId": "getCardUsage",
                    "parameters": [
                        iccid,
                        {
                            "name": "granularity",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["day", "month"], "default": "day"},
                        },
                        {
                            "name": "periods",
                            "in": "query",
                            "description": "how many days (default 30) or months (default 12), up to 400",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 400},
                        },
                    ],
                    "responses": {
                        "200": ok("UsageSeries", "one point per period, zero where nothing was reported"),
                        "400": error("a bad parameter"),
                        "404": error("no such card"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
            "/health": {
                "get": {
                    "summary": "The database answers",
                    "operationId": "health",
                    "responses": {"200": {"description": "ok"}, "503": error("the database does not answer")},
                }
            },
        },
        "components": {"schemas": schemas},
    }


class _BadRequest(Exception):
    pass


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _integer(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    text = _one(query, name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise _BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(text)


class ApiServer:
    """The API on ``host:port`` (port 0: any free one, see :attr:`port`); :meth:`start` serves in a thread."""

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.store = store
        self.thresholds = thresholds
        self.today = today or store.today
        self.openapi = json.dumps(openapi_document()).encode()
        api = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "iotcard-collector"
            protocol_version = "HTTP/1.1"
            # One write per response and no Nagle: a keep-alive client would otherwise wait for a delayed ACK
            # (40 ms on Linux) between the headers and the body.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                api._handle(self)

            def _refuse(self) -> None:
                api._send(self, HTTPStatus.METHOD_NOT_ALLOWED, _error("read_only", "this API is read-only: GET only"))

            do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s " + format, self.address_string(), *args)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="collector-http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # ------------------------------------------------------------ routes

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/") or "/"
        try:
            if path == "/cards":
                status, body = HTTPStatus.OK, self._cards(query)
            elif match := _CARD_PATH.match(path):
                status, body = self._card(match.group(1).upper())
            elif match := _USAGE_PATH.match(path):
                status, body = self._usage(match.group(1).upper(), query)
            elif path == "/openapi.json":
                self._send_bytes(request, HTTPStatus.OK, self.openapi)
                return
            elif path == "/health":
                status, body = HTTPStatus.OK, {"ok": True, "schema_version": self.store.schema_version()}
            else:
                status, body = HTTPStatus.NOT_FOUND, _error("not_found", f"no route {path}; see /openapi.json")
        except (_BadRequest, SettingsError) as exc:
            status, body = HTTPStatus.BAD_REQUEST, _error("bad_request", str(exc))
        except StoreError as exc:
            log.warning("API: %s", exc.message)
            status, body = HTTPStatus.SERVICE_UNAVAILABLE, _error(exc.code, exc.message)
        except CollectorError as exc:
            status, body = HTTPStatus.INTERNAL_SERVER_ERROR, _error(exc.code, exc.message)
        self._send(request, status, body)

    def _cards(self, query: dict[str, list[str]]) -> dict[str, Any]:
        wanted = _one(query, "filter")
        if wanted is not None and wanted not in FILTERS:
            raise _BadRequest(f"filter must be one of {', '.join(FILTERS)}")
        card_query = CardQuery(
            company=_one(query, "company"),
            filter=wanted,
            search=_one(query, "search"),
            limit=_integer(query, "limit", 100, 1, MAX_LIMIT),
            offset=_integer(query, "offset", 0, 0, 10**9),
        )
        today = self.today()
        total, rows = self.store.list_cards(card_query, today=today, thresholds=self.thresholds)
        listing = CardList(
            total=total,
            limit=card_query.limit,
            offset=card_query.offset,
            cards=[card_summary(row, today, self.thresholds) for row in rows],
        )
        return listing.model_dump(mode="json")

    def _card(self, iccid: str) -> tuple[HTTPStatus, dict[str, Any]]:
        record = self.store.card(iccid)
        if record is None:
            return HTTPStatus.NOT_FOUND, _error("not_found", f"no card {iccid}")
        return HTTPStatus.OK, card_detail(record, self.today(), self.thresholds).model_dump(mode="json")

    def _usage(self, iccid: str, query: dict[str, list[str]]) -> tuple[HTTPStatus, dict[str, Any]]:
        granularity = _one(query, "granularity") or "day"
        if granularity not in ("day", "month"):
            raise _BadRequest("granularity must be day or month")
        periods = _integer(query, "periods", 30 if granularity == "day" else 12, 1, 400)
        if not self.store.has_card(iccid):
            return HTTPStatus.NOT_FOUND, _error("not_found", f"no card {iccid}")
        points = self.store.usage(iccid, granularity, today=self.today(), periods=periods)
        return HTTPStatus.OK, {"iccid": iccid, "granularity": granularity, "points": points}

    def _send(self, request: BaseHTTPRequestHandler, status: HTTPStatus, body: dict[str, Any]) -> None:
        self._send_bytes(request, status, json.dumps(body, ensure_ascii=False).encode("utf-8"))

    def _send_bytes(self, request: BaseHTTPRequestHandler, status: HTTPStatus, data: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
