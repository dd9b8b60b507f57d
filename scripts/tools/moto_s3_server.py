#!/usr/bin/env python3
"""moto's S3 server with AWS Signature Version 4 checking switched on.

Stock `moto_server` accepts any signature. Two changes make it a strict peer for an S3 client:

1. Authentication from the first request: moto verifies signatures only after
   INITIAL_NO_AUTH_ACTION_COUNT unauthenticated requests (default: infinite), so it is set to 0
   before moto is imported, and an IAM user with a fixed access key / secret and an allow-all
   policy is created, so tests can sign with known credentials. A wrong secret then gets
   403 SignatureDoesNotMatch and an unknown key 403 InvalidAccessKeyId.

2. The canonical request is built from the URI exactly as the client sent it. werkzeug's
   Request.url decodes the path and query and quotes them again in its own way (%2F becomes '/',
   and '+', '=', '!', '*', '(', ')', '~', '%' and non-ASCII come out differently), so moto would
   compute the signature over a different string than the client did and refuse keys or prefixes
   with those characters. The development server keeps the raw request target in
   environ["RAW_URI"]; Request.url is redefined to use it.

POST /moto-api/reset wipes every bucket (and IAM); the fixed user is created again afterwards.
moto does not check the payload hash, and presigned URLs are not supported.

Usage: moto_s3_server.py [--host 127.0.0.1] [--port 9900] [--access-key K] [--secret S]
"""
import argparse
import json
import os

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"  # must precede the moto import

from werkzeug.sansio.utils import get_current_url
from werkzeug.serving import run_simple
from werkzeug.utils import cached_property
from werkzeug.wrappers.request import Request


def _url_as_sent(self: Request) -> str:
    raw = self.environ.get("RAW_URI") or self.environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return f"{self.scheme}://{self.host}{raw}"
    return get_current_url(self.scheme, self.host, self.root_path, self.path, self.query_string)


_prop = cached_property(_url_as_sent)
_prop.__set_name__(Request, "url")
Request.url = _prop

from moto import settings  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.moto_api._internal.models import moto_api_backend  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402

ap = argparse.ArgumentParser(description="moto S3 with SigV4 checking")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=9900)
ap.add_argument("--access-key", default=os.environ.get("KP_S3_KEY", "AKIATESTKEY000000001"))
ap.add_argument("--secret", default=os.environ.get("KP_S3_SECRET", "testsecret-0123456789"))
ap.add_argument("--user", default="kafka-pipe-test")
args = ap.parse_args()
os.environ.setdefault("MOTO_PORT", str(args.port))


def create_test_user() -> None:
    iam = iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    iam.create_user(region_name="us-east-1", user_name=args.user)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(args.user, "everything", json.dumps(policy))
    key = iam.create_access_key(args.user)
    key.access_key_id = args.access_key
    key.secret_access_key = args.secret


create_test_user()

_reset = type(moto_api_backend).reset


def _reset_then_recreate_user(self) -> None:
    _reset(self)
    create_test_user()


type(moto_api_backend).reset = _reset_then_recreate_user
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

print(f"moto S3 (SigV4 checked) on http://{args.host}:{args.port} key {args.access_key}", flush=True)
run_simple(args.host, args.port, DomainDispatcherApplication(create_backend_app),
           threaded=True, use_reloader=False)
