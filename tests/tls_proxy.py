"""A TLS front for the embedded broker, which has no TLS listener of its own.

Tansu 0.6.0 accepts `--cert`/`--key` but still reads a TLS ClientHello as a Kafka frame (the
handshake times out), so tests of the product's TLS settings put this proxy in front of it and
have the broker advertise the proxy's port. The proxy requires a client certificate signed by
the test's CA and records, per connection, the certificate's subject and the Kafka `client_id`
of the first request, so a test can tell which of the product's clients came through TLS; a
handshake that fails is recorded too.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from cli.runtime.broker import EmbeddedBroker
from cli.runtime.process import free_port


@dataclass
class Pki:
    """A test CA with a server certificate for 127.0.0.1 and a client certificate, as files."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    key_password: str

    @classmethod
    def create(cls, folder: Path, *, client: str = "ioc-pipeline", key_password: str = "") -> Pki:
        folder.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        server = ca.issue_cert("127.0.0.1", "localhost")
        user = ca.issue_cert(f"{client}.ioc.test", common_name=client)
        paths = {name: folder / f"{name}.pem" for name in ("ca", "server", "server_key", "client", "key")}
        ca.cert_pem.write_to_path(str(paths["ca"]))
        server.cert_chain_pems[0].write_to_path(str(paths["server"]))
        server.private_key_pem.write_to_path(str(paths["server_key"]))
        user.cert_chain_pems[0].write_to_path(str(paths["client"]))
        key = user.private_key_pem.bytes()
        if key_password:
            from cryptography.hazmat.primitives import serialization

            private = serialization.load_pem_private_key(key, password=None)
            key = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(key_password.encode()),
            )
        paths["key"].write_bytes(key)
        return cls(
            paths["ca"], paths["server"], paths["server_key"], paths["client"], paths["key"], key_password
        )


@dataclass
class Seen:
    """What the proxy saw: one entry per TLS connection, and the handshakes that failed."""

    connections: list[tuple[str, str]] = field(default_factory=list)  # (certificate CN, client_id)
    failures: list[str] = field(default_factory=list)

    @property
    def client_ids(self) -> set[str]:
        return {client_id for _cn, client_id in self.connections}


class TlsProxy:
    """TLS (client certificate required) on `port`, plain bytes to the broker behind it."""

    def __init__(self, pki: Pki, upstream: tuple[str, int], port: int) -> None:
        self.pki = pki
        self.upstream = upstream
        self.port = port
        self.seen = Seen()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tls-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.pki.ca))
        ctx.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def start(self) -> None:
        self._thread.start()
        start = asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # each connection closes its sockets

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:  # the handshake by hand, so that a refused one is seen (asyncio's own is silent)
            await writer.start_tls(self._context())
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            self.seen.failures.append(repr(exc))
            writer.close()
            return
        peer = writer.get_extra_info("peercert") or {}
        cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), "")
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        try:
            size = struct.unpack(">i", await reader.readexactly(4))[0]
            frame = await reader.readexactly(size)
            (length,) = struct.unpack(">h", frame[8:10])  # after api key, version, correlation id
            self.seen.connections.append((cn, frame[10 : 10 + length].decode() if length >= 0 else ""))
            up_writer.write(struct.pack(">i", size) + frame)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        with contextlib.suppress(OSError, RuntimeError):
            sink.write_eof()


@contextlib.contextmanager
def tls_broker(pki: Pki) -> Iterator[tuple[EmbeddedBroker, TlsProxy]]:
    """The embedded broker, reachable only through TLS as far as its clients know."""
    port = free_port()
    with EmbeddedBroker(advertised_port=port) as broker:
        proxy = TlsProxy(pki, (broker.host, broker.port), port)
        proxy.start()
        try:
            yield broker, proxy
        finally:
            proxy.stop()
