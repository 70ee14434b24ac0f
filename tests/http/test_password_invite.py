"""Password reset and invitations over real HTTP, the mails caught by a real SMTP server (aiosmtpd) in the
test process; statuses, codes and texts as Directus 12.4.1 answered them."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.http.accounts_support import error, make_role, make_user, ok
from tests.support.live import ADMIN_EMAIL, ADMIN_PASSWORD, LiveServer, free_port, live_server, scratch_database
from tests.support.servers import module_server


class Inbox:
    """An SMTP handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def wait_for(self, to: str, timeout: float = 10) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for message in self.messages:
                    if message["To"] == to:
                        self.messages.remove(message)
                        return message
            time.sleep(0.02)
        raise AssertionError(f"no mail to {to}")

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


SMTP_PORT = free_port()

srv = module_server(
    "password_invite",
    env={
        "EMAIL_TRANSPORT": "smtp",
        "EMAIL_SMTP_HOST": "127.0.0.1",
        "EMAIL_SMTP_PORT": str(SMTP_PORT),
        "EMAIL_FROM": "tidepool@example.com",
        "PUBLIC_URL": "http://tidepool.test",
        "PASSWORD_RESET_URL_ALLOW_LIST": "https://app.example/reset,https://other.example/reset",
        "USER_INVITE_URL_ALLOW_LIST": "https://app.example/join",
    },
)


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def anon(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client(token=None) as client:
        yield client


@pytest.fixture
def admin(srv: LiveServer) -> Iterator[httpx.Client]:
    with srv.client() as client:
        yield client


def _link(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"https?://\S+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _login(client: httpx.Client, address: str, password: str) -> int:
    return client.post("/auth/login", json={"email": address, "password": password}).status_code


def test_password_reset_by_mail_works_once(inbox: Inbox, anon: httpx.Client, admin: httpx.Client) -> None:
    make_user(admin, email="forgetful@example.com")
    response = anon.post("/auth/password/request", json={"email": "Forgetful@Example.com"})
    assert response.status_code == 204
    message = inbox.wait_for("forgetful@example.com")
    assert message["Subject"] == "Password Reset Request" and message["From"] == "tidepool@example.com"
    link = _link(message)
    assert link.startswith("http://tidepool.test/admin/reset-password?token=")
    token = _token(link)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "password-reset" and claims["email"] == "forgetful@example.com"
    assert anon.post("/auth/password/reset", json={"token": token, "password": "new-secret"}).status_code == 204
    assert _login(anon, "forgetful@example.com", "new-secret") == 200
    again = anon.post("/auth/password/reset", json={"token": token, "password": "other"})
    assert error(again, 403, "FORBIDDEN") == "You don't have permission to access this."
    assert _login(anon, "forgetful@example.com", "new-secret") == 200


def test_reset_url_from_the_allow_list(inbox: Inbox, anon: httpx.Client, admin: httpx.Client) -> None:
    make_user(admin, email="linked@example.com")
    body = {"email": "linked@example.com", "reset_url": "https://app.example/reset?lang=en"}
    assert anon.post("/auth/password/request", json=body).status_code == 204
    link = _link(inbox.wait_for("linked@example.com"))
    assert link.startswith("https://app.example/reset?lang=en&token=")
    refused = anon.post("/auth/password/request", json={**body, "reset_url": "https://evil.test/reset"})
    assert error(refused, 400, "INVALID_PAYLOAD") == (
        'Invalid payload. URL "https://evil.test/reset" can\'t be used to reset passwords.'
    )


def test_unknown_or_inactive_addresses_get_the_same_answer_and_no_mail(
    inbox: Inbox, anon: httpx.Client, admin: httpx.Client
) -> None:
    make_user(admin, email="away@example.com", status="suspended")
    for address in ("nobody@example.com", "away@example.com", "not-an-email"):
        started = time.monotonic()
        response = anon.post("/auth/password/request", json={"email": address})
        assert response.status_code == 204 and response.content == b""
        assert time.monotonic() - started >= 0.45  # Directus's stall: an unknown address takes as long
    make_user(admin, email="present@example.com")
    assert anon.post("/auth/password/request", json={"email": "present@example.com"}).status_code == 204
    inbox.wait_for("present@example.com")  # mails go out in order of requests: the ones above never will
    assert inbox.to("nobody@example.com") == [] and inbox.to("away@example.com") == []


@pytest.mark.parametrize(
    ("path", "body", "reason"),
    [
        ("/auth/password/request", {}, '"email" field is required'),
        ("/auth/password/request", {"email": 5}, '"email" field is required'),
        ("/auth/password/request", [], '"email" field is required'),
        ("/auth/password/reset", {}, '"token" field is required'),
        ("/auth/password/reset", {"token": "x"}, '"password" field is required'),
        ("/auth/password/reset", {"token": 5, "password": "y"}, '"token" field is required'),
        ("/users/invite/accept", {}, '"token" is required'),
        ("/users/invite/accept", {"token": "x"}, '"password" is required'),
        ("/users/invite/accept", {"token": "x", "password": "y", "z": 1}, '"z" is not allowed'),
        ("/users/invite", {}, '"email" is required'),
        ("/users/invite", {"email": "x"}, '"email" must be a valid email'),
        ("/users/invite", {"email": "a@example.com"}, '"role" is required'),
        ("/users/invite", {"email": "a@example.com", "role": "abc"}, '"role" must be a valid GUID'),
        ("/users/invite", {"email": "a@example.com", "role": ""}, '"role" is not allowed to be empty'),
        (
            "/users/invite",
            {"email": ["a@example.com", "bad"], "role": "5043230b-c6ec-4cf8-bb7f-780abcad94fd"},
            '"email[1]" must be a valid email',
        ),
        (
            "/users/invite",
            {"email": "a@example.com", "role": "5043230b-c6ec-4cf8-bb7f-780abcad94fd", "invite_url": "notaurl"},
            '"invite_url" must be a valid uri',
        ),
        (
            "/users/invite",
            {"email": "a@example.com", "role": "5043230b-c6ec-4cf8-bb7f-780abcad94fd", "x": 1},
            '"x" is not allowed',
        ),
        ("/users/invite", {"email": "a@example.com", "role": "", "x": 1}, '"role" is not allowed to be empty'),
    ],
)
def test_bad_bodies(admin: httpx.Client, path: str, body: Any, reason: str) -> None:
    response = admin.post(path, json=body)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"message": f"Invalid payload. {reason}.", "extensions": {"reason": reason, "code": "INVALID_PAYLOAD"}}
        ]
    }


def test_tokens_that_are_not_good(srv: LiveServer, anon: httpx.Client) -> None:
    for path in ("/auth/password/reset", "/users/invite/accept"):
        assert error(anon.post(path, json={"token": "x", "password": "y"}), 403, "INVALID_TOKEN") == "Invalid token."
    secret = srv.settings.SECRET
    now = int(time.time())
    expired = jwt.encode(
        {"email": ADMIN_EMAIL, "scope": "password-reset", "hash": "x", "iss": "directus", "exp": now - 10},
        secret,
        algorithm="HS256",
    )
    assert error(anon.post("/auth/password/reset", json={"token": expired, "password": "y"}), 401, "TOKEN_EXPIRED")
    invite = jwt.encode({"email": ADMIN_EMAIL, "scope": "invite", "iss": "directus", "exp": now + 60}, secret)
    # a token made for one use is refused for the other
    assert error(anon.post("/auth/password/reset", json={"token": invite, "password": "y"}), 403, "FORBIDDEN")
    forged = jwt.encode({"email": ADMIN_EMAIL, "scope": "password-reset", "hash": "guess", "iss": "directus",
                         "exp": now + 60}, secret)  # fmt: skip
    assert error(anon.post("/auth/password/reset", json={"token": forged, "password": "y"}), 403, "FORBIDDEN")
    assert _login(anon, ADMIN_EMAIL, ADMIN_PASSWORD) == 200


def test_invitation_by_mail(inbox: Inbox, srv: LiveServer, anon: httpx.Client, admin: httpx.Client) -> None:
    role = make_role(admin)
    assert admin.post("/users/invite", json={"email": "Newcomer@Example.com", "role": role}).status_code == 204
    invited = ok(admin.get("/users", params={"filter[email][_eq]": "newcomer@example.com", "fields": "status,role"}))
    assert invited == [{"status": "invited", "role": role}]
    message = inbox.wait_for("newcomer@example.com")
    assert message["Subject"] == "You've been invited"
    link = _link(message)
    assert link.startswith("http://tidepool.test/admin/accept-invite?token=")
    assert _login(anon, "newcomer@example.com", "welcome") == 401
    assert anon.post("/users/invite/accept", json={"token": _token(link), "password": "welcome"}).status_code == 204
    assert _login(anon, "newcomer@example.com", "welcome") == 200
    again = anon.post("/users/invite/accept", json={"token": _token(link), "password": "other"})
    assert error(again, 400, "INVALID_INVITE") == "This invite is no longer valid."
    # an active user is not invited again (no mail, nothing changed)
    assert admin.post("/users/invite", json={"email": "newcomer@example.com", "role": role}).status_code == 204


def test_invitation_of_several_with_a_custom_link(inbox: Inbox, admin: httpx.Client) -> None:
    role, other = make_role(admin), make_role(admin)
    body = {"email": ["one@example.com", "two@example.com"], "role": role, "invite_url": "https://app.example/join"}
    assert admin.post("/users/invite", json=body).status_code == 204
    for address in ("one@example.com", "two@example.com"):
        assert _link(inbox.wait_for(address)).startswith("https://app.example/join?token=")
    # inviting an invited user again gives them the new role and a new mail
    assert admin.post("/users/invite", json={"email": "one@example.com", "role": other}).status_code == 204
    inbox.wait_for("one@example.com")
    found = ok(admin.get("/users", params={"filter[email][_eq]": "one@example.com", "fields": "role"}))
    assert found == [{"role": other}]
    refused = admin.post("/users/invite", json={**body, "invite_url": "https://evil.test/join"})
    assert error(refused, 400, "INVALID_PAYLOAD") == (
        'Invalid payload. URL "https://evil.test/join" can\'t be used to invite users.'
    )


def test_invitation_needs_the_right_to_create_users(
    inbox: Inbox, srv: LiveServer, anon: httpx.Client, admin: httpx.Client
) -> None:
    role = make_role(admin)
    _, token = make_user(admin)
    assert admin.post("/users/invite", json={"email": "pending@example.com", "role": role}).status_code == 204
    inbox.wait_for("pending@example.com")
    with srv.client(token=token) as user:
        for client in (user, anon):  # Directus answers 204 and does nothing
            for address in ("sneaky@example.com", "pending@example.com"):
                assert client.post("/users/invite", json={"email": address, "role": role}).status_code == 204
    assert ok(admin.get("/users", params={"filter[email][_eq]": "sneaky@example.com"})) == []
    make_user(admin, email="marker@example.com")
    assert anon.post("/auth/password/request", json={"email": "marker@example.com"}).status_code == 204
    inbox.wait_for("marker@example.com")  # mails go out in order: no second invitation was sent before it
    assert inbox.to("pending@example.com") == []
    missing_role = admin.post(
        "/users/invite", json={"email": "x@example.com", "role": "00000000-0000-4000-8000-000000000000"}
    )
    assert error(missing_role, 400, "INVALID_FOREIGN_KEY")


@pytest.fixture
def mailless(tmp_path: Any) -> Iterator[LiveServer]:
    with scratch_database(tmp_path) as db_env, live_server({**db_env, "LOG_LEVEL": "info"}) as server:
        yield server


def test_without_a_transport_the_mail_is_logged_as_not_sent(
    mailless: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with mailless.client() as admin:
        make_user(admin, email="quiet@example.com")
    with caplog.at_level(logging.INFO, logger="tidepool.mail"), mailless.client(token=None) as anon:
        assert anon.post("/auth/password/request", json={"email": "quiet@example.com"}).status_code == 204
        deadline = time.monotonic() + 10
        while not any("not sent" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = [r.getMessage() for r in caplog.records if r.name == "tidepool.mail"]
    assert lines == ["[email] not sent, no EMAIL_TRANSPORT configured: 'Password Reset Request' to quiet@example.com"]
    assert not any("token" in line for line in lines)


def test_health_checks_the_mail_server(inbox: Inbox, admin: httpx.Client) -> None:
    body = admin.get("/server/health").json()
    assert body["status"] == "ok"
    assert body["checks"]["email:connection"] == [{"status": "ok", "componentType": "email"}]


def test_health_reports_an_unreachable_mail_server(tmp_path: Any) -> None:
    env = {"EMAIL_TRANSPORT": "smtp", "EMAIL_SMTP_PORT": str(free_port()), "EMAIL_SMTP_TIMEOUT": "2"}
    with scratch_database(tmp_path) as db_env, live_server({**db_env, **env}) as server, server.client() as admin:
        response = admin.get("/server/health")
    assert response.status_code == 503
    check = response.json()["checks"]["email:connection"][0]
    assert check["status"] == "error" and check["componentType"] == "email"
    assert check["output"].startswith("Can't connect to the mail server")


def test_no_transport_no_mail_check(mailless: LiveServer) -> None:
    with mailless.client() as admin:
        assert not any(name.startswith("email:") for name in admin.get("/server/health").json()["checks"])
