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

3. Presigned URLs (SigV4 query signing): moto's access control only reads the Authorization
   header (a presigned request makes it fail with a 500). A WSGI layer in front checks them as S3
   does: the expiry (X-Amz-Date + X-Amz-Expires, 403 AccessDenied "Request has expired"), the
   access key (403 InvalidAccessKeyId), and the signature, recomputed by botocore's own
   S3SigV4QueryAuth over the request as sent (403 SignatureDoesNotMatch). A request that passes
   is handed to moto without the X-Amz-* query items, signed again in the Authorization header.

POST /moto-api/reset wipes every bucket (and IAM); the fixed user is created again afterwards.
moto does not check the payload hash.

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

def s3_error(start_response, status: str, code: str, message: str):
    body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message><RequestId>presign-check</RequestId></Error>").encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def presigned_urls(app):
    import datetime
    import hmac
    from urllib.parse import parse_qsl, urlencode, quote
    from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def handle(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if "X-Amz-Signature=" not in query:
            return app(environ, start_response)
        items = parse_qsl(query, keep_blank_values=True)
        q = dict(items)
        try:
            key, day, region, service, _ = q["X-Amz-Credential"].split("/")
            signed_at = datetime.datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            expires = int(q["X-Amz-Expires"])
        except (KeyError, ValueError):
            return s3_error(start_response, "400 Bad Request", "AuthorizationQueryParametersError",
                            "malformed presigned URL")
        if key != args.access_key:
            return s3_error(start_response, "403 Forbidden", "InvalidAccessKeyId",
                            "The AWS Access Key Id you provided does not exist in our records.")
        if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
            return s3_error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO", "/"))
        path = raw.split("?", 1)[0]
        rest = [(k, v) for k, v in items if not k.startswith("X-Amz-")]
        host = environ.get("HTTP_HOST", "")
        base = f"http://{host}{path}" + ("?" + urlencode(rest) if rest else "")
        creds = Credentials(args.access_key, args.secret, q.get("X-Amz-Security-Token"))
        # botocore signs the same request at the URL's own time, and the signatures must agree.
        request = AWSRequest(method=environ["REQUEST_METHOD"], url=base, headers={"Host": host})
        request.context["timestamp"] = q["X-Amz-Date"]
        auth = S3SigV4QueryAuth(creds, service, region, expires=expires)
        auth._modify_request_before_signing(request)
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if q.get("X-Amz-SignedHeaders") != "host" or not hmac.compare_digest(expected, q["X-Amz-Signature"]):
            return s3_error(start_response, "403 Forbidden", "SignatureDoesNotMatch",
                            "The request signature we calculated does not match the signature you provided.")
        # Valid: present it to moto as a header-signed request.
        resigned = AWSRequest(method=environ["REQUEST_METHOD"], url=base,
                              headers={"Host": host, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(Credentials(args.access_key, args.secret), service, region).add_auth(resigned)
        environ = dict(environ)
        target = path + ("?" + urlencode(rest) if rest else "")
        environ["RAW_URI"] = environ["REQUEST_URI"] = target
        environ["QUERY_STRING"] = urlencode(rest)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
            environ["HTTP_" + name.upper().replace("-", "_")] = resigned.headers[name]
        return app(environ, start_response)

    return handle


print(f"moto S3 (SigV4 checked) on http://{args.host}:{args.port} key {args.access_key}", flush=True)
run_simple(args.host, args.port, presigned_urls(DomainDispatcherApplication(create_backend_app)),
           threaded=True, use_reloader=False)
