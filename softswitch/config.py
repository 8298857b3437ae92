"""Settings: defaults < TOML file < environment (`SOFTSWITCH_*`) < command-line flags.

The TOML file is optional; its path comes from `--config` or `SOFTSWITCH_CONFIG`. Keys are the
field names below, at the top level of the file:

    sip_port = 5060
    realm = "county.example"
    database_url = "postgresql://softswitch@db/softswitch"
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .overload import DEFAULT_TARGET
from .transaction import TimerConfig
from .transport.networks import parse_network

__all__ = ["CONFIG_ENV", "ConfigError", "Settings", "load_settings", "resolve_database_url"]

CONFIG_ENV = "SOFTSWITCH_CONFIG"

LogLevel = Literal["debug", "info", "warning", "error", "critical"]

_config_file: ContextVar[Path | None] = ContextVar("softswitch_config_file", default=None)


class ConfigError(Exception):
    """Settings that cannot be used; the message is one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOFTSWITCH_",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    sip_host: str = "0.0.0.0"
    sip_port: int = Field(5060, ge=0, le=65535, description="UDP and TCP listen on this port")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="worker processes, one per core: all take new requests on sip_port, "
        "worker i also on sip_port + i (softswitch/workers.py)",
    )
    data_dir: Path = Path("./softswitch-data")
    database_url: str | None = Field(None, description="None: an embedded PostgreSQL")
    realm: str = Field("softswitch", min_length=1)
    node: str = Field(default_factory=socket.gethostname, min_length=1)
    take_over: str = Field(
        "",
        description="other nodes, comma-separated, whose held callers this node answers as it "
        "starts when they are not running (a machine that took over another's address)",
    )
    trusted_networks: str = Field(
        "",
        description="source networks, comma-separated (10.20.0.0/16, 2001:db8::/48), whose "
        "phones register and call without digest authentication: a REGISTER is taken for the "
        "line in its To, a call for the line in its From; only for a managed access network "
        "that nobody outside can send from",
    )
    min_expires: int = Field(60, ge=1)
    max_expires: int = Field(3600, ge=1)
    default_expires: int = Field(3600, ge=1)
    nonce_lifetime: int = Field(300, ge=1)
    digest_algorithms: str = Field(
        "SHA-256,MD5",
        description="challenges offered, most preferred first (RFC 8760 §2.4); phones that "
        "answer only the first challenge and know only MD5 need 'MD5,SHA-256' or 'MD5'",
    )
    max_message_size: int = Field(65535, ge=1024, le=1 << 24)
    sip_t1: float = Field(
        0.5,
        ge=0.01,
        le=60,
        description="seconds: the round-trip estimate UDP retransmissions start from, and 64 "
        "times it how long a transaction waits for its answer and is kept after it, but for "
        "Timer D, which stays 32 s (§17.1.1.1; 500 ms by default, smaller only on a network "
        "known to be faster)",
    )
    sip_t2: float = Field(
        4.0, ge=0.01, le=600, description="seconds: the longest interval between retransmissions"
    )
    sip_t4: float = Field(
        5.0, ge=0.01, le=600, description="seconds a message may stay in the network"
    )
    tcp_idle_timeout: int = Field(600, ge=1)
    overload_target: float = Field(
        DEFAULT_TARGET,
        gt=0,
        le=1,
        description="share of its time the serving thread may be busy before new calls and "
        "registrations are refused with 503 (softswitch/overload.py)",
    )
    log_level: LogLevel = "info"
    http_host: str = Field("0.0.0.0", description="address of the operator console")
    http_port: int | None = Field(8080, ge=0, le=65535, description="None: no console")
    console_secure_cookies: bool = Field(
        False, description="mark the console's session cookie Secure (behind HTTPS)"
    )
    dialplan_dir: Path = Field(
        Path("dialplans"),
        description="the folder of dialplan files that `softswitch dialplan` commands read",
    )

    @field_validator("digest_algorithms")
    @classmethod
    def _known_algorithms(cls, value: str) -> str:
        names = [name.strip().upper() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in ("MD5", "SHA-256")]
        if not names or unknown:
            raise ValueError("digest_algorithms takes MD5 and SHA-256, most preferred first")
        return ",".join(dict.fromkeys(names))

    @field_validator("trusted_networks")
    @classmethod
    def _networks_readable(cls, value: str) -> str:
        names = [name.strip() for name in value.split(",") if name.strip()]
        for name in names:
            parse_network(name)  # its ValueError is the one-line complaint
        return ",".join(names)

    @property
    def trusted_network_list(self) -> tuple[str, ...]:
        return tuple(self.trusted_networks.split(",")) if self.trusted_networks else ()

    @property
    def take_over_nodes(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.take_over.split(",") if name.strip())

    @property
    def digest_algorithm_list(self) -> tuple[str, ...]:
        return tuple(self.digest_algorithms.split(","))

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _expires_in_order(self) -> Settings:
        if not self.min_expires <= self.default_expires <= self.max_expires:
            raise ValueError(
                "expires must satisfy min_expires <= default_expires <= max_expires "
                f"(got {self.min_expires}, {self.default_expires}, {self.max_expires})"
            )
        return self

    @model_validator(mode="after")
    def _timers_in_order(self) -> Settings:
        if self.sip_t1 > self.sip_t2:
            raise ValueError(f"sip_t1 must not exceed sip_t2 (got {self.sip_t1}, {self.sip_t2})")
        return self

    @property
    def timers(self) -> TimerConfig:
        return TimerConfig(t1=self.sip_t1, t2=self.sip_t2, t4=self.sip_t4)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None and os.environ.get(CONFIG_ENV):
            path = Path(os.environ[CONFIG_ENV])
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from the TOML file (`config`, else `$SOFTSWITCH_CONFIG`), the environment and
    `overrides` (command-line flags; `None` values are ignored). Raises `ConfigError`."""
    path_text = str(config) if config is not None else os.environ.get(CONFIG_ENV) or None
    path = Path(path_text).expanduser() if path_text else None
    if path is not None:
        _check_toml(path)
    flags = {key: value for key, value in overrides.items() if value is not None}
    token = _config_file.set(path)
    try:
        return Settings(**flags)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc
    finally:
        _config_file.reset(token)


def resolve_database_url(settings: Settings) -> str:
    """The configured database URL, or that of the embedded server, started if need be."""
    if settings.database_url:
        return settings.database_url
    from softswitch.store.embedded import start_embedded

    return start_embedded(settings.data_dir)


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    """Log to standard error at the settings' level; `quiet`: warnings and worse, unless
    debug (admin commands print their result, and only problems go to the log)."""
    level = logging.getLevelName(settings.log_level.upper())
    if quiet and settings.log_level != "debug":
        level = max(level, logging.WARNING)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.log_level == "debug":
        logging.getLogger("pgserver").setLevel(logging.DEBUG)


def _check_toml(path: Path) -> None:
    try:
        with path.open("rb") as file:
            tomllib.load(file)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


def _describe(exc: ValidationError, path: Path | None) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting" + (f" in {path}" if path else "")
        elif "input" in error and not isinstance(error["input"], dict):
            message += f" (got {error['input']!r})"
        problems.append(f"{where}: {message}" if where else message)
    return "invalid settings: " + "; ".join(problems)
