"""`make deploy-check`: validates deploy/ offline, without a cluster or a Docker daemon.

- Kubernetes: every manifest against the Kubernetes schemas (kubernetes-validate, strict), and the
  house rules a schema cannot see (non-root, no capabilities, read-only root, limits, probes,
  secrets only from Secret objects, a PodDisruptionBudget per Deployment, examples not applied).
- Compose: the file against the Compose specification (check-jsonschema), and every secret named
  in .env.example is required with `${VAR:?}` and has no value there.
- Dockerfiles: hadolint. HAProxy: `haproxy -c`. systemd units: `systemd-analyze verify` in a
  scratch root with stand-ins for the programs the units start (any message fails).

Run with the tools venv's Python (.venv/tools, deploy/tools/requirements.lock); exit code 1 on
any finding, each printed as one line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
TOOLS = Path(sys.executable).parent
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose"
WORKLOADS = {"Deployment", "StatefulSet", "Job"}
SYSTEMD_UNITS = {  # unit file -> the instance verified (templates need one)
    "kumpel-knowledge.service": "kumpel-knowledge.service",
    "kumpel-actions@.service": "kumpel-actions@5055.service",
    "kumpel-rasa@.service": "kumpel-rasa@5005.service",
}


def run(command: list[str | Path]) -> tuple[int, str]:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=300)
    return done.returncode, (done.stdout + done.stderr).strip()


def documents(path: Path) -> Iterator[dict[str, Any]]:
    for document in yaml.safe_load_all(path.read_text("utf-8")):
        if document:
            yield document


def k8s_files() -> list[Path]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))
    applied = [K8S / name for name in kustomization["resources"]]
    return applied + sorted((K8S / "jobs").glob("*.yaml")) + sorted(K8S.glob("*.example.yaml"))


def pod_findings(where: str, pod: dict[str, Any]) -> Iterator[str]:
    security = pod.get("securityContext", {})
    if security.get("runAsNonRoot") is not True:
        yield f"{where}: pod securityContext.runAsNonRoot is not true"
    if pod.get("automountServiceAccountToken") is not False:
        yield f"{where}: automountServiceAccountToken is not false (no pod talks to the API server)"
    for container in pod.get("containers", []):
        name = f"{where}/{container['name']}"
        context = container.get("securityContext", {})
        if context.get("allowPrivilegeEscalation") is not False:
            yield f"{name}: allowPrivilegeEscalation is not false"
        if context.get("readOnlyRootFilesystem") is not True:
            yield f"{name}: readOnlyRootFilesystem is not true"
        if context.get("capabilities", {}).get("drop") != ["ALL"]:
            yield f"{name}: capabilities are not dropped (drop: [ALL])"
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(resources.get(kind, {})):
                yield f"{name}: resources.{kind} lacks cpu or memory"
        for variable in container.get("env", []):
            if re.search(r"SECRET|TOKEN|PASSWORD|DATABASE_URL", variable["name"]) and "valueFrom" not in variable:
                yield f"{name}: {variable['name']} is not read from a Secret"


def k8s_findings() -> Iterator[str]:
    files = k8s_files()
    code, output = run([TOOLS / "kubernetes-validate", "--strict", "--quiet", *files])
    if code != 0:
        yield from (f"kubernetes-validate: {line}" for line in output.splitlines())
    applied = set(files) - set(K8S.glob("*.example.yaml")) - set((K8S / "jobs").glob("*.yaml"))
    deployments: set[str] = set()
    budgets: set[str] = set()
    for path in files:
        for document in documents(path):
            kind, name = document["kind"], document["metadata"].get("name", "?")
            where = f"{path.relative_to(ROOT)}: {kind}/{name}"
            if kind == "Secret" and path in applied:
                yield f"{where}: a Secret is applied by kustomization.yaml (secrets stay out of the repo)"
            if kind == "Secret" and any(document.get("stringData", {}).values()):
                yield f"{where}: the example Secret holds values"
            if kind == "PodDisruptionBudget":
                budgets.add(document["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"])
            if kind not in WORKLOADS:
                continue
            pod = document["spec"]["template"]["spec"]
            yield from pod_findings(where, pod)
            if kind == "Deployment":
                deployments.add(document["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"])
            if kind != "Job":
                for container in pod["containers"]:
                    for probe in ("livenessProbe", "readinessProbe"):
                        if probe not in container:
                            yield f"{where}/{container['name']}: no {probe}"
    for name in sorted(deployments - budgets):
        yield f"k8s: Deployment {name} has no PodDisruptionBudget"


def compose_findings() -> Iterator[str]:
    compose = COMPOSE / "docker-compose.yml"
    code, output = run([TOOLS / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", compose])
    if code != 0:
        yield f"check-jsonschema: {output}"
    text = compose.read_text("utf-8")
    example = {}
    for line in (COMPOSE / ".env.example").read_text("utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            example[key.strip()] = value.strip()
    for key, value in example.items():
        if value:
            yield f"compose/.env.example: {key} has a value; the example stays empty"
        uses = re.findall(r"\$\{" + re.escape(key) + r"(:\?|:-|-|\?|\})", text)
        if not uses:
            yield f"compose: {key} from .env.example is never used"
        if any(use != ":?" for use in uses):
            yield f"compose: {key} is used without ${{{key}:?...}}, so compose would start without it"
    if (COMPOSE / ".env").exists() and _tracked(COMPOSE / ".env"):
        yield "compose/.env is tracked by git: it holds the secrets"


def _tracked(path: Path) -> bool:
    code, _ = run(["git", "-C", ROOT, "ls-files", "--error-unmatch", path])
    return code == 0


def dockerfile_findings() -> Iterator[str]:
    dockerfiles = sorted((DEPLOY / "docker").glob("*.Dockerfile"))
    code, output = run([TOOLS / "hadolint", "--config", DEPLOY / "docker" / ".hadolint.yaml", *dockerfiles])
    if code != 0:
        yield from (f"hadolint: {line}" for line in output.splitlines())
    for dockerfile in dockerfiles:
        text = dockerfile.read_text("utf-8")
        for needed in ("USER 10001", "HEALTHCHECK"):
            if needed not in text:
                yield f"{dockerfile.relative_to(ROOT)}: no {needed}"


def haproxy_findings() -> Iterator[str]:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        yield "haproxy is not installed (apt-get install haproxy): deploy/compose/haproxy.cfg not checked"
        return
    code, output = run([haproxy, "-c", "-f", COMPOSE / "haproxy.cfg"])
    if code != 0:
        yield f"haproxy -c: {output}"


def systemd_findings() -> Iterator[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        yield "systemd-analyze is not installed: deploy/systemd not checked"
        return
    with tempfile.TemporaryDirectory(prefix="kumpel-systemd-") as scratch:
        root = Path(scratch)
        shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
        units = root / "etc/systemd/system"
        units.mkdir(parents=True)
        for unit in SYSTEMD_UNITS:
            text = (DEPLOY / "systemd" / unit).read_text("utf-8")
            (units / unit).write_text(text, "utf-8")
            # verify checks that ExecStart's program exists: stand-ins at the same path in the scratch root
            for program in re.findall(r"^ExecStart=(\S+)", text, flags=re.MULTILINE):
                stand_in = root / program.lstrip("/")
                stand_in.parent.mkdir(parents=True, exist_ok=True)
                stand_in.write_text("#!/bin/sh\n", "utf-8")
                stand_in.chmod(0o755)
        code, output = run([analyze, "verify", "--man=no", f"--root={root}", *SYSTEMD_UNITS.values()])
        # A bad value is only a warning to systemd (the line is ignored): any message is a finding.
        if code != 0 or output:
            yield from (f"systemd-analyze verify: {line}" for line in output.splitlines() or ["failed"])


def main() -> int:
    checks = {
        "kubernetes manifests": k8s_findings,
        "compose file": compose_findings,
        "Dockerfiles": dockerfile_findings,
        "HAProxy config (compose)": haproxy_findings,
        "systemd units": systemd_findings,
    }
    failed = False
    for title, check in checks.items():
        findings = list(check())
        print(f"{'FAIL' if findings else 'ok  '} {title}")
        for finding in findings:
            print(f"     {finding}")
        failed = failed or bool(findings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
