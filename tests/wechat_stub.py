"""A local WeChat API server for tests: a real HTTP server, with programmable answers.

Use it as a context manager, e.g. in a conftest::

    @pytest.fixture(scope="session")
    def wechat_stub() -> Iterator[WechatStub]:
        with WechatStub() as stub:
            yield stub

and call ``stub.reset()`` before each test. Like WeChat, it checks the appid and secret,
takes each login and phone code only once, and accepts only the latest access token.

内容安全: ``msg_sec_check`` judges text by ``text_verdicts`` (a word found → its suggest)
and knows only openids seen in the last two hours (``active_openids``: who signed in
through it, else 61010); ``media_check_async`` answers a trace_id and keeps the check,
whose verdict ``push_media_check`` later pushes to our callback, signed with the push
token and, with an EncodingAESKey, encrypted as WeChat's 安全模式 does.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import json
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from service.config import WechatMode

LOGIN = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
PHONE = "/wxa/business/getuserphonenumber"
TEXT_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK = "/wxa/media_check_async"

STUB_PUSH_TOKEN = "stub-push-token"
# 43 characters of base64, as the mini-program console makes them.
STUB_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"

STUB_APPID = "wx-stub-appid"
STUB_SECRET = "stub-secret-keep-out"

Body = dict[str, Any]


class WechatStub:
    def __init__(self, appid: str = STUB_APPID, secret: str = STUB_SECRET) -> None:
        self.appid = appid
        self.secret = secret
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._stopping.set()  # wakes handlers that are sleeping out a programmed delay
        self._server.shutdown()
        self._server.server_close()  # also joins the handler threads
        self._thread.join()

    def __enter__(self) -> WechatStub:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the stub first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def settings_overrides(self) -> dict[str, object]:
        """Settings fields that point a live-mode app at this stub (for make_app(**…))."""
        return {
            "wechat_mode": WechatMode.LIVE,
            "wechat_base_url": self.base_url,
            "wechat_appid": self.appid,
            "wechat_secret": self.secret,
            "wechat_push_token": STUB_PUSH_TOKEN,
            "wechat_push_aes_key": STUB_AES_KEY,
            "public_base_url": "https://lianxin.example.cn",
        }

    # --- programming -----------------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self.logins: dict[str, Body] = {}
            self.phones: dict[str, str] = {}
            self.used_codes: set[str] = set()
            self.calls: collections.Counter[str] = collections.Counter()
            # (path, query, JSON payload) of every request, so tests can see what was sent.
            self.requests: list[tuple[str, dict[str, str], Body]] = []
            self.token_expires_in = 7200
            self.issued_tokens: list[str] = []
            self._token_revoked = False
            self._queued: dict[str, collections.deque[tuple[Body | str | None, int, float]]] = (
                collections.defaultdict(collections.deque)
            )
            self.text_verdicts: dict[str, str] = {}  # a word in the text → its suggest
            self.active_openids: set[str] = set()
            # trace_id → the media_check_async payload it answers
            self.media_checks: dict[str, Body] = {}
            # Subscribe messages WeChat accepted (their JSON payloads), and the openids
            # that refused every further message (answered 43101).
            self.subscribe_sent: list[Body] = []
            self.subscribe_refused: set[str] = set()

    def add_user(self, code: str, openid: str, unionid: str | None = None) -> None:
        body: Body = {"openid": openid, "session_key": f"session-key-of-{openid}"}
        if unionid is not None:
            body["unionid"] = unionid
        self.logins[code] = body

    def fail_next(
        self, path: str, body: Body | str | None = None, status: int = 200, delay: float = 0
    ) -> None:
        """Answer the next call of ``path`` this way: a JSON body, raw text (str), or, with
        None, the normal answer; after ``delay`` seconds and with HTTP ``status``."""
        with self._lock:
            self._queued[path].append((body, status, delay))

    def expire_token(self) -> None:
        """Invalidate the current access token, as WeChat may at any time."""
        with self._lock:
            self._token_revoked = True

    @property
    def current_token(self) -> str | None:
        with self._lock:
            return self._current_token()

    # --- answers (called by the handler threads) --------------------------------------------

    def _current_token(self) -> str | None:
        if self._token_revoked or not self.issued_tokens:
            return None
        return self.issued_tokens[-1]

    def _answer(self, path: str, query: dict[str, str], payload: Body) -> tuple[Body | str, int]:
        with self._lock:
            self.calls[path] += 1
            self.requests.append((path, query, payload))
            queued = self._queued[path].popleft() if self._queued[path] else None
        body, status, delay = queued or (None, 200, 0.0)
        if delay:
            self._stopping.wait(delay)
        if body is None:
            body = self._normal_answer(path, query, payload)
        return body, status

    def _normal_answer(self, path: str, query: dict[str, str], payload: Body) -> Body:
        with self._lock:
            if path == LOGIN:
                answer = self._credentials(query) or self._take(query.get("js_code"), self.logins)
                if "openid" in answer:  # seen in the mini-program just now
                    self.active_openids.add(answer["openid"])
                return answer
            if path == STABLE_TOKEN:
                return self._credentials(payload) or self._issue_token(payload)
            if path in (PHONE, TEXT_CHECK, MEDIA_CHECK) and (
                not query.get("access_token") or query["access_token"] != self._current_token()
            ):
                return _error(40001, "invalid credential, access_token is invalid or not latest")
            if path == TEXT_CHECK:
                return self._check_text(payload)
            if path == MEDIA_CHECK:
                return self._check_media(payload)
            if path == PHONE:
                phones = {code: _phone_info(phone) for code, phone in self.phones.items()}
                return self._take(payload.get("code"), phones)
            if path == SUBSCRIBE_SEND:
                return self._subscribe_send(query, payload)
        return _error(-1, f"stub does not serve {path}")

    def _checkable(self, payload: Body) -> Body | None:
        if payload.get("version") != 2 or payload.get("scene") not in (1, 2, 3, 4):
            return _error(47001, "data format error")
        if payload.get("openid") not in self.active_openids:
            return _error(61010, "user access expired")
        return None

    def _check_text(self, payload: Body) -> Body:
        refused = self._checkable(payload)
        if refused is not None:
            return refused
        content = str(payload.get("content", ""))
        suggest = next((s for word, s in self.text_verdicts.items() if word in content), "pass")
        label = 100 if suggest == "pass" else 20001
        return {
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": label},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest}],
            "trace_id": uuid.uuid4().hex,
        }

    def _check_media(self, payload: Body) -> Body:
        refused = self._checkable(payload)
        if refused is not None:
            return refused
        if payload.get("media_type") != 2 or not str(payload.get("media_url", "")):
            return _error(47001, "data format error")
        trace_id = f"{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:8]}"
        self.media_checks[trace_id] = payload
        return {"errcode": 0, "errmsg": "ok", "trace_id": trace_id}

    # --- message push (called by tests, as WeChat calls our server) -------------------------

    def push_media_check(
        self,
        trace_id: str,
        suggest: str,
        deliver: Callable[[dict[str, str], bytes], int],
        *,
        encrypted: bool = False,
        token: str = STUB_PUSH_TOKEN,
        aes_key: str = STUB_AES_KEY,
    ) -> int:
        """Push the verdict of one media check, as WeChat does once it has judged the
        photo; ``deliver(query, body)`` sends it to the callback and answers its status."""
        with self._lock:
            checked = self.media_checks[trace_id]
        message = {
            "ToUserName": "gh_stub",
            "FromUserName": checked["openid"],
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "wxa_media_check",
            "appid": self.appid,
            "trace_id": trace_id,
            "version": 2,
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest}],
            "errcode": 0,
            "errmsg": "ok",
            "result": {"suggest": suggest, "label": 100 if suggest == "pass" else 20002},
        }
        query, body = self.signed_push(message, encrypted=encrypted, token=token, aes_key=aes_key)
        return deliver(query, body)

    def signed_push(
        self,
        message: Body,
        *,
        encrypted: bool = False,
        token: str = STUB_PUSH_TOKEN,
        aes_key: str = STUB_AES_KEY,
    ) -> tuple[dict[str, str], bytes]:
        """The query string and body WeChat would push ``message`` with."""
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        query = {
            "signature": _sha1(token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": str(message.get("FromUserName", "")),
        }
        plain = json.dumps(message, ensure_ascii=False).encode()
        if not encrypted:
            return query, plain
        sealed = _encrypt(aes_key, plain, self.appid)
        query.update(encrypt_type="aes", msg_signature=_sha1(token, timestamp, nonce, sealed))
        return query, json.dumps({"ToUserName": "gh_stub", "Encrypt": sealed}).encode()

    def _subscribe_send(self, query: dict[str, str], payload: Body) -> Body:
        if not query.get("access_token") or query["access_token"] != self._current_token():
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        refused = _subscribe_check(payload)
        if refused is not None:
            return refused
        if payload["touser"] in self.subscribe_refused:
            return _error(43101, "user refuse to accept the msg")
        self.subscribe_sent.append(payload)
        return {"errcode": 0, "errmsg": "ok"}

    def _credentials(self, given: dict[str, Any]) -> Body | None:
        if given.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if given.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        return None

    def _take(self, code: object, answers: dict[str, Body]) -> Body:
        if not isinstance(code, str) or code not in answers:
            return _error(40029, "invalid code")
        if code in self.used_codes:
            return _error(40163, "code been used")
        self.used_codes.add(code)
        return answers[code]

    def _issue_token(self, payload: Body) -> Body:
        if payload.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if payload.get("force_refresh") or self._current_token() is None:
            self.issued_tokens.append(f"stub-token-{len(self.issued_tokens) + 1}")
            self._token_revoked = False
        return {"access_token": self.issued_tokens[-1], "expires_in": self.token_expires_in}


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def _encrypt(encoding_aes_key: str, message: bytes, appid: str) -> str:
    """WeChat's 安全模式, written out here apart from the server's decryption so that
    each checks the other: AES-256-CBC, IV the key's first 16 bytes, PKCS#7 to 32."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + appid.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


# What WeChat takes per value type of a subscribe-message field; longer is 47003.
_FIELD_LONGEST = {"thing": 20, "phrase": 5, "name": 10, "number": 32, "character_string": 32}


def _subscribe_check(payload: Body) -> Body | None:
    """WeChat's own checks of a subscribe message (47003 for a value it won't take)."""
    if not payload.get("touser") or not payload.get("template_id"):
        return _error(40003, "invalid openid or template_id")
    data = payload.get("data")
    if not isinstance(data, dict) or not data:
        return _error(47003, "argument invalid! data is empty")
    for key, field in data.items():
        value = field.get("value") if isinstance(field, dict) else None
        longest = _FIELD_LONGEST.get(str(key).rstrip("0123456789"), 20)
        if not isinstance(value, str) or not value or len(value) > longest:
            return _error(47003, f"argument invalid! data.{key}.value invalid")
    return None


def _error(errcode: int, errmsg: str) -> Body:
    return {"errcode": errcode, "errmsg": errmsg}


def _phone_info(phone: str) -> Body:
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": f"+86 {phone}",
            "purePhoneNumber": phone,
            "countryCode": "86",
        },
    }


def _handler_for(stub: WechatStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve({})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                payload = json.loads(raw or b"{}")
            except ValueError:
                payload = None
            self._serve(payload if isinstance(payload, dict) else {})

        def _serve(self, payload: Body) -> None:
            url = urlsplit(self.path)
            query = {key: values[-1] for key, values in parse_qs(url.query).items()}
            body, status = stub._answer(url.path, query, payload)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            kind = "text/plain" if isinstance(body, str) else "application/json"
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:
                pass  # the client gave up waiting (a timeout test): nobody left to answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # requests carry the secret; and tests read their own counters

    return Handler
