// Command certs writes the local test environment's PKI: one CA for the
// cluster and everything that talks to it, plus a front-proxy CA and the
// service-account key pair. Keys are ECDSA P-256; certificates are valid for a
// year. Existing files are kept, so running it again is cheap and safe.
//
// Usage:
//
//	certs cluster --dir DIR --server URL [--context kgate-local]
//	    The whole set for .localenv (see clusterLeaves below) and kubeconfigs
//	    with embedded credentials: DIR/admin.kubeconfig (system:masters),
//	    kube-controller-manager, kube-scheduler, kwok and nodeagent kubeconfigs.
//	    Kubeconfigs are rewritten every time (the server URL may have changed).
//
//	certs leaf --ca DIR --cn NAME [--ip 127.0.0.1]... [--dns localhost]...
//	           [--org GROUP]... [--usage server|client|both] [--name tls] --out DIR
//	    One certificate from DIR/ca.crt + DIR/ca.key (the cluster CA unless told
//	    otherwise) written to OUT/NAME.crt and OUT/NAME.key, and the CA
//	    certificate copied to OUT/ca.crt. Default usage: server if --ip or --dns
//	    is given, else client. Example, a serving cert for slapd:
//
//	        certs leaf --ca .localenv/pki --cn slapd --ip 127.0.0.1 --dns localhost --out .localenv/ldap
//
//	    An existing OUT/NAME.crt signed by that CA with the same names is kept;
//	    pass --force to replace it.
//
//	certs ca --out DIR [--cn NAME]
//	    A new self-signed CA (DIR/ca.crt, DIR/ca.key), kept if it exists.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const validity = 365 * 24 * time.Hour

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "certs:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: certs cluster|leaf|ca [flags] (see the top of test/tools/cmd/certs/main.go)")
	}
	switch args[0] {
	case "cluster":
		return runCluster(args[1:])
	case "leaf":
		return runLeaf(args[1:])
	case "ca":
		return runCA(args[1:])
	default:
		return fmt.Errorf("unknown mode %q: want cluster, leaf or ca", args[0])
	}
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// leafSpec describes one certificate.
type leafSpec struct {
	name   string // file stem
	cn     string
	orgs   []string
	ips    []string
	dns    []string
	server bool
	client bool
}

// clusterLeaves is the set the local environment needs, all from ca.
var clusterLeaves = []leafSpec{
	{name: "apiserver", cn: "kube-apiserver", ips: []string{"127.0.0.1", "10.96.0.1"},
		dns: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, server: true},
	{name: "admin", cn: "kgate-admin", orgs: []string{"system:masters"}, client: true},
	{name: "kube-controller-manager", cn: "system:kube-controller-manager", client: true},
	{name: "kube-scheduler", cn: "system:kube-scheduler", client: true},
	// kube-apiserver -> node agent (kubelet API). system:masters, as kubeadm's.
	{name: "apiserver-kubelet-client", cn: "kube-apiserver-kubelet-client", orgs: []string{"system:masters"}, client: true},
	// Serving cert of the node agent and of kwok's own server.
	{name: "node", cn: "kgate-node", ips: []string{"127.0.0.1"}, dns: []string{"localhost"}, server: true},
	// API clients of kwok and the node agent: own names so the audit log tells them apart.
	{name: "kwok", cn: "system:kwok", orgs: []string{"system:masters"}, client: true},
	{name: "nodeagent", cn: "system:kgate-nodeagent", orgs: []string{"system:masters"}, client: true},
	{name: "kube-controller-manager-server", cn: "kube-controller-manager", ips: []string{"127.0.0.1"}, dns: []string{"localhost"}, server: true},
	{name: "kube-scheduler-server", cn: "kube-scheduler", ips: []string{"127.0.0.1"}, dns: []string{"localhost"}, server: true},
}

// clusterKubeconfigs maps a kubeconfig file stem to the client cert it embeds.
var clusterKubeconfigs = map[string]string{
	"admin":                   "admin",
	"kube-controller-manager": "kube-controller-manager",
	"kube-scheduler":          "kube-scheduler",
	"kwok":                    "kwok",
	"nodeagent":               "nodeagent",
}

func runCluster(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	dir := fs.String("dir", "", "output directory")
	server := fs.String("server", "", "API server URL for the kubeconfigs")
	context := fs.String("context", "kgate-local", "kubeconfig context name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *server == "" {
		return errors.New("cluster: --dir and --server are required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	ca, err := ensureCA(*dir, "ca", "kgate-local-ca")
	if err != nil {
		return err
	}
	for _, l := range clusterLeaves {
		if err := ensureLeaf(ca, *dir, l, false); err != nil {
			return err
		}
	}
	fp, err := ensureCA(*dir, "front-proxy-ca", "kgate-local-front-proxy-ca")
	if err != nil {
		return err
	}
	if err := ensureLeaf(fp, *dir, leafSpec{name: "front-proxy-client", cn: "front-proxy-client", client: true}, false); err != nil {
		return err
	}
	if err := ensureSAKeys(*dir); err != nil {
		return err
	}
	for kc, cert := range clusterKubeconfigs {
		if err := writeKubeconfig(filepath.Join(*dir, kc+".kubeconfig"), *server, *context, ca.certPEM,
			filepath.Join(*dir, cert+".crt"), filepath.Join(*dir, cert+".key")); err != nil {
			return err
		}
	}
	return nil
}

func runLeaf(args []string) error {
	fs := flag.NewFlagSet("leaf", flag.ContinueOnError)
	caDir := fs.String("ca", "", "directory holding ca.crt and ca.key")
	caName := fs.String("ca-name", "ca", "file stem of the CA in --ca")
	out := fs.String("out", "", "output directory")
	name := fs.String("name", "tls", "file stem of the output")
	cn := fs.String("cn", "", "common name")
	usage := fs.String("usage", "", "server, client or both (default: server if --ip/--dns given, else client)")
	force := fs.Bool("force", false, "replace an existing certificate")
	var ips, dns, orgs listFlag
	fs.Var(&ips, "ip", "IP SAN (repeatable)")
	fs.Var(&dns, "dns", "DNS SAN (repeatable)")
	fs.Var(&orgs, "org", "organization, e.g. a Kubernetes group (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *caDir == "" || *out == "" || *cn == "" {
		return errors.New("leaf: --ca, --cn and --out are required")
	}
	ca, err := loadCA(*caDir, *caName)
	if err != nil {
		return err
	}
	spec := leafSpec{name: *name, cn: *cn, orgs: orgs, ips: ips, dns: dns}
	switch *usage {
	case "":
		spec.server = len(ips)+len(dns) > 0
		spec.client = !spec.server
	case "server":
		spec.server = true
	case "client":
		spec.client = true
	case "both":
		spec.server, spec.client = true, true
	default:
		return fmt.Errorf("leaf: --usage %q: want server, client or both", *usage)
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	if err := ensureLeaf(ca, *out, spec, *force); err != nil {
		return err
	}
	return writeFile(filepath.Join(*out, "ca.crt"), ca.certPEM, 0o644)
}

func runCA(args []string) error {
	fs := flag.NewFlagSet("ca", flag.ContinueOnError)
	out := fs.String("out", "", "output directory")
	cn := fs.String("cn", "kgate-local-ca", "common name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("ca: --out is required")
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	_, err := ensureCA(*out, "ca", *cn)
	return err
}

type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func loadCA(dir, stem string) (*authority, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, stem+".crt"))
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, stem+".key"))
	if err != nil {
		return nil, err
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stem+".crt"), err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("%s: no PEM block", filepath.Join(dir, stem+".key"))
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, stem+".key"), err)
	}
	return &authority{cert: cert, key: key, certPEM: certPEM}, nil
}

func ensureCA(dir, stem, cn string) (*authority, error) {
	if _, err := os.Stat(filepath.Join(dir, stem+".crt")); err == nil {
		return loadCA(dir, stem)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeKey(filepath.Join(dir, stem+".key"), key); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, stem+".crt"), certPEM, 0o644); err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, certPEM: certPEM}, nil
}

func ensureLeaf(ca *authority, dir string, s leafSpec, force bool) error {
	certPath := filepath.Join(dir, s.name+".crt")
	keyPath := filepath.Join(dir, s.name+".key")
	if !force && leafIsCurrent(ca, certPath, keyPath, s) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: s.cn, Organization: s.orgs},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		DNSNames:              s.dns,
	}
	for _, ip := range s.ips {
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return fmt.Errorf("%s: bad IP SAN %q", s.name, ip)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, parsed)
	}
	if s.server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if s.client {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	if err := writeKey(keyPath, key); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// leafIsCurrent reports whether an existing cert is signed by ca, has the
// wanted names, has its key next to it and is valid for at least another day.
func leafIsCurrent(ca *authority, certPath, keyPath string, s leafSpec) bool {
	b, err := os.ReadFile(certPath)
	if err != nil {
		return false
	}
	if _, err := os.Stat(keyPath); err != nil {
		return false
	}
	c, err := parseCert(b)
	if err != nil || c.CheckSignatureFrom(ca.cert) != nil {
		return false
	}
	if time.Until(c.NotAfter) < 24*time.Hour || c.Subject.CommonName != s.cn {
		return false
	}
	if !slices.Equal(c.Subject.Organization, s.orgs) && (len(s.orgs) > 0 || len(c.Subject.Organization) > 0) {
		return false
	}
	if !slices.Equal(c.DNSNames, s.dns) && (len(s.dns) > 0 || len(c.DNSNames) > 0) {
		return false
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	return slices.Equal(ips, s.ips) || (len(ips) == 0 && len(s.ips) == 0)
}

func ensureSAKeys(dir string) error {
	keyPath := filepath.Join(dir, "sa.key")
	if _, err := os.Stat(keyPath); err == nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}

func writeKubeconfig(path, server, context string, caPEM []byte, certPath, keyPath string) error {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: %[2]s
    certificate-authority-data: %[3]s
users:
- name: %[1]s-%[4]s
  user:
    client-certificate-data: %[5]s
    client-key-data: %[6]s
contexts:
- name: %[1]s
  context:
    cluster: %[1]s
    user: %[1]s-%[4]s
    namespace: default
current-context: %[1]s
preferences: {}
`, context, server, b64(caPEM), strings.TrimSuffix(filepath.Base(certPath), ".crt"), b64(certPEM), b64(keyPEM))
	return writeFile(path, buf.Bytes(), 0o600)
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// writeFile writes atomically (temp file + rename) with the given mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}
