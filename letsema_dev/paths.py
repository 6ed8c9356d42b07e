"""Where the repository, its gitignored tool cache and local state live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def state_dir() -> Path:
    """The local platform's state folder (``.letsema/`` unless ``LETSEMA_STATE_DIR`` says otherwise)."""
    return Path(os.environ.get("LETSEMA_STATE_DIR", REPO_ROOT / ".letsema")).resolve()


def tools_dir() -> Path:
    """The gitignored folder for tools built from source (FerretDB, actionlint, helm)."""
    return Path(os.environ.get("LETSEMA_TOOLS_DIR", REPO_ROOT / ".tools")).resolve()
