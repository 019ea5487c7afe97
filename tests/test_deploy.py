"""The deployment files: docker-compose.yml valid against the Compose Specification's JSON
schema (shipped with check-jsonschema, so no network), and the Kubernetes manifests parse with
the kinds expected, each worker pool a Deployment of its own."""

import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_SERVICES = {"postgres", "redis", "rabbitmq", "waha", "migrate", "web", "worker", "send", "llm", "beat", "flower"}


def validate_compose(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=60)


def queues_of(command: list[str]) -> set[str]:
    return set(command[command.index("--queues") + 1].split(","))


def test_the_compose_file_follows_the_compose_specification(tmp_path):
    checked = validate_compose(ROOT / "docker-compose.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    broken = tmp_path / "docker-compose.yml"  # the check does catch a mistake
    broken.write_text((ROOT / "docker-compose.yml").read_text().replace("healthcheck:", "health_check:", 1))
    assert validate_compose(broken).returncode != 0


def test_every_compose_service_has_a_health_check_and_the_data_lives_in_volumes():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == COMPOSE_SERVICES
    assert all("healthcheck" in spec for name, spec in services.items() if name != "migrate")
    assert set(compose["volumes"]) == {"pgdata", "redisdata", "rabbitdata", "waha-sessions"}
    assert services["worker"]["environment"]["CELERY_BROKER_URL"].startswith("amqp://")
    pools = [queues_of(services[name]["command"]) for name in ("worker", "send", "llm")]
    assert sorted(q for pool in pools for q in pool) == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES)


def test_the_kubernetes_manifests_scale_each_worker_pool_on_its_own():
    documents = [doc for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
                 for doc in yaml.safe_load_all(path.read_text()) if doc]
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in documents if doc["kind"] != "Kustomization"}
    workers = {name for kind, name in kinds if kind == "Deployment" and name.startswith("worker-")}
    assert workers == {"worker-sync", "worker-pipeline", "worker-send", "worker-llm"}
    assert {("Deployment", "web"), ("Deployment", "beat"), ("Deployment", "flower"), ("StatefulSet", "waha"),
            ("Job", "migrate"), ("ConfigMap", "ai-seller"), ("HorizontalPodAutoscaler", "worker-llm")} <= kinds
    deployments = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "Deployment"}
    pools = [queues_of(deployments[name]["spec"]["template"]["spec"]["containers"][0]["command"]) for name in workers]
    assert sorted(q for pool in pools for q in pool) == sorted(q.name for q in settings.CELERY_TASK_QUEUES)
    assert deployments["beat"]["spec"]["replicas"] == 1 and deployments["beat"]["spec"]["strategy"]["type"] == "Recreate"
    listed = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert all((ROOT / "deploy" / "k8s" / name).exists() for name in listed)
