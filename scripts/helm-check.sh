#!/usr/bin/env bash
# helm lint + helm template over charts/rocketmq-operator with default, CI and example values;
# every rendered stream is parsed and checked. Exits non-zero on any failure.
#
# Needs python3 with PyYAML. helm/kubectl are installed by scripts/install-helm.sh if missing.
# The RocketMQCluster the chart renders is also fed to `rocketmq-operator render` (typed parsing):
# OPERATOR_BIN names the binary; when unset it is built with cargo (set OPERATOR_BIN=skip to skip).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CHART="$REPO/charts/rocketmq-operator"
if command -v helm >/dev/null 2>&1; then
  HELM="$(command -v helm)"
else
  HELM="$("$REPO/scripts/install-helm.sh")/helm"
fi
python3 -c 'import yaml' 2>/dev/null || { echo "helm-check: python3 PyYAML is required (apt-get install python3-yaml)" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "helm-check: FAIL: $*" >&2; exit 1; }

# values files: default, chart CI values, and one per example CR (cluster.spec = example spec)
python3 - "$REPO/deploy/examples" "$WORK" <<'PY'
import glob, os, sys, yaml
src, out = sys.argv[1], sys.argv[2]
for path in sorted(glob.glob(os.path.join(src, "*.yaml"))):
    cr = yaml.safe_load(open(path))
    values = {"watchNamespace": cr["metadata"]["namespace"],
              "cluster": {"enabled": True, "name": cr["metadata"]["name"],
                          "namespace": cr["metadata"]["namespace"], "spec": cr.get("spec") or {}}}
    name = os.path.splitext(os.path.basename(path))[0]
    yaml.safe_dump(values, open(os.path.join(out, f"example-{name}.yaml"), "w"))
PY
if [ -z "${OPERATOR_BIN:-}" ]; then
  if command -v cargo >/dev/null 2>&1; then
    (cd "$REPO" && cargo build -p rocketmq-operator --quiet) || fail "cargo build -p rocketmq-operator"
    TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    OPERATOR_BIN="$TARGET_DIR/debug/rocketmq-operator"
  else
    OPERATOR_BIN=skip
  fi
fi
if [ "$OPERATOR_BIN" = skip ]; then OPERATOR_BIN=""; fi

CASES=("default:")
for f in "$CHART"/ci/*.yaml "$WORK"/example-*.yaml; do CASES+=("$(basename "$f" .yaml):$f"); done

for c in "${CASES[@]}"; do
  name="${c%%:*}"; file="${c#*:}"
  args=(); [ -n "$file" ] && args=(-f "$file")
  echo "== $name"
  "$HELM" lint --strict "$CHART" "${args[@]}" >"$WORK/lint.log" 2>&1 || { cat "$WORK/lint.log"; fail "helm lint ($name)"; }
  "$HELM" template rmq-op "$CHART" --namespace rocketmq-operator --include-crds "${args[@]}" >"$WORK/$name.out" 2>"$WORK/tpl.err" \
    || { cat "$WORK/tpl.err"; fail "helm template ($name)"; }
  python3 - "$WORK/$name.out" "$file" "$REPO/crds/rocketmq.rs_rocketmqclusters.yaml" "$WORK/$name.clusters.yaml" <<'PY' || fail "checks ($name)"
import sys, yaml
out, values_file, crd_file, clusters_out = sys.argv[1:5]
values = yaml.safe_load(open(values_file)) if values_file else {}
docs = [d for d in yaml.safe_load_all(open(out)) if d]
errors = []
def need(cond, msg):
    if not cond: errors.append(msg)
for d in docs:
    need(all(k in d for k in ("apiVersion", "kind", "metadata")), f"incomplete object {d.get('kind')}")
    need(bool(d.get("metadata", {}).get("name")), f"unnamed {d.get('kind')}")
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
for k in ("CustomResourceDefinition", "ServiceAccount", "ClusterRole", "Deployment"):
    need(k in by_kind, f"missing {k}")
crd = by_kind.get("CustomResourceDefinition", [{}])[0]
need(crd == yaml.safe_load(open(crd_file)), "chart CRD differs from crds/")
dep = by_kind.get("Deployment", [{}])[0]
c = dep["spec"]["template"]["spec"]["containers"][0]
need(c["args"][0] == "run", "operator must run `run`")
need(dep["spec"]["replicas"] == values.get("replicaCount", 1), "replicas")
need(c["securityContext"].get("readOnlyRootFilesystem") is True, "read-only root fs")
need(any(p.get("containerPort") for p in c["ports"]), "metrics port")
ns = values.get("watchNamespace", "")
if ns:
    need(f"--namespace={ns}" in c["args"], "watch namespace flag")
    rb = [d for d in by_kind.get("RoleBinding", []) if d["roleRef"]["kind"] == "ClusterRole"]
    need(len(rb) == 1 and rb[0]["metadata"]["namespace"] == ns, "namespaced RoleBinding")
    need("ClusterRoleBinding" not in by_kind, "no ClusterRoleBinding when namespaced")
else:
    need("ClusterRoleBinding" in by_kind, "ClusterRoleBinding for all-namespace install")
le = values.get("leaderElection", {}).get("enabled", True)
need(("--no-leader-election" in c["args"]) == (not le), "leader election flag")
need(any(r["rules"][0]["resources"] == ["leases"] for r in by_kind.get("Role", [])) == le, "lease Role")
rules = by_kind["ClusterRole"][0]["rules"]
need(not any("*" in r["verbs"] or "*" in r["resources"] for r in rules), "no wildcard RBAC")
plain = [d for d in yaml.safe_load_all(open(crd_file.replace("crds/rocketmq.rs_rocketmqclusters.yaml", "deploy/rbac.yaml"))) if d]
need(rules == [d for d in plain if d["kind"] == "ClusterRole"][0]["rules"], "chart ClusterRole rules differ from deploy/rbac.yaml")
clusters = by_kind.get("RocketMQCluster", [])
want = values.get("cluster", {}).get("enabled", False)
need(len(clusters) == (1 if want else 0), "RocketMQCluster presence")
if clusters:
    cr = clusters[0]
    need(cr["apiVersion"] == "rocketmq.rs/v1alpha1", "cluster apiVersion")
    need(cr["spec"] == (values["cluster"].get("spec") or {}), "cluster spec passed through")
    yaml.safe_dump(cr, open(clusters_out, "w"))
if errors:
    print("\n".join(errors), file=sys.stderr); sys.exit(1)
print(f"   {len(docs)} objects: " + ", ".join(f"{k}={len(v)}" for k, v in sorted(by_kind.items())))
PY
  if [ -s "$WORK/$name.clusters.yaml" ]; then
    if [ -n "${OPERATOR_BIN:-}" ]; then
      "$OPERATOR_BIN" render -f "$WORK/$name.clusters.yaml" >"$WORK/$name.render" || fail "operator render ($name)"
      python3 -c "import sys,yaml; n=len([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]); assert n>=9, n; print(f'   render: {n} objects')" "$WORK/$name.render" \
        || fail "render output ($name)"
    else
      echo "   (OPERATOR_BIN=skip: rocketmq-operator render of the chart's RocketMQCluster skipped)"
    fi
  fi
done

# plain manifests: kustomize builds them, and they carry what the operator needs
echo "== deploy/ (kubectl kustomize)"
KUBECTL="$(dirname "$HELM")/kubectl"
command -v "$KUBECTL" >/dev/null 2>&1 || KUBECTL="$(command -v kubectl || true)"
if [ -n "$KUBECTL" ]; then
  "$KUBECTL" kustomize "$REPO/deploy" >"$WORK/deploy.out" || fail "kubectl kustomize deploy"
  python3 - "$WORK/deploy.out" "$REPO/crds/rocketmq.rs_rocketmqclusters.yaml" <<'PY' || fail "deploy/ checks"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = sorted(d["kind"] for d in docs)
want = sorted(["Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole",
               "RoleBinding", "ClusterRoleBinding", "Deployment"])
assert kinds == want, kinds
crd = [d for d in docs if d["kind"] == "CustomResourceDefinition"][0]
assert crd == yaml.safe_load(open(sys.argv[2])), "deploy CRD differs from crds/"
dep = [d for d in docs if d["kind"] == "Deployment"][0]
c = dep["spec"]["template"]["spec"]["containers"][0]
assert c["args"] == ["run"], c["args"]
assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "rocketmq-operator"
print(f"   {len(docs)} objects: " + ", ".join(kinds))
PY
else
  echo "   (kubectl not found: skipped)"
fi

# values.schema.json must reject bad values
echo "== bad values are rejected"
for bad in "replicaCount=0" "image.pullPolicy=Sometimes" "cluster.enabled=maybe" "unknownKey=1"; do
  if "$HELM" lint "$CHART" --set "$bad" >/dev/null 2>&1; then fail "values schema accepted --set $bad"; fi
  echo "   rejected --set $bad"
done
echo "helm-check: OK"
