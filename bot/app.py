"""The application factory: one `build_application(settings)` for `run`, `demo` and the tests."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.alerts import ALERTS_JOB, send_owner_alerts
from bot.http import AiohttpRequest
from bot.lifecycle import FIRST_PURGE, PURGE_INTERVAL, PURGE_JOB, purge_departed
from bot.name_watches import (
    FIRST_RUN,
    NAME_WATCHES_INTERVAL,
    NAME_WATCHES_JOB,
    end_expired_watches,
)
from bot.outbox import SENDER, expand_events
from bot.pacing import Limits, Pacer, PacingRateLimiter
from bot.reminders import FIRST_SCAN_SECONDS, REMINDERS_JOB, scan_reminders
from bot.sender import NO_PREVIEW, Sender, SenderSettings
from bot.settings import Settings
from bot.stale_cases import ON_MONDAYS, STALE_CASES_JOB, WEEKLY_AT, send_stale_cases
from bot.updates import ChatOrderedUpdateProcessor
from handlers.alerts import OwnerAlerts
from handlers.context import SERVICES, CaseContext, Services
from handlers.i18n import LANGUAGES
from handlers.language import refresh_command_menu, set_command_menu
from handlers.registry import COMMANDS, add_handlers
from handlers.who import KnownNames
from storage.admins import menu_roles, sync_owners
from storage.engine import create_engine, session_scope
from storage.secrets import BUTTONS, CALENDAR, shared_secret

CaseApplication = Application[Any, CaseContext, Any, Any, Any, Any]
OUTBOX_JOB = "outbox"
GET_UPDATES_CONNECTIONS = 4
# Connections for replies and the rest (the outbox sender has its own).
REPLY_CONNECTIONS = 32
# Telegram's default kinds of update, asked for explicitly: left out, Telegram keeps the
# choice of a previous run, and the bot must hear of `my_chat_member` (blocked, removed from
# a group) to stop writing there at once.
ALLOWED_UPDATES = [
    kind
    for kind in Update.ALL_TYPES
    if kind not in {Update.CHAT_MEMBER, Update.MESSAGE_REACTION, Update.MESSAGE_REACTION_COUNT}
]


def build_application(settings: Settings) -> CaseApplication:
    """The bot, wired: handlers, the outbox job, and services started in post_init."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")

    pacer = Pacer(Limits(per_second=settings.rate_per_second))

    async def post_init(application: CaseApplication) -> None:
        services = await start_services(settings)
        # What start-up built (the libraries, the name index: hundreds of thousands of
        # objects) lives as long as the process. Out of the collector's sight, a full
        # collection looks only at what came later, and does not hold sends up long enough
        # to bunch them together past Telegram's limits.
        gc.collect()
        gc.freeze()
        application.bot_data[SERVICES] = services
        sender = Sender(
            bot=application.bot,
            request=AiohttpRequest(pool_size=settings.concurrency),
            engine=services.engine,
            pacer=pacer,
            settings=SenderSettings(
                concurrency=settings.concurrency,
                lease=timedelta(seconds=settings.delivery_lease_seconds),
                paid_broadcast=settings.paid_broadcast,
                retry_base_seconds=settings.retry_base_seconds,
                tz=settings.casewatch_tz,
            ),
            alerts=services.alerts,
            button_key=services.button_key,
        )
        application.bot_data[SENDER] = sender
        await sender.start()
        await _set_command_menus(application)
        assert application.job_queue is not None
        application.job_queue.run_repeating(
            purge_departed, interval=PURGE_INTERVAL, first=FIRST_PURGE, name=PURGE_JOB
        )
        application.job_queue.run_repeating(
            expand_events, interval=settings.outbox_interval_seconds, first=0, name=OUTBOX_JOB
        )
        application.job_queue.run_repeating(
            scan_reminders,
            interval=settings.reminder_scan_seconds,
            first=min(FIRST_SCAN_SECONDS, settings.reminder_scan_seconds),
            name=REMINDERS_JOB,
        )
        application.job_queue.run_repeating(
            end_expired_watches,
            interval=NAME_WATCHES_INTERVAL,
            first=FIRST_RUN,
            name=NAME_WATCHES_JOB,
        )
        application.job_queue.run_daily(
            send_stale_cases,
            time=WEEKLY_AT.replace(tzinfo=ZoneInfo(settings.casewatch_tz)),
            days=ON_MONDAYS,
            name=STALE_CASES_JOB,
        )
        application.job_queue.run_repeating(
            send_owner_alerts,
            interval=settings.alert_interval_seconds,
            first=settings.alert_interval_seconds,
            name=ALERTS_JOB,
        )

    async def post_stop(application: CaseApplication) -> None:
        """Finish the sends in flight while the bot can still talk to Telegram."""
        sender: Sender | None = application.bot_data.get(SENDER)
        if sender is not None:
            await sender.close()

    async def post_shutdown(application: CaseApplication) -> None:
        services: Services | None = application.bot_data.get(SERVICES)
        if services is not None:
            await services.engine.dispose()

    application: CaseApplication = (
        connected_builder(settings)
        .context_types(ContextTypes(context=CaseContext))
        .rate_limiter(PacingRateLimiter(pacer))
        .concurrent_updates(ChatOrderedUpdateProcessor())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    add_handlers(
        application,
        commands_per_minute=settings.flood_commands_per_minute,
        lookups_per_minute=settings.lookups_per_minute,
        lookups_per_hour=settings.lookups_per_hour,
    )
    return application


def connected_builder(settings: Settings) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """A builder for a bot that talks to `settings`' Bot API the way casewatch does.

    The token and addresses, HTTP over aiohttp, and the defaults every message shares.
    """
    assert settings.telegram_bot_token is not None
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=ZoneInfo(settings.casewatch_tz),
                link_preview_options=NO_PREVIEW,
            )
        )
        .request(AiohttpRequest(pool_size=REPLY_CONNECTIONS))
        # A long poll cut off mid-flight (by stopping, or by a network drop) can leave its
        # connection checked out: leave room for the next getUpdates.
        .get_updates_request(AiohttpRequest(pool_size=GET_UPDATES_CONNECTIONS))
    )


async def start_services(settings: Settings) -> Services:
    """Connect to the database, make ADMIN_IDS owners, and load the name index."""
    engine = create_engine(settings.database_url)
    names = KnownNames()
    async with session_scope(engine) as session:
        await sync_owners(session=session, owner_ids=settings.admin_ids)
        await names.catch_up(session)
        button_key = await shared_secret(session=session, name=BUTTONS)
        calendar_key = await shared_secret(session=session, name=CALENDAR)
    return Services(
        engine=engine,
        names=names,
        default_tz=settings.casewatch_tz,
        grace=timedelta(seconds=settings.notify_grace_seconds),
        owner_ids=settings.admin_ids,
        alerts=OwnerAlerts(settings.admin_ids),
        button_key=button_key,
        calendar_key=calendar_key,
        commands=tuple(COMMANDS),
    )


async def _set_command_menus(application: CaseApplication) -> None:
    """Everyone's command menu in each language; and each owner's, editor's and viewer's own
    menu (their tier's commands too) in their chat, in its language (/lang and /admins set it
    again when that changes)."""
    services: Services = application.bot_data[SERVICES]
    for language in LANGUAGES:
        await set_command_menu(application.bot, services.commands, language)
    async with session_scope(services.engine) as session:
        holders = await menu_roles(session=session)
    for user_id, stored, role in holders:
        await refresh_command_menu(application.bot, services.commands, user_id, stored, role)


@asynccontextmanager
async def polling(application: CaseApplication) -> AsyncIterator[CaseApplication]:
    """Run the application with long polling inside an event loop that is already running.

    Does what `run_polling` does around its loop (post_init, post_shutdown included), for
    the demo and the tests, which run other things beside the bot in the same loop.
    """
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
    )
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        if application.post_stop:
            await application.post_stop(application)
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
