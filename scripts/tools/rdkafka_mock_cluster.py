#!/usr/bin/env python3
"""Runs librdkafka's built-in mock Kafka cluster until SIGTERM/SIGINT.

librdkafka (here the 2.16 copy inside the confluent-kafka wheel) can start an in-process cluster of
N mock brokers when a client is created with `test.mock.num.brokers`; each broker listens on its own
random 127.0.0.1 port. The mock supports several brokers with partition leaders spread across them,
classic consumer groups, idempotent and transactional producers. It has no SASL and no TLS.

Usage: rdkafka_mock_cluster.py [--brokers 3] [--bootstrap-file FILE]
Prints the bootstrap list (host:port,...) and writes it to FILE (atomically) once every broker is up.
"""
import argparse
import os
import signal
import sys
import threading

import confluent_kafka


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", type=int, default=3)
    ap.add_argument("--bootstrap-file")
    args = ap.parse_args()

    # The client that owns the cluster: the brokers live as long as it does.
    owner = confluent_kafka.Producer({"test.mock.num.brokers": args.brokers, "log_level": 3})
    metadata = owner.list_topics(timeout=15)
    brokers = sorted(metadata.brokers.values(), key=lambda b: b.id)
    if len(brokers) != args.brokers:
        print(f"mock cluster reports {len(brokers)} brokers, wanted {args.brokers}", file=sys.stderr)
        return 1
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in brokers)
    if args.bootstrap_file:
        tmp = args.bootstrap_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(bootstrap + "\n")
        os.replace(tmp, args.bootstrap_file)
    print(f"librdkafka {confluent_kafka.libversion()[0]} mock cluster: {bootstrap}", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(3600):
        pass
    if args.bootstrap_file:
        try:
            os.remove(args.bootstrap_file)
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
