"""The error handler's answer is true: saved, not changed, or not known."""

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.errors import _what_happened
from storage.engine import create_engine, session_scope
from storage.timeline import claim_update


def _update(update_id: int) -> Any:
    return SimpleNamespace(update_id=update_id)


def _context(engine: AsyncEngine) -> Any:
    return SimpleNamespace(services=SimpleNamespace(engine=engine))


async def test_an_update_whose_change_was_committed_is_said_to_be_saved(
    engine: AsyncEngine,
) -> None:
    async with session_scope(engine) as session:
        assert await claim_update(session=session, update_id=41)
    saved = await _what_happened(_update(41), _context(engine))
    other = await _what_happened(_update(42), _context(engine))
    assert (saved, other) == ("error.saved_then_failed", "error.internal")


async def test_when_the_database_cannot_tell_the_answer_says_the_change_may_be_saved(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    engine = create_engine(f"sqlite:///{tmp_path}/a-file/casewatch.db")
    try:
        answer = await _what_happened(_update(41), _context(engine))
    finally:
        await engine.dispose()
    assert answer == "error.maybe_saved"
