"""``POST /files/import``: fetch a URL and store its body as a new file, guarded against SSRF.

Every hop (the URL and each redirect, at most ``MAX_REDIRECTS``) is resolved first and refused when any of
its addresses is in ``IMPORT_IP_DENY_LIST`` (addresses or CIDR ranges; ``0.0.0.0`` stands for every address
of this machine: loopback, unspecified and the host's own), as Directus refuses them; the connection then
goes to the address that was checked. The body is streamed into storage under ``FILES_MAX_UPLOAD_SIZE``;
it is never held whole.
"""

from __future__ import annotations

import ipaddress
import posixpath
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import anyio.to_thread
import httpx

from tidepool.context import Action
from tidepool.errors import InvalidPayloadError, ServiceUnavailableError
from tidepool.services.files import FilesService, mime_allowed, title_of

MAX_REDIRECTS = 5
TIMEOUT = 30.0
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _own_addresses() -> list[Network]:
    """What ``0.0.0.0`` means in the deny list: this machine."""
    nets: list[Network] = [
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("0.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("::/128"),
    ]
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None):
            nets.append(ipaddress.ip_network(str(info[4][0]).split("%")[0]))
    except OSError:
        pass
    return nets


def deny_networks(entries: Sequence[str]) -> list[Network]:
    nets: list[Network] = []
    for entry in entries:
        if entry == "0.0.0.0":
            nets.extend(_own_addresses())
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # not an address: never matches (Directus compares strings)
    return nets


async def _addresses(host: str, port: int) -> list[Address]:
    def resolve() -> list[Address]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]

    return await anyio.to_thread.run_sync(resolve)


def _unavailable(url: str) -> ServiceUnavailableError:
    return ServiceUnavailableError("external-file", f'Couldn\'t fetch file from URL "{url}"')


async def _checked(url: str, denied: Sequence[Network]) -> Address:
    """The address to connect to for ``url``: every address its host resolves to must be allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _unavailable(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await _addresses(parts.hostname, port)
    except OSError:
        raise _unavailable(url) from None
    if not found or any(address in net for address in found for net in denied):
        raise _unavailable(url)
    return found[0]


def _pinned(client: httpx.AsyncClient, url: str, address: Address) -> httpx.Request:
    """A request to the checked address itself, so a second DNS answer (rebinding) cannot send the
    connection elsewhere; ``Host`` and TLS's server name stay the URL's host, so virtual hosts and
    certificates work as usual."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    target = parts._replace(netloc=netloc).geturl()
    hostname = parts.hostname or ""
    host_header = parts.netloc.rpartition("@")[2]
    return client.build_request("GET", target, headers={"Host": host_header}, extensions={"sni_hostname": hostname})


class Download:
    """An open response whose URL passed the guard, with its final URL, type and body stream."""

    def __init__(self, client: httpx.AsyncClient, response: httpx.Response, url: str) -> None:
        self.client, self.response, self.url = client, response, url

    @property
    def filename(self) -> str:
        return unquote(posixpath.basename(urlsplit(self.url).path))

    @property
    def mime(self) -> str:
        raw = self.response.headers.get("content-type", "")
        return raw.split(";")[0].strip() or "application/octet-stream"

    async def body(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.aiter_bytes():  # content-encoding undone, as Directus does
            yield chunk

    async def close(self) -> None:
        await self.response.aclose()
        await self.client.aclose()


async def open_url(url: str, denied: Sequence[Network]) -> Download:
    client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            address = await _checked(url, denied)
            response = await client.send(_pinned(client, url, address), stream=True)
            if response.is_redirect and "location" in response.headers:
                await response.aclose()
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                await response.aclose()
                raise _unavailable(url)
            return Download(client, response, url)
        raise _unavailable(url)
    except httpx.HTTPError:
        await client.aclose()
        raise _unavailable(url) from None
    except BaseException:
        await client.aclose()
        raise


async def import_one(files: FilesService, body: Any) -> Any:
    """Directus's ``importOne``: the body is ``{url, data?, options?: {filterMimeType?}}``."""
    url, data, filters = _import_body(body)
    files.require(Action.CREATE)
    settings = files.ctx.settings
    download = await open_url(url, deny_networks(settings.IMPORT_IP_DENY_LIST))
    try:
        mime = download.mime
        if not mime_allowed(mime, settings.FILES_MIME_TYPE_ALLOW_LIST):
            raise InvalidPayloadError(
                f'File content type "{mime}" is not allowed for upload by your global file type restrictions'
            )
        if filters and not mime_allowed(mime, filters):
            raise InvalidPayloadError(
                f'File content type "{mime}" is not allowed for upload by this field\'s file type restrictions'
            )
        payload = {"filename_download": download.filename, "type": mime, "title": title_of(download.filename)}
        payload.update(data)
        return await files.upload_one(download.body(), payload)
    finally:
        await download.close()


def _import_body(body: Any) -> tuple[str, Mapping[str, Any], list[str]]:
    if not isinstance(body, Mapping):
        raise InvalidPayloadError('"value" must be of type object')
    url = body.get("url")
    if not isinstance(url, str):
        raise InvalidPayloadError('"url" is required' if url is None else '"url" must be a string')
    data = body.get("data") or {}
    if not isinstance(data, Mapping):
        raise InvalidPayloadError('"data" must be of type object')
    options = body.get("options") or {}
    if not isinstance(options, Mapping):
        raise InvalidPayloadError('"options" must be of type object')
    filters = options.get("filterMimeType") or []
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise InvalidPayloadError('"options.filterMimeType" must be an array of strings')
    return url, data, filters
