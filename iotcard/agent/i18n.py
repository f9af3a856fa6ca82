"""The technician's language: English, or Chinese when LANG/LC_ALL/LC_MESSAGES starts with zh."""

from __future__ import annotations

import os

__all__ = ["detect_language", "display_width", "port_error_text", "t"]

_ZH: dict[str, str] = {
    # info labels
    "Modem": "模块",
    "Manufacturer": "厂商",
    "Model": "型号",
    "Revision": "固件版本",
    "IMEI": "IMEI",
    "SIM": "SIM 卡",
    "State": "状态",
    "ICCID": "ICCID",
    "IMSI": "IMSI",
    "Carrier": "运营商",
    "Network": "网络",
    "Registration": "注册状态",
    "Technology": "制式",
    "Operator": "运营商网络",
    "LAC/TAC": "LAC/TAC",
    "Cell ID": "小区 ID",
    "Attached": "数据附着",
    "APN": "APN",
    "IP address": "IP 地址",
    "Signal": "信号",
    "RSSI": "RSSI",
    "RSRP": "RSRP",
    "RSRQ": "RSRQ",
    "SINR": "SINR",
    "Bars": "信号格数",
    "Temperature": "模块温度",
    "SIM slot": "SIM 卡槽",
    "Radio": "射频",
    "Reject cause": "拒绝原因",
    "Last error": "最近错误",
    "Band": "频段",
    "DNS": "DNS",
    "Network time": "网络时间",
    "on": "开启",
    "off": "关闭（飞行模式）",
    "limited": "受限",
    "Dialect": "指令方言",
    "Port": "串口",
    "Commands": "指令数",
    "Notes": "备注",
    "Usage this cycle": "本周期用量",
    "yes": "是",
    "no": "否",
    "unknown": "未知",
    # states
    "ready": "就绪",
    "absent": "未插卡",
    "pin_required": "需要 PIN 码",
    "puk_required": "需要 PUK 码（已锁）",
    "error": "卡故障",
    "home": "已注册（本地网）",
    "roaming": "已注册（漫游）",
    "searching": "正在搜网",
    "denied": "注册被拒",
    "not_registered": "未注册",
    "emergency_only": "仅紧急呼叫",
    # errors
    "port_missing": "串口 {port} 不存在",
    "port_permission": "没有权限打开串口 {port}",
    "port_busy": "串口 {port} 正被其他程序占用",
    "port_not_tty": "{port} 不是串口设备",
    "port_vanished": "串口 {port} 在通信中消失了",
    "port_unavailable": "无法打开串口 {port}",
    "modem_unresponsive": "模块没有响应 AT 指令",
    "hint:port_missing": "检查模块是否上电、USB 线是否插好；用 'ls -l /dev/serial/by-id/' 查看串口",
    "hint:port_permission": "把用户加入 dialout 组：'sudo usermod -aG dialout $USER'，然后重新登录",
    "hint:port_busy": "其他程序占用了串口：iotcard 守护进程、ModemManager 或 minicom 等；先停止它们",
    "hint:port_not_tty": "请指定模块的 AT 口，例如 /dev/ttyUSB2",
    "hint:port_vanished": "USB 模块重新枚举或掉电了；等它回来后再试",
    "hint:port_unavailable": "检查模块和串口路径",
    "hint:modem_unresponsive": "检查模块供电和波特率（--baud）；必要时给模块断电重启",
}


# English words for enum values a technician reads (the JSON keeps the raw values).
_EN: dict[str, str] = {
    "ready": "ready",
    "absent": "no SIM card",
    "pin_required": "PIN required",
    "puk_required": "PUK required (blocked)",
    "error": "SIM failure",
    "home": "registered (home network)",
    "roaming": "registered (roaming)",
    "searching": "searching",
    "denied": "registration denied",
    "not_registered": "not registered",
    "emergency_only": "emergency calls only",
}


def detect_language(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def t(text: str, lang: str, **values: object) -> str:
    """Translate ``text`` (the English form is the key) and fill ``{placeholders}``."""
    template = _ZH.get(text, text) if lang == "zh" else _EN.get(text, text)
    return template.format(**values) if values else template


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two (for aligned labels in Chinese output)."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def port_error_text(code: str, port: str, message: str, hint: str, lang: str) -> tuple[str, str]:
    """A port error's sentence and hint in ``lang`` (the English ones come with the error itself)."""
    if lang != "zh":
        return message, hint
    return t(code, lang, port=port), t(f"hint:{code}", lang)
