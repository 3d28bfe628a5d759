"""The HTTP side: Telegram's URLs served by Starlette, and `serve_local_api` to run it."""

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import AsyncIterator, Generator
from http import HTTPStatus

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.localapi.emulator import LocalBotApi
from bot.localapi.errors import BotApiError, not_found
from bot.localapi.params import read_params

_LOGGER = logging.getLogger(__name__)

# Telegram answers 401 to a token that looks right but is not a bot's, and 404 otherwise.
_WELL_FORMED_TOKEN = re.compile(r"^\d+:[\w-]+$")


def _error_response(error: BotApiError) -> JSONResponse:
    return JSONResponse(error.to_json(), status_code=error.error_code)


def _token_error(api: LocalBotApi, token: str) -> JSONResponse | None:
    """Telegram's answer to a token that is not this bot's, or None if it is."""
    if token == api.token:
        return None
    if _WELL_FORMED_TOKEN.match(token):
        return _error_response(BotApiError(HTTPStatus.UNAUTHORIZED, "Unauthorized"))
    return _error_response(not_found())


async def _method_endpoint(request: Request) -> Response:
    """`/bot{token}/{method}`: one Bot API call."""
    api: LocalBotApi = request.app.state.api
    if (refused := _token_error(api, request.path_params["token"])) is not None:
        return refused
    try:
        params = await read_params(request)
        result = await api.call(request.path_params["method"], params.values, files=params.files)
    except BotApiError as error:
        return _error_response(error)
    except Exception:
        _LOGGER.exception("the local Bot API failed on %s", request.path_params["method"])
        return _error_response(
            BotApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        )
    return JSONResponse({"ok": True, "result": result})


async def _file_endpoint(request: Request) -> Response:
    """`/file/bot{token}/{file_path}`: download a file getFile pointed to."""
    api: LocalBotApi = request.app.state.api
    if (refused := _token_error(api, request.path_params["token"])) is not None:
        return refused
    stored = api._files.at_path(request.path_params["file_path"])
    if stored is None:
        return _error_response(not_found())
    return Response(stored.content, media_type=stored.mime_type)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and malformed requests, answered in Telegram's JSON shape."""
    status = (
        exc.status_code if isinstance(exc, HTTPException) else HTTPStatus.INTERNAL_SERVER_ERROR
    )
    description = HTTPStatus(status).phrase if status != HTTPStatus.BAD_REQUEST else "Bad Request"
    return _error_response(BotApiError(status, description))


def build_app(api: LocalBotApi) -> Starlette:
    """The Starlette app serving `api` at Telegram's URLs."""
    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", _method_endpoint, methods=["GET", "POST"]),
            Route("/file/bot{token}/{file_path:path}", _file_endpoint, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.api = api
    return app


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves Ctrl+C and SIGTERM to the program it runs in."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _bind(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    family, kind, proto, _, address = (
        await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serve_local_api(
    api: LocalBotApi, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `api` over HTTP in this event loop; yields its base URL, e.g. http://127.0.0.1:43125.

    Port 0 picks a free port. On exit, waiting long polls are released and the server stops.
    """
    sock = await _bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        build_app(api),
        host=host,
        port=bound_port,
        lifespan="off",
        log_level="warning",
        log_config=None,  # leave logging to the program we run in
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = _EmbeddedServer(config)
    api._updates.open()
    task = asyncio.create_task(server.serve(sockets=[sock]), name="local-bot-api")
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the local Bot API stopped while starting")
            await asyncio.sleep(0.01)
        url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
        yield f"http://{url_host}:{bound_port}"
    finally:
        api._updates.release_polls()
        server.should_exit = True
        await task
