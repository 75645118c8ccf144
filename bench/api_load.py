"""Load on `fuente serve-api`: N concurrent clients for a bounded time on loopback.

Each client asks chat completions (non-streamed) in a loop until the time is up; a "busy" answer
(429 queue full, 503 too long in the queue) is expected under this load, and the client comes
back after its Retry-After. Everything else (a 5xx other than busy, a broken connection, a
malformed body) is an error. Printed: answers, busy answers, errors, the time admitted requests
waited in the queue (p50/p95, from each answer's ``fuente.timings.queue_s``), the time to a busy
answer, and the end-to-end latency of answered requests.

By default it builds everything itself in a work folder: the sample corpus ingested, a user and
its key, the packaged Qwen2.5-Coder-0.5B on llama.cpp, and `fuente serve-api`, all on free
loopback ports, stopped at the end. ``--url`` and ``--key`` point it at a running server instead.

Run from the repository root::

    .venv/bin/python bench/api_load.py                       # 20 clients, 30 s
    .venv/bin/python bench/api_load.py --clients 20 --seconds 30 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import httpx  # noqa: E402

from rag.settings import REPO_ROOT, load_settings  # noqa: E402

QUESTIONS = [
    "¿Cuál es la dieta diaria para un viaje internacional?",
    "¿Cuántos días de teletrabajo se permiten por semana?",
    "What is the response time for a P1 incident in the customer SLA?",
    "¿Cuándo se paga la nómina de diciembre?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(cmd: list[str], log: Path, ready: str, env: dict[str, str], timeout_s: float = 300) -> Iterator[None]:
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"{cmd[0]} exited: {log.read_text(errors='replace')[-1500:]}")
            try:
                if httpx.get(ready, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{' '.join(cmd[:3])} did not start in {timeout_s:.0f} s; see {log}")
            time.sleep(0.5)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def local_stack(work: Path, queue_size: int, queue_timeout_s: float) -> Iterator[tuple[str, str]]:
    """Ingested sample corpus, a user and key, llama.cpp with the 0.5B, and `fuente serve-api`: (url, key)."""
    from ingest.pipeline import Ingestor
    from rag import api_keys
    from rag.app import build_writer
    from rag.provisioning import ensure_model
    from rag.users import add_user

    models = Path(os.environ.get("FUENTE_TEST_MODELS", REPO_ROOT / ".fuente" / "models"))
    environ = {"FUENTE_HOME": str(work / "home"), "FUENTE__PATHS__MODELS": str(models)}
    settings = load_settings("test", environ=environ)
    if not (work / "home" / "fuente.db").exists():
        writer = build_writer(settings)
        try:
            Ingestor(writer).run([REPO_ROOT / "samples" / "corpus"])
        finally:
            writer.close()
    add_user(settings, "bench", password=None, groups=frozenset({"rrhh"}))
    _, key = api_keys.create_key(settings, "bench", label="bench/api_load.py")
    gguf = ensure_model(settings, "qwen2.5-coder-0.5b-instruct-q4_k_m")
    llama_port, api_port = free_port(), free_port()
    llama = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
             "--port", str(llama_port), "--n_ctx", "2048", "--n_threads", "2", "--model_alias", "qwen2.5-0.5b"]  # fmt: skip
    env = {
        **os.environ,
        **environ,
        "FUENTE_PROFILE": "test",
        "FUENTE__LLM__LOCAL__BASE_URL": f"http://127.0.0.1:{llama_port}/v1",
        "FUENTE__LLM__LOCAL__MODEL": "qwen2.5-0.5b",
        "FUENTE__LLM__LOCAL__CONTEXT_TOKENS": "2048",
        "FUENTE__LLM__LOCAL__MAX_TOKENS": "120",
        "FUENTE__LLM__SERVER__AUTOSTART": "false",
        "FUENTE__RETRIEVAL__TRANSLATE_QUERY": "false",
        "FUENTE__API__QUEUE_SIZE": str(queue_size),
        "FUENTE__API__QUEUE_TIMEOUT_S": str(queue_timeout_s),
        "HF_HUB_OFFLINE": "1",
    }
    fuente = str(Path(sys.executable).parent / "fuente")
    url = f"http://127.0.0.1:{api_port}"
    with (
        process(llama, work / "llama.log", f"http://127.0.0.1:{llama_port}/v1/models", env),
        process([fuente, "serve-api", "--port", str(api_port)], work / "api.log", url + "/health", env),
    ):
        yield url, key


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def load(url: str, key: str, clients: int, seconds: float) -> dict[str, Any]:
    stats: dict[str, Any] = {"answered": 0, "refused": 0, "busy_429": 0, "busy_503": 0, "errors": []}
    queue_s: list[float] = []
    busy_s: list[float] = []
    waited_s: list[float] = []
    latency_s: list[float] = []
    end = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    async def client(i: int, http: httpx.AsyncClient) -> None:
        n = i
        while time.monotonic() < end:
            body = {"model": "fuente", "messages": [{"role": "user", "content": QUESTIONS[n % len(QUESTIONS)]}]}
            n += 1
            started = time.monotonic()
            try:
                r = await http.post(url + "/v1/chat/completions", json=body, headers=headers)
            except httpx.HTTPError as e:
                stats["errors"].append(f"{type(e).__name__}: {e}")
                continue
            took = time.monotonic() - started
            if r.status_code == 200:
                data = r.json()
                stats["answered"] += 1
                stats["refused"] += int(bool(data["fuente"]["refused"]))
                queue_s.append(float(data["fuente"]["timings"]["queue_s"]))
                waited_s.append(queue_s[-1])
                latency_s.append(took)
            elif r.status_code in (429, 503) and r.json().get("error", {}).get("code") == "busy":
                stats[f"busy_{r.status_code}"] += 1
                busy_s.append(took)
                waited_s.append(took if r.status_code == 503 else 0.0)  # 503: waited the whole queue timeout
                wait = float(r.headers.get("Retry-After", "1"))
                await asyncio.sleep(max(0.0, min(wait, end - time.monotonic())))
            else:
                stats["errors"].append(f"{r.status_code}: {r.text[:200]}")

    async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10)) as http:
        started = time.monotonic()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        stats["wall_s"] = round(time.monotonic() - started, 1)
        metrics = (await http.get(url + "/metrics")).text
    stats.update(
        clients=clients,
        seconds=seconds,
        queue_p50_s=round(percentile(queue_s, 0.5), 3),
        queue_p95_s=round(percentile(queue_s, 0.95), 3),
        busy_answer_p95_s=round(percentile(busy_s, 0.95), 3),
        queue_all_p95_s=round(percentile(waited_s, 0.95), 3),
        latency_p50_s=round(percentile(latency_s, 0.5), 2),
        latency_p95_s=round(percentile(latency_s, 0.95), 2),
        server_alive=any(line.startswith("fuente_requests_total") for line in metrics.splitlines()),
    )
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--queue-size", type=int, default=8, help="api.queue_size of the server it starts.")
    parser.add_argument(
        "--queue-timeout",
        type=float,
        default=10.0,
        help="api.queue_timeout_s of the server it starts (bounds the run).",
    )
    parser.add_argument("--url", help="A running `fuente serve-api` (then --key is needed).")
    parser.add_argument("--key", help="An API key for --url.")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fuente-bench-api"), help="Work folder.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.url:
        if not args.key:
            parser.error("--url needs --key")
        stats = asyncio.run(load(args.url, args.key, args.clients, args.seconds))
    else:
        args.work.mkdir(parents=True, exist_ok=True)
        (args.work / "home" / "api_keys.db").unlink(missing_ok=True)  # a fresh key each run
        with local_stack(args.work, args.queue_size, args.queue_timeout) as (url, key):
            stats = asyncio.run(load(url, key, args.clients, args.seconds))
    errors = stats["errors"]
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
    else:
        print(
            f"{stats['clients']} clients, {stats['seconds']:.0f} s (wall {stats['wall_s']} s): "
            f"{stats['answered']} answered ({stats['refused']} refused), busy {stats['busy_429']}x429 + {stats['busy_503']}x503, "
            f"{len(errors)} errors"
        )
        print(
            f"time in queue: answered p50 {stats['queue_p50_s']} s, p95 {stats['queue_p95_s']} s; "
            f"all requests p95 {stats['queue_all_p95_s']} s"
        )
        print(
            f"busy answer after: p95 {stats['busy_answer_p95_s']} s; latency answered p50 {stats['latency_p50_s']} s, p95 {stats['latency_p95_s']} s"
        )
        for e in errors[:5]:
            print("  error:", e)
    return 1 if errors or not stats["server_alive"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
