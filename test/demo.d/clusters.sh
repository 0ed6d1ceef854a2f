# demo.d/clusters.sh: the two-cluster part of `make demo`, sourced by
# test/demo.sh (which provides step, show, quote, $bold, $dim, $off, $DEMO).
# One kgate gateway fronts both clusters of the local environment, test and
# prod (make env-up CLUSTERS=2), with examples/clusters-policy.yaml: alice is
# an admin of payments in test and a guest of it in prod. Plain kubectl then
# works against each through the contexts `kgate login --print-kubeconfig`
# writes.
if [[ -z "${KGATE_PROD_KUBECONFIG:-}" || ! -f "${KGATE_PROD_KUBECONFIG:-}" ]] || [[ -z "${KGATE_SLAPD_PASSWORD_ALICE:-}" ]]; then
  step "no second cluster (start both with: make env-up CLUSTERS=2): skipping the two-cluster tour"
  return 0
fi
GW="$DEMO/gateway"
mkdir -p "$GW"
kubectl_() { "$KGATE_TOOLS_BIN/kubectl" --request-timeout=20s "$@"; }
# The gateway's own credentials in each cluster: deploy/rbac.yaml's
# ServiceAccount (impersonate, namespaces, its locks ConfigMap), a token for
# it; and the policy's roles rendered as RBAC there, one cluster's view each.
demo_gw_setup() {
  local c kc
  for c in test prod; do
    kc="$KUBECONFIG"; [[ "$c" == prod ]] && kc="$KGATE_PROD_KUBECONFIG"
    kubectl_ --kubeconfig "$kc" apply -f "$ROOT/deploy/namespace.yaml" -f "$ROOT/deploy/rbac.yaml" >/dev/null || return 1
    local tok server ca
    tok="$(kubectl_ --kubeconfig "$kc" create token kgate-gateway -n kgate-system --duration 2h)" || return 1
    server="$(kubectl_ --kubeconfig "$kc" config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
    ca="$(dirname "$kc")/pki/ca.crt"
    cat >"$GW/$c.kubeconfig" <<EOK
apiVersion: v1
kind: Config
clusters: [{name: $c, cluster: {server: "$server", certificate-authority: "$ca"}}]
users: [{name: kgate-gateway, user: {token: "$tok"}}]
contexts: [{name: $c, context: {cluster: $c, user: kgate-gateway}}]
current-context: $c
EOK
    chmod 600 "$GW/$c.kubeconfig"
  done
  # The RBAC of each cluster's view of the policy (alice: admin in test,
  # guest in prod), written as the version-1 policy that view is.
  local payments
  for c in test prod; do
    kc="$KUBECONFIG"
    payments="admins: {users: [alice], groups: [payments-leads]}
    guests: {groups: [team-payments, qa]}"
    if [[ "$c" == prod ]]; then
      kc="$KGATE_PROD_KUBECONFIG"
      payments="guests: {users: [alice], groups: [payments-leads, team-payments, qa]}"
    fi
    cat >"$GW/rbac-$c.yaml" <<EOP
version: 1
superAdmins: {groups: [ops]}
projects:
  payments:
    namespaces: [payments, payments-staging]
    $payments
  search:
    namespaces: ["search-*"]
    admins: {groups: [team-search]}
    guests: {groups: [qa]}
  sandbox:
    namespaces: [sandbox]
    admins: {users: [erin]}
EOP
    KUBECONFIG="$kc" kgate policy rbac "$GW/rbac-$c.yaml" --apply >/dev/null 2>&1 || return 1
  done
  if [[ ! -f "$GW/tls/tls.crt" ]]; then
    "$KGATE_TOOLS_BIN/certs" ca --out "$GW/ca" --cn kgate-demo-gateway-ca >/dev/null &&
      "$KGATE_TOOLS_BIN/certs" leaf --ca "$GW/ca" --cn kgate-gateway --ip 127.0.0.1 --dns localhost --out "$GW/tls" >/dev/null || return 1
  fi
  [[ -f "$GW/signing.pem" ]] || openssl genpkey -algorithm ed25519 -out "$GW/signing.pem" 2>/dev/null || return 1
  return 0
}
if ! demo_gw_setup; then
  step "setting up the demo gateway failed: skipping the two-cluster tour"
  return 0
fi
GW_PORT="${KGATE_DEMO_GATEWAY_PORT:-18443}"
GW_URL="https://127.0.0.1:$GW_PORT"

step "one gateway in front of both clusters, each with its own credentials: test and prod at $GW_URL/clusters/NAME"
printf '%s$ %s%s\n' "$bold" "kgate serve --listen 127.0.0.1:$GW_PORT --cluster test=test.kubeconfig --cluster prod=prod.kubeconfig --policy examples/clusters-policy.yaml ... &" "$off"
KGATE_CONFIG_DIR="$GW/config" kgate serve --listen "127.0.0.1:$GW_PORT" \
  --tls-cert-file "$GW/tls/tls.crt" --tls-private-key-file "$GW/tls/tls.key" --signing-key-file "$GW/signing.pem" \
  --policy "$ROOT/examples/clusters-policy.yaml" --locks kgate-system/kgate-locks \
  --cluster "test=$GW/test.kubeconfig" --cluster "prod=$GW/prod.kubeconfig" >"$GW/audit.log" 2>"$GW/gateway.log" &
gw_pid=$!
trap 'kill "$gw_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf --cacert "$GW/tls/ca.crt" "$GW_URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$gw_pid" 2>/dev/null || break
  sleep 0.1
done
if ! curl -sf --cacert "$GW/tls/ca.crt" "$GW_URL/readyz" >/dev/null 2>&1; then
  step "the demo gateway did not start (port $GW_PORT; set KGATE_DEMO_GATEWAY_PORT): $(tail -n 3 "$GW/gateway.log")"
  return 0
fi

step "the policy names both clusters; alice is an admin of payments in test and a guest of it in prod"
show sed -n '/^version/,/^  search:/p' "$ROOT/examples/clusters-policy.yaml"

step "log in once through the gateway; --print-kubeconfig writes a context per cluster for plain kubectl, k9s and stern"
printf '%s$ %s <<< %s%s\n' "$bold" "kgate login --server $GW_URL --certificate-authority $GW/tls/ca.crt -u alice --password-stdin --print-kubeconfig > $GW/kubeconfig" "$(quote "$KGATE_SLAPD_PASSWORD_ALICE")" "$off"
KGATE_CONFIG_DIR="$GW/alice" kgate login --server "$GW_URL" --certificate-authority "$GW/tls/ca.crt" -u alice --password-stdin \
  --print-kubeconfig <<<"$KGATE_SLAPD_PASSWORD_ALICE" >"$GW/kubeconfig"
export KGATE_DEMO_KUBECONFIG="$GW/kubeconfig"
kk() { KGATE_CONFIG_DIR="$GW/alice" "$KGATE_TOOLS_BIN/kubectl" --kubeconfig "$GW/kubeconfig" "$@"; }
show kk config get-contexts

step "the same pods' names differ: two clusters"
show kk --context test get pods -n payments -l app=web
show kk --context prod get pods -n payments -l app=web

step "exec: alice is an admin in test"
show kk --context test exec -n payments deploy/web -- sh -c 'echo "hello from $HOSTNAME in test"'

step "and a guest in prod: the gateway refuses, names the cluster, and nothing reaches prod"
show kk --context prod exec -n payments deploy/web -- sh -c 'echo "hello from $HOSTNAME in prod"'

step "every decision is one audit line on the gateway's stdout, naming the cluster"
show tail -n 2 "$GW/audit.log"
kill "$gw_pid" 2>/dev/null || true
wait "$gw_pid" 2>/dev/null || true
trap - EXIT
