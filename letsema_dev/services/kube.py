"""A real Kubernetes control plane for the operator's envtest tier: etcd and kube-apiserver built from
their Go modules (plus kubectl), started on loopback ports, no kubelet, no controllers.

Neither project can be built with ``go install module/cmd@version``: their go.mod files replace sibling
modules with local folders (etcd's ``../api``, Kubernetes' ``./staging/src/k8s.io/*``) that the published
module zips do not contain. The build copies each module from Go's module cache, points those replaces at
the published versions of the same modules, and builds there (``letsema_dev.gobuild``). The first build
takes a while (Kubernetes is large); the binaries are cached in ``.tools/bin``.

What a real API server checks that the emulator does not: structural CRD schemas with defaults and
CEL rules, the status subresource, resourceVersion/generation, finalizers and deletion timestamps,
printer columns, ``kubectl explain``.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from letsema_dev.gobuild import build_go_command
from letsema_dev.paths import tools_dir
from letsema_dev.procs import LOOPBACK, free_port, pid_alive, read_pid, start_detached, stop_pid, wait_until

ETCD_MODULE, ETCD_VERSION = "go.etcd.io/etcd/server/v3", "v3.6.16"
KUBERNETES_MODULE, KUBERNETES_VERSION = "k8s.io/kubernetes", "v1.34.4"
#: the staging modules are published as k8s.io/<name> v0.<minor>.<patch> alongside each release
STAGING_VERSION = "v0." + KUBERNETES_VERSION.split(".", 1)[1]
#: built with the Go on the machine even where a go.mod asks for a newer patch toolchain
BUILD_ENV = {"GOTOOLCHAIN": "local", "GOWORK": "off"}


def _etcd_prepare(src: Path) -> None:
    text = (src / "go.mod").read_text()
    for module, folder in (("go.etcd.io/etcd/api/v3", "../api"), ("go.etcd.io/etcd/client/pkg/v3", "../client/pkg"),
                           ("go.etcd.io/etcd/client/v3", "../client/v3"), ("go.etcd.io/etcd/pkg/v3", "../pkg")):
        text = text.replace(f"{module} => {folder}", f"{module} => {module} {ETCD_VERSION}")
    (src / "go.mod").write_text(text)


def _kubernetes_prepare(src: Path) -> None:
    text = (src / "go.mod").read_text()
    text = re.sub(r"(k8s\.io/[\w.-]+) => \./staging/src/k8s\.io/[\w.-]+",
                  lambda m: f"{m.group(1)} => {m.group(1)} {STAGING_VERSION}", text)
    # An example plugin the proxy does not serve; nothing we build imports it.
    text = "\n".join(line for line in text.splitlines() if "k8s.io/sample-cli-plugin" not in line) + "\n"
    (src / "go.mod").write_text(text)
    for name in ("go.work", "go.work.sum"):
        (src / name).unlink(missing_ok=True)
    vendor = src / "vendor"
    if vendor.exists():
        import shutil

        shutil.rmtree(vendor)


def build_etcd(*, quiet: bool = False) -> Path:
    return build_go_command(module=ETCD_MODULE, version=ETCD_VERSION, package=".", binary_name="etcd",
                            prepare=_etcd_prepare, quiet=quiet, extra_env=BUILD_ENV)


def build_kube_apiserver(*, quiet: bool = False) -> Path:
    return build_go_command(module=KUBERNETES_MODULE, version=KUBERNETES_VERSION, package="cmd/kube-apiserver",
                            binary_name="kube-apiserver", prepare=_kubernetes_prepare, quiet=quiet,
                            extra_env=BUILD_ENV)


def build_kubectl(*, quiet: bool = False) -> Path:
    return build_go_command(module=KUBERNETES_MODULE, version=KUBERNETES_VERSION, package="cmd/kubectl",
                            binary_name="kubectl", prepare=_kubernetes_prepare, quiet=quiet, extra_env=BUILD_ENV)


def build_envtest_tools(*, quiet: bool = False) -> dict[str, Path]:
    """etcd, kube-apiserver and kubectl in ``.tools/bin`` (each built once)."""
    return {"etcd": build_etcd(quiet=quiet), "kube-apiserver": build_kube_apiserver(quiet=quiet),
            "kubectl": build_kubectl(quiet=quiet)}


def envtest_binaries() -> dict[str, Path]:
    """Where the envtest tier looks for its binaries (``LETSEMA_TOOLS_DIR`` moves the folder)."""
    return {name: tools_dir() / "bin" / name for name in ("etcd", "kube-apiserver", "kubectl")}


def envtest_missing() -> list[str]:
    return [name for name, path in envtest_binaries().items() if not path.exists()]


@dataclass
class ControlPlane:
    """etcd + kube-apiserver under ``base_dir``; an admin token in ``kubeconfig`` (system:masters)."""

    base_dir: Path
    api_port: int = field(default_factory=free_port)
    etcd_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.api_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.base_dir / "kubeconfig"

    def _pid(self, name: str) -> Path:
        return self.base_dir / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.base_dir / f"{name}.log"

    def start(self, *, timeout: float = 90) -> None:
        binaries = envtest_binaries()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        etcd_url = f"http://{LOOPBACK}:{self.etcd_port}"
        start_detached([str(binaries["etcd"]), "--data-dir", str(self.base_dir / "etcd"),
                        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                        "--listen-peer-urls", f"http://{LOOPBACK}:{self.etcd_peer_port}",
                        "--initial-advertise-peer-urls", f"http://{LOOPBACK}:{self.etcd_peer_port}",
                        "--initial-cluster", f"default=http://{LOOPBACK}:{self.etcd_peer_port}",
                        "--unsafe-no-fsync", "--log-level", "warn"],
                       log_file=self.log("etcd"), pid_file=self._pid("etcd"))
        tokens = self.base_dir / "tokens.csv"
        tokens.write_text(f'{self.token},letsema-admin,letsema-admin,"system:masters"\n')
        tokens.chmod(0o600)
        key = self.base_dir / "service-account.key"
        _write_rsa_key(key)
        start_detached([str(binaries["kube-apiserver"]), f"--etcd-servers={etcd_url}",
                        f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}",
                        f"--secure-port={self.api_port}", f"--cert-dir={self.base_dir / 'certs'}",
                        f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
                        f"--service-account-key-file={key}", f"--service-account-signing-key-file={key}",
                        f"--service-account-issuer={self.url}", "--service-cluster-ip-range=10.0.0.0/24",
                        "--allow-privileged=true", "--disable-admission-plugins=ServiceAccount",
                        "--v=0"],
                       log_file=self.log("kube-apiserver"), pid_file=self._pid("kube-apiserver"))
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: envtest\n"
            f"clusters:\n- name: envtest\n  cluster:\n    server: {self.url}\n    insecure-skip-tls-verify: true\n"
            f"users:\n- name: admin\n  user:\n    token: {self.token}\n"
            "contexts:\n- name: envtest\n  context:\n    cluster: envtest\n    user: admin\n")
        self.kubeconfig.chmod(0o600)
        wait_until(self.is_ready, timeout=timeout,
                   what=f"kube-apiserver on port {self.api_port} (log: {self.log('kube-apiserver')})", interval=0.5)

    def kubectl(self, *args: str, input_text: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(envtest_binaries()["kubectl"]), f"--kubeconfig={self.kubeconfig}", *args],
                                input=input_text, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def is_ready(self) -> bool:
        for name in ("etcd", "kube-apiserver"):
            pid = read_pid(self._pid(name))
            if pid is None or not pid_alive(pid):
                raise RuntimeError(f"{name} exited; see {self.log(name)}")
        result = self.kubectl("get", "--raw", "/readyz", check=False)
        return result.returncode == 0 and result.stdout.strip() == "ok"

    def stop(self) -> None:
        for name in ("kube-apiserver", "etcd"):
            pid = read_pid(self._pid(name))
            if pid is not None:
                stop_pid(pid, timeout=20)
            self._pid(name).unlink(missing_ok=True)


def _write_rsa_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
