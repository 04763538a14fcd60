"""The Redis tests need Debian's redis-server: `make test` installs it when
missing and it may run apt-get; elsewhere these tests skip, naming the package."""

from __future__ import annotations

import pytest

from abstractcore_actors.testing import REDIS_SERVER, RedisProcess, running_redis

needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs Debian's redis-server (apt-get install redis-server)"
)

__all__ = ["RedisProcess", "needs_redis", "running_redis"]
