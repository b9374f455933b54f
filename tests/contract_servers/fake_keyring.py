"""A keyring backend for tests: a JSON file named by $AISRE_TEST_KEYRING_FILE.

Selected with PYTHON_KEYRING_BACKEND=tests.contract_servers.fake_keyring.FileKeyring
so subprocesses see the same store as the test (the real OS keyring is never used).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class FileKeyring(KeyringBackend):
    priority = 1.0

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring is untyped

    def _path(self) -> Path:
        return Path(os.environ["AISRE_TEST_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        p = self._path()
        return json.loads(p.read_text()) if p.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if f"{service}/{username}" not in data:
            raise PasswordDeleteError("not found")
        del data[f"{service}/{username}"]
        self._path().write_text(json.dumps(data))
