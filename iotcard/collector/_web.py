"""The web console: the app's 物联网卡 pages in a browser, served by the collector's API process.

:func:`mount_console` (called once by :func:`iotcard.collector._api.create_app`) mounts the pages under ``/console``
and adds
``PUT``/``GET /devices/{id}/thumbnail`` to the API. The console uses the API's tokens, companies and roles: its
login form takes an API token and keeps it in a session cookie (HttpOnly, SameSite=Strict, 12 hours; revoking the
token ends the session); ``Authorization: Bearer`` works as well. A card of another company is a 404 page, in the
list, the search, the CSV and the detail alike.

Pages are rendered here (Jinja2 templates in ``iotcard/collector/templates``), charts as inline SVG drawn on the server;
``iotcard/collector/static/console.js`` (plain JS, no framework) runs the actions and checks a 定向查询's targets as
they
are typed. Every script, style and image comes from ``iotcard/collector/static``: the console works with no internet.

The card actions (流量校验, 卡诊断, 定向查询) are the API's own routes, called in-process with the session's
token, so roles, tenancy, the wildcard rule and the audit log are exactly the API's.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import MetaData, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._access import Principal, TokenAdmin
from ._errors import StoreError
from ._problems import ApiProblem, CountCache, Problem
from ._schema import _v7_new_tables
from ._store import FILTERS, MIB, SORTS, CardQuery, Store, Thresholds
from ._views import card_detail, card_summary, cards_csv

__all__ = ["THUMBNAIL_MAX_BYTES", "mount_console", "svg_bars"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PAGE_SIZE = 50
SESSION_COOKIE = "iotcard_session"
LANG_COOKIE = "iotcard_lang"
SESSION_SECONDS = 12 * 3600
THUMBNAIL_MAX_BYTES = 512 * 1024
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_ACTIONS = ("refresh-usage", "diagnose", "probe")
_DEVICE_PATH: Any = PathParam(pattern=r"^[A-Za-z0-9._:-]{1,128}$", description="the device id its agent reports")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}

# The HMI project's picture, by device (schema 7). Queries name its columns only, so the table object of any
# metadata serves.
THUMBNAILS = _v7_new_tables(MetaData())[0]

# ---------------------------------------------------------------- words

#: key -> (中文, English). The card's flags, filters and problem codes are keys too.
TEXTS: dict[str, tuple[str, str]] = {
    "title": ("物联网卡", "IoT SIM cards"),
    "login": ("登录", "Sign in"),
    "logout": ("退出", "Sign out"),
    "token": ("API 令牌", "API token"),
    "token_help": (
        "用 iotcard-collector tokens create 创建的令牌（ict_ 开头）",
        "A token from iotcard-collector tokens create (ict_…)",
    ),
    "bad_token": ("令牌无效或已吊销", "That token is not valid or was revoked"),
    "company": ("企业", "Company"),
    "all_companies": ("全部企业", "All companies"),
    "switch": ("切换", "Switch"),
    "search": ("搜索", "Search"),
    "search_hint": ("ICCID / IMEI / 设备名称", "ICCID / IMEI / device name"),
    "all": ("全部", "All"),
    "low": ("流量不足", "Data low"),
    "exhausted": ("流量耗尽", "Data used up"),
    "expiring": ("卡临期", "Expiring"),
    "expired": ("卡到期", "Expired"),
    "data_low": ("流量不足", "Data low"),
    "data_exhausted": ("流量耗尽", "Data used up"),
    "renew_before_26th": ("26日前续费", "Renew by the 25th"),
    "renewal_paused": ("续费暂停中", "Renewals paused"),
    "usage_mismatch": ("流量不一致", "Usage mismatch"),
    "more_filters": ("更多筛选", "More filters"),
    "status": ("状态", "Status"),
    "any": ("不限", "Any"),
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "unknown": ("未知", "Unknown"),
    "carrier": ("运营商", "Carrier"),
    "plan": ("套餐", "Plan"),
    "alarm": ("告警", "Alarms"),
    "with_alarms": ("有告警", "With alarms"),
    "without_alarms": ("无告警", "Without alarms"),
    "sort": ("排序", "Sort"),
    "apply": ("筛选", "Apply"),
    "export": ("导出 CSV", "Export CSV"),
    "cards_total": ("共 {n} 张卡", "{n} cards"),
    "no_cards": ("没有符合条件的卡", "No cards match"),
    "page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "used_total": ("已用 / 总量", "Used / total"),
    "expiry": ("到期日", "Expiry"),
    "signal": ("信号", "Signal"),
    "last_seen": ("最近上报", "Last seen"),
    "device": ("设备", "Device"),
    "never": ("从未", "never"),
    "days_left": ("剩 {n} 天", "{n} days left"),
    "days_ago": ("已过 {n} 天", "{n} days ago"),
    "today": ("今天", "today"),
    "china_mobile": ("中国移动", "China Mobile"),
    "china_unicom": ("中国联通", "China Unicom"),
    "china_telecom": ("中国电信", "China Telecom"),
    "personal": ("个人设备", "Personal device"),
    "enterprise": ("企业设备", "Enterprise device"),
    "maintenance": ("维护设备", "Maintenance device"),
    "sort_iccid": ("ICCID", "ICCID"),
    "sort_-used_bytes": ("用量从高到低", "Most used first"),
    "sort_used_bytes": ("用量从低到高", "Least used first"),
    "sort_expiry": ("到期日从近到远", "Expiry, soonest first"),
    "sort_-expiry": ("到期日从远到近", "Expiry, latest first"),
    "sort_-last_seen": ("最近上报优先", "Recently seen first"),
    "sort_last_seen": ("最久未上报优先", "Longest unseen first"),
    "sort_device_name": ("设备名称", "Device name"),
    "sort_company": ("企业", "Company"),
    "back": ("返回列表", "Back to the list"),
    "card_detail": ("卡详情", "Card"),
    "device_info": ("设备信息", "Device"),
    "device_name": ("设备名称", "Name"),
    "pn": ("PN", "PN"),
    "device_type": ("设备类型", "Type"),
    "module": ("模块", "Module"),
    "no_device": ("还没有设备上报这张卡", "No device has reported this card yet"),
    "no_thumbnail": ("未上传工程缩略图", "No project picture uploaded"),
    "moved_out": (
        "该设备现在上报另一张卡：机卡分离风险",
        "That device now reports another card: the card may have been moved",
    ),
    "sim_info": ("SIM 卡信息", "SIM"),
    "card_type": ("卡类型", "Card type"),
    "sim_state": ("SIM 状态", "SIM state"),
    "plan_info": ("套餐信息", "Plan"),
    "used": ("已用", "Used"),
    "remaining": ("剩余", "Remaining"),
    "total": ("总量", "Total"),
    "overage": ("超出", "Over the plan"),
    "cycle_start": ("周期开始", "Cycle start"),
    "cycle_end": ("周期结束", "Cycle end"),
    "usable_cycles": ("可使用周期", "Usable cycles"),
    "updated": ("更新时间", "Updated"),
    "carrier_figure": ("运营商流量", "Carrier's figure"),
    "as_of": ("截至", "as of"),
    "days_30": ("近 30 天用量", "Last 30 days"),
    "months_12": ("近 12 个月用量", "Last 12 months"),
    "bindings": ("绑定记录", "Binding history"),
    "since": ("起", "since"),
    "until": ("止", "until"),
    "now": ("至今", "now"),
    "alarms": ("告警", "Alarms"),
    "no_alarms": ("无告警", "No alarms"),
    "card_moved": ("卡被移到另一台设备", "Card moved to another device"),
    "card_swapped": ("设备换了卡", "Device swapped its card"),
    "diagnosis": ("卡诊断", "Diagnosis"),
    "no_diagnosis": ("还没有诊断结果", "No diagnosis yet"),
    "hint": ("建议", "What to do"),
    "directed": ("定向查询", "Directed query"),
    "no_directed": ("还没有定向查询结果", "No directed results yet"),
    "target": ("目标", "Target"),
    "verdict": ("结果", "Verdict"),
    "reachable": ("可达", "reachable"),
    "blocked": ("被拦截", "blocked"),
    "dns_failed": ("域名解析失败", "DNS failed"),
    "tcp_failed": ("连接失败", "TCP failed"),
    "tls_failed": ("TLS 失败", "TLS failed"),
    "ok": ("正常", "OK"),
    "warning": ("警告", "Warning"),
    "error": ("错误", "Error"),
    "info": ("提示", "Info"),
    "actions": ("操作", "Actions"),
    "refresh-usage": ("流量校验", "Check usage"),
    "diagnose": ("卡诊断", "Diagnose"),
    "probe": ("定向查询", "Directed query"),
    "probe_targets": ("域名或 IP，每行一个（可带端口）", "Hosts or IPs, one a line (port optional)"),
    "probe_wildcard": (
        "{target} 是白名单通配符，不能直接查询：请填写具体的三级域名，例如 ecloud.{domain}",
        "{target} is a whitelisted wildcard, not a host: name a concrete third-level host, e.g. ecloud.{domain}",
    ),
    "run": ("查询", "Run"),
    "running": ("正在执行…", "Running…"),
    "waiting_device": ("设备尚未回应，稍后自动刷新结果…", "The device has not answered yet; waiting…"),
    "offline_queued": (
        "设备离线：命令已排队，设备上线后执行",
        "The device is offline: the command waits until it connects",
    ),
    "done": ("完成", "Done"),
    "failed": ("失败", "Failed"),
    "viewer_only": ("只读令牌不能执行操作", "A viewer token cannot run actions"),
    "renew_banner": (
        "这张卡的有效期在本月 26 日或之后结束，而运营商从 26 日起暂停续费：请在 {date} 前续费。",
        "This card's validity ends on or after the 26th, and carriers take no renewals from the 26th: renew by {date}.",
    ),
    "paused_banner": (
        "运营商续费暂停中（26 日至月底）：这张卡将在 {date} 到期，暂停结束前无法续费。",
        "Renewals are paused (the 26th to the month's end): this card ends on {date} and cannot be renewed until then.",
    ),
    "expired_banner": ("这张卡已于 {date} 到期", "This card expired on {date}"),
    "not_found": ("没有这张卡", "No such card"),
    "not_found_detail": ("这张卡不存在，或不属于你的企业。", "This card does not exist, or is not your company's."),
    "forbidden": ("无权访问", "Not allowed"),
    "company_forbidden": ("这个令牌只能查看本企业的卡", "This token reads its own company's cards only"),
    "unavailable": ("服务暂时不可用", "Temporarily unavailable"),
    "unavailable_detail": ("数据库暂时无法访问，请稍后再试。", "The database is unavailable; try again in a moment."),
    "internal": ("出错了", "Something went wrong"),
    "internal_detail": (
        "请求在采集服务内部失败，详情见服务日志。",
        "The request failed inside the collector; see its log.",
    ),
    "forbidden_role": ("只读令牌不能执行操作", "A viewer token cannot run actions"),
    "wildcard_target": (
        "通配符不能直接查询，请填写具体的三级域名",
        "A wildcard cannot be probed: name a concrete third-level host",
    ),
    "no_device_action": ("这张卡当前不在任何上报它的设备里", "The card is not in a device that reports it now"),
    "actions_unavailable": ("采集服务未连接 MQTT，不能下发命令", "This collector sends no commands (no broker)"),
    "broker_unavailable": ("MQTT 服务器不可用，请稍后再试", "The MQTT broker is unavailable; try again"),
    "bad_target": ("目标格式不对：主机或主机:端口", "A target is host or host:port"),
    "times_in": ("时间为 {zone}", "Times in {zone}"),
    "language": ("English", "中文"),
    "MB": ("MB", "MB"),
    "records": ("条", ""),
}
_PROBLEM_TEXT = {"no_device": "no_device_action"}


def _lang_of(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in ("zh", "en"):
        return asked
    header = request.headers.get("accept-language", "")
    best, best_q = "zh", -1.0
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = name.strip().lower()[:2]
        if code in ("zh", "en") and quality > best_q:
            best, best_q = code, quality
    return best


def _translator(lang: str) -> Callable[..., str]:
    index = 0 if lang == "zh" else 1

    def t(key: str, **values: Any) -> str:
        text = TEXTS.get(key, (key, key))[index]
        return text.format(**values) if values else text

    return t


# ---------------------------------------------------------------- figures


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    if value >= 1024 * MIB:
        return f"{value / (1024 * MIB):.2f} GB"
    return f"{value / MIB:.1f} MB" if value >= MIB // 10 or value == 0 else f"{value / 1024:.1f} KB"


def svg_bars(points: list[dict[str, Any]], *, label_every: int, label: Callable[[str], str], title: str) -> Markup:
    """A bar chart of ``points`` (period, total_bytes) as inline SVG: one bar per period with its figure as a
    tooltip, the largest figure on the axis, every ``label_every``-th period labelled."""
    width, height, left, right, bottom, top = 480, 220, 62, 18, 24, 12
    plot_w, plot_h = width - left - right, height - bottom - top
    highest = max((int(p["total_bytes"]) for p in points), default=0)
    scale = _nice(highest)
    slot = plot_w / max(len(points), 1)
    bar = max(slot * 0.7, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f"<title>{html.escape(title)}</title>",
    ]
    for step in range(5):
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{html.escape(_axis(scale * step / 4))}</text>"
        )
    for number, point in enumerate(points):
        value = int(point["total_bytes"])
        bar_h = 0.0 if scale == 0 else plot_h * value / scale
        x = left + slot * number + (slot - bar) / 2
        y = top + plot_h - bar_h
        text = f"{point['period']}: {_size(value)}"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(bar_h, 0.0):.1f}" '
            f'data-period="{html.escape(point["period"])}" data-bytes="{value}">'
            f"<title>{html.escape(text)}</title></rect>"
        )
        if (len(points) - 1 - number) % label_every == 0:  # counted from the latest, which always has one
            parts.append(
                f'<text class="axis" x="{left + slot * number + slot / 2:.1f}" y="{height - 6}" '
                f'text-anchor="middle">{html.escape(label(point["period"]))}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: int) -> float:
    """The axis' top: 1, 2 or 5 times a power of ten, in MB, at or above ``value``."""
    if value <= 0:
        return 0.0
    mb = value / MIB
    power = 10 ** math.floor(math.log10(mb)) if mb > 0 else 1
    for factor in (1, 2, 5, 10):
        if mb <= factor * power:
            return factor * power * MIB
    return 10 * power * MIB


def _axis(value: float) -> str:
    mb = value / MIB
    if mb >= 1024:
        return f"{mb / 1024:g} GB"
    return f"{mb:.3g} MB" if mb else "0"


def signal_svg(bars: float | None) -> Markup:
    """Five rising bars, as many filled as the card's average (0-5); hollow when nothing was measured."""
    filled = -1 if bars is None else round(bars)
    parts = ['<svg class="signal" viewBox="0 0 20 14" width="20" height="14" aria-hidden="true">']
    for n in range(5):
        h = 3 + n * 2.5
        state = "on" if n < filled else "off"
        parts.append(f'<rect class="{state}" x="{n * 4}" y="{14 - h}" width="3" height="{h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------- the console


@dataclass
class _Page:
    """What every page's template gets."""

    request: Request
    lang: str
    who: Principal | None
    base: str


class _Refused(Exception):
    """A console page that cannot be shown: its status, title key and detail key (an HTML page, no traceback)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(title)
        self.status, self.title, self.detail = status, title, detail


class _Login(Exception):
    """No session: the login page, then back to ``next``."""


def mount_console(
    app: FastAPI,
    store: Store,
    *,
    thresholds: Thresholds,
    today: Callable[[], date],
    count_ttl: float = 2.0,
) -> None:
    """Mount the console at ``/console`` on the API ``app`` and add the thumbnail routes to the API."""
    access = TokenAdmin(store)
    counts = CountCache(count_ttl)
    choices_cache = CountCache(30.0)  # the filter menus: carriers and plans change rarely
    app.include_router(_thumbnail_api(store, access))

    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(size=_size, signal_svg=signal_svg)
    templates = Jinja2Templates(env=environment)
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    router = APIRouter()

    def who_of(request: Request) -> Principal | None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else request.cookies.get(SESSION_COOKIE, "")
        return access.authenticate(token) if token else None

    def token_of(request: Request) -> str:
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header[:7].lower() == "bearer " else request.cookies.get(SESSION_COOKIE, "")

    def page_of(request: Request, *, login: bool = True) -> _Page:
        who = who_of(request)
        if who is None and login:
            raise _Login()
        return _Page(request, _lang_of(request), who, str(request.scope.get("root_path", "")).rstrip("/"))

    def render(page: _Page, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        t = _translator(page.lang)
        response = templates.TemplateResponse(
            page.request,
            name,
            {
                "t": t,
                "lang": page.lang,
                "who": page.who,
                "base": page.base,
                "zone": store.zone.key,
                "local": lambda value: _local(value, store),
                "lang_link": _with(page.request, lang="en" if page.lang == "zh" else "zh"),
                **context,
            },
            status_code=status,
            headers=_SECURITY_HEADERS,
        )
        if page.request.query_params.get("lang") in ("zh", "en"):
            response.set_cookie(LANG_COOKIE, page.lang, max_age=365 * 86400, samesite="strict", httponly=True)
        return response

    def scope_of(request: Request, who: Principal) -> str | None:
        asked = (request.query_params.get("company") or "")[:128] or None
        try:
            return who.scope(asked)
        except PermissionError:
            raise _Refused(403, "forbidden", "company_forbidden") from None

    # ------------------------------------------------------------ session

    @router.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return RedirectResponse(f"{page_of(request, login=False).base}/cards", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        page = page_of(request, login=False)
        return render(page, "login.html", next=_safe_next(request.query_params.get("next"), page.base), failed=False)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        page = page_of(request, login=False)
        form = parse_qs((await request.body())[:4096].decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0].strip()
        target = _safe_next((form.get("next") or [""])[0], page.base)
        found = access.authenticate(token) if token else None
        if found is None:
            return render(page, "login.html", status=401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse(f"{page_of(request, login=False).base}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # ------------------------------------------------------------ the list

    def list_filters(request: Request, scope: str | None) -> tuple[CardQuery, dict[str, Any]]:
        params = request.query_params
        quick = [name for name in params.getlist("filter") if name in FILTERS][:1]
        search = (params.get("q") or "").strip()[:64] or None
        sort = params.get("sort") or "iccid"
        if sort.lstrip("-") not in SORTS:
            sort = "iccid"
        try:
            number = max(1, min(int(params.get("page") or 1), 10**6))
        except ValueError:
            number = 1
        status = params.get("status") if params.get("status") in ("online", "offline") else None
        alarm = params.get("alarm") if params.get("alarm") in ("yes", "no") else None
        extra = {
            "online": None if status is None else status == "online",
            "carrier": (params.get("carrier") or "")[:32] or None,
            "plan": (params.get("plan") or "")[:128] or None,
            "alarm": None if alarm is None else alarm == "yes",
        }
        query = CardQuery(
            company=scope,
            search=search,
            filters=tuple(quick),
            sort=sort,
            limit=PAGE_SIZE,
            offset=(number - 1) * PAGE_SIZE,
        )
        shown = {
            "filter": quick[0] if quick else None,
            "q": search or "",
            "sort": sort,
            "page": number,
            "status": status,
            "alarm": alarm,
            "carrier": extra["carrier"],
            "plan": extra["plan"],
        }
        return query, {"extra": extra, "shown": shown}

    @router.get("/cards", response_class=HTMLResponse)
    def cards(request: Request) -> Response:
        page = page_of(request)
        assert page.who is not None
        scope = scope_of(request, page.who)
        query, parsed = list_filters(request, scope)
        extra, shown = parsed["extra"], parsed["shown"]
        day = today()
        key = (scope, query.wanted(), query.search, tuple(sorted(extra.items())), day)
        badges = counts.get(
            ("counts", scope, query.search, day),
            lambda: store.card_counts(CardQuery(company=scope, search=query.search), today=day, thresholds=thresholds),
        )
        if any(value is not None for value in extra.values()):
            total = counts.get(
                ("total", *key),
                lambda: store.list_cards_by(
                    CardQuery(company=scope, search=query.search, filters=query.wanted(), limit=1),
                    today=day,
                    thresholds=thresholds,
                    **extra,
                )[0],
            )
        else:  # one quick filter or none: its badge is the total, and one scan counted both
            total = int(badges[query.wanted()[0] if query.wanted() else "all"])
        _, rows = store.list_cards_by(
            CardQuery(**{**_fields(query), "count": False}), today=day, thresholds=thresholds, **extra
        )
        menus = choices_cache.get(("choices", scope), lambda: store.card_choices(scope))
        listed = []
        for row in rows:
            summary = card_summary(row, day, thresholds)
            listed.append({"card": summary, "bars": row.get("bars"), "alarm": False})
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return render(
            page,
            "cards.html",
            cards=listed,
            total=total,
            badges=badges,
            shown=shown,
            page_number=shown["page"],
            pages=pages,
            scope=scope,
            menus=menus,
            sorts=[
                "iccid",
                "-used_bytes",
                "used_bytes",
                "expiry",
                "-expiry",
                "-last_seen",
                "last_seen",
                "device_name",
                *(["company"] if page.who.enterprise else []),
            ],
            link=lambda **changes: _with(request, **changes),
            csv_link=f"{page.base}/cards.csv?{_query(request, drop=('page', 'lang'))}",
            today=day,
        )

    @router.get("/cards.csv")
    def export(request: Request) -> Response:
        page = page_of(request)
        assert page.who is not None
        scope = scope_of(request, page.who)
        query, parsed = list_filters(request, scope)
        day = today()

        def every() -> Iterator[dict[str, Any]]:
            after = None
            while True:
                chunk = CardQuery(**{**_fields(query), "limit": 1000, "offset": 0, "after": after, "count": False})
                _, rows = store.list_cards_by(chunk, today=day, thresholds=thresholds, **parsed["extra"])
                yield from rows
                if len(rows) < 1000:
                    return
                after = (rows[-1].get("sort_value"), rows[-1]["iccid"])

        lines = cards_csv(every(), day, thresholds)
        return StreamingResponse(
            (line.encode("utf-8") for line in lines),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="cards-{day.isoformat()}.csv"',
                "Cache-Control": "private, no-store",
            },
        )

    # ------------------------------------------------------------ one card

    def visible_card(iccid: str, scope: str | None) -> str:
        iccid = iccid.upper()
        if not iccid.isalnum() or len(iccid) > 32:
            raise _Refused(404, "not_found", "not_found_detail")
        exists, company = store.card_company(iccid)
        if not exists or (scope is not None and company != scope):
            raise _Refused(404, "not_found", "not_found_detail")
        return iccid

    @router.get("/cards/{iccid}", response_class=HTMLResponse)
    def card(request: Request, iccid: str) -> Response:
        page = page_of(request)
        assert page.who is not None
        scope = scope_of(request, page.who)
        iccid = visible_card(iccid, scope)
        record = store.card(iccid)
        if record is None:
            raise _Refused(404, "not_found", "not_found_detail")
        day = today()
        detail = card_detail(record, day, thresholds)
        t = _translator(page.lang)
        days = store.usage(iccid, "day", today=day, periods=30)
        months = store.usage(iccid, "month", today=day, periods=12)
        thumbnail = _thumbnail_tag(store, detail.device.device_id) if detail.device else None
        return render(
            page,
            "card.html",
            card=detail,
            thumbnail=thumbnail,
            day_chart=svg_bars(days, label_every=7, label=lambda p: p[5:], title=t("days_30")),
            month_chart=svg_bars(months, label_every=1, label=_month_label(page.lang), title=t("months_12")),
            day_total=sum(int(p["total_bytes"]) for p in days),
            month_total=sum(int(p["total_bytes"]) for p in months),
            may_act=page.who.may_act(),
            company=scope if page.who.enterprise and scope else "",
            list_link=f"{page.base}/cards"
            + (("?" + urlencode({"company": scope})) if page.who.enterprise and scope else ""),
            updated_key=str(detail.usage_reported_at or "") + str(detail.used_bytes),
            today=day,
        )

    @router.get("/devices/{device_id}/thumbnail")
    def console_thumbnail(request: Request, device_id: str) -> Response:
        page = page_of(request)
        assert page.who is not None
        return _thumbnail_response(store, device_id, scope_of(request, page.who), request)

    # ------------------------------------------------------------ actions (the API's routes, in-process)

    @router.post("/cards/{iccid}/actions/{name}")
    async def act(request: Request, iccid: str, name: str) -> Response:
        if request.headers.get("x-console") != "1":  # a cross-site form cannot set it (CSRF)
            return JSONResponse({"message": "forbidden"}, status_code=403)
        page = page_of(request, login=False)
        if page.who is None:
            return JSONResponse({"message": _translator(page.lang)("bad_token")}, status_code=401)
        if name not in _ACTIONS or not iccid.isalnum() or len(iccid) > 32:
            return JSONResponse({"message": _translator(page.lang)("not_found")}, status_code=404)
        body = (await request.body())[:16384] if name == "probe" else b""
        query = {"wait": "15", **_company(request)}
        status, answer = await _call(app, "POST", f"/cards/{iccid}/{name}", query, token_of(request), body)
        return _answer(status, answer, page.lang)

    @router.get("/cards/{iccid}/actions/{action_id}")
    async def action(request: Request, iccid: str, action_id: int) -> Response:
        page = page_of(request, login=False)
        if page.who is None:
            return JSONResponse({"message": _translator(page.lang)("bad_token")}, status_code=401)
        if not iccid.isalnum() or len(iccid) > 32:
            return JSONResponse({"message": _translator(page.lang)("not_found")}, status_code=404)
        query = _company(request)
        status, answer = await _call(app, "GET", f"/cards/{iccid}/actions/{action_id}", query, token_of(request), b"")
        return _answer(status, answer, page.lang)

    # ------------------------------------------------------------ errors: pages, never tracebacks

    @console.exception_handler(_Login)
    async def _to_login(request: Request, exc: _Login) -> Response:
        base = str(request.scope.get("root_path", "")).rstrip("/")
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"{base}/login?next={quote(here, safe='')}", status_code=303)

    @console.exception_handler(_Refused)
    async def _refused(request: Request, exc: _Refused) -> Response:
        page = page_of(request, login=False)
        return render(page, "error.html", status=exc.status, title=exc.title, detail=exc.detail)

    @console.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        page = page_of(request, login=False)
        if exc.status_code == 404:
            return render(page, "error.html", status=404, title="not_found", detail="not_found_detail")
        return render(page, "error.html", status=exc.status_code, title="internal", detail="internal_detail")

    @console.exception_handler(StoreError)
    async def _store_down(request: Request, exc: StoreError) -> Response:
        log.warning("console: database: %s", exc.message)
        page = _Page(request, _lang_of(request), None, str(request.scope.get("root_path", "")).rstrip("/"))
        response = render(page, "error.html", status=503, title="unavailable", detail="unavailable_detail")
        response.headers["Retry-After"] = "5"
        return response

    @console.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("console: %s %s failed", request.method, request.url.path, exc_info=exc)
        page = _Page(request, _lang_of(request), None, str(request.scope.get("root_path", "")).rstrip("/"))
        return render(page, "error.html", status=500, title="internal", detail="internal_detail")

    console.include_router(router)
    console.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.mount("/console", console)


def _company(request: Request) -> dict[str, str]:
    company = request.query_params.get("company")
    return {"company": company[:128]} if company else {}


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _month_label(lang: str) -> Callable[[str], str]:
    """A month's axis label (YYYY-MM): 1月…12月, or Jan…Dec."""
    if lang == "zh":
        return lambda period: f"{int(period[5:7])}月"
    return lambda period: _MONTHS_EN[int(period[5:7]) - 1]


def _fields(query: CardQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in CardQuery.__dataclass_fields__}


def _local(value: datetime | str | None, store: Store) -> str:
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"{moment.astimezone(store.zone):%Y-%m-%d %H:%M}"


def _query(request: Request, drop: tuple[str, ...] = (), **changes: Any) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in changes and k not in drop]
    for name, value in changes.items():
        if value not in (None, ""):
            items.append((name, str(value)))
    return urlencode(items)


def _with(request: Request, **changes: Any) -> str:
    """This page's address with some parameters changed (None drops one); a filter change goes back to page 1."""
    if any(name != "page" for name in changes):
        changes.setdefault("page", None)
    text = _query(request, **changes)
    return request.url.path + (f"?{text}" if text else "")


def _safe_next(target: str | None, base: str) -> str:
    """Only a path of this console: never another site (an open redirect)."""
    if target and target.startswith(f"{base}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{base}/cards"


async def _call(app: Any, method: str, path: str, query: dict[str, str], token: str, body: bytes) -> tuple[int, Any]:
    """One request to the API ``app`` in this process (its routes, checks and audit log), with the caller's token."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query).encode(),
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {token}".encode("latin-1", "replace")),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"host", b"console"),
        ],
        "client": ("127.0.0.1", 0),
        "server": ("console", 80),
    }
    sent = False
    status = 500
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    try:
        return status, json.loads(b"".join(chunks) or b"null")
    except ValueError:
        return status, None


def _answer(status: int, answer: Any, lang: str) -> JSONResponse:
    """The API's answer for the page's script: the action as it is, or a problem in the page's language."""
    if status < 400 and isinstance(answer, dict):
        return JSONResponse(answer, status_code=status)
    t = _translator(lang)
    problem = answer if isinstance(answer, dict) else {}
    code = str(problem.get("code") or "internal")
    key = _PROBLEM_TEXT.get(code, code)
    message = t(key) if key in TEXTS else str(problem.get("detail") or t("internal"))
    hint = problem.get("hint") if lang == "en" or key not in TEXTS else None
    return JSONResponse({"code": code, "message": message, "hint": hint}, status_code=status)


# ---------------------------------------------------------------- thumbnails


def _thumbnail_tag(store: Store, device_id: str) -> str | None:
    """The picture's version (its ETag) when the device has one."""
    try:
        with store._begin() as conn:
            row = conn.execute(select(THUMBNAILS.c.etag).where(THUMBNAILS.c.device_id == device_id)).first()
    except Exception:  # no table (read-only database): no picture
        return None
    return None if row is None else str(row[0])


def _device_visible(store: Store, device_id: str, scope: str | None) -> bool:
    known, companies = store.device_companies(device_id)
    return known and (scope is None or scope in companies)


def _thumbnail_response(store: Store, device_id: str, scope: str | None, request: Request) -> Response:
    if len(device_id) > 128 or not _device_visible(store, device_id, scope):
        raise _Refused(404, "not_found", "not_found_detail")
    with store._begin() as conn:
        row = conn.execute(select(THUMBNAILS).where(THUMBNAILS.c.device_id == device_id)).first()
    if row is None:
        raise _Refused(404, "not_found", "not_found_detail")
    tag = f'"{row.etag}"'
    headers = {
        "ETag": tag,
        "Cache-Control": "private, max-age=60",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
    }
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(bytes(row.data), media_type=row.media_type, headers=headers)


def _thumbnail_api(store: Store, access: TokenAdmin) -> APIRouter:
    """``PUT``/``GET /devices/{id}/thumbnail`` in the API: the HMI project's picture (PNG or JPEG, at most
    :data:`THUMBNAIL_MAX_BYTES`), for operators and admins of the device's company."""
    router = APIRouter()
    bearer = HTTPBearer(auto_error=False)
    problem = {"model": Problem, "content": {"application/problem+json": {}}}
    responses: dict[int | str, dict[str, Any]] = {
        400: {**problem, "description": "not a PNG or JPEG image"},
        403: {**problem, "description": "the token's role or company does not allow it"},
        404: {**problem, "description": "no such device (or not this company's)"},
        413: {**problem, "description": f"the image is over {THUMBNAIL_MAX_BYTES // 1024} KiB"},
    }

    def scoped(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
        company: str | None = Query(default=None, max_length=128, description="switch company (enterprise admin)"),
        x_company: str | None = Header(default=None, max_length=128, include_in_schema=False),
    ) -> tuple[Principal, str | None]:
        who = access.authenticate(credentials.credentials) if credentials is not None else None
        if who is None:
            raise ApiProblem(
                401,
                "unauthorized",
                "a valid API token is required",
                "send Authorization: Bearer TOKEN (iotcard-collector tokens create)",
                {"WWW-Authenticate": "Bearer"},
            )
        try:
            return who, who.scope(company or x_company)
        except PermissionError:
            hint = "leave out company=, or use an enterprise admin token to switch company"
            raise ApiProblem(403, "company_forbidden", "this token reads its own company's cards only", hint) from None

    def device_of(device_id: str, scope: str | None) -> str:
        if not _device_visible(store, device_id, scope):
            raise ApiProblem(404, "not_found", f"no device {device_id}", "the device id its agent reports")
        return device_id

    @router.put(
        "/devices/{device_id}/thumbnail",
        status_code=204,
        response_class=Response,
        summary="Upload the HMI project's picture shown on the device's cards (PNG or JPEG)",
        responses={204: {"description": "stored"}, **responses},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in ("image/png", "image/jpeg")},
            }
        },
    )
    async def put_thumbnail(
        request: Request,
        device_id: str = _DEVICE_PATH,
        who_scope: tuple[Principal, str | None] = Depends(scoped),
    ) -> Response:
        who, scope = who_scope
        if not who.may_act():
            access.audit(who, "thumbnail", "forbidden", detail={"device": device_id})
            raise ApiProblem(
                403, "forbidden_role", f"a {who.role} token cannot change pictures", "use an operator or admin token"
            )
        device_of(device_id, scope)
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > THUMBNAIL_MAX_BYTES:
                raise ApiProblem(
                    413,
                    "too_large",
                    f"the picture is over {THUMBNAIL_MAX_BYTES // 1024} KiB",
                    "export the project thumbnail smaller (e.g. 480x272)",
                )
        media_type = next((kind for magic, kind in _IMAGE_MAGIC.items() if data.startswith(magic)), None)
        declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type is None or declared not in ("image/png", "image/jpeg", "image/jpg"):
            raise ApiProblem(
                400,
                "bad_image",
                "the body is not a PNG or JPEG image",
                "send the file itself with Content-Type: image/png or image/jpeg",
            )
        etag = hashlib.blake2b(bytes(data), digest_size=12).hexdigest()
        now = store.clock().astimezone(UTC).replace(tzinfo=None)
        values = {"media_type": media_type, "data": bytes(data), "etag": etag, "updated_at": now}
        with store._begin() as conn:
            updated = conn.execute(
                THUMBNAILS.update().where(THUMBNAILS.c.device_id == device_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(THUMBNAILS.insert().values(device_id=device_id, **values))
        access.audit(who, "thumbnail", "ok", company=scope, detail={"device": device_id, "bytes": len(data)})
        return Response(status_code=204, headers={"ETag": f'"{etag}"'})

    @router.get(
        "/devices/{device_id}/thumbnail",
        response_class=Response,
        summary="The HMI project's picture, as uploaded",
        responses={
            200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "the picture"},
            400: {**problem, "description": "a bad parameter"},
            403: responses[403],
            404: responses[404],
        },
    )
    def get_thumbnail(
        request: Request,
        device_id: str = _DEVICE_PATH,
        who_scope: tuple[Principal, str | None] = Depends(scoped),
    ) -> Response:
        _, scope = who_scope
        device_of(device_id, scope)
        try:
            return _thumbnail_response(store, device_id, scope, request)
        except _Refused:
            raise ApiProblem(404, "not_found", f"device {device_id} has no picture", "PUT one first") from None

    return router
