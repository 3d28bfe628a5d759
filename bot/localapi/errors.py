"""Bot API errors with Telegram's own status codes, descriptions and `parameters`."""

from http import HTTPStatus

from bot.localapi.records import JSONDict


class BotApiError(Exception):
    """A Bot API failure, answered as Telegram does: HTTP status = `error_code`."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = int(error_code)
        self.description = description
        self.parameters = parameters or {}

    def to_json(self) -> JSONDict:
        """The body Telegram sends with this error."""
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> BotApiError:
    return BotApiError(HTTPStatus.BAD_REQUEST, f"Bad Request: {detail}")


def too_many_requests(retry_after: int) -> BotApiError:
    return BotApiError(
        HTTPStatus.TOO_MANY_REQUESTS,
        f"Too Many Requests: retry after {retry_after}",
        {"retry_after": retry_after},
    )


def chat_migrated(new_chat_id: int) -> BotApiError:
    return BotApiError(
        HTTPStatus.BAD_REQUEST,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def not_found() -> BotApiError:
    return BotApiError(HTTPStatus.NOT_FOUND, "Not Found")


def conflict() -> BotApiError:
    """What an older getUpdates gets when a newer one starts."""
    return BotApiError(HTTPStatus.CONFLICT, _DEFAULT_DESCRIPTIONS[HTTPStatus.CONFLICT])


_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "Bad Request",
    HTTPStatus.UNAUTHORIZED: "Unauthorized",
    HTTPStatus.FORBIDDEN: "Forbidden: bot was blocked by the user",
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.CONFLICT: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal Server Error",
    HTTPStatus.BAD_GATEWAY: "Bad Gateway",
}


def default_description(error_code: int, retry_after: int | None, migrated: bool) -> str:
    if retry_after is not None:
        return f"Too Many Requests: retry after {retry_after}"
    if migrated:
        return "Bad Request: group chat was upgraded to a supergroup chat"
    try:
        return _DEFAULT_DESCRIPTIONS.get(error_code) or HTTPStatus(error_code).phrase
    except ValueError:
        return "Unknown Error"
