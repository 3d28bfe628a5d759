"""python-telegram-bot's requests over aiohttp instead of httpx.

PTB talks HTTP through a `BaseRequest`; its own, `HTTPXRequest`, spends about 2.4 ms of CPU
per request on a 2-core machine (httpcore walks its whole connection pool on every
request), which caps one process at a few hundred messages a second. aiohttp does the same
round trip in about 0.14 ms, so paid broadcast (1,000 a second) is not CPU-bound
(benchmarks/RESULTS-delivery.md).

Errors become PTB's: `TimedOut` when the request never went out (no connection in time)
and `AnswerTimedOut`, a `TimedOut`, when it went out and no answer came in time, so that
Telegram may have acted on it. `NetworkError` for the rest. No message carries the URL,
which holds the bot token.
"""

import re

import aiohttp

# PTB's own type of its timeout arguments (not re-exported anywhere public).
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
# Long enough for the hundreds of connections a paid broadcast opens at once.
POOL_TIMEOUT = 5.0
UPLOAD_TIMEOUT = 30.0
JSON = "application/json"
_TOKEN = re.compile(r"bot\d+:[\w-]+")


class AnswerTimedOut(TimedOut):
    """The request reached Telegram but its answer did not come back in time."""


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` on one `aiohttp.ClientSession` with up to `pool_size` connections."""

    def __init__(self, *, pool_size: int, read_timeout: float | None = READ_TIMEOUT) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running event loop, as aiohttp wants)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One request; aiohttp has no write timeout, so `write_timeout` is not used."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        uploads = request_data is not None and request_data.contains_files
        timeout = aiohttp.ClientTimeout(
            total=UPLOAD_TIMEOUT if uploads else None,
            # aiohttp's `connect` is the time to get a connection, pooled or new (a TLS
            # handshake included): PTB's pool timeout. `sock_connect`, opening a socket, is
            # PTB's connect timeout.
            connect=_given(pool_timeout, POOL_TIMEOUT),
            sock_connect=_given(connect_timeout, CONNECT_TIMEOUT),
            sock_read=_given(read_timeout, self._read_timeout),
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut("no connection to Telegram in time: not sent") from error
        except TimeoutError as error:  # sock_read, or the upload's total
            raise AnswerTimedOut("Telegram did not answer in time") from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {_redacted(error)}") from error


def _given(value: ODVInput[float], default: float | None) -> float | None:
    """A timeout passed to the call, or this request's own."""
    return default if isinstance(value, DefaultValue) else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """A JSON body (the Bot API takes one; cheaper to build than a form), or a multipart
    form when there are files."""
    if request_data is None:
        return None
    if not request_data.contains_files:
        return aiohttp.BytesPayload(request_data.json_payload, content_type=JSON)
    form = aiohttp.FormData(request_data.json_parameters)
    for name, (filename, content, mimetype) in (request_data.multipart_data or {}).items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


def _redacted(error: Exception) -> str:
    """The error's text with any bot token taken out (aiohttp puts URLs in some)."""
    return _TOKEN.sub("bot<token>", str(error))
