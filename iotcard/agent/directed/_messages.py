"""What a technician reads: one explanation and one hint per reason, in English and Chinese.

Templates take ``{host}``, ``{port}``, ``{address}``, ``{server}``, ``{error}`` (results) or ``{text}``,
``{detail}`` (refused targets).
"""

from __future__ import annotations

from ._model import Reason

__all__ = ["IP_TARGET_TEXT", "REASON_TEXT", "TARGET_HINT", "TARGET_PROBLEM_TEXT"]

# reason -> language -> (explanation, hint or None)
REASON_TEXT: dict[Reason, dict[str, tuple[str, str | None]]] = {
    Reason.REACHABLE: {
        "en": ("resolved and connected: this card's whitelist lets {host} port {port} through", None),
        "zh": ("解析成功并已连通：这张卡的定向白名单放行了 {host} 的 {port} 端口", None),
    },
    Reason.REACHABLE_TLS: {
        "en": ("connected and the TLS handshake succeeded ({protocol}), certificate verified", None),
        "zh": ("已连通，TLS 握手成功（{protocol}），证书校验通过", None),
    },
    Reason.DNS_NXDOMAIN: {
        "en": (
            "the DNS server {server} says the name {host} does not exist",
            "check the spelling; for a wildcard whitelist entry probe a concrete host "
            "(e.g. ecloud.haiwell.com for *.haiwell.com)",
        ),
        "zh": (
            "DNS 服务器 {server} 回答：域名 {host} 不存在",
            "检查拼写；通配白名单条目要用具体主机名测试（例如 *.haiwell.com 用 ecloud.haiwell.com）",
        ),
    },
    Reason.DNS_NO_ANSWER: {
        "en": (
            "the name {host} exists but has no IPv4/IPv6 address (no A or AAAA record) at {server}",
            "ask the service's owner to publish an A or AAAA record, or probe the service's IP address",
        ),
        "zh": (
            "域名 {host} 存在，但 {server} 没有给出它的 IPv4/IPv6 地址（没有 A/AAAA 记录）",
            "请服务方添加 A 或 AAAA 记录，或直接用服务的 IP 地址测试",
        ),
    },
    Reason.DNS_SERVFAIL: {
        "en": (
            "the DNS server {server} failed to resolve {host} (SERVFAIL): it could not reach the name's own servers",
            "try the carrier's DNS servers from the data connection (--dns); if it persists, the name's DNS is broken",
        ),
        "zh": (
            "DNS 服务器 {server} 解析 {host} 失败（SERVFAIL）：它连不上该域名的权威服务器",
            "改用运营商在数据连接中下发的 DNS（--dns）；若仍失败，是该域名自身的 DNS 有问题",
        ),
    },
    Reason.DNS_REFUSED: {
        "en": (
            "the DNS server {server} refused to answer for {host}: it does not serve this device or this name",
            "use the carrier's DNS servers from the data connection (--dns); directed cards often only allow those",
        ),
        "zh": (
            "DNS 服务器 {server} 拒绝解析 {host}：它不为本设备或该域名服务",
            "改用运营商在数据连接中下发的 DNS（--dns）；定向卡通常只允许运营商的 DNS",
        ),
    },
    Reason.DNS_TIMEOUT: {
        "en": (
            "no DNS server answered for {host}: on a directed card DNS itself may not be in the whitelist",
            "use the carrier's DNS (the data connection's DNS servers, --dns) or ask the card provider to whitelist "
            "the DNS server; probing the service's IP address shows whether the service itself is reachable",
        ),
        "zh": (
            "没有 DNS 服务器回答 {host} 的查询：定向卡上 DNS 本身可能不在白名单内",
            "改用运营商的 DNS（数据连接下发的 DNS，--dns），或请卡商把该 DNS 服务器加入白名单；"
            "直接用服务的 IP 地址测试可判断服务本身是否可达",
        ),
    },
    Reason.TCP_TIMEOUT: {
        "en": (
            "resolved, but no answer from {address} port {port}: the address is probably not in this card's "
            "directed whitelist (the carrier drops the packets silently)",
            "ask the card provider to add {host} ({address}) to this card's whitelist",
        ),
        "zh": (
            "解析成功，但 {address} 的 {port} 端口没有任何回应：该地址很可能不在这张卡的定向白名单内（运营商静默丢包）",
            "请卡商把 {host}（{address}）加入这张卡的定向白名单",
        ),
    },
    Reason.TCP_UNREACHABLE: {
        "en": (
            "{address} is unreachable over this link ({error}): no route, or the network rejected it as not allowed",
            "check that the data connection is up (iotcard info); if it is, ask the card provider to add {host} "
            "({address}) to the whitelist",
        ),
        "zh": (
            "经此链路无法到达 {address}（{error}）：没有路由，或网络以“不可达”拒绝",
            "先确认数据连接已建立（iotcard info）；若已建立，请卡商把 {host}（{address}）加入白名单",
        ),
    },
    Reason.TCP_REFUSED: {
        "en": (
            "the host answered but nothing listens on port {port}: the whitelist lets it through, check the service",
            "check that the service runs and listens on port {port} at {address}, and that the port is right",
        ),
        "zh": (
            "主机有回应，但 {port} 端口没有服务在监听：白名单已放行，请检查服务",
            "确认服务在 {address} 上运行并监听 {port} 端口，并核对端口号",
        ),
    },
    Reason.TLS_VERIFY: {
        "en": (
            "connected, but the server's certificate failed verification: {error}",
            "check the device's clock and the trusted CA certificates (--ca-file); the server may present a "
            "self-signed, expired or wrong-name certificate",
        ),
        "zh": (
            "已连通，但服务器证书校验失败：{error}",
            "检查设备时间和受信任的 CA 证书（--ca-file）；服务器的证书可能是自签名、已过期或域名不符",
        ),
    },
    Reason.TLS_HANDSHAKE: {
        "en": (
            "connected, but the TLS handshake failed: {error}",
            "check that port {port} speaks TLS and which TLS versions the server accepts",
        ),
        "zh": ("已连通，但 TLS 握手失败：{error}", "确认 {port} 端口提供 TLS 服务，并核对服务器支持的 TLS 版本"),
    },
    Reason.TLS_TIMEOUT: {
        "en": (
            "connected, but the TLS handshake got no answer in time",
            "the port may not speak TLS, or packets are dropped after the connection opens",
        ),
        "zh": ("已连通，但 TLS 握手在超时前没有回应", "该端口可能不是 TLS 服务，或连接建立后的数据包被丢弃"),
    },
}

# An IP target resolved nothing, so "resolved, but" would be wrong.
IP_TARGET_TEXT: dict[Reason, dict[str, tuple[str, str | None]]] = {
    Reason.TCP_TIMEOUT: {
        "en": (
            "no answer from {address} port {port}: the address is probably not in this card's directed whitelist "
            "(the carrier drops the packets silently)",
            "ask the card provider to add {address} to this card's whitelist",
        ),
        "zh": (
            "{address} 的 {port} 端口没有任何回应：该地址很可能不在这张卡的定向白名单内（运营商静默丢包）",
            "请卡商把 {address} 加入这张卡的定向白名单",
        ),
    },
}

TARGET_HINT: dict[str, str] = {
    "en": "give a host name, host:port, an IP address or a URL, e.g. ecloud.haiwell.com:443",
    "zh": "请给出主机名、主机名:端口、IP 地址或 URL，例如 ecloud.haiwell.com:443",
}

# problem reason -> language -> message
TARGET_PROBLEM_TEXT: dict[str, dict[str, str]] = {
    "empty": {"en": "the target is empty", "zh": "目标为空"},
    "too_long": {"en": "the target {text} is too long", "zh": "目标 {text} 太长"},
    "control_characters": {
        "en": "the target {text} contains control characters",
        "zh": "目标 {text} 含有控制字符",
    },
    "wildcard": {
        "en": "{text} is a wildcard whitelist pattern, not a host: the carrier matches it against concrete names, "
        "so query a concrete host one level below {detail}, e.g. ecloud.haiwell.com for *.haiwell.com "
        "(a third-level name)",
        "zh": "{text} 是通配白名单规则，不是主机：运营商用它匹配具体域名，所以要查询 {detail} 下一级的具体主机，"
        "例如 *.haiwell.com 用 ecloud.haiwell.com（三级域名）",
    },
    "bad_characters": {
        "en": "the target {text} contains characters that cannot be in a host name: {detail}",
        "zh": "目标 {text} 含有主机名中不允许的字符：{detail}",
    },
    "bad_url": {"en": "the URL {text} has no host", "zh": "URL {text} 中没有主机"},
    "bad_scheme": {
        "en": "the URL scheme {detail} in {text} is not known; write host:port instead",
        "zh": "{text} 中的 URL 协议 {detail} 未知；请改写为 主机:端口",
    },
    "bad_port": {
        "en": "the port in {text} must be a number from 1 to 65535 (got {detail})",
        "zh": "{text} 中的端口必须是 1 到 65535 之间的数字（实际为 {detail}）",
    },
    "bad_ipv6": {
        "en": "{text} is not a valid IPv6 address: write it in brackets, with no %zone, e.g. [2001:db8::1]:443",
        "zh": "{text} 不是有效的 IPv6 地址：请写在方括号内且不带 %接口，例如 [2001:db8::1]:443",
    },
    "bad_ipv4": {"en": "{text} is not a valid IPv4 address", "zh": "{text} 不是有效的 IPv4 地址"},
    "empty_label": {
        "en": "the name {text} has an empty label (two dots in a row, or a leading dot)",
        "zh": "域名 {text} 中有空标签（连续两个点或以点开头）",
    },
    "label_too_long": {
        "en": "the name {text} has a label of {detail} characters; a label has at most 63",
        "zh": "域名 {text} 中有一段长 {detail} 个字符；每段最多 63 个字符",
    },
    "name_too_long": {
        "en": "the name {text} has {detail} characters; a name has at most 253",
        "zh": "域名 {text} 长 {detail} 个字符；域名最多 253 个字符",
    },
    "bad_label": {
        "en": "the label {detail} in {text} starts or ends with a hyphen",
        "zh": "{text} 中的 {detail} 以连字符开头或结尾",
    },
    "bad_dns_server": {
        "en": "the DNS server {text} must be an IP address with an optional port, e.g. 223.5.5.5 or 10.0.0.1:53",
        "zh": "DNS 服务器 {text} 必须是 IP 地址（可带端口），例如 223.5.5.5 或 10.0.0.1:53",
    },
    "bad_interface": {
        "en": "{text} is not a network interface name (letters, digits, '-', '_', '.', '@'; at most 15)",
        "zh": "{text} 不是网络接口名（字母、数字、'-'、'_'、'.'、'@'，最多 15 个字符）",
    },
    "bad_pattern": {
        "en": "{text} is not a wildcard whitelist pattern such as *.haiwell.com or **.haiwell.com",
        "zh": "{text} 不是通配白名单规则（例如 *.haiwell.com 或 **.haiwell.com）",
    },
    "probe_outside_pattern": {
        "en": "the probe host {text} is not under the pattern {detail}: for *.haiwell.com probe e.g. "
        "ecloud.haiwell.com",
        "zh": "测试主机 {text} 不在规则 {detail} 之下：*.haiwell.com 应测试例如 ecloud.haiwell.com",
    },
    "bad_ca_file": {
        "en": "cannot read the CA file {text}: {detail}",
        "zh": "无法读取 CA 证书文件 {text}：{detail}",
    },
    "refused_address": {
        "en": "{text} is not probed: {detail} is not a public address (set [directed] allow_private = true to "
        "allow loopback, link-local and private targets from the cloud)",
        "zh": "不测试 {text}：{detail} 不是公网地址（如需允许云端测试回环、链路本地和私有地址，请设置 "
        "[directed] allow_private = true）",
    },
    "bad_idna": {
        "en": "the internationalised name {text} cannot be encoded (IDNA): {detail}",
        "zh": "国际化域名 {text} 无法编码（IDNA）：{detail}",
    },
}
