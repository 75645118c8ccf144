"""What every settings section shares: the base class, the repository's folders, the group-name rule."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

_BAD_GROUP = re.compile(r"[+,/|\s]")


def check_group_name(name: str) -> str:
    """``name`` when it can be a group: access sets join groups with '+', lists split on ',' and '|'.

    Raises:
        ValueError: an empty name or one holding '+', ',', '/', '|' or whitespace (a group ``a+b``
            would otherwise be read as groups ``a`` and ``b``).
    """
    if not isinstance(name, str) or not name or _BAD_GROUP.search(name):
        raise ValueError(
            f"group name {name!r} is not allowed: use letters, digits, '-', '_' or '.', without '+', ',', '/', '|' "
            "or spaces"
        )
    return name


REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG_DIR = REPO_ROOT / "configs"
ENV_PREFIX = "FUENTE__"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
