"""The HTTP API for the app: FastAPI (its models are pydantic, like the contract's) served by uvicorn.

Every route but ``/health`` and ``/openapi.json`` takes ``Authorization: Bearer ict_…`` (see
:mod:`iotcard.collector._access`
for tokens, roles and companies). Errors are problem documents (RFC 9457, ``application/problem+json``) with a stable
``code`` and a ``hint``; they never carry a traceback, a database URL or a host. Card and list responses have an
ETag and answer ``If-None-Match`` with 304; HEAD works wherever GET does, OPTIONS answers 204 with ``Allow``, a wrong
method 405 with ``Allow``; responses over 1 KiB are gzipped when the client accepts it; CORS for the origins given.

Routes: ``GET /cards`` (quick filters, several at once; ``sort``; offset or keyset pagination), ``GET /cards/counts``
(the badges), ``GET /cards.csv`` (the list as CSV for Excel), ``GET /cards/{iccid}``, ``GET /cards/{iccid}/usage``,
``POST /cards/{iccid}/refresh-usage|diagnose|probe`` and ``GET /cards/{iccid}/actions/{id}``, ``GET /audit``,
``GET /openapi.json``, ``GET /health``.
"""

# No "from __future__ import annotations": FastAPI reads the routes' annotations, some of them local aliases.

import base64
import hashlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args

import anyio
from fastapi import Depends, FastAPI, Header, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import Response, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from iotcard.contract.messages import CommandResultMessage, DiagnoseCommand, ProbeCommand, RefreshUsageCommand

from ._access import Principal, TokenAdmin
from ._errors import BrokerError, DeviceNotAnswering, StoreError
from ._problems import ApiProblem, CountCache, Problem
from ._store import DEFAULT_THRESHOLDS, FILTERS, SORTS, CardQuery, Store, Thresholds, aware
from ._views import SUMMARY_COLUMNS, CardDetail, CardList, UsageSeries, card_detail, card_list_json, cards_csv

__all__ = [
    "ActionOut",
    "ApiProblem",
    "CardCounts",
    "Commander",
    "ProbeRequest",
    "Problem",
    "create_app",
    "wildcard_problem",
]

log = logging.getLogger(__name__)

MAX_LIMIT = 1000
#: Threads that run the read pages (list, badges, card) in each process; see ``read`` in :func:`create_app`.
READ_THREADS = 2
FilterName = Literal["low", "exhausted", "expiring", "expired"]
SortName = Literal[
    "iccid", "-iccid", "expiry", "-expiry", "last_seen", "-last_seen", "used_bytes", "-used_bytes",
    "company", "-company", "device_name", "-device_name",
]  # fmt: skip
assert set(get_args(FilterName)) == set(FILTERS) and {s.lstrip("-") for s in get_args(SortName)} == set(SORTS)

#: Sends a command to a device and returns its result: (device id, command, seconds to wait).
Commander = Callable[[str, Any, float], CommandResultMessage]


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _problem(
    status: int, code: str, detail: str, hint: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = Problem(title=_TITLES.get(status, "Error"), status=status, code=code, detail=detail, hint=hint)
    return Response(
        body.model_dump_json().encode(), status_code=status, media_type="application/problem+json", headers=headers
    )


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "a bad parameter",
        401: "no token, or not a valid one",
        403: "the token's role or company does not allow it",
        404: "no such card (or not this company's)",
        409: "the card is not in a device",
        503: "the database or the MQTT broker is unavailable",
    }
    return {
        status: {"model": Problem, "description": described[status], "content": {"application/problem+json": {}}}
        for status in statuses
    }


class CardCounts(BaseModel):
    """How many cards match each quick filter (the app's badges), over the company's cards and the search."""

    model_config = ConfigDict(frozen=True)
    all: int
    low: int
    exhausted: int
    expiring: int
    expired: int


class ProbeRequest(BaseModel):
    """定向查询: the hosts to probe through the card, each host or host:port, at most 16."""

    model_config = ConfigDict(extra="forbid")
    targets: list[Annotated[str, Field(min_length=1, max_length=260)]] = Field(min_length=1, max_length=16)
    timeout_s: float = Field(default=10.0, gt=0, le=30, description="per target, on the device")


class ActionOut(BaseModel):
    """An action asked of a card's device, and how it ended (``pending``: no result yet; ``offline``: the command
    waits at the broker and runs when the device connects)."""

    id: int
    iccid: str
    device_id: str
    action: str
    request_id: str
    state: Literal["pending", "offline", "ok", "failed"]
    targets: list[str] | None
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    requested_at: datetime
    finished_at: datetime | None
    result_url: str


class AuditEntry(BaseModel):
    id: int
    ts: datetime
    actor: str
    company: str | None
    action: str
    iccid: str | None
    result: str
    detail: dict[str, Any] | None


class Health(BaseModel):
    ok: bool
    schema_version: int


def wildcard_problem(target: str) -> ApiProblem | None:
    """A whitelisted wildcard (``*.haiwell.com``, ``**.haiwell.com``) is a pattern the carrier matches names
    against, not a host: a probe must name a concrete host one level below it (a third-level name)."""
    host = target.split("://", 1)[-1].split("/", 1)[0]
    if "*" not in host:
        return None
    domain = host.lstrip("*.").rsplit(":", 1)[0] or "the domain"
    return ApiProblem(
        400,
        "wildcard_target",
        f"{target} is a whitelisted wildcard pattern, not a host: it cannot be probed itself",
        f"name a concrete third-level host under {domain}, e.g. ecloud.{domain} for *.{domain} or **.{domain}",
    )


def _etagged(request: Request, body: bytes, media_type: str = "application/json") -> Response:
    tag = 'W/"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Authorization, X-Company"}
    asked = request.headers.get("if-none-match", "")
    if tag in {part.strip() for part in asked.split(",")} or asked.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _cursor(sort: str, row: dict[str, Any]) -> str:
    value = row.get("sort_value") if sort.lstrip("-") != "iccid" else None
    if isinstance(value, (date, datetime)):
        value = value.isoformat()
    raw = json.dumps([sort, value, row["iccid"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str, sort: str) -> tuple[Any, str]:
    bad = ApiProblem(400, "bad_cursor", "cursor is not one this API gave out for this sort",
                     "start again without cursor, or pass next_cursor of the previous page unchanged")  # fmt: skip
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not (isinstance(decoded, list) and len(decoded) == 3 and decoded[0] == sort and isinstance(decoded[2], str)):
        raise bad
    value = decoded[1]
    kind = SORTS[sort.lstrip("-")]
    try:
        if isinstance(kind, datetime) and value is not None:
            value = datetime.fromisoformat(value)
        elif isinstance(kind, date) and value is not None:
            value = date.fromisoformat(value)
        elif (isinstance(kind, int) and not isinstance(value, int)) or (
            isinstance(kind, str) and not isinstance(value, str)
        ):
            raise ValueError(value)
    except (TypeError, ValueError):
        raise bad from None
    return value, decoded[2]


class _Methods:
    """HEAD runs GET without the body; OPTIONS (not a CORS preflight) answers 204 with ``Allow``."""

    def __init__(self, app: Any, fastapi: FastAPI) -> None:
        self.app, self.fastapi = app, fastapi

    def _allowed(self, scope: MutableMapping[str, Any]) -> set[str]:
        methods: set[str] = set()
        for route in self.fastapi.router.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                methods |= set(getattr(route, "methods", None) or ())
        if "GET" in methods:
            methods.add("HEAD")
        return methods | {"OPTIONS"} if methods else methods

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            allowed = self._allowed(scope)
            if allowed:
                allow = ", ".join(sorted(allowed)).encode()
                await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
                await send({"type": "http.response.body", "body": b""})
                return
        if method == "HEAD":
            scope = {**scope, "method": "GET"}

            async def bodiless(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    message = {**message, "body": b""}
                await send(message)

            await self.app(scope, receive, bodiless)
            return
        await self.app(scope, receive, send)


def create_app(
    store: Store,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    today: Callable[[], date] | None = None,
    commander: Commander | None = None,
    cors_origins: tuple[str, ...] = (),
    count_ttl: float = 2.0,
    action_wait: float = 20.0,
) -> FastAPI:
    """The API over ``store``. ``commander`` sends the card actions (none: they answer 503); ``count_ttl`` seconds
    the totals and badge counts are reused (0: never)."""
    access = TokenAdmin(store)
    today_of = today or store.today
    counts = CountCache(count_ttl)
    app = FastAPI(
        title="iotcard collector",
        version="2",
        description="Card records built from the devices' MQTT reports, by company; the card actions. "
        "Authorization: Bearer TOKEN (iotcard-collector tokens create).",
        docs_url=None,
        redoc_url=None,
        responses=_responses(401, 503),
    )
    known: dict[int, frozenset[str]] = {}

    # The dependencies below are async: they do no I/O (a token not in the cache is read in the threadpool), and a
    # sync one would cost a threadpool round trip of its own on every request, before the route's.
    async def single_values(request: Request) -> None:
        """A parameter the route does not know (a typo such as filters=) or given twice (filter= aside) is refused
        rather than silently ignored or one of its values kept."""
        route = request.scope.get("route")
        if not isinstance(route, APIRoute):
            return
        names = known.get(id(route))
        if names is None:
            names = frozenset(_query_names(route.dependant))
            known[id(route)] = names
        seen: set[str] = set()
        for name, _ in request.query_params.multi_items():
            if name not in names:
                raise ApiProblem(400, "bad_request", f"unknown parameter {name!r}", "see /openapi.json")
            if name in seen and name != "filter":
                raise ApiProblem(400, "bad_request", f"{name} is given more than once", f"give {name} once")
            seen.add(name)

    app.router.dependencies.append(Depends(single_values))
    bearer = HTTPBearer(auto_error=False, description="a token from `iotcard-collector tokens create`")

    async def principal(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        found = None
        if credentials is not None:
            secret = credentials.credentials
            found = access.cached(secret) or await run_in_threadpool(access.authenticate, secret)
        if found is None:
            raise ApiProblem(401, "unauthorized", "a valid API token is required",
                             "send Authorization: Bearer TOKEN (iotcard-collector tokens create)",
                             {"WWW-Authenticate": "Bearer"})  # fmt: skip
        return found

    async def scope_of(
        who: Annotated[Principal, Depends(principal)],
        company: Annotated[str | None, Query(max_length=128, description="switch company (enterprise admin)")] = None,
        x_company: Annotated[str | None, Header(max_length=128, include_in_schema=False)] = None,
    ) -> tuple[Principal, str | None]:
        try:
            return who, who.scope(company or x_company)
        except PermissionError:
            raise ApiProblem(
                403,
                "company_forbidden",
                "this token reads its own company's cards only",
                "leave out company=, or use an enterprise admin token to switch company",
            ) from None

    Scoped = Annotated[tuple[Principal, str | None], Depends(scope_of)]
    Iccid = Annotated[str, Path(pattern=r"^[0-9A-Fa-f]{1,32}$", description="the card's ICCID")]

    def visible(iccid: str, scope: str | None) -> tuple[str, str | None]:
        iccid = iccid.upper()
        exists, company = store.card_company(iccid)
        if not exists or (scope is not None and company != scope):
            raise ApiProblem(404, "not_found", f"no card {iccid}", "find it with GET /cards?search=PART")
        return iccid, company

    def list_query(
        filter: list[FilterName],
        match: str,
        search: str | None,
        sort: str,
        scope: str | None,
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> CardQuery:
        after = None
        if cursor is not None:
            if offset:
                raise ApiProblem(400, "bad_request", "cursor and offset cannot be used together",
                                 "keyset pagination: cursor only; offset pagination: offset only")  # fmt: skip
            after = _after(cursor, sort)
        return CardQuery(company=scope, search=search or None, limit=limit, offset=offset, filters=tuple(filter),
                         match=match, sort=sort, after=after)  # fmt: skip

    FilterParam = Annotated[list[FilterName], Query(description="quick filters, repeatable")]
    MatchParam = Annotated[Literal["any", "all"], Query(description="any: a card matching one; all: every one")]
    SearchParam = Annotated[
        str | None, Query(max_length=64, description="part of an ICCID, IMEI, device id or device name")
    ]
    SortParam = Annotated[SortName, Query(description="a field, - first for descending; the ICCID breaks ties")]

    # ------------------------------------------------------------ errors

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        return _problem(exc.status, exc.code, exc.detail, exc.hint, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for error in exc.errors()[:3]:
            where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body"))
            parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        return _problem(400, "bad_request", "; ".join(parts), "see /openapi.json for the parameters")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return _problem(405, "method_not_allowed", f"{request.method} is not allowed here",
                            f"allowed: {(exc.headers or {}).get('Allow', '')}", exc.headers)  # fmt: skip
        if exc.status_code == 404:
            return _problem(404, "not_found", f"no route {request.url.path}", "see /openapi.json")
        return _problem(exc.status_code, "http_error", str(exc.detail), None, exc.headers)

    @app.exception_handler(StoreError)
    async def _store_down(request: Request, exc: StoreError) -> Response:
        log.warning("API: database: %s", exc.message)  # the details stay in the log
        return _problem(503, "database_unavailable", "the database is unavailable", "try again in a moment",
                        {"Retry-After": "5"})  # fmt: skip

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("API: %s %s failed", request.method, request.url.path, exc_info=exc)
        return _problem(500, "internal_error", "the request failed inside the collector", "see the collector's log")

    # ------------------------------------------------------------ reads

    # The list, badge and card pages run on READ_THREADS threads of their own rather than in the shared threadpool
    # (40 threads): ten clients' pages at once in ten threads fought over the GIL with each other and with the
    # event loop, and each page cost more CPU the more ran at once. Card actions, which wait seconds for a device,
    # stay in the shared pool, so they never hold up a list page.
    readers = anyio.CapacityLimiter(READ_THREADS)

    async def read(work: Callable[..., Response], *args: Any) -> Response:
        return await anyio.to_thread.run_sync(work, *args, limiter=readers)

    @app.get("/health", response_model=Health, summary="The database answers", responses=_responses(503))
    def health() -> Health:
        return Health(ok=True, schema_version=store.schema_version())

    @app.get(
        "/cards",
        response_model=CardList,
        summary="List the company's cards: quick filters, search, sort, offset or keyset pages",
        responses=_responses(400, 403),
    )
    async def list_cards(
        request: Request,
        scoped: Scoped,
        filter: FilterParam = [],  # noqa: B006 (FastAPI copies defaults)
        match: MatchParam = "any",
        search: SearchParam = None,
        sort: SortParam = "iccid",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    ) -> Response:
        _, scope = scoped
        query = list_query(filter, match, search, sort, scope, limit, offset, cursor)
        return await read(list_page, request, query, scope, match, sort, limit, offset)

    def list_page(
        request: Request, query: CardQuery, scope: str | None, match: str, sort: str, limit: int, offset: int
    ) -> Response:
        day = today_of()
        query_key = ("total", scope, query.wanted(), match, query.search, day)
        total = counts.get(
            query_key,
            lambda: store.list_cards(
                CardQuery(company=scope, filters=query.wanted(), match=match, search=query.search, limit=1),
                today=day, thresholds=thresholds,
            )[0],
        )  # fmt: skip
        _, rows = store.list_cards(CardQuery(**{**_fields(query), "count": False}), today=day, thresholds=thresholds,
                                   columns=SUMMARY_COLUMNS)  # fmt: skip
        next_cursor = _cursor(sort, rows[-1]) if len(rows) == limit else None
        body = card_list_json(rows, day, thresholds, total=total, limit=limit, offset=offset, next_cursor=next_cursor)
        return _etagged(request, body)

    @app.get(
        "/cards/counts",
        response_model=CardCounts,
        summary="How many of the company's cards each quick filter shows (the badges), in one call",
        responses=_responses(400, 403),
    )
    async def card_counts(request: Request, scoped: Scoped, search: SearchParam = None) -> Response:
        return await read(counts_page, request, scoped[1], search)

    def counts_page(request: Request, scope: str | None, search: str | None) -> Response:
        day = today_of()
        found = counts.get(
            ("counts", scope, search or None, day),
            lambda: store.card_counts(CardQuery(company=scope, search=search or None), today=day,
                                      thresholds=thresholds),
        )  # fmt: skip
        return _etagged(request, CardCounts(**found).model_dump_json().encode())

    @app.get(
        "/cards.csv",
        summary="The list as CSV for Excel (UTF-8 with BOM), every page, with the list's filters and sort",
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
                   **_responses(400, 403)},
        response_class=Response,
    )  # fmt: skip
    def cards_export(
        scoped: Scoped,
        filter: FilterParam = [],  # noqa: B006
        match: MatchParam = "any",
        search: SearchParam = None,
        sort: SortParam = "iccid",
    ) -> Response:
        _, scope = scoped
        query = list_query(filter, match, search, sort, scope)
        day = today_of()
        lines = cards_csv(store.iter_cards(query, today=day, thresholds=thresholds), day, thresholds)
        return StreamingResponse(
            (line.encode("utf-8") for line in lines),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="cards-{day.isoformat()}.csv"'},
        )

    @app.get(
        "/cards/{iccid}",
        response_model=CardDetail,
        summary="One card: device, SIM, plan, usage totals, signal, diagnosis, bindings, alarms",
        responses=_responses(400, 403, 404),
    )
    async def get_card(request: Request, iccid: Iccid, scoped: Scoped) -> Response:
        return await read(card_page, request, iccid, scoped[1])

    def card_page(request: Request, iccid: str, scope: str | None) -> Response:
        iccid, _ = visible(iccid, scope)
        record = store.card(iccid)
        if record is None:
            raise ApiProblem(404, "not_found", f"no card {iccid}", "find it with GET /cards?search=PART")
        return _etagged(request, card_detail(record, today_of(), thresholds).model_dump_json().encode())

    @app.get(
        "/cards/{iccid}/usage",
        response_model=UsageSeries,
        summary="Data used per day or per month (the collector's time zone), zero where nothing was reported",
        responses=_responses(400, 403, 404),
    )
    def card_usage(
        request: Request,
        iccid: Iccid,
        scoped: Scoped,
        granularity: Literal["day", "month"] = "day",
        periods: Annotated[int | None, Query(ge=1, le=400, description="30 days or 12 months by default")] = None,
    ) -> Response:
        _, scope = scoped
        iccid, _ = visible(iccid, scope)
        count = periods or (30 if granularity == "day" else 12)
        points = store.usage(iccid, granularity, today=today_of(), periods=count)
        series = UsageSeries.model_validate({"iccid": iccid, "granularity": granularity, "points": points})
        return _etagged(request, series.model_dump_json().encode())

    @app.get(
        "/audit",
        response_model=list[AuditEntry],
        summary="The audit log of the company (admin tokens): who did what, when, and how it ended",
        responses=_responses(400, 403),
    )
    def audit(scoped: Scoped, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditEntry]:
        who, scope = scoped
        if who.role != "admin":
            raise ApiProblem(403, "forbidden_role", "the audit log is for admin tokens", "ask an admin")
        return [AuditEntry(**entry) for entry in access.audit_log(scope, limit)]

    # ------------------------------------------------------------ actions

    def act(iccid: str, scoped: tuple[Principal, str | None], name: str, build: Callable[[str], Any],
            targets: list[str] | None, wait: float, check: Callable[[], None] | None = None) -> Response:  # fmt: skip
        """Role, then company (404), then the card's device, then the request itself: in that order, so nothing
        about another company's card shows."""
        who, scope = scoped
        iccid = iccid.upper()
        if not who.may_act():
            access.audit(who, name, "forbidden", iccid=iccid)
            raise ApiProblem(403, "forbidden_role", f"a {who.role} token cannot run {name}",
                             "use an operator or admin token")  # fmt: skip
        try:
            iccid, company = visible(iccid, scope)
        except ApiProblem:
            access.audit(who, name, "not_found", iccid=iccid)
            raise
        record = store.card(iccid) or {}
        device_id = record.get("device_id")
        if device_id is None or record.get("unbound_at") is not None:
            access.audit(who, name, "no_device", company=company, iccid=iccid)
            raise ApiProblem(409, "no_device", f"card {iccid} is not in a device that reports it now",
                             "the action goes to the card's device: wait until a device reports the card")  # fmt: skip
        if check is not None:
            try:
                check()
            except ApiProblem as problem:
                access.audit(who, name, problem.code, company=company, iccid=iccid, detail={"targets": targets})
                raise
        if commander is None:
            access.audit(who, name, "unavailable", company=company, iccid=iccid)
            raise ApiProblem(503, "actions_unavailable", "this collector sends no commands to devices",
                             "start serve with --broker")  # fmt: skip
        command = build(f"api-{uuid.uuid4().hex[:20]}")
        action_id = access.start_action(who, iccid=iccid, device_id=device_id, company=company, action=name,
                                        request_id=command.request_id, targets=targets)  # fmt: skip
        try:
            result = commander(device_id, command, wait)
        except DeviceNotAnswering as exc:
            state = "offline" if exc.offline else "pending"
            access.finish_action(action_id, state, error_code=exc.code)
            access.audit(who, name, state, company=company, iccid=iccid, detail={"action": action_id})
        except BrokerError as exc:
            log.warning("API: %s for %s: %s", name, iccid, exc.message)
            access.finish_action(action_id, "failed", error_code="broker_unavailable",
                                 error_message="the MQTT broker is unavailable")  # fmt: skip
            access.audit(who, name, "broker_unavailable", company=company, iccid=iccid, detail={"action": action_id})
            raise ApiProblem(503, "broker_unavailable", "the MQTT broker is unavailable", "try again in a moment",
                             {"Retry-After": "10"}) from None  # fmt: skip
        else:
            state = "ok" if result.ok else "failed"
            access.finish_action(
                action_id,
                state,
                result=result.result,
                error_code=result.error.code if result.error else None,
                error_message=result.error.message if result.error else None,
            )
            access.audit(who, name, state, company=company, iccid=iccid, detail={"action": action_id})
        out = action_out(access.action(iccid, action_id) or {})
        status = 200 if out.state in ("ok", "failed") else 202
        return Response(out.model_dump_json().encode(), status_code=status, media_type="application/json",
                        headers={"Location": out.result_url})  # fmt: skip

    Wait = Annotated[
        float, Query(ge=0, le=60, description="seconds to wait for the device's result; then 202 and result_url")
    ]
    action_responses: dict[int | str, dict[str, Any]] = {
        202: {"model": ActionOut, "description": "no result yet: poll result_url"},
        **_responses(400, 403, 404, 409),
    }

    @app.post("/cards/{iccid}/refresh-usage", response_model=ActionOut, responses=action_responses,
              summary="流量校验: the device samples its usage counters and reports now")  # fmt: skip
    def refresh_usage(iccid: Iccid, scoped: Scoped, wait: Wait = action_wait) -> Response:
        return act(iccid, scoped, "refresh_usage", lambda rid: RefreshUsageCommand(request_id=rid), None, wait)

    @app.post("/cards/{iccid}/diagnose", response_model=ActionOut, responses=action_responses,
              summary="卡诊断: the device diagnoses the module, the SIM and the link")  # fmt: skip
    def diagnose(iccid: Iccid, scoped: Scoped, wait: Wait = action_wait) -> Response:
        return act(iccid, scoped, "diagnose", lambda rid: DiagnoseCommand(request_id=rid), None, wait)

    @app.post("/cards/{iccid}/probe", response_model=ActionOut, responses=action_responses,
              summary="定向查询: the device probes concrete hosts of the card's directed whitelist")  # fmt: skip
    def probe(iccid: Iccid, scoped: Scoped, body: ProbeRequest, wait: Wait = action_wait) -> Response:
        def check() -> None:
            for target in body.targets:
                problem = wildcard_problem(target)
                if problem is not None:
                    raise problem
            try:
                ProbeCommand(request_id="check", targets=body.targets, timeout_s=body.timeout_s)
            except ValidationError as exc:
                detail = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                hint = "give host or host:port, e.g. ecloud.haiwell.com:443"
                raise ApiProblem(400, "bad_target", detail, hint) from None

        return act(iccid, scoped, "probe",
                   lambda rid: ProbeCommand(request_id=rid, targets=body.targets, timeout_s=body.timeout_s),
                   body.targets, wait, check)  # fmt: skip

    @app.get("/cards/{iccid}/actions/{action_id}", response_model=ActionOut, responses=_responses(400, 403, 404),
             summary="An action and its result, once the device answered")  # fmt: skip
    def get_action(iccid: Iccid, action_id: Annotated[int, Path(ge=1, le=2**62)], scoped: Scoped) -> ActionOut:
        _, scope = scoped
        iccid, _ = visible(iccid, scope)
        found = access.action(iccid, action_id)
        if found is None:
            raise ApiProblem(404, "not_found", f"card {iccid} has no action {action_id}", "see the card's actions")
        return action_out(found)

    def action_out(row: dict[str, Any]) -> ActionOut:
        return ActionOut(
            id=row["id"],
            iccid=row["iccid"],
            device_id=row["device_id"],
            action=row["action"],
            request_id=row["request_id"],
            state=row["state"] if row["state"] != "timeout" else "pending",
            targets=json.loads(row["targets"]) if row.get("targets") else None,
            result=json.loads(row["result_json"]) if row.get("result_json") else None,
            error_code=row.get("error_code"),
            error_message=row.get("error_message"),
            requested_at=row["requested_at"].replace(tzinfo=UTC),
            finished_at=aware(row.get("finished_at")),
            result_url=f"/cards/{row['iccid']}/actions/{row['id']}",
        )

    # The web console (iotcard/collector/_web.py): its pages under /console and the device pictures, with the same
    # tokens.
    from ._web import mount_console

    mount_console(app, store, thresholds=thresholds, today=today_of, count_ttl=count_ttl)
    app.add_middleware(_Methods, fastapi=app)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Company"],
            expose_headers=["ETag", "Location"],
            max_age=600,
        )
    # Level 6 (zlib's default) instead of Starlette's 9: a page of 100 cards compresses about as small in a third
    # of the time (0.4 against 1.4 ms measured), and a list request costs ~12 ms of CPU in all.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    return app


def _query_names(dependant: Any) -> set[str]:
    """The query parameters a route and its dependencies declare."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _fields(query: CardQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in CardQuery.__dataclass_fields__}
