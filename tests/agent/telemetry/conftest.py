"""Fixtures: a real Mosquitto on loopback (plain, TLS, password), certificates made at test time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mosquitto_support import MOSQUITTO, OPENSSL, USERS, Broker, Certs, make_certs, make_password_file


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    if OPENSSL is None:
        pytest.skip("openssl is not installed (make test installs it when run as root)")
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def broker(tmp_path: Path, certs: Certs) -> Iterator[Broker]:
    """Mosquitto with plain, TLS and (when mosquitto_passwd exists) password listeners; stopped at teardown."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (make test installs it when run as root)")
    password_file = make_password_file(tmp_path / "passwd", USERS)
    server = Broker(tmp_path / "broker", certs=certs, password_file=password_file)
    server.start()
    try:
        yield server
    finally:
        server.stop()
