"""``python -m ui.cli``: the `fuente` command (the tests start it this way as a real process)."""

from ui.cli import app

app()
