"""One settings object, read from the ``POLLSVC_*`` environment.

| env var                          | field                    | default                               |
| -------------------------------- | ------------------------ | ------------------------------------- |
| POLLSVC_DATABASE_URL             | database_url             | SQLite file in the instance folder    |
| POLLSVC_REDIS_URL                | redis_url                | unset: in-process limits and caches   |
| POLLSVC_SECRET_KEY               | secret_key               | generated once, kept in the instance  |
| POLLSVC_USER_ASSERTION_SECRET    | user_assertion_secret    | unset: `user` polls refuse every vote |
| POLLSVC_TRUSTED_PROXIES          | trusted_proxies          | 0                                     |
| POLLSVC_CORS_ORIGINS             | cors_origins             | none: only the service's own pages    |
| POLLSVC_MAX_BODY_BYTES           | max_body_bytes           | 65536                                 |
| POLLSVC_RATE_LIMIT_VOTE          | rate_limit_vote          | 30/minute                             |
| POLLSVC_RATE_LIMIT_VOTERS        | rate_limit_voters        | 10/minute                             |
| POLLSVC_RATE_LIMIT_PUBLIC_READ   | rate_limit_public_read   | 600/minute                            |
| POLLSVC_RATE_LIMIT_VIEWS         | rate_limit_views         | 120/minute                            |
| POLLSVC_RATE_LIMIT_AUTH_FAILURES | rate_limit_auth_failures | 20/minute                             |
| POLLSVC_ACCESS_LOG_IPS           | access_log_ips           | false: access logs carry no client IP |
| POLLSVC_REDIS_KEY_PREFIX         | redis_key_prefix         | pollsvc (to share one Redis)          |
| POLLSVC_BOT_CHECK                | bot_check                | pow: voter tokens cost a proof of work |
| POLLSVC_POW_BASE_COST            | pow_base_cost            | 10000 (PBKDF2 iterations per attempt) |
| POLLSVC_POW_MAX_COST             | pow_max_cost             | 64 x the base cost                    |
| POLLSVC_VOTER_TOKEN_MAX_AGE      | voter_token_max_age      | 86400 (seconds)                       |
| POLLSVC_METRICS_TOKEN            | metrics_token            | unset: /metrics for loopback only     |
| POLLSVC_DATABASE_REPLICA_URL     | database_replica_url     | unset: every read on the primary      |
| POLLSVC_REPLICA_MAX_LAG          | replica_max_lag          | 1.0 (seconds; staler: the primary)    |
| POLLSVC_DATABASE_PREPARED_STATEMENTS | database_prepared_statements | auto (off behind a pooler), on, off |
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "POLLSVC_"
_RATE_PART = re.compile(r"^\s*\d+\s*/\s*(second|minute|hour|day)s?\s*$")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    user_assertion_secret: str = ""
    trusted_proxies: int = 0
    cors_origins: str = ""
    max_body_bytes: int = 65536
    rate_limit_vote: str = "30/minute"
    rate_limit_voters: str = "10/minute"
    rate_limit_public_read: str = "600/minute"
    rate_limit_views: str = "120/minute"
    rate_limit_auth_failures: str = "20/minute"
    access_log_ips: bool = False
    redis_key_prefix: str = "pollsvc"
    bot_check: str = "pow"
    pow_base_cost: int = 10000
    pow_max_cost: int = 0
    voter_token_max_age: int = 86400
    metrics_token: str = ""
    database_replica_url: str = ""
    replica_max_lag: float = 1.0
    database_prepared_statements: str = "auto"
    redis_socket_timeout: float = 0.1
    public_cache_seconds: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, instance_path: str, overrides: dict[str, Any] | None = None) -> Settings:
        """Environment first, then ``overrides`` (lower-case field names) on top."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = os.environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, raw, type(getattr(cls, f.name)))
        extra: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            if key.lower() in {f.name for f in fields(cls)} and key.islower():
                values[key] = value
            else:
                extra[key] = value
        values["extra"] = extra
        settings = cls(**values)
        return settings._with_instance_defaults(instance_path)

    def _with_instance_defaults(self, instance_path: str) -> Settings:
        changes: dict[str, Any] = {}
        if not self.database_url:
            changes["database_url"] = "sqlite:///" + str(_private_database(Path(instance_path)))
        if not self.secret_key:
            changes["secret_key"] = _instance_secret(Path(instance_path))
        for name in ("rate_limit_vote", "rate_limit_voters", "rate_limit_public_read", "rate_limit_views",
                     "rate_limit_auth_failures"):
            validate_rate_limit(name, getattr(self, name))
        if self.trusted_proxies < 0:
            raise ConfigError("POLLSVC_TRUSTED_PROXIES must be 0 or more")
        if self.max_body_bytes < 1024:
            raise ConfigError("POLLSVC_MAX_BODY_BYTES must be at least 1024")
        if self.bot_check not in ("pow", "off"):
            raise ConfigError("POLLSVC_BOT_CHECK must be pow or off")
        if self.pow_base_cost < 1:
            raise ConfigError("POLLSVC_POW_BASE_COST must be at least 1")
        if self.pow_max_cost and self.pow_max_cost < self.pow_base_cost:
            raise ConfigError("POLLSVC_POW_MAX_COST must be at least POLLSVC_POW_BASE_COST")
        if self.voter_token_max_age < 60:
            raise ConfigError("POLLSVC_VOTER_TOKEN_MAX_AGE must be at least 60 seconds")
        if self.database_replica_url and not (self.database_replica_url.startswith("postgresql")
                                              and self.database_url.startswith("postgresql")):
            raise ConfigError("POLLSVC_DATABASE_REPLICA_URL needs PostgreSQL, for it and POLLSVC_DATABASE_URL")
        if self.replica_max_lag <= 0:
            raise ConfigError("POLLSVC_REPLICA_MAX_LAG must be more than 0 seconds")
        if self.database_prepared_statements not in ("auto", "on", "off"):
            raise ConfigError("POLLSVC_DATABASE_PREPARED_STATEMENTS must be auto, on or off")
        if not self.pow_max_cost:
            changes["pow_max_cost"] = self.pow_base_cost * 64
        if not changes:
            return self
        return Settings(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **changes})

    @property
    def cors_origin_list(self) -> list[str] | str:
        """``"*"`` (any site), or the sites that may call the API from a browser (none: only the
        service's own pages, which need no CORS)."""
        if self.cors_origins.strip() == "*":
            return "*"
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]


def validate_rate_limit(name: str, value: str) -> None:
    parts = [p for p in value.split(";") if p.strip()]
    if not parts or not all(_RATE_PART.match(p) for p in parts):
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must look like 30/minute (several joined by ';')")


def _coerce(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
    return raw


def _private_database(instance: Path) -> Path:
    """The embedded database's file, created readable by its owner alone (ballots, IP keys and
    API-key hashes are in it); SQLite gives its -wal and -shm files the same mode."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "pollsvc.sqlite3"
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def _instance_secret(instance: Path) -> str:
    """Generate the server secret once and keep it, so tokens survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won the race; read its secret below
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    for _ in range(50):
        text = path.read_text().strip()
        if text:
            return text
        time.sleep(0.02)
    raise ConfigError(f"the secret key file in the instance folder is empty: {path.name}")
