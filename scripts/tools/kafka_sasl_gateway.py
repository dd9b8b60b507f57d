#!/usr/bin/env python3
"""A SASL-authenticating Kafka front for tansu (which has no SASL), for the test suite.

It speaks the start of the Kafka protocol itself and relays everything else to an upstream broker:

* ApiVersions before authentication: relayed upstream; the answer gets SaslHandshake (0-1) and
  SaslAuthenticate (0-2) added.
* SaslHandshake v1: answers with the enabled mechanisms (error 33 for another mechanism).
* SaslAuthenticate v0-2: runs the exchange
    PLAIN          checks user/password (--user NAME:PASSWORD, repeatable)
    SCRAM-SHA-256/512  the server side of SCRAM with the `scramp` library (same users)
    OAUTHBEARER    checks the RFC 7628 bearer token (--token, repeatable)
    AWS_MSK_IAM    recomputes the SigV4 query signature with botocore (--aws-key ID:SECRET,
                   repeatable; --region), checks host, expiry and session token
  A failure answers error 58 SASL_AUTHENTICATION_FAILED with a message naming the mechanism, then
  closes the connection (as Kafka does).
* Any other request before authentication closes the connection.
* After authentication, requests are relayed frame by frame. When the session has a lifetime
  (--session-ms, or --short-session USER:MS for one user), a request after expiry closes the
  connection; a new SaslHandshake + SaslAuthenticate on the open connection re-authenticates
  (KIP-368). Answers the gateway writes itself wait for the relayed answers before them, so the
  client sees responses in request order. As Kafka requires, a re-authentication that starts with
  requests in flight, or another request between SaslHandshake and the end of the exchange,
  closes the connection (counted as "violations").

Metadata is relayed unchanged: run the upstream tansu with --advertised-listener-url pointing at
this gateway's port. Counters go to --status FILE as JSON
({"authentications": N, "reauthentications": N, "failures": N, "by_user": {...}}).

Usage: kafka_sasl_gateway.py --listen PORT --upstream HOST:PORT [--cert C --key K] --user u:p ...
Secrets are never logged.
"""
import argparse
import asyncio
import base64
import datetime
import json
import os
import ssl
import struct
import sys
import time
import uuid

import scramp
from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

API_PRODUCE = 0
API_SASL_HANDSHAKE = 17
API_API_VERSIONS = 18
API_SASL_AUTHENTICATE = 36
SASL_AUTH_FAILED = 58
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
MAX_FRAME = 100 * 1024 * 1024

STATS = {"authentications": 0, "reauthentications": 0, "failures": 0, "by_user": {}}


def log(msg):
    print(f"{datetime.datetime.now().isoformat(timespec='milliseconds')} kafka-sasl-gateway: {msg}",
          file=sys.stderr, flush=True)


def save_stats(args):
    if not args.status:
        return
    tmp = args.status + ".tmp"
    with open(tmp, "w") as f:
        json.dump(STATS, f)
    os.replace(tmp, args.status)


def count(args, user, kind):
    STATS[kind] += 1
    per = STATS["by_user"].setdefault(user or "?", {"authentications": 0, "reauthentications": 0, "failures": 0})
    per[kind] += 1
    save_stats(args)


# ---- wire helpers --------------------------------------------------------------------------------

class Reader:
    def __init__(self, data, pos=0):
        self.d = data
        self.p = pos

    def take(self, n):
        if n < 0 or self.p + n > len(self.d):
            raise ValueError("truncated")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift = 0
        out = 0
        while True:
            b = self.take(1)[0]
            out |= (b & 0x7F) << shift
            if b < 0x80:
                return out
            shift += 7
            if shift > 28:
                raise ValueError("varint")

    def nstring(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def cstring(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def bytes32(self):
        n = self.i32()
        return b"" if n < 0 else self.take(n)

    def cbytes(self):
        n = self.uvarint()
        return b"" if n == 0 else self.take(n - 1)

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def uvarint(n):
    out = bytearray()
    while True:
        if n < 0x80:
            out.append(n)
            return bytes(out)
        out.append((n & 0x7F) | 0x80)
        n >>= 7


def flexible_request(key, version):
    return {API_API_VERSIONS: 3, API_SASL_AUTHENTICATE: 2, API_PRODUCE: 9}.get(key, 99) <= version


def parse_header(frame):
    r = Reader(frame)
    key, version, corr = r.i16(), r.i16(), r.i32()
    r.nstring()  # client id
    if flexible_request(key, version):
        r.skip_tags()
    return key, version, corr, r


def expects_response(key, version, body):
    if key != API_PRODUCE:
        return True
    try:
        if version >= 9:
            body.cstring()
        elif version >= 3:
            body.nstring()
        return body.i16() != 0
    except ValueError:
        return True


async def read_frame(reader):
    head = await reader.readexactly(4)
    (size,) = struct.unpack(">i", head)
    if size < 8 or size > MAX_FRAME:
        raise ValueError(f"frame size {size}")
    return await reader.readexactly(size)


def response(corr, body, flexible_header=False):
    head = struct.pack(">i", corr) + (b"\x00" if flexible_header else b"")
    data = head + body
    return struct.pack(">i", len(data)) + data


# ---- mechanisms ----------------------------------------------------------------------------------

class AuthFailed(Exception):
    pass


class Exchange:
    """One SASL exchange; step(bytes) returns (server bytes, done, user)."""

    def __init__(self, args, mechanism):
        self.args = args
        self.mechanism = mechanism
        self.scram = None
        self.user = None

    def step(self, data):
        m = self.mechanism
        if m == "PLAIN":
            parts = data.split(b"\x00")
            if len(parts) != 3:
                raise AuthFailed("malformed PLAIN message")
            user, password = parts[1].decode(errors="replace"), parts[2].decode(errors="replace")
            self.user = user
            if self.args.users.get(user) != password:
                raise AuthFailed(f"Authentication failed: Invalid username or password")
            return b"", True
        if m.startswith("SCRAM-"):
            if self.scram is None:
                mech = scramp.ScramMechanism(m)
                infos = self.args.scram_info.setdefault(m, {})

                def auth_fn(username):
                    self.user = username
                    if username not in self.args.users:
                        raise scramp.ScramException("unknown user")
                    if username not in infos:
                        infos[username] = mech.make_auth_info(self.args.users[username], iteration_count=4096)
                    return infos[username]

                self.scram = mech.make_server(auth_fn)
                try:
                    self.scram.set_client_first(data.decode())
                except Exception:
                    raise AuthFailed(f"Authentication failed during authentication due to invalid credentials with SASL mechanism {m}")
                return self.scram.get_server_first().encode(), False
            try:
                self.scram.set_client_final(data.decode())
            except Exception:
                raise AuthFailed(f"Authentication failed during authentication due to invalid credentials with SASL mechanism {m}")
            return self.scram.get_server_final().encode(), True
        if m == "OAUTHBEARER" and getattr(self, "oauth_failed", False):
            raise AuthFailed("Authentication failed: invalid_token")
        if m == "OAUTHBEARER":
            text = data.decode(errors="replace")
            if not text.startswith("n,") or "\x01" not in text:
                raise AuthFailed("malformed OAUTHBEARER message")
            fields = dict(kv.split("=", 1) for kv in text.split("\x01")[1:] if "=" in kv)
            auth = fields.get("auth", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.args.tokens:
                # As Kafka's OAuthBearerSaslServer: an error challenge, then the failure once the
                # client has answered it with %x01 (RFC 7628 3.2.2).
                self.oauth_failed = True
                return json.dumps({"status": "invalid_token"}).encode(), False
            self.user = "oauth"
            return b"", True
        if m == "AWS_MSK_IAM":
            return self.iam(data), True
        raise AuthFailed(f"unsupported mechanism {m}")

    def iam(self, data):
        try:
            p = json.loads(data)
        except ValueError:
            raise AuthFailed("AWS_MSK_IAM: payload is not JSON")
        need = ["version", "host", "action", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
                "x-amz-signedheaders", "x-amz-expires", "x-amz-signature"]
        missing = [k for k in need if k not in p]
        if missing:
            raise AuthFailed(f"AWS_MSK_IAM: missing {', '.join(missing)}")
        if p["version"] != "2020_10_22" or p["action"] != "kafka-cluster:Connect":
            raise AuthFailed("AWS_MSK_IAM: bad version or action")
        if p["host"] not in self.args.iam_hosts:
            raise AuthFailed(f"AWS_MSK_IAM: host {p['host']} is not this cluster")
        cred = p["x-amz-credential"].split("/")
        if len(cred) != 5 or cred[3] != "kafka-cluster" or cred[4] != "aws4_request":
            raise AuthFailed("AWS_MSK_IAM: bad credential scope")
        key_id, day, region = cred[0], cred[1], cred[2]
        self.user = key_id
        if key_id not in self.args.aws_keys:
            raise AuthFailed("AWS_MSK_IAM: unknown access key")
        if region != self.args.region:
            raise AuthFailed(f"AWS_MSK_IAM: region {region} is not {self.args.region}")
        signed_at = datetime.datetime.strptime(p["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        age = (datetime.datetime.now(datetime.timezone.utc) - signed_at).total_seconds()
        if age > int(p["x-amz-expires"]) or age < -300:
            raise AuthFailed("AWS_MSK_IAM: the signature has expired")
        token = p.get("x-amz-security-token")
        expected_token = self.args.aws_tokens.get(key_id)
        if expected_token is not None and token != expected_token:
            raise AuthFailed("AWS_MSK_IAM: bad session token")
        creds = Credentials(key_id, self.args.aws_keys[key_id], token)
        req = AWSRequest(method="GET", url=f"https://{p['host']}/?Action=kafka-cluster%3AConnect")
        auth = SigV4QueryAuth(creds, "kafka-cluster", region, expires=int(p["x-amz-expires"]))
        req.context["timestamp"] = p["x-amz-date"]
        auth._modify_request_before_signing(req)
        canonical = auth.canonical_request(req)
        sts = auth.string_to_sign(req, canonical)
        signature = auth.signature(sts, req)
        if signature != p["x-amz-signature"]:
            raise AuthFailed("AWS_MSK_IAM: the signature does not match")
        return json.dumps({"version": "2020_10_22", "request-id": str(uuid.uuid4())}).encode()


# ---- connection ----------------------------------------------------------------------------------

class Connection:
    def __init__(self, args, reader, writer):
        self.args = args
        self.reader = reader
        self.writer = writer
        self.up_reader = None
        self.up_writer = None
        self.outstanding = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.authenticated = False
        self.expires_at = None
        self.mechanism = None
        self.exchange = None
        self.auth_count = 0
        self.peer = writer.get_extra_info("peername")

    async def run(self):
        try:
            self.up_reader, self.up_writer = await asyncio.open_connection(*self.args.upstream)
            pump = asyncio.create_task(self.pump())
            try:
                while True:
                    frame = await read_frame(self.reader)
                    if not await self.handle(frame):
                        break
            finally:
                pump.cancel()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError, OSError):
            pass
        except ValueError as e:
            log(f"{self.peer}: {e}")
        finally:
            for w in (self.writer, self.up_writer):
                if w is not None:
                    try:
                        w.close()
                    except Exception:
                        pass

    async def pump(self):
        """Upstream responses back to the client, in order."""
        try:
            while True:
                frame = await read_frame(self.up_reader)
                self.outstanding -= 1
                if self.outstanding <= 0:
                    self.outstanding = 0
                    self.idle.set()
                self.writer.write(struct.pack(">i", len(frame)) + frame)
                await self.writer.drain()
        except Exception:
            self.writer.close()

    async def relay(self, frame, wants_response):
        if wants_response:
            self.outstanding += 1
            self.idle.clear()
        self.up_writer.write(struct.pack(">i", len(frame)) + frame)
        await self.up_writer.drain()

    async def answer(self, data):
        await self.idle.wait()
        self.writer.write(data)
        await self.writer.drain()

    async def handle(self, frame):
        key, version, corr, body = parse_header(frame)
        if key == API_SASL_HANDSHAKE:
            if self.authenticated and self.outstanding > 0:
                # KIP-368: a client re-authenticates only with no request in flight.
                log(f"{self.peer}: re-authentication with {self.outstanding} request(s) in flight; closing")
                STATS["violations"] = STATS.get("violations", 0) + 1
                save_stats(self.args)
                return False
            return await self.handshake(body, corr, version)
        if key == API_SASL_AUTHENTICATE:
            return await self.authenticate(body, corr, version)
        if not self.authenticated:
            log(f"{self.peer}: request {key} before authentication; closing")
            return False
        if self.exchange is not None:
            log(f"{self.peer}: request {key} during re-authentication; closing")
            STATS["violations"] = STATS.get("violations", 0) + 1
            save_stats(self.args)
            return False
        if self.expires_at is not None and time.monotonic() > self.expires_at:
            log(f"{self.peer}: session expired ({self.mechanism}); closing")
            return False
        await self.relay(frame, expects_response(key, version, body))
        return True

    async def handshake(self, body, corr, version):
        mechanism = body.nstring()
        enabled = self.args.mechanisms
        if version != 1:
            await self.answer(response(corr, struct.pack(">h", ILLEGAL_SASL_STATE) + mechanisms_array(enabled)))
            return False
        if mechanism not in enabled:
            await self.answer(response(corr, struct.pack(">h", UNSUPPORTED_SASL_MECHANISM) + mechanisms_array(enabled)))
            return False
        self.mechanism = mechanism
        self.exchange = Exchange(self.args, mechanism)
        await self.answer(response(corr, struct.pack(">h", 0) + mechanisms_array(enabled)))
        return True

    async def authenticate(self, body, corr, version):
        flexible = version >= 2
        data = body.cbytes() if flexible else body.bytes32()
        if self.exchange is None:
            await self.answer(self.auth_response(corr, version, ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake", b"", 0))
            return False
        try:
            out, done = self.exchange.step(data)
        except AuthFailed as e:
            count(self.args, self.exchange.user, "failures")
            log(f"{self.peer}: {self.mechanism} failed for {self.exchange.user!r}: {e}")
            await self.answer(self.auth_response(corr, version, SASL_AUTH_FAILED, str(e), b"", 0))
            return False
        lifetime = 0
        if done:
            user = self.exchange.user
            lifetime = self.args.short_sessions.get(user, self.args.session_ms)
            if version == 0:
                lifetime = 0
            self.expires_at = time.monotonic() + lifetime / 1000 if lifetime > 0 else None
            kind = "reauthentications" if self.authenticated else "authentications"
            self.authenticated = True
            self.exchange = None
            count(self.args, user, kind)
            log(f"{self.peer}: {self.mechanism} {kind[:-1]} of {user!r} (session {lifetime} ms)")
        await self.answer(self.auth_response(corr, version, 0, None, out, lifetime))
        return True

    @staticmethod
    def auth_response(corr, version, error, message, data, lifetime):
        if version >= 2:
            msg = uvarint(0) if message is None else uvarint(len(message.encode()) + 1) + message.encode()
            body = struct.pack(">h", error) + msg + uvarint(len(data) + 1) + data
            body += struct.pack(">q", lifetime) + b"\x00"
            return response(corr, body, flexible_header=True)
        msg = struct.pack(">h", -1) if message is None else struct.pack(">h", len(message.encode())) + message.encode()
        body = struct.pack(">h", error) + msg + struct.pack(">i", len(data)) + data
        if version >= 1:
            body += struct.pack(">q", lifetime)
        return response(corr, body)


def mechanisms_array(names):
    out = struct.pack(">i", len(names))
    for n in names:
        out += struct.pack(">h", len(n)) + n.encode()
    return out


def patch_api_versions(frame, version):
    """Adds SaslHandshake 0-1 and SaslAuthenticate 0-2 to an upstream ApiVersions response."""
    r = Reader(frame)
    corr = r.i32()
    error = r.i16()
    keys = {}
    if version >= 3:
        n = r.uvarint() - 1
        for _ in range(max(n, 0)):
            k, lo, hi = r.i16(), r.i16(), r.i16()
            r.skip_tags()
            keys[k] = (lo, hi)
    else:
        n = r.i32()
        for _ in range(max(n, 0)):
            k, lo, hi = r.i16(), r.i16(), r.i16()
            keys[k] = (lo, hi)
    rest = frame[r.p:]
    keys[API_SASL_HANDSHAKE] = (0, 1)
    keys[API_SASL_AUTHENTICATE] = (0, 2)
    out = struct.pack(">ih", corr, error)
    if version >= 3:
        out += uvarint(len(keys) + 1)
        for k in sorted(keys):
            out += struct.pack(">hhh", k, *keys[k]) + b"\x00"
    else:
        out += struct.pack(">i", len(keys))
        for k in sorted(keys):
            out += struct.pack(">hhh", k, *keys[k])
    out += rest
    return struct.pack(">i", len(out)) + out


class Gateway(Connection):
    async def handle(self, frame):
        key, version, corr, body = parse_header(frame)
        if key == API_API_VERSIONS:
            await self.idle.wait()
            # Ask upstream on a short side connection so the relay pump stays untouched.
            r, w = await asyncio.open_connection(*self.args.upstream)
            try:
                w.write(struct.pack(">i", len(frame)) + frame)
                await w.drain()
                answer = await read_frame(r)
            finally:
                w.close()
            await self.answer(patch_api_versions(answer, version))
            return True
        return await Connection.handle(self, frame)


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True, help="[HOST:]PORT")
    ap.add_argument("--upstream", required=True, help="HOST:PORT of the broker")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--user", action="append", default=[], help="NAME:PASSWORD (PLAIN, SCRAM)")
    ap.add_argument("--token", action="append", default=[], help="OAUTHBEARER token")
    ap.add_argument("--aws-key", action="append", default=[], help="ID:SECRET[:SESSION_TOKEN]")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--iam-host", action="append", default=[], help="hosts IAM payloads may name")
    ap.add_argument("--mechanisms", default="PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER,AWS_MSK_IAM")
    ap.add_argument("--session-ms", type=int, default=0, help="session lifetime (0: none)")
    ap.add_argument("--short-session", action="append", default=[], help="USER:MS session lifetime for one user")
    ap.add_argument("--status", help="JSON counters file")
    args = ap.parse_args()

    host, _, port = args.listen.rpartition(":")
    host = host or "127.0.0.1"
    uh, _, up = args.upstream.rpartition(":")
    args.upstream = (uh or "127.0.0.1", int(up))
    args.users = dict(u.split(":", 1) for u in args.user)
    args.tokens = set(args.token)
    args.aws_keys = {}
    args.aws_tokens = {}
    for item in args.aws_key:
        parts = item.split(":", 2)
        args.aws_keys[parts[0]] = parts[1]
        if len(parts) == 3:
            args.aws_tokens[parts[0]] = parts[2]
    args.iam_hosts = set(args.iam_host or ["127.0.0.1", "localhost"])
    args.mechanisms = [m for m in args.mechanisms.split(",") if m]
    args.short_sessions = {u: int(ms) for u, ms in (s.rsplit(":", 1) for s in args.short_session)}
    args.scram_info = {}
    save_stats(args)

    ctx = None
    if args.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    async def serve(reader, writer):
        await Gateway(args, reader, writer).run()

    server = await asyncio.start_server(serve, host, int(port), ssl=ctx)
    log(f"listening on {host}:{port}{' (TLS)' if ctx else ''} -> {args.upstream[0]}:{args.upstream[1]}, "
        f"mechanisms {', '.join(args.mechanisms)}")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
