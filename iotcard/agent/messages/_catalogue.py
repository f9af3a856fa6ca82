"""The agent's one translation catalogue: message code -> language -> template with ``{placeholders}``.

Every sentence, hint and label the agent shows a technician lives here, in English and Chinese, with the same
placeholders in both (tests/agent/test_messages_catalogue.py checks that). Facts and findings carry codes and
numbers; :func:`iotcard.agent.messages.render` is where they become text. Codes are dotted by area:

``label.*``     labels and values of ``iotcard info``/``iotcard diag`` (the English is the label itself)
``state.*``     SIM and registration states
``port.*``      why the serial port cannot be used, and what to do (``.hint``); the transport's error codes
``modem.*``     the module does not answer
``verdict.*``, ``severity.*``, ``diag.*``   the diagnosis: verdicts, severities, each finding and its ``.hint``
``renew.*``     renewal advice (the usage meter's RenewalAdvice codes)
``directed.*``  directed-card probe reasons, refused targets (``directed.problem.*``), the interface binding
``usage.*``     ``iotcard usage show`` and ``iotcard usage sample``
``facts.*``     the key facts under a diagnosis
``cli.*``       the CLI's own lines (the error label, ``iotcard config check``)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["CATALOGUE"]

_CATALOGUE: dict[str, dict[str, str]] = {
    # Labels and values a technician reads in `iotcard info` and `iotcard diag` (the English is the label).
    "label.modem": {"en": "Modem", "zh": "模块"},
    "label.manufacturer": {"en": "Manufacturer", "zh": "厂商"},
    "label.model": {"en": "Model", "zh": "型号"},
    "label.revision": {"en": "Revision", "zh": "固件版本"},
    "label.imei": {"en": "IMEI", "zh": "IMEI"},
    "label.sim": {"en": "SIM", "zh": "SIM 卡"},
    "label.state": {"en": "State", "zh": "状态"},
    "label.iccid": {"en": "ICCID", "zh": "ICCID"},
    "label.imsi": {"en": "IMSI", "zh": "IMSI"},
    "label.carrier": {"en": "Carrier", "zh": "运营商"},
    "label.network": {"en": "Network", "zh": "网络"},
    "label.registration": {"en": "Registration", "zh": "注册状态"},
    "label.technology": {"en": "Technology", "zh": "制式"},
    "label.operator": {"en": "Operator", "zh": "运营商网络"},
    "label.lac_tac": {"en": "LAC/TAC", "zh": "LAC/TAC"},
    "label.cell_id": {"en": "Cell ID", "zh": "小区 ID"},
    "label.attached": {"en": "Attached", "zh": "数据附着"},
    "label.apn": {"en": "APN", "zh": "APN"},
    "label.ip_address": {"en": "IP address", "zh": "IP 地址"},
    "label.signal": {"en": "Signal", "zh": "信号"},
    "label.rssi": {"en": "RSSI", "zh": "RSSI"},
    "label.rsrp": {"en": "RSRP", "zh": "RSRP"},
    "label.rsrq": {"en": "RSRQ", "zh": "RSRQ"},
    "label.sinr": {"en": "SINR", "zh": "SINR"},
    "label.bars": {"en": "Bars", "zh": "信号格数"},
    "label.temperature": {"en": "Temperature", "zh": "模块温度"},
    "label.sim_slot": {"en": "SIM slot", "zh": "SIM 卡槽"},
    "label.radio": {"en": "Radio", "zh": "射频"},
    "label.reject_cause": {"en": "Reject cause", "zh": "拒绝原因"},
    "label.last_error": {"en": "Last error", "zh": "最近错误"},
    "label.band": {"en": "Band", "zh": "频段"},
    "label.dns": {"en": "DNS", "zh": "DNS"},
    "label.network_time": {"en": "Network time", "zh": "网络时间"},
    "label.on": {"en": "on", "zh": "开启"},
    "label.off": {"en": "off", "zh": "关闭（飞行模式）"},
    "label.limited": {"en": "limited", "zh": "受限"},
    "label.dialect": {"en": "Dialect", "zh": "指令方言"},
    "label.port": {"en": "Port", "zh": "串口"},
    "label.commands": {"en": "Commands", "zh": "指令数"},
    "label.notes": {"en": "Notes", "zh": "备注"},
    "label.usage_this_cycle": {"en": "Usage this cycle", "zh": "本周期用量"},
    "label.yes": {"en": "yes", "zh": "是"},
    "label.no": {"en": "no", "zh": "否"},
    "label.unknown": {"en": "unknown", "zh": "未知"},
    "label.diagnosis": {"en": "Diagnosis", "zh": "诊断结果"},
    # SIM and registration states (the JSON keeps the raw values).
    "state.ready": {"en": "ready", "zh": "就绪"},
    "state.absent": {"en": "no SIM card", "zh": "未插卡"},
    "state.pin_required": {"en": "PIN required", "zh": "需要 PIN 码"},
    "state.puk_required": {"en": "PUK required (blocked)", "zh": "需要 PUK 码（已锁）"},
    "state.error": {"en": "SIM failure", "zh": "卡故障"},
    "state.home": {"en": "registered (home network)", "zh": "已注册（本地网）"},
    "state.roaming": {"en": "registered (roaming)", "zh": "已注册（漫游）"},
    "state.searching": {"en": "searching", "zh": "正在搜网"},
    "state.denied": {"en": "registration denied", "zh": "注册被拒"},
    "state.not_registered": {"en": "not registered", "zh": "未注册"},
    "state.emergency_only": {"en": "emergency calls only", "zh": "仅紧急呼叫"},
    # The serial port: why it cannot be used ({port}), and what to do. The transport's codes.
    "port.port_missing": {"en": "serial port {port} does not exist", "zh": "串口 {port} 不存在"},
    "port.port_missing.hint": {
        "en": (
            "check that the module is powered and its USB cable is seated; list ports with 'ls -l "
            "/dev/serial/by-id/'; on Quectel modules the AT port is usually the third interface (ttyUSB2), on "
            "SIMCom SIM7600 ttyUSB2, on Huawei ME909s ttyUSB2 or ttyACM0"
        ),
        "zh": "检查模块是否上电、USB 线是否插好；用 'ls -l /dev/serial/by-id/' 查看串口",
    },
    "port.port_permission": {"en": "no permission to open serial port {port}", "zh": "没有权限打开串口 {port}"},
    "port.port_permission.hint": {
        "en": (
            "add the user to the group that owns the port (usually dialout): 'sudo usermod -aG dialout $USER', "
            "then log in again; or run as the iotcard service user"
        ),
        "zh": "把用户加入 dialout 组：'sudo usermod -aG dialout $USER'，然后重新登录",
    },
    "port.port_busy": {"en": "serial port {port} is in use by another program", "zh": "串口 {port} 正被其他程序占用"},
    "port.port_busy.hint": {
        "en": (
            "another program holds the port: the iotcard daemon (use its control socket, or stop it with "
            "'systemctl stop iotcard-agent'), ModemManager (install the udev rule that sets ID_MM_PORT_IGNORE), "
            "or a terminal program such as minicom"
        ),
        "zh": "其他程序占用了串口：iotcard 守护进程、ModemManager 或 minicom 等；先停止它们",
    },
    "port.port_not_tty": {"en": "{port} is not a serial device", "zh": "{port} 不是串口设备"},
    "port.port_not_tty.hint": {
        "en": "name the modem's AT port, e.g. /dev/ttyUSB2 or a /dev/serial/by-id/... link",
        "zh": "请指定模块的 AT 口，例如 /dev/ttyUSB2",
    },
    "port.port_vanished": {"en": "serial port {port} went away while in use", "zh": "串口 {port} 在通信中消失了"},
    "port.port_vanished.hint": {
        "en": "the USB modem re-enumerated or lost power; it is retried when it comes back",
        "zh": "USB 模块重新枚举或掉电了；等它回来后再试",
    },
    "port.port_unavailable": {"en": "cannot open serial port {port}", "zh": "无法打开串口 {port}"},
    "port.port_unavailable.hint": {"en": "check the module and its USB cable", "zh": "检查模块和串口路径"},
    "port.port_config": {
        "en": "the settings of serial port {port} are not valid (baud rate)",
        "zh": "串口 {port} 的参数无效（波特率）",
    },
    "port.port_config.hint": {
        "en": "pass a positive baud rate with --baud, e.g. 115200",
        "zh": "用 --baud 指定正数波特率，例如 115200",
    },
    "port.with_reason": {"en": "{text} ({reason})", "zh": "{text}（{reason}）"},
    "modem.unresponsive": {"en": "the modem does not answer AT commands", "zh": "模块没有响应 AT 指令"},
    "modem.unresponsive.hint": {
        "en": "check the module's power and the baud rate (--baud); power-cycle the module if needed",
        "zh": "检查模块供电和波特率（--baud）；必要时给模块断电重启",
    },
    # Diagnosis: the verdict, the severities, and each finding's sentence and what to do next.
    "verdict.ok": {"en": "OK", "zh": "正常"},
    "verdict.degraded": {"en": "DEGRADED", "zh": "有隐患"},
    "verdict.fail": {"en": "FAIL", "zh": "故障"},
    "severity.error": {"en": "error", "zh": "错误"},
    "severity.warning": {"en": "warning", "zh": "警告"},
    "severity.info": {"en": "info", "zh": "信息"},
    "diag.ok": {
        "en": "Everything checked is fine: the card is registered, online and has data left.",
        "zh": "检查项全部正常：卡已注册、在线且有剩余流量。",
    },
    "diag.ok.hint": {"en": "", "zh": ""},
    "diag.port_unavailable": {
        "en": "The modem's serial port cannot be used: {detail}.",
        "zh": "无法使用模块串口：{detail}。",
    },
    "diag.port_unavailable.hint": {"en": "{port_hint}", "zh": "{port_hint}"},
    "diag.modem_unresponsive": {"en": "The 4G module does not answer AT commands.", "zh": "4G 模块不响应 AT 指令。"},
    "diag.modem_unresponsive.hint": {
        "en": (
            "Check the module's power and antenna connector; power-cycle the device; if it stays silent, the "
            "module may need replacing."
        ),
        "zh": "检查模块供电和连接；给设备断电重启；仍无响应时可能需要更换模块。",
    },
    "diag.sim_absent": {"en": "No SIM card is detected.", "zh": "未检测到 SIM 卡。"},
    "diag.sim_absent.hint": {
        "en": (
            "Power off, reseat the SIM card (chip side and notch as marked on the slot), then power on; clean "
            "the contacts if it still is not seen."
        ),
        "zh": "断电后重新插好 SIM 卡（注意芯片朝向和缺口），再上电；仍检测不到时清洁触点。",
    },
    "diag.sim_pin_required": {"en": "The SIM card is locked with a PIN.", "zh": "SIM 卡设置了 PIN 码锁。"},
    "diag.sim_pin_required.hint": {
        "en": (
            "IoT cards should have the PIN disabled: ask the card provider for the PIN, unlock it once, and "
            'disable the PIN lock (AT+CLCK="SC",0,"<pin>").'
        ),
        "zh": '物联网卡应关闭 PIN 码：向卡商获取 PIN，解锁后关闭 PIN 锁（AT+CLCK="SC",0,"<pin>"）。',
    },
    "diag.sim_puk_required": {
        "en": "The SIM card is blocked (PUK required) after wrong PIN entries.",
        "zh": "SIM 卡因 PIN 输错已被锁（需要 PUK 码）。",
    },
    "diag.sim_puk_required.hint": {
        "en": "Do not guess further: get the PUK from the card provider, or ask for a replacement card.",
        "zh": "不要继续尝试：向卡商获取 PUK 码，或申请换卡。",
    },
    "diag.sim_error": {"en": "The SIM card reports a failure ({detail}).", "zh": "SIM 卡故障（{detail}）。"},
    "diag.sim_error.hint": {
        "en": "Reseat the card; if it persists, the card is faulty: replace it.",
        "zh": "重新插拔卡；仍故障则卡已损坏，请换卡。",
    },
    "diag.iccid_changed": {
        "en": "A different SIM card is in this device than last time (ICCID {previous} → {current}).",
        "zh": "本设备中的 SIM 卡与上次不同（ICCID {previous} → {current}）。",
    },
    "diag.iccid_changed.hint": {
        "en": (
            "If the card was not swapped on purpose, check the device; carriers bind cards to devices (机卡分离) "
            "and may suspend a card found in another device: update the binding in the app."
        ),
        "zh": (
            "如非有意换卡请检查设备；运营商有机卡绑定（机卡分离）策略，卡在其他设备中使用可能被停机，请在平台上"
            "更新绑定。"
        ),
    },
    "diag.imei_changed": {
        "en": "This card now sits in a different module than last time (IMEI {previous} → {current}).",
        "zh": "此卡所在的模块与上次不同（IMEI {previous} → {current}）。",
    },
    "diag.imei_changed.hint": {
        "en": (
            "A card moved to another device risks suspension by the carrier's card-device binding (机卡分离): "
            "move it back, or ask the card provider to re-bind it to IMEI {current}."
        ),
        "zh": "卡换到其他设备可能触发运营商机卡绑定而被停机：请放回原设备，或联系卡商将其重新绑定到 IMEI {current}。",
    },
    "diag.no_signal": {"en": "The module measures no signal at all.", "zh": "模块检测不到任何信号。"},
    "diag.no_signal.hint": {
        "en": "Check that the antenna is connected and outside any metal cabinet.",
        "zh": "检查天线是否连接好，并放在金属柜体外。",
    },
    "diag.weak_signal": {
        "en": "The signal is weak ({measure} {value:g} {unit} on {technology}, below {threshold:g}).",
        "zh": "信号弱（{technology} {measure} {value:g} {unit}，低于 {threshold:g}）。",
    },
    "diag.weak_signal.hint": {
        "en": "Move or raise the antenna, use a higher-gain antenna or a longer cable out of the cabinet.",
        "zh": "调整或升高天线位置，使用高增益天线或延长线引出柜外。",
    },
    "diag.searching": {
        "en": "The module is searching for a network and is not registered.",
        "zh": "模块正在搜网，尚未注册。",
    },
    "diag.searching.hint": {
        "en": "Wait a minute; if it keeps searching, check the antenna and that the carrier covers this site.",
        "zh": "稍等一分钟；若一直搜网，检查天线及该地点是否有运营商覆盖。",
    },
    "diag.radio_off": {
        "en": (
            "The module's radio is switched off (+CFUN: {cfun}, flight mode or minimum functionality), so it "
            "cannot see any network."
        ),
        "zh": "模块射频已关闭（+CFUN: {cfun}，飞行模式或最小功能模式），无法搜到任何网络。",
    },
    "diag.radio_off.hint": {
        "en": (
            "Switch the radio on with AT+CFUN=1 (iotcard at 'AT+CFUN=1'). If it goes off again, look for what "
            "sends AT+CFUN=0/4: a dial-up script, a power-saving setting, or a cloud command."
        ),
        "zh": (
            "用 AT+CFUN=1 打开射频（iotcard at 'AT+CFUN=1'）。若又被关闭，检查是谁发送了 "
            "AT+CFUN=0/4：拨号脚本、省电设置或云端指令。"
        ),
    },
    "diag.clock_skew": {
        "en": "The system clock is {skew_min} minutes {direction} of the network's time ({network_time}).",
        "zh": "系统时间与网络时间（{network_time}）相差 {skew_min} 分钟（{direction}）。",
    },
    "diag.clock_skew.hint": {
        "en": (
            "TLS to the cloud fails with a wrong clock: set the time (enable NTP, or set it from the network "
            "time) and check the device's RTC battery."
        ),
        "zh": "时间不对会导致连接云平台的 TLS 失败：请校准时间（开启 NTP 或按网络时间设置），并检查设备 RTC 电池。",
    },
    "diag.registration_denied": {
        "en": "The network refuses this card (registration denied).",
        "zh": "网络拒绝此卡注册。",
    },
    "diag.registration_denied.hint": {
        "en": (
            "The card may be suspended (停机/断网) or not yet activated: an administrator can enable it, or "
            "force-activate a card in its test period, from the app."
        ),
        "zh": "卡可能已停机/断网或未激活：管理员可在平台上复机，或对测试期的卡强制激活。",
    },
    "diag.roaming": {"en": "The card is roaming on {operator}.", "zh": "此卡正在漫游（{operator}）。"},
    "diag.roaming.hint": {
        "en": "Roaming data may cost extra or be barred on directed cards; check the plan.",
        "zh": "漫游流量可能额外计费，定向卡可能不允许漫游；请核对套餐。",
    },
    "diag.not_attached": {
        "en": "The card is registered but not attached to the packet (data) service.",
        "zh": "卡已注册但未附着数据业务。",
    },
    "diag.not_attached.hint": {
        "en": "The plan may have no data service or be suspended for data; check the card's status in the app.",
        "zh": "套餐可能未开通数据业务或数据已被停用；请在平台上查看卡状态。",
    },
    "diag.pdp_inactive": {
        "en": "No data connection (PDP context) is active (APN {apn}).",
        "zh": "数据连接（PDP 上下文）未激活（APN {apn}）。",
    },
    "diag.pdp_inactive.hint": {
        "en": (
            "Directed cards often need the carrier's own APN: check the APN the card provider gave and the "
            "dial-up settings of the device."
        ),
        "zh": "定向卡通常需要运营商指定的专用 APN：请核对卡商提供的 APN 和设备拨号设置。",
    },
    "diag.no_ip": {
        "en": "The data connection has no IP address (APN {apn}).",
        "zh": "数据连接没有 IP 地址（APN {apn}）。",
    },
    "diag.no_ip.hint": {
        "en": "Directed cards often need the carrier's own APN: check the APN and re-dial.",
        "zh": "定向卡通常需要专用 APN：请核对 APN 后重新拨号。",
    },
    "diag.dns_failed": {
        "en": "Names do not resolve over this card ({detail}).",
        "zh": "通过此卡无法解析域名（{detail}）。",
    },
    "diag.dns_failed.hint": {
        "en": (
            "Directed cards often allow only the carrier's DNS: use the DNS servers the network assigns, and "
            "check that the names are in the card's whitelist."
        ),
        "zh": "定向卡通常只允许运营商 DNS：请使用网络分配的 DNS，并确认域名在白名单中。",
    },
    "diag.directed_blocked": {
        "en": "{count} directed target(s) cannot be reached: {targets}.",
        "zh": "{count} 个定向地址无法访问：{targets}。",
    },
    "diag.directed_blocked.hint": {
        "en": (
            "Addresses that resolve but do not answer are probably not in this card's directed whitelist: ask "
            "the card provider to add them (for *.domain entries, give a concrete host such as "
            "ecloud.haiwell.com)."
        ),
        "zh": (
            "能解析但无应答的地址可能不在此卡定向白名单中：请联系卡商添加（通配域名需给出具体三级域名，如 "
            "ecloud.haiwell.com）。"
        ),
    },
    "diag.data_low": {
        "en": "Data is running low: {remaining} left of {total} ({percent_left:.0f} %).",
        "zh": "流量不足：剩余 {remaining}，共 {total}（{percent_left:.0f}%）。",
    },
    "diag.data_low.hint": {
        "en": "Top up or change the plan before the data runs out and the device goes offline.",
        "zh": "请在流量耗尽、设备离线之前充值或变更套餐。",
    },
    "diag.data_exhausted": {
        "en": "The plan's data is used up ({used} of {total}).",
        "zh": "流量已耗尽（已用 {used}，共 {total}）。",
    },
    "diag.data_exhausted.hint": {
        "en": "Top up or change the plan; the carrier may cut data off.",
        "zh": "请充值或变更套餐，否则运营商可能断网。",
    },
    "diag.cycle_expiring": {
        "en": "The card's service period ends in {days_left} day(s) ({end}).",
        "zh": "卡服务期将在 {days_left} 天后到期（{end}）。",
    },
    "diag.cycle_expiring.hint": {"en": "{renew_hint}", "zh": "{renew_hint}"},
    "diag.expired": {"en": "The card's service period has expired ({end}).", "zh": "卡服务期已到期（{end}）。"},
    "diag.expired.hint": {
        "en": "Renew the card in the app, or it will be suspended.",
        "zh": "请在平台上续费，否则将被停机。",
    },
    # registration_denied with a reject cause, by the cause's group (TS 24.301 annex A / TS 24.008 annex G).
    "diag.registration_denied.identity": {
        "en": "The network refuses this card: reject cause #{reject_cause} ({cause_name}).",
        "zh": "网络拒绝此卡注册：拒绝原因 #{reject_cause}（{cause_name}）。",
    },
    "diag.registration_denied.identity.hint": {
        "en": (
            "The network does not accept this card or this device: the card may be suspended (停机), or bound to "
            "another device's IMEI (机卡绑定). Ask the card provider whether the card is suspended or bound to "
            "another device, and have it re-bound to this module's IMEI if so."
        ),
        "zh": (
            "网络不接受此卡或此设备：卡可能已停机，或已与其他设备的 IMEI "
            "绑定（机卡绑定）。请联系卡商确认卡是否停机或绑定了其他设备，如是请重新绑定到本模块的 IMEI。"
        ),
    },
    "diag.registration_denied.service": {
        "en": "The network refuses data service for this card: reject cause #{reject_cause} ({cause_name}).",
        "zh": "网络拒绝此卡的数据业务：拒绝原因 #{reject_cause}（{cause_name}）。",
    },
    "diag.registration_denied.service.hint": {
        "en": (
            "The card has no (or a suspended) data service: ask the card provider whether the card is suspended "
            "(停机/断网), its data service enabled, or the plan used up; a card in its test period may need "
            "activating."
        ),
        "zh": (
            "此卡未开通或已停用数据业务：请联系卡商确认是否停机/断网、数据业务是否开通、套餐是否用完；测试期的"
            "卡可能需要激活。"
        ),
    },
    "diag.registration_denied.area": {
        "en": "The network refuses this card here: reject cause #{reject_cause} ({cause_name}).",
        "zh": "网络拒绝此卡在此处注册：拒绝原因 #{reject_cause}（{cause_name}）。",
    },
    "diag.registration_denied.area.hint": {
        "en": (
            "The card may not use this network or area (wrong carrier, roaming barred, an area-locked card, or "
            "no suitable cell): check that the card's carrier covers this site, that an area lock matches the "
            "site, and ask the card provider about roaming and area restrictions."
        ),
        "zh": (
            "此卡不能使用该网络或该区域（运营商不对、禁止漫游、区域锁定卡或无合适小区）：请确认该地点有此卡运营"
            "商的覆盖、区域限制与安装地点一致，并向卡商咨询漫游和区域限制。"
        ),
    },
    "diag.registration_denied.other": {
        "en": "The network refuses this card: reject cause #{reject_cause} ({cause_name}).",
        "zh": "网络拒绝此卡注册：拒绝原因 #{reject_cause}（{cause_name}）。",
    },
    "diag.registration_denied.other.hint": {
        "en": (
            "Ask the card provider what the card's state is (suspended, not activated, bound to another device), "
            "quoting the reject cause number."
        ),
        "zh": "请向卡商查询卡的状态（停机、未激活、绑定其他设备），并提供拒绝原因编号。",
    },
    "diag.clock.ahead": {"en": "ahead", "zh": "快"},
    "diag.clock.behind": {"en": "behind", "zh": "慢"},
    # Renewal advice (the usage meter's RenewalAdvice codes): what to do before the card's period ends.
    "renew.renew_before_26th": {
        "en": (
            "The cycle ends this month: renew by {renew_by}, before the 26th; the card provider pauses renewals "
            "from the 26th to the 1st."
        ),
        "zh": "本周期在本月结束：请最晚于 {renew_by}（26 日前）续费，卡商每月 26 日至次月 1 日暂停续费。",
    },
    "renew.renewal_paused": {
        "en": "Renewals are paused until the 1st (26th–1st): renew on the 1st, or the card may be suspended meanwhile.",
        "zh": "26 日至次月 1 日暂停续费：请在 1 日续费，期间卡可能被停机。",
    },
    "renew.default": {
        "en": "Renew or top up in the app before the period ends.",
        "zh": "请在到期前在平台上续费或充值。",
    },
    # Directed-card probes: an explanation and a hint per reason ({host} {port} {address} {server} {error} {protocol}).
    "directed.reachable": {
        "en": "resolved and connected: this card's whitelist lets {host} port {port} through",
        "zh": "解析成功并已连通：这张卡的定向白名单放行了 {host} 的 {port} 端口",
    },
    "directed.reachable_tls": {
        "en": "connected and the TLS handshake succeeded ({protocol}), certificate verified",
        "zh": "已连通，TLS 握手成功（{protocol}），证书校验通过",
    },
    "directed.dns_nxdomain": {
        "en": "the DNS server {server} says the name {host} does not exist",
        "zh": "DNS 服务器 {server} 回答：域名 {host} 不存在",
    },
    "directed.dns_nxdomain.hint": {
        "en": (
            "check the spelling; for a wildcard whitelist entry probe a concrete host (e.g. ecloud.haiwell.com "
            "for *.haiwell.com)"
        ),
        "zh": "检查拼写；通配白名单条目要用具体主机名测试（例如 *.haiwell.com 用 ecloud.haiwell.com）",
    },
    "directed.dns_no_answer": {
        "en": "the name {host} exists but has no IPv4/IPv6 address (no A or AAAA record) at {server}",
        "zh": "域名 {host} 存在，但 {server} 没有给出它的 IPv4/IPv6 地址（没有 A/AAAA 记录）",
    },
    "directed.dns_no_answer.hint": {
        "en": "ask the service's owner to publish an A or AAAA record, or probe the service's IP address",
        "zh": "请服务方添加 A 或 AAAA 记录，或直接用服务的 IP 地址测试",
    },
    "directed.dns_servfail": {
        "en": "the DNS server {server} failed to resolve {host} (SERVFAIL): it could not reach the name's own servers",
        "zh": "DNS 服务器 {server} 解析 {host} 失败（SERVFAIL）：它连不上该域名的权威服务器",
    },
    "directed.dns_servfail.hint": {
        "en": (
            "try the carrier's DNS servers from the data connection (--dns); if it persists, the name's DNS is broken"
        ),
        "zh": "改用运营商在数据连接中下发的 DNS（--dns）；若仍失败，是该域名自身的 DNS 有问题",
    },
    "directed.dns_refused": {
        "en": "the DNS server {server} refused to answer for {host}: it does not serve this device or this name",
        "zh": "DNS 服务器 {server} 拒绝解析 {host}：它不为本设备或该域名服务",
    },
    "directed.dns_refused.hint": {
        "en": "use the carrier's DNS servers from the data connection (--dns); directed cards often only allow those",
        "zh": "改用运营商在数据连接中下发的 DNS（--dns）；定向卡通常只允许运营商的 DNS",
    },
    "directed.dns_timeout": {
        "en": "no DNS server answered for {host}: on a directed card DNS itself may not be in the whitelist",
        "zh": "没有 DNS 服务器回答 {host} 的查询：定向卡上 DNS 本身可能不在白名单内",
    },
    "directed.dns_timeout.hint": {
        "en": (
            "use the carrier's DNS (the data connection's DNS servers, --dns) or ask the card provider to "
            "whitelist the DNS server; probing the service's IP address shows whether the service itself is "
            "reachable"
        ),
        "zh": (
            "改用运营商的 DNS（数据连接下发的 DNS，--dns），或请卡商把该 DNS 服务器加入白名单；直接用服务的 IP "
            "地址测试可判断服务本身是否可达"
        ),
    },
    "directed.tcp_timeout": {
        "en": (
            "resolved, but no answer from {address} port {port}: the address is probably not in this card's "
            "directed whitelist (the carrier drops the packets silently)"
        ),
        "zh": (
            "解析成功，但 {address} 的 {port} 端口没有任何回应：该地址很可能不在这张卡的定向白名单内（运营商静默丢包）"
        ),
    },
    "directed.tcp_timeout.hint": {
        "en": "ask the card provider to add {host} ({address}) to this card's whitelist",
        "zh": "请卡商把 {host}（{address}）加入这张卡的定向白名单",
    },
    "directed.tcp_unreachable": {
        "en": "{address} is unreachable over this link ({error}): no route, or the network rejected it as not allowed",
        "zh": "经此链路无法到达 {address}（{error}）：没有路由，或网络以“不可达”拒绝",
    },
    "directed.tcp_unreachable.hint": {
        "en": (
            "check that the data connection is up (iotcard info); if it is, ask the card provider to add {host} "
            "({address}) to the whitelist"
        ),
        "zh": "先确认数据连接已建立（iotcard info）；若已建立，请卡商把 {host}（{address}）加入白名单",
    },
    "directed.tcp_refused": {
        "en": "the host answered but nothing listens on port {port}: the whitelist lets it through, check the service",
        "zh": "主机有回应，但 {port} 端口没有服务在监听：白名单已放行，请检查服务",
    },
    "directed.tcp_refused.hint": {
        "en": "check that the service runs and listens on port {port} at {address}, and that the port is right",
        "zh": "确认服务在 {address} 上运行并监听 {port} 端口，并核对端口号",
    },
    "directed.tls_verify": {
        "en": "connected, but the server's certificate failed verification: {error}",
        "zh": "已连通，但服务器证书校验失败：{error}",
    },
    "directed.tls_verify.hint": {
        "en": (
            "check the device's clock and the trusted CA certificates (--ca-file); the server may present a "
            "self-signed, expired or wrong-name certificate"
        ),
        "zh": "检查设备时间和受信任的 CA 证书（--ca-file）；服务器的证书可能是自签名、已过期或域名不符",
    },
    "directed.tls_handshake": {
        "en": "connected, but the TLS handshake failed: {error}",
        "zh": "已连通，但 TLS 握手失败：{error}",
    },
    "directed.tls_handshake.hint": {
        "en": "check that port {port} speaks TLS and which TLS versions the server accepts",
        "zh": "确认 {port} 端口提供 TLS 服务，并核对服务器支持的 TLS 版本",
    },
    "directed.tls_timeout": {
        "en": "connected, but the TLS handshake got no answer in time",
        "zh": "已连通，但 TLS 握手在超时前没有回应",
    },
    "directed.tls_timeout.hint": {
        "en": "the port may not speak TLS, or packets are dropped after the connection opens",
        "zh": "该端口可能不是 TLS 服务，或连接建立后的数据包被丢弃",
    },
    "directed.ip.tcp_timeout": {
        "en": (
            "no answer from {address} port {port}: the address is probably not in this card's directed whitelist "
            "(the carrier drops the packets silently)"
        ),
        "zh": "{address} 的 {port} 端口没有任何回应：该地址很可能不在这张卡的定向白名单内（运营商静默丢包）",
    },
    "directed.ip.tcp_timeout.hint": {
        "en": "ask the card provider to add {address} to this card's whitelist",
        "zh": "请卡商把 {address} 加入这张卡的定向白名单",
    },
    "directed.target_hint": {
        "en": "give a host name, host:port, an IP address or a URL, e.g. ecloud.haiwell.com:443",
        "zh": "请给出主机名、主机名:端口、IP 地址或 URL，例如 ecloud.haiwell.com:443",
    },
    # Refused targets and options ({text}, {detail}).
    "directed.problem.empty": {"en": "the target is empty", "zh": "目标为空"},
    "directed.problem.too_long": {"en": "the target {text} is too long", "zh": "目标 {text} 太长"},
    "directed.problem.control_characters": {
        "en": "the target {text} contains control characters",
        "zh": "目标 {text} 含有控制字符",
    },
    "directed.problem.wildcard": {
        "en": (
            "{text} is a wildcard whitelist pattern, not a host: the carrier matches it against concrete names, "
            "so query a concrete host one level below {detail}, e.g. ecloud.haiwell.com for *.haiwell.com (a "
            "third-level name)"
        ),
        "zh": (
            "{text} 是通配白名单规则，不是主机：运营商用它匹配具体域名，所以要查询 {detail} "
            "下一级的具体主机，例如 *.haiwell.com 用 ecloud.haiwell.com（三级域名）"
        ),
    },
    "directed.problem.bad_characters": {
        "en": "the target {text} contains characters that cannot be in a host name: {detail}",
        "zh": "目标 {text} 含有主机名中不允许的字符：{detail}",
    },
    "directed.problem.bad_url": {"en": "the URL {text} has no host", "zh": "URL {text} 中没有主机"},
    "directed.problem.bad_scheme": {
        "en": "the URL scheme {detail} in {text} is not known; write host:port instead",
        "zh": "{text} 中的 URL 协议 {detail} 未知；请改写为 主机:端口",
    },
    "directed.problem.bad_port": {
        "en": "the port in {text} must be a number from 1 to 65535 (got {detail})",
        "zh": "{text} 中的端口必须是 1 到 65535 之间的数字（实际为 {detail}）",
    },
    "directed.problem.bad_ipv6": {
        "en": "{text} is not a valid IPv6 address: write it in brackets, with no %zone, e.g. [2001:db8::1]:443",
        "zh": "{text} 不是有效的 IPv6 地址：请写在方括号内且不带 %接口，例如 [2001:db8::1]:443",
    },
    "directed.problem.bad_ipv4": {"en": "{text} is not a valid IPv4 address", "zh": "{text} 不是有效的 IPv4 地址"},
    "directed.problem.empty_label": {
        "en": "the name {text} has an empty label (two dots in a row, or a leading dot)",
        "zh": "域名 {text} 中有空标签（连续两个点或以点开头）",
    },
    "directed.problem.label_too_long": {
        "en": "the name {text} has a label of {detail} characters; a label has at most 63",
        "zh": "域名 {text} 中有一段长 {detail} 个字符；每段最多 63 个字符",
    },
    "directed.problem.name_too_long": {
        "en": "the name {text} has {detail} characters; a name has at most 253",
        "zh": "域名 {text} 长 {detail} 个字符；域名最多 253 个字符",
    },
    "directed.problem.bad_label": {
        "en": "the label {detail} in {text} starts or ends with a hyphen",
        "zh": "{text} 中的 {detail} 以连字符开头或结尾",
    },
    "directed.problem.bad_dns_server": {
        "en": "the DNS server {text} must be an IP address with an optional port, e.g. 223.5.5.5 or 10.0.0.1:53",
        "zh": "DNS 服务器 {text} 必须是 IP 地址（可带端口），例如 223.5.5.5 或 10.0.0.1:53",
    },
    "directed.problem.bad_interface": {
        "en": "{text} is not a network interface name (letters, digits, '-', '_', '.', '@'; at most 15)",
        "zh": "{text} 不是网络接口名（字母、数字、'-'、'_'、'.'、'@'，最多 15 个字符）",
    },
    "directed.problem.bad_pattern": {
        "en": "{text} is not a wildcard whitelist pattern such as *.haiwell.com or **.haiwell.com",
        "zh": "{text} 不是通配白名单规则（例如 *.haiwell.com 或 **.haiwell.com）",
    },
    "directed.problem.probe_outside_pattern": {
        "en": (
            "the probe host {text} is not under the pattern {detail}: for *.haiwell.com probe e.g. ecloud.haiwell.com"
        ),
        "zh": "测试主机 {text} 不在规则 {detail} 之下：*.haiwell.com 应测试例如 ecloud.haiwell.com",
    },
    "directed.problem.bad_ca_file": {
        "en": "cannot read the CA file {text}: {detail}",
        "zh": "无法读取 CA 证书文件 {text}：{detail}",
    },
    "directed.problem.refused_address": {
        "en": (
            "{text} is not probed: {detail} is not a public address (set [directed] allow_private = true to "
            "allow loopback, link-local and private targets from the cloud)"
        ),
        "zh": (
            "不测试 {text}：{detail} 不是公网地址（如需允许云端测试回环、链路本地和私有地址，请设置 [directed] "
            "allow_private = true）"
        ),
    },
    "directed.problem.bad_idna": {
        "en": "the internationalised name {text} cannot be encoded (IDNA): {detail}",
        "zh": "国际化域名 {text} 无法编码（IDNA）：{detail}",
    },
    # How the probes are tied to the interface ({interface}, {sources}).
    "directed.binding.device": {
        "en": "bound to {interface} with SO_BINDTODEVICE: every probe leaves through {interface}",
        "zh": "已用 SO_BINDTODEVICE 绑定到 {interface}：所有探测都从 {interface} 发出",
    },
    "directed.binding.source_address": {
        "en": (
            "bound to {interface}'s address {sources}: replies come back over {interface}, but the routing table "
            "decides the way out unless a source rule sends that address through {interface}"
        ),
        "zh": (
            "已绑定到 {interface} 的地址 {sources}（无法使用 SO_BINDTODEVICE）：回包经 {interface} "
            "返回，但出口由路由表决定，除非有按源地址的路由规则"
        ),
    },
    "directed.binding.none": {
        "en": "not bound to an interface: probes follow the routing table",
        "zh": "未绑定接口：探测按路由表发出",
    },
    "directed.binding.sources_joiner": {"en": " and ", "zh": "、"},
    # The key facts under a diagnosis: usage this cycle, against the plan when there is one.
    "facts.usage_cycle": {"en": "{used} ({start} – {end})", "zh": "{used}（{start} – {end}）"},
    "facts.usage_plan": {"en": " of {total}", "zh": "，套餐 {total}"},
    "facts.usage_left": {"en": ", {remaining} left", "zh": "，剩余 {remaining}"},
    # `iotcard probe`: the verdicts, the interface line and the summary line.
    "directed.verdict.reachable": {"en": "reachable", "zh": "可达"},
    "directed.verdict.dns_failed": {"en": "dns_failed", "zh": "解析失败"},
    "directed.verdict.blocked": {"en": "blocked", "zh": "不通（疑似不在白名单）"},
    "directed.verdict.port_closed": {"en": "port_closed", "zh": "端口未开放"},
    "directed.verdict.tls_failed": {"en": "tls_failed", "zh": "TLS 失败"},
    "directed.verdict.invalid_target": {"en": "invalid_target", "zh": "目标无效"},
    "directed.interface": {"en": "interface: {binding}", "zh": "接口：{binding}"},
    "directed.summary": {
        "en": "{reachable} of {total} reachable, {elapsed_ms} ms",
        "zh": "{total} 个目标中 {reachable} 个可达，用时 {elapsed_ms} ms",
    },
    # The CLI's error line and `iotcard config check`.
    "cli.error": {"en": "error", "zh": "错误"},
    "cli.port_required": {"en": "no modem port given", "zh": "未指定模块串口"},
    "cli.port_required.hint": {
        "en": "pass --port /dev/ttyUSB2 or set IOTCARD_PORT",
        "zh": "用 --port /dev/ttyUSB2 指定，或设置 IOTCARD_PORT",
    },
    "cli.diag.config_hint": {
        "en": "fix the config file, or leave --config out",
        "zh": "请修正配置文件，或去掉 --config",
    },
    "cli.diag.targets_hint": {
        "en": "e.g. --targets ecloud.haiwell.com 203.0.113.7:8883",
        "zh": "例如 --targets ecloud.haiwell.com 203.0.113.7:8883",
    },
    "cli.diag.dns_hint": {"en": "e.g. --dns 211.136.17.107", "zh": "例如 --dns 211.136.17.107"},
    "cli.diag.interface_hint": {"en": "check --interface", "zh": "检查 --interface 参数"},
    "cli.config_valid": {"en": "{path}: valid", "zh": "{path}：配置有效"},
    # `iotcard usage show` and `iotcard usage sample` (the English is the label).
    "usage.heading": {"en": "Data usage on {interface}", "zh": "{interface} 流量使用"},
    "usage.interface_present": {"en": "interface present", "zh": "网卡在线"},
    "usage.interface_absent": {"en": "interface absent", "zh": "网卡不存在"},
    "usage.no_sample_yet": {"en": "no sample yet", "zh": "尚无采样"},
    "usage.cycle": {"en": "Cycle", "zh": "计费周期"},
    "usage.today_label": {"en": "Today", "zh": "今日"},
    "usage.plan": {"en": "Plan", "zh": "套餐"},
    "usage.used": {"en": "used", "zh": "已用"},
    "usage.remaining": {"en": "remaining", "zh": "剩余"},
    "usage.days_left_in_the_cycle": {"en": "days left in the cycle", "zh": "周期剩余天数"},
    "usage.expires": {"en": "expires", "zh": "有效期至"},
    "usage.last_days": {"en": "Last {days} days", "zh": "最近 {days} 天"},
    "usage.months": {"en": "Months", "zh": "按月"},
    "usage.agent_own": {"en": "The agent's own traffic", "zh": "本程序自身流量"},
    "usage.this_cycle": {"en": "this cycle", "zh": "本周期"},
    "usage.today": {"en": "today", "zh": "今日"},
    "usage.module_counters": {"en": "Module counters", "zh": "模块计数"},
    "usage.not_added_to_the_totals": {"en": "not added to the totals", "zh": "不计入总量"},
    "usage.last_sample": {"en": "Last sample", "zh": "最近采样"},
    "usage.written_to_flash_by_the_meter": {"en": "Written to flash by the meter", "zh": "计量写入闪存"},
    "usage.flag.data_low": {"en": "data low", "zh": "流量不足"},
    "usage.flag.data_exhausted": {"en": "data exhausted", "zh": "流量已用完"},
    "usage.flag.cycle_expiring": {"en": "cycle expiring", "zh": "套餐即将到期"},
    "usage.flag.expired": {"en": "expired", "zh": "卡已过期"},
    "usage.renew_before_26th": {
        "en": "renew before the 26th (renewal pauses from the 26th to the 1st)",
        "zh": "请在 26 日前续费（26 日至次月 1 日暂停续费）",
    },
    "usage.renewal_paused": {
        "en": "renewal is paused until the 1st; the plan ends this month",
        "zh": "续费暂停至次月 1 日；套餐本月到期",
    },
    "usage.absent_not_counted": {"en": "absent: not counted", "zh": "不存在：不计数"},
}

CATALOGUE: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {code: MappingProxyType(texts) for code, texts in _CATALOGUE.items()}
)
