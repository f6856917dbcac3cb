"""deploy/k8s and docker-compose.yml, checked offline: rendered as kustomize would, validated
against the Kubernetes JSON schemas (kubernetes-validate, strict: unknown fields are errors),
KEDA's ScaledObject schema (deploy/schemas) and the compose-spec schema, then held to what the
services need: probes, limits, a trigger per durable consumer, no password in the repository.

`kubectl kustomize` and `docker compose config` are used as well where they are installed.
"""

from __future__ import annotations

import base64
import copy
import importlib
import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from flowforge.common.natsauth import deployment_users, render_authorization

try:  # where the list of services lives once the topology module lands on main
    from flowforge.common.topology import SERVICES
except ImportError:
    from flowforge.common.events import SERVICES

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
KEDA_SCHEMA = json.loads((ROOT / "deploy/schemas/keda-scaledobject-v1alpha1.json").read_text())
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.utils.latest_version())
WORKERS = [s for s in SERVICES if s != "gateway"]
FIXED_REPLICAS = {"catalog", "scheduler"}  # why: deploy/k8s/keda.yaml
# Workers that create no durable consumer (the scheduler: its own clock and request/reply), so
# have no lag to scale on; named, so that a worker whose consumers cannot be read still fails.
NO_CONSUMERS = {"scheduler"}
POOL_SIZE = 5  # connections per pod: flowforge.common.db.create_pool's max_size
FAKE_SECRETS = {"POSTGRES_PASSWORD": "a1b2", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s3",
                "FLOWFORGE_SECRET_KEY": "k" * 43 + "="}  # fmt: skip
NATS_USERS = (*SERVICES, "minio")
FAKE_NATS = {f"NATS_{u.upper()}_PASSWORD": f"ff{u}" for u in NATS_USERS}
COMPOSE_ENV = {**FAKE_SECRETS, **FAKE_NATS}


# -- kustomize, the few features deploy/k8s uses ------------------------------------------


def render(root: Path) -> list[dict]:
    """What `kustomize build` makes of `root`: resources, namespace, labels (metadata only),
    images, and secretGenerator from env files (without name hashes)."""
    spec = yaml.safe_load((root / "kustomization.yaml").read_text())
    docs = [d for f in spec["resources"] for d in yaml.safe_load_all((root / f).read_text()) if d]
    docs += [generated_secret(root, gen) for gen in spec.get("secretGenerator", [])]
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in spec.get("images", [])}
    labels = {k: v for entry in spec.get("labels", []) for k, v in entry["pairs"].items()}
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] != "Namespace":
            meta["namespace"] = spec["namespace"]
        meta["labels"] = {**meta.get("labels", {}), **labels}
        for container in containers(doc):
            name = re.split(r"[:@]", container["image"])[0]
            container["image"] = images.get(name, container["image"])
    return docs


def generated_secret(root: Path, gen: dict) -> dict:
    data = {}
    for env_file in gen["envs"]:  # a missing file is an error, as in kustomize
        for line in (root / env_file).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                data[key.strip()] = base64.b64encode(value.encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": gen["name"]}, "data": data}  # fmt: skip


def containers(doc: dict) -> list[dict]:
    pod = doc.get("spec", {}).get("template", {}).get("spec", {})
    return pod.get("containers", []) + pod.get("initContainers", [])


@pytest.fixture(scope="module")
def k8s_dir(tmp_path_factory) -> Path:
    """deploy/k8s with a filled-in secrets file, as a user has it before `kubectl apply -k`."""
    copy_dir = tmp_path_factory.mktemp("deploy") / "k8s"
    shutil.copytree(K8S, copy_dir, ignore=shutil.ignore_patterns("*.env"))
    lines = [f"{k}={v}" for k, v in FAKE_SECRETS.items()]
    (copy_dir / "secrets" / "flowforge.env").write_text("\n".join(lines) + "\n")
    nats = [f"{k}={v}" for k, v in FAKE_NATS.items()]
    (copy_dir / "secrets" / "nats.env").write_text("\n".join(nats) + "\n")
    return copy_dir


@pytest.fixture(scope="module")
def rendered(k8s_dir) -> list[dict]:
    return render(k8s_dir)


def find(docs: list[dict], kind: str, name: str) -> dict:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def selects(selector: dict, labels: dict) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


# -- rendering and schemas -----------------------------------------------------------------


def test_the_manifests_render_without_a_committed_secret_and_not_without_the_secrets_file(
    rendered, k8s_dir, tmp_path
):
    names = [(d["kind"], d["metadata"]["name"]) for d in rendered]
    assert len(names) == len(set(names))
    for path in K8S.rglob("*.yaml"):
        assert "kind: Secret" not in path.read_text(), f"{path} commits a Secret"
    example = (K8S / "secrets/flowforge.env.example").read_text()
    filled = [ln for ln in example.splitlines() if re.match(r"^\w+=\S", ln)]
    assert not filled, f"the example must not hold values: {filled}"
    assert set(re.findall(r"^(\w+)=", example, re.M)) == set(FAKE_SECRETS)
    secrets = K8S / "secrets/flowforge.env"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(secrets)], cwd=ROOT)
    assert ignored.returncode == 0, "deploy/k8s/secrets/flowforge.env must be ignored by git"
    bare = tmp_path / "k8s"
    shutil.copytree(k8s_dir, bare, ignore=shutil.ignore_patterns("*.env"))
    with pytest.raises(FileNotFoundError):
        render(bare)


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed")
def test_kubectl_kustomize_renders_the_same_resources(rendered, k8s_dir):
    done = subprocess.run(
        ["kubectl", "kustomize", str(k8s_dir)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    theirs = [d for d in yaml.safe_load_all(done.stdout) if d]
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(theirs, key=key) == sorted(rendered, key=key)


def test_every_builtin_resource_is_valid_against_the_kubernetes_schemas(rendered):
    for doc in (d for d in rendered if d["apiVersion"] != "keda.sh/v1alpha1"):
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = "/".join(map(str, exc.path))
                pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} ({version}) {where}: {exc}")


def test_every_scaled_object_is_valid_against_kedas_schema(rendered):
    jsonschema.Draft202012Validator.check_schema(KEDA_SCHEMA)
    scaled = [d for d in rendered if d["kind"] == "ScaledObject"]
    assert scaled
    for doc in scaled:
        jsonschema.validate(doc, KEDA_SCHEMA, cls=jsonschema.Draft202012Validator)
        spec = doc["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]  # the CRD's CEL rule


def test_the_validators_refuse_a_misspelt_or_mistyped_field(rendered):
    deployment = copy.deepcopy(find(rendered, "Deployment", "flowforge-ingest"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)
    for mistake in ({"lagTreshold": "5"}, {"lagThreshold": 5}):
        scaled = copy.deepcopy(find(rendered, "ScaledObject", "flowforge-ingest"))
        scaled["spec"]["triggers"][0]["metadata"].update(mistake)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(scaled, KEDA_SCHEMA, cls=jsonschema.Draft202012Validator)


# -- what the services need ----------------------------------------------------------------


def durables(service: str) -> set[str]:
    """The durable consumers the service creates, read from its composition root."""
    from flowforge.common.service import build_app

    module = importlib.import_module(f"flowforge.{service}.app")
    _, runtime = build_app(service, module.register)
    configs = (getattr(sub, "config", None) for sub in runtime.broker.subscribers)
    return {c.durable_name for c in configs if getattr(c, "durable_name", None)}


@pytest.mark.parametrize("service", WORKERS)
def test_each_worker_scales_on_the_lag_of_every_consumer_it_creates(rendered, service):
    deployment = find(rendered, "Deployment", f"flowforge-{service}")
    consumers = durables(service)
    if service in NO_CONSUMERS:
        assert not consumers and service in FIXED_REPLICAS, f"{service} creates {consumers}"
    else:
        assert consumers, f"{service} creates no durable consumer"
    scaled = [d for d in rendered if d["kind"] == "ScaledObject"]
    mine = [d for d in scaled if d["spec"]["scaleTargetRef"]["name"] == f"flowforge-{service}"]
    if service in FIXED_REPLICAS:
        assert not mine and deployment["spec"]["replicas"] >= 2
        return
    assert len(mine) == 1 and "replicas" not in deployment["spec"]  # KEDA owns the count
    triggers = mine[0]["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"nats-jetstream"}
    assert sorted(t["metadata"]["consumer"] for t in triggers) == sorted(consumers)
    namespace = deployment["metadata"]["namespace"]
    for trigger in triggers:
        assert trigger["metadata"]["stream"] == "FLOWFORGE"
        assert trigger["metadata"]["natsServerMonitoringEndpoint"] == f"nats.{namespace}.svc:8222"


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_probes_limits_and_a_disruption_budget(rendered, service):
    deployment = find(rendered, "Deployment", f"flowforge-{service}")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port = 8000 if service == "gateway" else 9100
    named = {p["name"]: p["containerPort"] for p in container["ports"]}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert (get["path"], named[get["port"]]) == (path, port)
    assert_resources(container)
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert "$(POSTGRES_PASSWORD)" in env["DATABASE_URL"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    budgets = [d for d in rendered if d["kind"] == "PodDisruptionBudget"]
    assert [b for b in budgets if selects(b["spec"]["selector"], labels)]


def assert_resources(container: dict) -> None:
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][bound].keys(), container["name"]


def test_nats_is_a_three_node_jetstream_cluster_on_persistent_volumes(rendered):
    nats = find(rendered, "StatefulSet", "nats")
    spec = nats["spec"]
    assert spec["replicas"] == 3 and spec["volumeClaimTemplates"]
    conf = find(rendered, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert re.search(r"jetstream\s*\{[^}]*store_dir:\s*/data", conf)
    assert re.search(r"http_port:\s*8222", conf)
    headless = spec["serviceName"]
    routes = re.findall(r"nats://([\w.-]+):6222", conf)
    assert routes == [f"nats-{i}.{headless}" for i in range(3)]
    assert find(rendered, "Service", headless)["spec"]["clusterIP"] == "None"
    mounts = {m["mountPath"] for m in spec["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert "/data" in mounts
    config = find(rendered, "ConfigMap", "flowforge-config")["data"]
    assert config["FLOWFORGE_STREAM_REPLICAS"] == "3"


def test_postgres_runs_alone_with_a_volume_probes_and_room_for_every_pool(rendered):
    postgres = find(rendered, "StatefulSet", "postgres")
    (container,) = postgres["spec"]["template"]["spec"]["containers"]
    assert postgres["spec"]["volumeClaimTemplates"]
    assert all(p in container for p in ("livenessProbe", "readinessProbe", "startupProbe"))
    assert_resources(container)
    password = next(e for e in container["env"] if e["name"] == "POSTGRES_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"]["name"] == "flowforge-secrets"
    max_connections = int(re.search(r"max_connections=(\d+)", " ".join(container["args"]))[1])
    top = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["maxReplicaCount"]
           for d in rendered if d["kind"] == "ScaledObject"}  # fmt: skip
    deployments = [d for d in rendered if d["kind"] == "Deployment"]
    pods = sum(top.get(d["metadata"]["name"], d["spec"].get("replicas", 1)) for d in deployments)
    assert pods * POOL_SIZE + 20 <= max_connections


def test_the_network_policy_denies_by_default_and_opens_what_each_part_needs(rendered):
    policies = [d for d in rendered if d["kind"] == "NetworkPolicy"]
    deny = find(rendered, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}

    def ports(direction: str, labels: dict) -> set[int]:
        return {
            port["port"]
            for p in policies
            if selects(p["spec"]["podSelector"], labels)
            for rule in p["spec"].get(direction, [])
            for port in rule.get("ports", [])
        }

    flowforge = {"app.kubernetes.io/name": "flowforge"}
    assert 8000 in ports("ingress", {**flowforge, "app.kubernetes.io/component": "gateway"})
    assert 9100 in ports("ingress", {**flowforge, "app.kubernetes.io/component": "ingest"})
    assert {4222, 5432, 443, 53} <= ports("egress", flowforge)
    assert {4222, 6222, 8222} <= ports("ingress", {"app.kubernetes.io/name": "nats"})
    assert ports("ingress", {"app.kubernetes.io/name": "postgresql"}) == {5432}


# -- docker compose ------------------------------------------------------------------------

VARIABLE = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}|(\w+))")


class MissingVariable(Exception):
    pass


def interpolate(node, env: dict):
    """Compose's variable syntax: $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}, $$."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if not isinstance(node, str):
        return node

    def one(m: re.Match) -> str:
        if m[1]:
            return "$"
        name, op, arg = m[2] or m[5], m[3], m[4]
        value = env.get(name)
        unset = value is None or (value == "" and op and op.startswith(":"))
        if op and op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset:
            return interpolate(arg, env)
        return value or ""

    return VARIABLE.sub(one, node)


def compose_file(env: dict) -> dict:
    return interpolate(yaml.safe_load(COMPOSE.read_text()), env)


def test_compose_is_valid_against_the_compose_spec():
    schema_file = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(compose_file(COMPOSE_ENV), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("missing", sorted(COMPOSE_ENV.keys() - {"S3_ACCESS_KEY_ID"}))
def test_compose_has_no_default_password(missing):
    with pytest.raises(MissingVariable, match=missing):
        compose_file({k: v for k, v in COMPOSE_ENV.items() if k != missing})
    text = COMPOSE.read_text()
    assert not re.search(r"\$\{\w*(PASSWORD|SECRET)\w*:?-", text)


def test_compose_checks_the_health_of_every_service_as_kubernetes_does(rendered):
    services = compose_file(COMPOSE_ENV)["services"]
    for name, service in services.items():
        if service.get("restart") != "no":  # one-shot jobs have no health to check
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    deployments = {d["metadata"]["name"] for d in rendered if d["kind"] == "Deployment"}
    assert deployments == {f"flowforge-{s}" for s in SERVICES}
    assert set(SERVICES) <= services.keys()
    for worker in WORKERS:
        assert services[worker]["environment"]["FLOWFORGE_METRICS_PORT"] == "9100"
        assert "127.0.0.1:9100/readyz" in " ".join(services[worker]["healthcheck"]["test"])
    assert "127.0.0.1:8000/readyz" in " ".join(services["gateway"]["healthcheck"]["test"])


def compose_cli_works() -> bool:
    if not shutil.which("docker"):
        return False
    done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return done.returncode == 0


@pytest.mark.skipif(not compose_cli_works(), reason="the docker compose plugin is not installed")
def test_docker_compose_config_accepts_the_file():
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin", **COMPOSE_ENV}
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


# -- NATS users ----------------------------------------------------------------------------


def _authorization_block(text: str) -> str:
    """The `authorization { ... }` block of a configuration, dedented."""
    match = re.search(r"^( *)authorization \{\n.*?^\1\}\n", text, re.M | re.S)
    assert match, "no authorization block"
    return "".join(line.removeprefix(match[1]) + "\n" for line in match[0].splitlines())


def test_the_deployments_nats_users_are_the_ones_natsauth_renders(rendered):
    """deploy/nats/nats.conf and deploy/k8s/nats.yaml hold what the permission tables say
    (regenerate with `python -m flowforge.common.natsauth`)."""
    expected = render_authorization(deployment_users())
    assert _authorization_block((ROOT / "deploy/nats/nats.conf").read_text()) == expected
    k8s_conf = find(rendered, "ConfigMap", "nats-config")["data"]["nats.conf"]
    assert _authorization_block(k8s_conf) == expected
    assert set(re.findall(r"\$(NATS_\w+_PASSWORD)", expected)) == set(FAKE_NATS)


def test_compose_gives_each_service_its_own_nats_user():
    services = compose_file(COMPOSE_ENV)["services"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert env["NATS_USER"] == name
        assert env["NATS_PASSWORD"] == FAKE_NATS[f"NATS_{name.upper()}_PASSWORD"]
    assert services["nats"]["environment"] == FAKE_NATS
    minio = services["minio"]["environment"]
    assert minio["MINIO_NOTIFY_NATS_USERNAME_PRIMARY"] == "minio"
    assert minio["MINIO_NOTIFY_NATS_PASSWORD_PRIMARY"] == FAKE_NATS["NATS_MINIO_PASSWORD"]


def test_kubernetes_gives_each_pod_only_its_own_nats_password(rendered):
    example = (K8S / "secrets/nats.env.example").read_text()
    assert set(re.findall(r"^(\w+)=", example, re.M)) == set(FAKE_NATS)
    assert not [ln for ln in example.splitlines() if re.match(r"^\w+=\S", ln)]
    for name in SERVICES:
        (container,) = find(rendered, "Deployment", f"flowforge-{name}")["spec"]["template"][
            "spec"
        ]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["NATS_USER"]["value"] == name
        ref = env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "flowforge-nats", "key": f"NATS_{name.upper()}_PASSWORD"}
        sources = [e.get("secretRef", {}).get("name") for e in container.get("envFrom", [])]
        assert "flowforge-nats" not in sources  # never every password in every pod
    (server,) = find(rendered, "StatefulSet", "nats")["spec"]["template"]["spec"]["containers"]
    given = {e["name"] for e in server["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert given == set(FAKE_NATS)


@pytest.mark.parametrize("where", ["compose", "kubernetes"])
def test_nats_server_accepts_the_deployed_configuration(where, rendered, tmp_path):
    """`nats-server -t` (check the configuration and exit) with the passwords set, as the
    server's environment has them; the real server runs this block in tests/conftest.py's
    s3_platform."""
    import os
    import sys

    if where == "compose":
        conf = (ROOT / "deploy/nats/nats.conf").read_text()
    else:
        conf = find(rendered, "ConfigMap", "nats-config")["data"]["nats.conf"]
    path = tmp_path / "nats.conf"
    path.write_text(conf)
    binary = str(Path(sys.executable).parent / "nats-server")
    env = {**os.environ, **FAKE_NATS, "POD_NAME": "nats-0"}
    done = subprocess.run([binary, "-c", str(path), "-t"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = {k: v for k, v in env.items() if k != "NATS_GATEWAY_PASSWORD"}
    done = subprocess.run([binary, "-c", str(path), "-t"], capture_output=True, text=True,
                          env=missing)  # fmt: skip
    assert done.returncode != 0  # a missing password stops the server, not an open door
