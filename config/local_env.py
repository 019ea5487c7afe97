"""A checkout works without setting anything: the first `manage.py` command writes a `.env` for
local development (DEBUG on, a new SECRET_KEY) and says so. Where the environment already says
anything about the deployment (DATABASE_URL, SECRET_KEY or DEBUG), nothing is written, and a
missing setting is one clear line (see manage.py), never a traceback."""

import os
import secrets
from pathlib import Path

DEPLOYMENT_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "DEBUG")


def env_file(base_dir: Path, environ=os.environ) -> Path | None:
    """ENV_FILE, or `.env` in the checkout; None for ENV_FILE=none."""
    name = environ.get("ENV_FILE", "")
    if name.lower() == "none":
        return None
    return Path(name) if name else base_dir / ".env"


def write_development_env(path: Path | None, environ=os.environ) -> bool:
    """True when it wrote one: there was none, and nothing says this is a deployment."""
    if path is None or path.exists() or any(name in environ for name in DEPLOYMENT_VARIABLES):
        return False
    path.write_text(
        "# Written by the first manage.py command in this checkout: local development only.\n"
        "# In production set SECRET_KEY, FIELD_ENCRYPTION_KEY, DATABASE_URL ... in the environment instead.\n"
        f"DEBUG=1\nSECRET_KEY={secrets.token_urlsafe(40)}\n"
    )
    return True
