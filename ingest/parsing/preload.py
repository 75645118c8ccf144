"""What the first parse of a document loads, loaded once in the process parse workers are forked from.

Imported by the fork server of ``ingest/parse_pool.py`` (and by nothing else): parsing a small Spanish
Markdown, an English HTML page and a text file here loads bs4 and lxml, the language detector's model and
the Spanish and English word lists that titles are checked against. Without it every worker loaded them
on its first file, about half a second of CPU each, taken from the encoder on a small machine.
"""

from __future__ import annotations

import contextlib

from ingest.parsing import ParseOptions, parse_bytes

_SAMPLES = {
    "muestra.md": "# Política de viajes\n\nLos empleados reservan los viajes con la agencia de la empresa.\n",
    "sample.html": (
        "<html><head><title>Travel policy</title></head><body><h1>Travel policy</h1>"
        "<p>Employees book every trip through the company's travel agency.</p></body></html>"
    ),
    "sample.txt": "Maintenance manual\n\nCheck the pump pressure every morning before the first shift.\n",
}


def warm() -> None:
    for name, text in _SAMPLES.items():
        # A warm-up must never stop the server: a worker would load what failed here on its first file.
        with contextlib.suppress(Exception):
            parse_bytes(name, text.encode("utf-8"), ParseOptions(ocr=False))


warm()
