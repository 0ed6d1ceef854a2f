// Package config turns flags, KGATE_* environment variables, the config file
// and defaults (in that order of precedence) into one typed Config, once, at
// start. Commands read the Config; they never call viper themselves.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is everything kgate can be configured with.
type Config struct {
	Kubeconfig string `mapstructure:"kubeconfig"`
	Context    string `mapstructure:"context"`
	Namespace  string `mapstructure:"namespace"`
	Project    string `mapstructure:"project"`
	Output     string `mapstructure:"output"`
	Verbosity  int    `mapstructure:"verbosity"`

	LDAP    LDAP    `mapstructure:"ldap"`
	Session Session `mapstructure:"session"`
	Policy  Policy  `mapstructure:"policy"`
	Audit   Audit   `mapstructure:"audit"`
	Logs    Logs    `mapstructure:"logs"`

	// Cluster is the cluster to work in, one the policy names (--cluster,
	// KGATE_CLUSTER); empty means the one the kubeconfig's context or the
	// session's gateway reaches.
	Cluster string `mapstructure:"cluster"`

	// Server is the kgate gateway's URL: when set, kgate logs in to the
	// gateway and sends every request through it (gateway mode).
	Server  string  `mapstructure:"server"`
	Gateway Gateway `mapstructure:"gateway"`
	Serve   Serve   `mapstructure:"serve"`

	// Paths are derived, not configured (except through the environment).
	Paths Paths `mapstructure:"-"`
	// File is the config file that was read, if any.
	File string `mapstructure:"-"`
}

// LDAP configures the directory kgate authenticates against.
type LDAP struct {
	// URLs are tried in order; the next one is used when one is unreachable.
	URLs []string `mapstructure:"urls"`
	// BindDN and BindPassword (or BindPasswordFile) are the read-only service account.
	BindDN           string `mapstructure:"bindDN"`
	BindPassword     string `mapstructure:"bindPassword"`
	BindPasswordFile string `mapstructure:"bindPasswordFile"`
	// UserBase and UserFilter find the user; %s is the escaped username.
	UserBase   string `mapstructure:"userBase"`
	UserFilter string `mapstructure:"userFilter"`
	// ActiveFilter, if set, is ANDed with UserFilter when a session is
	// refreshed: an entry it does not match counts as disabled, e.g.
	// (!(pwdAccountLockedTime=*)) or, for Active Directory,
	// (!(userAccountControl:1.2.840.113556.1.4.803:=2)).
	ActiveFilter string `mapstructure:"activeFilter"`
	// UsernameAttribute on the user entry holds the canonical username (uid);
	// the session records it rather than what was typed.
	UsernameAttribute string `mapstructure:"usernameAttribute"`
	// GroupAttribute on the user entry lists its groups (memberOf). Used when GroupBase is empty.
	GroupAttribute string `mapstructure:"groupAttribute"`
	// GroupBase, GroupFilter (%s is the user's escaped DN, %u the escaped username)
	// and GroupNameAttribute configure a group search instead of memberOf.
	GroupBase          string `mapstructure:"groupBase"`
	GroupFilter        string `mapstructure:"groupFilter"`
	GroupNameAttribute string `mapstructure:"groupNameAttribute"`
	// CAFile verifies the server's certificate; empty means the system roots.
	CAFile string `mapstructure:"caFile"`
	// StartTLS upgrades ldap:// connections; on by default.
	StartTLS bool `mapstructure:"startTLS"`
	// Insecure allows binds over plaintext. kgate warns every time it is used.
	Insecure    bool          `mapstructure:"insecure"`
	DialTimeout time.Duration `mapstructure:"dialTimeout"`
	Timeout     time.Duration `mapstructure:"timeout"`
}

// Session configures the login session.
type Session struct {
	Lifetime time.Duration `mapstructure:"lifetime"`
	// RefreshInterval is how old a direct-mode session may get before its
	// groups are read again from the directory with the service account.
	RefreshInterval time.Duration `mapstructure:"refreshInterval"`
}

// Policy configures where the policy comes from and how long a copy is trusted.
type Policy struct {
	// Source is a file path, an https:// URL or configmap://NAMESPACE/NAME.
	Source   string        `mapstructure:"source"`
	CAFile   string        `mapstructure:"caFile"`
	TTL      time.Duration `mapstructure:"ttl"`
	MaxStale time.Duration `mapstructure:"maxStale"`
}

// Audit configures the local decision log.
type Audit struct {
	// Path of the log; empty means StateDir/audit.log.
	Path      string `mapstructure:"path"`
	MaxSizeMB int    `mapstructure:"maxSizeMB"`
	MaxFiles  int    `mapstructure:"maxFiles"`
}

// Logs configures `kgate logs`.
type Logs struct {
	// ResumeWindow is how long a followed log that broke keeps trying to
	// resume (the API server or the gateway restarting) before giving up.
	ResumeWindow time.Duration `mapstructure:"resumeWindow"`
}

// Gateway configures the CLI's side of gateway mode.
type Gateway struct {
	// CAFile verifies the gateway's certificate at login; empty means the
	// system roots. The session keeps the CA for later commands.
	CAFile string `mapstructure:"caFile"`
}

// Serve configures `kgate serve`, the gateway. Its flags win over these.
type Serve struct {
	Listen      string `mapstructure:"listen"`
	TLSCertFile string `mapstructure:"tlsCertFile"`
	TLSKeyFile  string `mapstructure:"tlsKeyFile"`
	// SigningKeyFile holds the private key tokens are signed with (Ed25519
	// or ECDSA P-256, PEM); VerificationKeyFiles hold more keys accepted
	// for verification while keys are rotated.
	SigningKeyFile       string        `mapstructure:"signingKeyFile"`
	VerificationKeyFiles []string      `mapstructure:"verificationKeyFiles"`
	Issuer               string        `mapstructure:"issuer"`
	Audience             string        `mapstructure:"audience"`
	TokenLifetime        time.Duration `mapstructure:"tokenLifetime"`
	// RefreshLifetime is how long a gateway session (its refresh
	// credential) lasts; access tokens last TokenLifetime.
	RefreshLifetime time.Duration `mapstructure:"refreshLifetime"`
	// Locks is NAMESPACE/NAME of the ConfigMap that holds locks and
	// revoked sessions.
	Locks              string        `mapstructure:"locks"`
	ShutdownGrace      time.Duration `mapstructure:"shutdownGrace"`
	ShutdownDelay      time.Duration `mapstructure:"shutdownDelay"`
	LoginFailureLimit  int           `mapstructure:"loginFailureLimit"`
	LoginFailureWindow time.Duration `mapstructure:"loginFailureWindow"`
	ReadHeaderTimeout  time.Duration `mapstructure:"readHeaderTimeout"`
	IdleTimeout        time.Duration `mapstructure:"idleTimeout"`
	RequestBodyTimeout time.Duration `mapstructure:"requestBodyTimeout"`
	// WebConsole serves the browser console at "/"; StreamRecheck is how
	// often its running streams are decided again.
	WebConsole    bool          `mapstructure:"webConsole"`
	StreamRecheck time.Duration `mapstructure:"streamRecheck"`
	// Clusters make the gateway front several clusters, each
	// "NAME=KUBECONFIG[#CONTEXT]" (its own credentials), served under
	// /clusters/NAME/; DefaultCluster also serves the unprefixed paths.
	Clusters       []string `mapstructure:"clusters"`
	DefaultCluster string   `mapstructure:"defaultCluster"`
}

// Paths are the per-user directories kgate keeps its files in.
type Paths struct {
	ConfigDir string // sessions, config.yaml
	CacheDir  string // policy cache
	StateDir  string // audit log
}

// flagKeys maps config keys to the flags that set them.
var flagKeys = map[string]string{
	"kubeconfig": "kubeconfig",
	"context":    "context",
	"namespace":  "namespace",
	"project":    "project",
	"output":     "output",
	"verbosity":  "v",
	"server":     "server",
	"cluster":    "cluster",
}

func defaults(v *viper.Viper) {
	v.SetDefault("kubeconfig", "")
	v.SetDefault("context", "")
	v.SetDefault("namespace", "")
	v.SetDefault("project", "")
	v.SetDefault("output", "")
	v.SetDefault("verbosity", 0)

	v.SetDefault("ldap.urls", []string{})
	v.SetDefault("ldap.bindDN", "")
	v.SetDefault("ldap.bindPassword", "")
	v.SetDefault("ldap.bindPasswordFile", "")
	v.SetDefault("ldap.userBase", "")
	v.SetDefault("ldap.userFilter", "(uid=%s)")
	v.SetDefault("ldap.usernameAttribute", "uid")
	v.SetDefault("ldap.groupAttribute", "memberOf")
	v.SetDefault("ldap.groupBase", "")
	v.SetDefault("ldap.groupFilter", "(member=%s)")
	v.SetDefault("ldap.groupNameAttribute", "cn")
	v.SetDefault("ldap.caFile", "")
	v.SetDefault("ldap.startTLS", true)
	v.SetDefault("ldap.insecure", false)
	v.SetDefault("ldap.dialTimeout", 5*time.Second)
	v.SetDefault("ldap.timeout", 10*time.Second)

	v.SetDefault("session.lifetime", 8*time.Hour)
	v.SetDefault("session.refreshInterval", time.Hour)
	v.SetDefault("ldap.activeFilter", "")

	v.SetDefault("policy.source", "")
	v.SetDefault("policy.caFile", "")
	v.SetDefault("policy.ttl", 5*time.Minute)
	v.SetDefault("policy.maxStale", 24*time.Hour)

	v.SetDefault("audit.path", "")
	v.SetDefault("audit.maxSizeMB", 10)
	v.SetDefault("audit.maxFiles", 5)
	v.SetDefault("logs.resumeWindow", 2*time.Minute)

	v.SetDefault("server", "")
	v.SetDefault("cluster", "")
	v.SetDefault("gateway.caFile", "")
	v.SetDefault("serve.listen", "127.0.0.1:8443")
	v.SetDefault("serve.tlsCertFile", "")
	v.SetDefault("serve.tlsKeyFile", "")
	v.SetDefault("serve.signingKeyFile", "")
	v.SetDefault("serve.verificationKeyFiles", []string{})
	v.SetDefault("serve.clusters", []string{})
	v.SetDefault("serve.issuer", "")
	v.SetDefault("serve.audience", "kgate")
	v.SetDefault("serve.tokenLifetime", 10*time.Minute)
	v.SetDefault("serve.refreshLifetime", 8*time.Hour)
	v.SetDefault("serve.locks", "")
	v.SetDefault("serve.shutdownGrace", 30*time.Second)
	v.SetDefault("serve.shutdownDelay", 0)
	v.SetDefault("serve.loginFailureLimit", 5)
	v.SetDefault("serve.loginFailureWindow", 5*time.Minute)
	v.SetDefault("serve.webConsole", true)
	v.SetDefault("serve.streamRecheck", 5*time.Second)
}

// Load builds the Config from flags (only those the user set win), the
// KGATE_* environment, the config file and defaults. fs may be nil.
func Load(flags *pflag.FlagSet) (*Config, error) {
	paths, err := DefaultPaths()
	if err != nil {
		return nil, err
	}
	v := viper.New()
	defaults(v)
	v.SetEnvPrefix("KGATE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()

	file := os.Getenv("KGATE_CONFIG")
	explicit := file != ""
	if !explicit {
		file = filepath.Join(paths.ConfigDir, "config.yaml")
	}
	v.SetConfigFile(file)
	v.SetConfigType("yaml")
	cfg := &Config{Paths: paths}
	if err := v.ReadInConfig(); err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) || explicit {
			return nil, fmt.Errorf("reading config file %s: %w", file, err)
		}
	} else {
		cfg.File = file
	}

	if flags != nil {
		for key, name := range flagKeys {
			if f := flags.Lookup(name); f != nil {
				if err := v.BindPFlag(key, f); err != nil {
					return nil, err
				}
			}
		}
	}

	hook := mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)
	if err := v.Unmarshal(cfg, viper.DecodeHook(hook)); err != nil {
		return nil, fmt.Errorf("config file %s: %w", file, err)
	}
	return cfg, nil
}

// DefaultPaths returns the per-user directories, honouring KGATE_CONFIG_DIR,
// KGATE_CACHE_DIR and KGATE_STATE_DIR, then the XDG conventions.
func DefaultPaths() (Paths, error) {
	var p Paths
	p.ConfigDir = os.Getenv("KGATE_CONFIG_DIR")
	if p.ConfigDir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return p, fmt.Errorf("finding the config directory: %w", err)
		}
		p.ConfigDir = filepath.Join(d, "kgate")
	}
	p.CacheDir = os.Getenv("KGATE_CACHE_DIR")
	if p.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return p, fmt.Errorf("finding the cache directory: %w", err)
		}
		p.CacheDir = filepath.Join(d, "kgate")
	}
	p.StateDir = os.Getenv("KGATE_STATE_DIR")
	if p.StateDir == "" {
		d := os.Getenv("XDG_STATE_HOME")
		if d == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return p, fmt.Errorf("finding the state directory: %w", err)
			}
			d = filepath.Join(home, ".local", "state")
		}
		p.StateDir = filepath.Join(d, "kgate")
	}
	return p, nil
}
