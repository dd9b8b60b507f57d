#!/usr/bin/env python3
"""Captures raw Kafka response frames from real brokers as hex fixtures for KafkaWireTests.

Usage: capture.py PEER BOOTSTRAP OUTDIR
  PEER       tansu | rdkafka-mock (a name for the files; decides which APIs to ask)
  BOOTSTRAP  host:port of one broker
  OUTDIR     where <peer>_<Api>_v<N>.hex files and manifest.txt lines go

Requests are encoded here, independently of the Swift code, by a small encoder driven by
Apache Kafka's JSON definitions (KAFKA_DEFS, default ../shared/kafka-protocol/message beside the
checkout). Records for Fetch are produced first with kcat (KCAT, default
/work/shared/services/kcat-modern) and, on the mock cluster, with confluent-kafka transactions
(a committed and an aborted one, so the fetch holds control batches).

Each fixture file holds one line: the hex of the response frame after its INT32 size (the
response header, then the body). manifest.txt lines: file api_key api_version note.

With PEER = kcat-requests, the requests a real client sends are recorded instead: kcat -L goes
through a recording proxy in front of BOOTSTRAP, and each request frame (header and body) is
saved as kcat_request_<Api>_v<N>.hex (manifest note "request").
"""
import json, os, re, socket, struct, subprocess, sys, time, uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DEFS = os.environ.get("KAFKA_DEFS", os.path.join(ROOT, "..", "shared", "kafka-protocol", "message"))
KCAT = os.environ.get("KCAT", "/work/shared/services/kcat-modern")


def load(name):
    text = open(os.path.join(DEFS, name + ".json")).read()
    return json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))


def vin(spec, v):
    if spec is None or spec == "none":
        return False
    if spec.endswith("+"):
        return v >= int(spec[:-1])
    if "-" in spec:
        a, b = spec.split("-")
        return int(a) <= v <= int(b)
    return v == int(spec)


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


class Encoder:
    def __init__(self, spec, version):
        self.v = version
        self.flex = vin(spec["flexibleVersions"], version)
        self.common = {s["name"]: s["fields"] for s in spec.get("commonStructs", [])}

    def value(self, ftype, val, fields):
        flex = self.flex
        if ftype.startswith("[]"):
            if val is None:
                return uvarint(0) if flex else struct.pack(">i", -1)
            head = uvarint(len(val) + 1) if flex else struct.pack(">i", len(val))
            return head + b"".join(self.value(ftype[2:], e, fields) for e in val)
        fmt = {"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "uint16": ">H", "float64": ">d"}
        if ftype in fmt:
            return struct.pack(fmt[ftype], val)
        if ftype == "bool":
            return b"\x01" if val else b"\x00"
        if ftype == "uuid":
            return val if isinstance(val, bytes) else b"\x00" * 16
        if ftype == "string":
            if val is None:
                return uvarint(0) if flex else struct.pack(">h", -1)
            b = val.encode()
            return (uvarint(len(b) + 1) if flex else struct.pack(">h", len(b))) + b
        if ftype in ("bytes", "records"):
            if val is None:
                return uvarint(0) if flex else struct.pack(">i", -1)
            return (uvarint(len(val) + 1) if flex else struct.pack(">i", len(val))) + val
        return self.struct(fields or self.common[ftype], val or {})

    def struct(self, fields, values):
        out, tagged = b"", []
        for f in fields:
            if not vin(f.get("versions"), self.v):
                continue
            val = values.get(f["name"], self.default(f))
            if vin(f.get("taggedVersions"), self.v):
                if f["name"] in values:
                    tagged.append((f["tag"], self.value(f["type"], val, f.get("fields"))))
                continue
            out += self.value(f["type"], val, f.get("fields"))
        if self.flex:
            out += uvarint(len(tagged))
            for tag, data in sorted(tagged):
                out += uvarint(tag) + uvarint(len(data)) + data
        return out

    def default(self, f):
        d = str(f.get("default", ""))
        t = f["type"]
        if d == "null":
            return None
        if t.startswith("[]"):
            return []
        if t == "bool":
            return d == "true"
        if t in ("int8", "int16", "int32", "int64", "uint16"):
            return int(d, 0) if d else 0
        if t == "string":
            return d
        if t in ("bytes", "records"):
            return b""
        if t == "uuid":
            return b"\x00" * 16
        return {}


CORRELATION = [100]


def call(addr, api, version, body_values):
    """Sends one request and returns the raw response frame (after the size)."""
    spec = load(api + "Request")
    enc = Encoder(spec, version)
    body = enc.struct(spec["fields"], body_values)
    CORRELATION[0] += 1
    client = b"kp-capture"
    header = struct.pack(">hhi", spec["apiKey"], version, CORRELATION[0]) + struct.pack(">h", len(client)) + client
    if enc.flex:
        header += b"\x00"
    frame = header + body
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", recv_exactly(s, 4))[0]
        data = recv_exactly(s, size)
    assert struct.unpack(">i", data[:4])[0] == CORRELATION[0], "correlation id mismatch"
    return data


def recv_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def save(outdir, peer, api, version, data, note, manifest, suffix=""):
    name = f"{peer}_{api}_v{version}{suffix}.hex"
    with open(os.path.join(outdir, name), "w") as f:
        f.write(data.hex() + "\n")
    key = load(api + "Request")["apiKey"]
    manifest.append(f"{name} {key} {version} {note}")
    print(f"  {name}: {len(data)} bytes")


def produce_with_kcat(boot, topic, args, lines):
    cmd = [KCAT, "-b", boot, "-P", "-t", topic, "-p", "0", "-K", ":"] + args
    subprocess.run(cmd, input="\n".join(lines).encode() + b"\n", check=True, timeout=60)


API_NAMES = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 10: "FindCoordinator", 18: "ApiVersions",
             19: "CreateTopics"}


def record_client_requests(boot, outdir):
    """Runs kcat -L through a proxy and saves the request frames it sends."""
    import threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    seen = []

    def serve():
        client, _ = listener.accept()
        host, bport = boot.rsplit(":", 1)
        upstream = socket.create_connection((host, int(bport)), timeout=10)
        client.settimeout(5)
        try:
            while True:
                size = struct.unpack(">i", recv_exactly(client, 4))[0]
                frame = recv_exactly(client, size)
                seen.append(frame)
                upstream.sendall(struct.pack(">i", size) + frame)
                rsize = struct.unpack(">i", recv_exactly(upstream, 4))[0]
                client.sendall(struct.pack(">i", rsize) + recv_exactly(upstream, rsize))
        except (EOFError, OSError):
            pass
        finally:
            client.close()
            upstream.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    subprocess.run([KCAT, "-L", "-b", f"127.0.0.1:{port}", "-m", "5"], capture_output=True, timeout=60)
    t.join(10)
    manifest = []
    for i, frame in enumerate(seen):
        key, version = struct.unpack(">hh", frame[:4])
        name = API_NAMES.get(key)
        if name is None:
            continue
        fname = f"kcat_request_{i}_{name}_v{version}.hex"
        with open(os.path.join(outdir, fname), "w") as f:
            f.write(frame.hex() + "\n")
        manifest.append(f"{fname} {key} {version} request")
        print(f"  {fname}: {len(frame)} bytes")
    with open(os.path.join(outdir, "manifest.txt"), "a") as f:
        f.write("\n".join(manifest) + "\n")


def main():
    peer, boot, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
    if peer == "kcat-requests":
        return record_client_requests(boot, outdir)
    os.makedirs(outdir, exist_ok=True)
    manifest = []
    topic = "kp-fixture"
    mock = peer != "tansu"

    # ApiVersions: v0 (classic) and the newest each peer speaks (tansu: v3 flexible with tagged features).
    save(outdir, peer, "ApiVersions", 0, call(boot, "ApiVersions", 0, {}), "classic", manifest)
    if not mock:
        save(outdir, peer, "ApiVersions", 3, call(boot, "ApiVersions", 3,
             {"ClientSoftwareName": "kp-capture", "ClientSoftwareVersion": "1.0"}), "flexible", manifest)
    else:
        save(outdir, peer, "ApiVersions", 2, call(boot, "ApiVersions", 2, {}), "classic", manifest)

    # Topic creation (tansu) or auto-creation through Metadata (the mock cluster has no CreateTopics).
    if not mock:
        for v in (2, 5):
            name = f"{topic}-ct{v}-{uuid.uuid4().hex[:6]}"
            t = {"Name": name, "NumPartitions": 2, "ReplicationFactor": 1, "Assignments": [],
                 "Configs": [{"Name": "cleanup.policy", "Value": "delete"}]}
            save(outdir, peer, "CreateTopics", v, call(boot, "CreateTopics", v,
                 {"Topics": [t], "TimeoutMs": 5000}), "one topic", manifest)
        call(boot, "CreateTopics", 5, {"Topics": [{"Name": topic, "NumPartitions": 1, "ReplicationFactor": 1}],
                                       "TimeoutMs": 5000})
    else:
        call(boot, "Metadata", 4, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": True})
        time.sleep(1)

    # Records: plain and gzip batches with headers and a null key, then (mock) transactions.
    produce_with_kcat(boot, topic, ["-z", "none", "-H", "lsn=0/1A2B3C8", "-H", "op=c"],
                      ["k1:v1", "k2:value two", ":no key"])
    produce_with_kcat(boot, topic, ["-z", "gzip", "-H", "relation=public.items"],
                      [f"key{i}:{'x' * i}" for i in range(1, 11)])
    if mock:
        import confluent_kafka
        for commit in (True, False):
            p = confluent_kafka.Producer({"bootstrap.servers": boot, "transactional.id": "kp-capture-txn"})
            p.init_transactions(10)
            p.begin_transaction()
            p.produce(topic, key=b"txn", value=b"committed" if commit else b"aborted", partition=0)
            p.flush(10)
            (p.commit_transaction if commit else p.abort_transaction)(10)

    # Metadata (classic and flexible).
    for v in (1, 12):
        topics = [{"Name": topic}] if v < 10 else [{"TopicId": b"\x00" * 16, "Name": topic}]
        save(outdir, peer, "Metadata", v, call(boot, "Metadata", v, {"Topics": topics}), "one topic", manifest)

    # Leader for partition 0 (the mock cluster spreads leaders over its brokers).
    leader = boot
    md = call(boot, "Metadata", 1, {"Topics": [{"Name": topic}]})
    leader = find_leader(md, topic) or boot

    # Produce (acks=1) one record batch built by hand here: magic 2, one record, CRC-32C.
    batch = record_batch([(b"pk", b"pv")])
    for v in (3, 9):
        data = {"TransactionalId": None, "Acks": 1, "TimeoutMs": 5000,
                "TopicData": [{"Name": topic, "PartitionData": [{"Index": 0, "Records": batch}]}]}
        save(outdir, peer, "Produce", v, call(leader, "Produce", v, data), "acks=1", manifest)

    # Fetch from offset 0 (read_uncommitted, so aborted data and control batches come back).
    for v in (4, 11, 12):
        part = {"Partition": 0, "FetchOffset": 0, "PartitionMaxBytes": 1 << 20, "LogStartOffset": -1,
                "CurrentLeaderEpoch": -1}
        data = {"ReplicaId": -1, "MaxWaitMs": 100, "MinBytes": 1, "MaxBytes": 4 << 20, "IsolationLevel": 0,
                "SessionId": 0, "SessionEpoch": -1, "Topics": [{"Topic": topic, "Partitions": [part]}],
                "ForgottenTopicsData": [], "RackId": ""}
        save(outdir, peer, "Fetch", v, call(leader, "Fetch", v, data), "records from kcat", manifest)

    # The mock cluster answers a fetch with one batch: walk the partition batch by batch so the
    # transactional batches and their commit/abort markers are captured too.
    if mock:
        offset = 0
        for _ in range(20):
            part = {"Partition": 0, "FetchOffset": offset, "PartitionMaxBytes": 1 << 20}
            data = {"ReplicaId": -1, "MaxWaitMs": 100, "MinBytes": 1, "MaxBytes": 4 << 20, "IsolationLevel": 0,
                    "Topics": [{"Topic": topic, "Partitions": [part]}]}
            resp = call(leader, "Fetch", 4, data)
            nxt = next_offset_v4(resp)
            if nxt is None or nxt <= offset:
                break
            save(outdir, peer, "Fetch", 4, resp, f"batch at offset {offset}", manifest, suffix=f"_at{offset}")
            offset = nxt

    # ListOffsets: latest (-1) and earliest (-2).
    for v in (1, 6):
        data = {"ReplicaId": -1, "IsolationLevel": 0, "Topics": [{"Name": topic, "Partitions": [
            {"PartitionIndex": 0, "CurrentLeaderEpoch": -1, "Timestamp": -1}]}]}
        save(outdir, peer, "ListOffsets", v, call(leader, "ListOffsets", v, data), "latest", manifest)

    # FindCoordinator for a group.
    for v in (1, 3):
        save(outdir, peer, "FindCoordinator", v, call(boot, "FindCoordinator", v,
             {"Key": "kp-capture-group", "KeyType": 0}), "group", manifest)
    if not mock:
        save(outdir, peer, "FindCoordinator", 4, call(boot, "FindCoordinator", 4,
             {"KeyType": 0, "CoordinatorKeys": ["kp-capture-group"]}), "batched", manifest)

    with open(os.path.join(outdir, "manifest.txt"), "a") as f:
        f.write("\n".join(manifest) + "\n")


def find_leader(md, topic):
    """Parses a Metadata v1 response just enough to find partition 0's leader address."""
    i = 4
    brokers = {}
    (n,) = struct.unpack(">i", md[i:i + 4]); i += 4
    for _ in range(n):
        (node,) = struct.unpack(">i", md[i:i + 4]); i += 4
        (hl,) = struct.unpack(">h", md[i:i + 2]); i += 2
        host = md[i:i + hl].decode(); i += hl
        (port,) = struct.unpack(">i", md[i:i + 4]); i += 4
        (rl,) = struct.unpack(">h", md[i:i + 2]); i += 2
        i += max(rl, 0)
        brokers[node] = f"{host}:{port}"
    i += 4  # controller id
    (nt,) = struct.unpack(">i", md[i:i + 4]); i += 4
    for _ in range(nt):
        i += 2
        (tl,) = struct.unpack(">h", md[i:i + 2]); i += 2
        name = md[i:i + tl].decode(); i += tl
        i += 1  # is_internal
        (np_,) = struct.unpack(">i", md[i:i + 4]); i += 4
        for _ in range(np_):
            _, pidx, leader = struct.unpack(">hii", md[i:i + 10]); i += 10
            for _ in range(2):
                (c,) = struct.unpack(">i", md[i:i + 4]); i += 4 + 4 * c
            if name == topic and pidx == 0 and leader in brokers:
                addr = brokers[leader]
                return addr.replace("localhost", "127.0.0.1")
    return None


def next_offset_v4(d):
    """The offset after the last batch of a Fetch v4 response for one partition, or None."""
    i = 4 + 4 + 4
    (tl,) = struct.unpack(">h", d[i:i + 2]); i += 2 + tl
    i += 4 + 4 + 2 + 8 + 8
    (na,) = struct.unpack(">i", d[i:i + 4]); i += 4 + 16 * max(na, 0)
    (rl,) = struct.unpack(">i", d[i:i + 4]); i += 4
    recs = d[i:i + max(rl, 0)]
    j, end = 0, None
    while j + 61 <= len(recs):
        base, blen = struct.unpack(">qi", recs[j:j + 12])
        (lod,) = struct.unpack(">i", recs[j + 23:j + 27])
        end = base + lod + 1
        j += 12 + blen
    return end


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def zigzag(n):
    return uvarint((n << 1) ^ (n >> 63))


def record_batch(kvs):
    recs = b""
    for i, (k, v) in enumerate(kvs):
        body = b"\x00" + zigzag(0) + zigzag(i) + zigzag(len(k)) + k + zigzag(len(v)) + v + zigzag(0)
        recs += zigzag(len(body)) + body
    now = int(time.time() * 1000)
    after_crc = struct.pack(">hiqqqhii", 0, len(kvs) - 1, now, now, -1, -1, -1, len(kvs)) + recs
    head = struct.pack(">bI", 2, crc32c(after_crc))
    rest = struct.pack(">i", -1) + head + after_crc
    return struct.pack(">qi", 0, len(rest)) + rest


if __name__ == "__main__":
    main()
