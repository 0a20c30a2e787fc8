"""Database URLs: every supported form parses; bad ones fail naming the setting; the password never shows."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.dburl import URL_FORMS, parse_database_url
from shared.errors import ConfigurationError


def test_mysql_url_with_host_port_and_password() -> None:
    url = parse_database_url("mysql://app:s3cr%40t@db.internal:3307/shop")
    assert (url.engine, url.user, url.password, url.host, url.port, url.database) == (
        "mysql",
        "app",
        "s3cr@t",
        "db.internal",
        3307,
        "shop",
    )
    assert url.unix_socket is None


@pytest.mark.parametrize(
    ("text", "engine", "port"),
    [
        ("mariadb://root@127.0.0.1/x", "mysql", 3306),
        ("postgres://u@h/x", "postgresql", 5432),
        ("postgresql://u@h:6543/x", "postgresql", 6543),
    ],
)
def test_schemes_and_default_ports(text: str, engine: str, port: int) -> None:
    url = parse_database_url(text)
    assert (url.engine, url.port) == (engine, port)


def test_cloud_sql_socket_forms() -> None:
    mysql = parse_database_url("mysql://app:pw@/shop?unix_socket=/cloudsql/proj:europe-west1:main")
    assert mysql.unix_socket == "/cloudsql/proj:europe-west1:main"
    assert mysql.cloudsql_instance == "proj:europe-west1:main"
    pg = parse_database_url("postgresql://app@/shop?host=/cloudsql/proj:us-central1:pg")
    assert pg.unix_socket == "/cloudsql/proj:us-central1:pg"


def test_tls_settings_default_to_prefer_and_show_in_the_redacted_form() -> None:
    plain = parse_database_url("postgresql://u:pw@db:5432/x")
    assert (plain.tls, plain.tls_ca_file) == ("prefer", None)
    assert plain.redacted() == "postgresql://u:***@db:5432/x"
    checked = parse_database_url("mysql://u:pw@db/x?sslmode=verify-full&sslrootcert=/secrets/ca%20file.pem")
    assert (checked.tls, checked.tls_ca_file) == ("verify-full", "/secrets/ca file.pem")
    assert checked.redacted() == "mysql://u:***@db:3306/x?sslmode=verify-full&sslrootcert=/secrets/ca%20file.pem"
    assert parse_database_url(checked.redacted().replace("***", "pw")) == checked
    on_socket = parse_database_url("mysql://u:pw@/x?unix_socket=/s&sslmode=disable")
    assert on_socket.tls == "disable"
    assert on_socket.redacted() == "mysql://u:***@/x?unix_socket=/s&sslmode=disable"
    assert parse_database_url(on_socket.redacted().replace("***", "pw")) == on_socket


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "is empty"),
        ("oracle://u@h/x", "unsupported scheme"),
        ("mysql://u@h/", "exactly one database"),
        ("mysql://u@h/a/b", "exactly one database"),
        ("mysql://u@h:notaport/x", "bad port"),
        ("mysql://@h/x", "must name a user"),
        ("mysql://u@/x", "needs a host or a unix_socket"),
        ("mysql://u@h/x?unix_socket=relative", "absolute path"),
        ("mysql://u@h/x?ssl=true", "unknown parameters: ssl (known: unix_socket"),
        ("mysql://u@h/x?sslmode=verify", "sslmode='verify' is not one of disable, prefer, require"),
        ("postgresql://u@h/x?sslmode=verify-full", "needs sslrootcert=/path/to/ca.pem"),
        ("postgresql://u@h/x?sslmode=verify-ca&sslrootcert=ca.pem", "sslrootcert must be an absolute path"),
        ("postgresql://u@h/x?sslmode=require&sslrootcert=/ca.pem", "only used with sslmode=verify-ca"),
        ("mysql://u@/x?unix_socket=/cloudsql/p:r:i&sslmode=require", "sslmode=require needs a TCP host"),
    ],
)
def test_bad_urls_name_the_setting(text: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_database_url(text)
    assert "BACKUP_DATABASE_URL" in str(info.value)
    assert fragment in str(info.value)


_password = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N", "P", "S")), min_size=8, max_size=30
).filter(
    lambda p: (
        "@" not in p
        and "/" not in p
        and ":" not in p
        and "%" not in p
        and "?" not in p
        and "#" not in p
        and "[" not in p
        and "]" not in p
    )
)


@given(password=_password)
def test_password_never_appears_in_text_forms(password: str) -> None:
    url = parse_database_url(f"mysql://app:{password}@db:3306/shop")
    assert url.password == password
    for text in (str(url), repr(url), url.redacted()):
        assert password not in text
    assert "***" in url.redacted()


@given(password=_password)
def test_password_never_appears_in_errors(password: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_database_url(f"mysql://app:{password}@db:99999999/shop")
    assert password not in str(info.value).replace(URL_FORMS, "")
