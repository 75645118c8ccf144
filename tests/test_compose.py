"""docker-compose.yml stays valid without a Docker engine (none runs on CI machines)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from rag.settings import REPO_ROOT, load_settings


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_services_reference_declared_volumes_and_networks() -> None:
    doc = compose()
    volumes, networks = set(doc.get("volumes", {})), set(doc.get("networks", {}))
    assert doc["services"], "no services"
    for name, service in doc["services"].items():
        assert "image" in service or "build" in service, name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/", "$")):
                assert source in volumes, f"{name} mounts undeclared volume {source}"
        for net in service.get("networks", []):
            assert net in networks, f"{name} joins undeclared network {net}"
        for dep in service.get("depends_on", []):
            assert dep in doc["services"], f"{name} depends on unknown service {dep}"


def test_gpu_profile_matches_the_compose_services() -> None:
    settings = load_settings("gpu", environ={})
    assert settings.index.provider == "http"
    assert settings.index.host in compose()["services"]


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker client not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    done = subprocess.run(
        ["docker", "compose", "-f", str(REPO_ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        env={"CHROMA_TOKEN": "x", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
