"""What each finding says to the technician, in English and Chinese: one sentence, then what to do next."""

from __future__ import annotations

from collections.abc import Mapping

from ._findings import Finding

__all__ = ["DENIAL_TEXTS", "MESSAGES", "render"]

# code -> language -> (message, hint). Templates use str.format with the finding's params.
MESSAGES: dict[str, dict[str, tuple[str, str]]] = {
    "ok": {
        "en": ("Everything checked is fine: the card is registered, online and has data left.", ""),
        "zh": ("检查项全部正常：卡已注册、在线且有剩余流量。", ""),
    },
    "port_unavailable": {
        "en": ("The modem's serial port cannot be used: {detail}.", "{port_hint}"),
        "zh": ("无法使用模块串口：{detail}。", "{port_hint}"),
    },
    "modem_unresponsive": {
        "en": (
            "The 4G module does not answer AT commands.",
            "Check the module's power and antenna connector; power-cycle the device; if it stays silent, the module "
            "may need replacing.",
        ),
        "zh": ("4G 模块不响应 AT 指令。", "检查模块供电和连接；给设备断电重启；仍无响应时可能需要更换模块。"),
    },
    "sim_absent": {
        "en": (
            "No SIM card is detected.",
            "Power off, reseat the SIM card (chip side and notch as marked on the slot), then power on; clean the "
            "contacts if it still is not seen.",
        ),
        "zh": ("未检测到 SIM 卡。", "断电后重新插好 SIM 卡（注意芯片朝向和缺口），再上电；仍检测不到时清洁触点。"),
    },
    "sim_pin_required": {
        "en": (
            "The SIM card is locked with a PIN.",
            "IoT cards should have the PIN disabled: ask the card provider for the PIN, unlock it once, and "
            'disable the PIN lock (AT+CLCK="SC",0,"<pin>").',
        ),
        "zh": (
            "SIM 卡设置了 PIN 码锁。",
            '物联网卡应关闭 PIN 码：向卡商获取 PIN，解锁后关闭 PIN 锁（AT+CLCK="SC",0,"<pin>"）。',
        ),
    },
    "sim_puk_required": {
        "en": (
            "The SIM card is blocked (PUK required) after wrong PIN entries.",
            "Do not guess further: get the PUK from the card provider, or ask for a replacement card.",
        ),
        "zh": ("SIM 卡因 PIN 输错已被锁（需要 PUK 码）。", "不要继续尝试：向卡商获取 PUK 码，或申请换卡。"),
    },
    "sim_error": {
        "en": (
            "The SIM card reports a failure ({detail}).",
            "Reseat the card; if it persists, the card is faulty: replace it.",
        ),
        "zh": ("SIM 卡故障（{detail}）。", "重新插拔卡；仍故障则卡已损坏，请换卡。"),
    },
    "iccid_changed": {
        "en": (
            "A different SIM card is in this device than last time (ICCID {previous} → {current}).",
            "If the card was not swapped on purpose, check the device; carriers bind cards to devices (机卡分离) "
            "and may suspend a card found in another device: update the binding in the app.",
        ),
        "zh": (
            "本设备中的 SIM 卡与上次不同（ICCID {previous} → {current}）。",
            "如非有意换卡请检查设备；运营商有机卡绑定（机卡分离）策略，卡在其他设备中使用可能被停机，请在平台上更新绑定。",
        ),
    },
    "imei_changed": {
        "en": (
            "This card now sits in a different module than last time (IMEI {previous} → {current}).",
            "A card moved to another device risks suspension by the carrier's card-device binding (机卡分离): move it "
            "back, or ask the card provider to re-bind it to IMEI {current}.",
        ),
        "zh": (
            "此卡所在的模块与上次不同（IMEI {previous} → {current}）。",
            "卡换到其他设备可能触发运营商机卡绑定而被停机：请放回原设备，或联系卡商将其重新绑定到 IMEI {current}。",
        ),
    },
    "no_signal": {
        "en": (
            "The module measures no signal at all.",
            "Check that the antenna is connected and outside any metal cabinet.",
        ),
        "zh": ("模块检测不到任何信号。", "检查天线是否连接好，并放在金属柜体外。"),
    },
    "weak_signal": {
        "en": (
            "The signal is weak ({measure} {value:g} {unit} on {technology}, below {threshold:g}).",
            "Move or raise the antenna, use a higher-gain antenna or a longer cable out of the cabinet.",
        ),
        "zh": (
            "信号弱（{technology} {measure} {value:g} {unit}，低于 {threshold:g}）。",
            "调整或升高天线位置，使用高增益天线或延长线引出柜外。",
        ),
    },
    "searching": {
        "en": (
            "The module is searching for a network and is not registered.",
            "Wait a minute; if it keeps searching, check the antenna and that the carrier covers this site.",
        ),
        "zh": ("模块正在搜网，尚未注册。", "稍等一分钟；若一直搜网，检查天线及该地点是否有运营商覆盖。"),
    },
    "radio_off": {
        "en": (
            "The module's radio is switched off (+CFUN: {cfun}, flight mode or minimum functionality), so it cannot "
            "see any network.",
            "Switch the radio on with AT+CFUN=1 (iotcard at 'AT+CFUN=1'). If it goes off again, look for what sends "
            "AT+CFUN=0/4: a dial-up script, a power-saving setting, or a cloud command.",
        ),
        "zh": (
            "模块射频已关闭（+CFUN: {cfun}，飞行模式或最小功能模式），无法搜到任何网络。",
            "用 AT+CFUN=1 打开射频（iotcard at 'AT+CFUN=1'）。若又被关闭，检查是谁发送了 AT+CFUN=0/4："
            "拨号脚本、省电设置或云端指令。",
        ),
    },
    "clock_skew": {
        "en": (
            "The system clock is {skew_min} minutes {direction} of the network's time ({network_time}).",
            "TLS to the cloud fails with a wrong clock: set the time (enable NTP, or set it from the network time) "
            "and check the device's RTC battery.",
        ),
        "zh": (
            "系统时间与网络时间（{network_time}）相差 {skew_min} 分钟（{direction_zh}）。",
            "时间不对会导致连接云平台的 TLS 失败：请校准时间（开启 NTP 或按网络时间设置），并检查设备 RTC 电池。",
        ),
    },
    "registration_denied": {
        "en": (
            "The network refuses this card (registration denied).",
            "The card may be suspended (停机/断网) or not yet activated: an administrator can enable it, or "
            "force-activate a card in its test period, from the app.",
        ),
        "zh": ("网络拒绝此卡注册。", "卡可能已停机/断网或未激活：管理员可在平台上复机，或对测试期的卡强制激活。"),
    },
    "roaming": {
        "en": (
            "The card is roaming on {operator}.",
            "Roaming data may cost extra or be barred on directed cards; check the plan.",
        ),
        "zh": ("此卡正在漫游（{operator}）。", "漫游流量可能额外计费，定向卡可能不允许漫游；请核对套餐。"),
    },
    "not_attached": {
        "en": (
            "The card is registered but not attached to the packet (data) service.",
            "The plan may have no data service or be suspended for data; check the card's status in the app.",
        ),
        "zh": ("卡已注册但未附着数据业务。", "套餐可能未开通数据业务或数据已被停用；请在平台上查看卡状态。"),
    },
    "pdp_inactive": {
        "en": (
            "No data connection (PDP context) is active (APN {apn}).",
            "Directed cards often need the carrier's own APN: check the APN the card provider gave and the dial-up "
            "settings of the device.",
        ),
        "zh": (
            "数据连接（PDP 上下文）未激活（APN {apn}）。",
            "定向卡通常需要运营商指定的专用 APN：请核对卡商提供的 APN 和设备拨号设置。",
        ),
    },
    "no_ip": {
        "en": (
            "The data connection has no IP address (APN {apn}).",
            "Directed cards often need the carrier's own APN: check the APN and re-dial.",
        ),
        "zh": ("数据连接没有 IP 地址（APN {apn}）。", "定向卡通常需要专用 APN：请核对 APN 后重新拨号。"),
    },
    "dns_failed": {
        "en": (
            "Names do not resolve over this card ({detail}).",
            "Directed cards often allow only the carrier's DNS: use the DNS servers the network assigns, and check "
            "that the names are in the card's whitelist.",
        ),
        "zh": (
            "通过此卡无法解析域名（{detail}）。",
            "定向卡通常只允许运营商 DNS：请使用网络分配的 DNS，并确认域名在白名单中。",
        ),
    },
    "directed_blocked": {
        "en": (
            "{count} directed target(s) cannot be reached: {targets}.",
            "Addresses that resolve but do not answer are probably not in this card's directed whitelist: ask the card "
            "provider to add them (for *.domain entries, give a concrete host such as ecloud.haiwell.com).",
        ),
        "zh": (
            "{count} 个定向地址无法访问：{targets}。",
            "能解析但无应答的地址可能不在此卡定向白名单中：请联系卡商添加"
            "（通配域名需给出具体三级域名，如 ecloud.haiwell.com）。",
        ),
    },
    "data_low": {
        "en": (
            "Data is running low: {remaining} left of {total} ({percent_left:.0f} %).",
            "Top up or change the plan before the data runs out and the device goes offline.",
        ),
        "zh": (
            "流量不足：剩余 {remaining}，共 {total}（{percent_left:.0f}%）。",
            "请在流量耗尽、设备离线之前充值或变更套餐。",
        ),
    },
    "data_exhausted": {
        "en": (
            "The plan's data is used up ({used} of {total}).",
            "Top up or change the plan; the carrier may cut data off.",
        ),
        "zh": ("流量已耗尽（已用 {used}，共 {total}）。", "请充值或变更套餐，否则运营商可能断网。"),
    },
    "cycle_expiring": {
        "en": ("The card's service period ends in {days_left} day(s) ({end}).", "{renew_hint}"),
        "zh": ("卡服务期将在 {days_left} 天后到期（{end}）。", "{renew_hint}"),
    },
    "expired": {
        "en": ("The card's service period has expired ({end}).", "Renew the card in the app, or it will be suspended."),
        "zh": ("卡服务期已到期（{end}）。", "请在平台上续费，否则将被停机。"),
    },
}


# registration_denied with a reject cause: what the common causes of IoT cards mean and what to do (TS 24.301
# annex A / TS 24.008 annex G numbers).
_CAUSE_GROUPS: dict[int, str] = {
    2: "identity",
    3: "identity",
    5: "identity",
    6: "identity",
    7: "service",
    8: "service",
    14: "service",
    11: "area",
    12: "area",
    13: "area",
    15: "area",
}
DENIAL_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "identity": {
        "en": (
            "The network refuses this card: reject cause #{reject_cause} ({cause_name}).",
            "The network does not accept this card or this device: the card may be suspended (停机), or bound to "
            "another device's IMEI (机卡绑定). Ask the card provider whether the card is suspended or bound to "
            "another device, and have it re-bound to this module's IMEI if so.",
        ),
        "zh": (
            "网络拒绝此卡注册：拒绝原因 #{reject_cause}（{cause_name}）。",
            "网络不接受此卡或此设备：卡可能已停机，或已与其他设备的 IMEI 绑定（机卡绑定）。请联系卡商确认卡是否停机"
            "或绑定了其他设备，如是请重新绑定到本模块的 IMEI。",
        ),
    },
    "service": {
        "en": (
            "The network refuses data service for this card: reject cause #{reject_cause} ({cause_name}).",
            "The card has no (or a suspended) data service: ask the card provider whether the card is suspended "
            "(停机/断网), its data service enabled, or the plan used up; a card in its test period may need "
            "activating.",
        ),
        "zh": (
            "网络拒绝此卡的数据业务：拒绝原因 #{reject_cause}（{cause_name}）。",
            "此卡未开通或已停用数据业务：请联系卡商确认是否停机/断网、数据业务是否开通、套餐是否用完；"
            "测试期的卡可能需要激活。",
        ),
    },
    "area": {
        "en": (
            "The network refuses this card here: reject cause #{reject_cause} ({cause_name}).",
            "The card may not use this network or area (wrong carrier, roaming barred, an area-locked card, or no "
            "suitable cell): check that the card's carrier covers this site, that an area lock matches the site, "
            "and ask the card provider about roaming and area restrictions.",
        ),
        "zh": (
            "网络拒绝此卡在此处注册：拒绝原因 #{reject_cause}（{cause_name}）。",
            "此卡不能使用该网络或该区域（运营商不对、禁止漫游、区域锁定卡或无合适小区）：请确认该地点有此卡运营商的覆盖、"
            "区域限制与安装地点一致，并向卡商咨询漫游和区域限制。",
        ),
    },
    "other": {
        "en": (
            "The network refuses this card: reject cause #{reject_cause} ({cause_name}).",
            "Ask the card provider what the card's state is (suspended, not activated, bound to another device), "
            "quoting the reject cause number.",
        ),
        "zh": (
            "网络拒绝此卡注册：拒绝原因 #{reject_cause}（{cause_name}）。",
            "请向卡商查询卡的状态（停机、未激活、绑定其他设备），并提供拒绝原因编号。",
        ),
    },
}
_DIRECTION_ZH = {"ahead": "快", "behind": "慢"}

_RENEW_ADVICE = {
    "renew_before_26th": {
        "en": "The cycle ends this month: renew before the 26th; the card provider pauses renewals from the 26th to "
        "the 1st.",
        "zh": "本周期在本月结束：请在 26 日前续费，卡商每月 26 日至次月 1 日暂停续费。",
    },
    "renewal_paused": {
        "en": "Renewals are paused until the 1st (26th–1st): renew on the 1st, or the card may be suspended meanwhile.",
        "zh": "26 日至次月 1 日暂停续费：请在 1 日续费，期间卡可能被停机。",
    },
    "": {"en": "Renew or top up in the app before the period ends.", "zh": "请在到期前在平台上续费或充值。"},
}
_PORT_EN = {
    "port_missing": (
        "serial port {port} does not exist",
        "check that the module is powered and its USB cable is seated",
    ),
    "port_permission": ("no permission to open serial port {port}", "add the user to the dialout group"),
    "port_busy": ("serial port {port} is in use by another program", "stop the other program"),
    "port_not_tty": ("{port} is not a serial device", "name the modem's AT port, e.g. /dev/ttyUSB2"),
    "port_vanished": ("serial port {port} went away", "the USB modem re-enumerated or lost power"),
    "port_unavailable": ("cannot open serial port {port}: {reason}", "check the module and its USB cable"),
}


def _bytes(value: object) -> str:
    if not isinstance(value, int):
        return "?"
    mib = value / (1024 * 1024)
    return f"{mib / 1024:.2f} GB" if mib >= 1024 else f"{mib:.1f} MB"


def _derived(finding: Finding, lang: str) -> dict[str, object]:
    p = finding.params
    out: dict[str, object] = {}
    if finding.code == "port_unavailable":
        from iotcard.agent.i18n import t

        error = str(p.get("error") or "port_unavailable")
        message, hint = _PORT_EN.get(error, _PORT_EN["port_unavailable"])
        values = {"port": p.get("port") or "?", "reason": p.get("reason") or "?"}
        if lang == "zh":
            out["detail"], out["port_hint"] = t(error, lang, **values), t(f"hint:{error}", lang)
        else:
            out["detail"], out["port_hint"] = message.format(**values), hint
    if "used_bytes" in p:
        out.update(used=_bytes(p["used_bytes"]), total=_bytes(p["total_bytes"]), remaining=_bytes(p["remaining_bytes"]))
        out["end"] = p.get("end") or "?"
        out["days_left"] = p["days_left"] if p.get("days_left") is not None else "?"
    if finding.code == "cycle_expiring":
        texts = _RENEW_ADVICE.get(str(p.get("renew_advice") or ""), _RENEW_ADVICE[""])
        out["renew_hint"] = texts.get(lang, texts["en"])
    if finding.code == "directed_blocked" and not isinstance(p.get("targets"), str):
        targets = p.get("targets") or ()
        out["targets"] = ", ".join(f"{target} ({verdict})" for target, verdict in targets)  # type: ignore[attr-defined]
    if finding.code == "clock_skew":
        out["direction_zh"] = _DIRECTION_ZH.get(str(p.get("direction")), "")
    return out


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(finding: Finding, lang: str) -> tuple[str, str]:
    """The finding's message and hint in ``lang`` (``en`` or ``zh``)."""
    texts = MESSAGES[finding.code]
    cause = finding.params.get("reject_cause")
    if finding.code == "registration_denied" and isinstance(cause, int):
        texts = DENIAL_TEXTS[_CAUSE_GROUPS.get(cause, "other")]
    message, hint = texts.get(lang, texts["en"])
    params: Mapping[str, object] = _Params({**finding.params, **_derived(finding, lang)})
    return message.format_map(params), hint.format_map(params)
