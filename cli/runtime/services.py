"""Start whatever is not configured: the embedded broker and/or database, and stop them after."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.postgres import EmbeddedPostgres
from ioc.settings import Settings

log = logging.getLogger("ioc.runtime")


@contextmanager
def embedded_services(settings: Settings) -> Iterator[Settings]:
    """Yield settings that name a reachable broker and database, starting embedded ones if unset."""
    with ExitStack() as stack:
        kafka_url = settings.broker.kafka_url
        if kafka_url is None:
            broker = stack.enter_context(EmbeddedBroker(port=settings.broker.embedded_broker_port))
            kafka_url = broker.url
        else:
            log.info("using the configured broker; starting none")
        database_url = None
        if settings.database.database_url is None:
            pg = stack.enter_context(EmbeddedPostgres(settings.runtime.data_dir))
            database_url = pg.url
        else:
            log.info("using the configured database; starting none")
        yield settings.with_services(kafka_url=kafka_url, database_url=database_url)
