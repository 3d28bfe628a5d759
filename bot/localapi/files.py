"""Files users sent and the bot uploaded, fetched with getFile and the download URL."""

import mimetypes
from dataclasses import dataclass

from bot.localapi.records import JSONDict


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str
    mime_type: str
    content: bytes

    def document_json(self) -> JSONDict:
        """The Bot API `Document` object."""
        return {
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }


class FileStore:
    """Every file by its file_id, and by the path getFile gives for downloading it."""

    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}

    def store(
        self, filename: str, content: bytes, mime_type: str | None, *, number: int
    ) -> StoredFile:
        """Keep a file under ids made from `number`, unique within the emulator."""
        extension = filename.rpartition(".")[2] if "." in filename else "bin"
        stored = StoredFile(
            file_id=f"BQACAgLocal{number:06d}",
            file_unique_id=f"AgADLocal{number:06d}",
            file_path=f"documents/file_{number}.{extension}",
            file_name=filename,
            mime_type=mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            content=content,
        )
        self._files[stored.file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._files.get(file_id)

    def at_path(self, file_path: str) -> StoredFile | None:
        return next((file for file in self._files.values() if file.file_path == file_path), None)
