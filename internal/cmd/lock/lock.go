// Package lock implements `kgate lock` and `kgate unlock`: locks on users
// and groups, kept by the gateway in the cluster and enforced by every
// replica within seconds.
package lock

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kgate/kgate/internal/cmdutil"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/gateway"
	"github.com/kgate/kgate/internal/gwsession"
	"github.com/kgate/kgate/internal/iostreams"
)

// Client is the gateway's lock API.
type Client interface {
	List(ctx context.Context) ([]gateway.Lock, error)
	Lock(ctx context.Context, req gateway.LockRequest) (*gateway.Lock, error)
	Unlock(ctx context.Context, target, name string) error
}

// Options are what the lock commands need.
type Options struct {
	IO     *iostreams.IOStreams
	Client func() (Client, error)
	Output func() (string, error)
	Now    func() time.Time

	Target string
	Name   string
	Reason string
	TTL    time.Duration
}

func newOptions(f *cmdutil.Factory) *Options {
	return &Options{IO: f.IOStreams, Output: f.OutputFormat(), Now: time.Now, Client: func() (Client, error) {
		src, err := f.GatewaySource()
		if err != nil {
			return nil, err
		}
		if src == nil {
			return nil, errs.WithHint(errs.UsageErrorf("locks are kept by the gateway; this is a direct-mode session"),
				"Log in through the gateway with `kgate login --server URL`.")
		}
		return &gatewayClient{src: src}, nil
	}}
}

// NewCmdLock returns `kgate lock`; runF replaces the run steps in tests.
func NewCmdLock(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lock <user|group|list>",
		Short: "Lock a user or a group out of the gateway at once (super admins)",
		Long: `Lock a user, or every member of a group, out of the gateway. The lock is kept
in the cluster (the gateway's locks ConfigMap) and watched by every gateway
replica: within seconds the user's running exec, attach, port-forward and
followed log streams end, new requests are refused with a 403 that names the
lock's reason, and the session can no longer be refreshed. kubectl through the
gateway is refused alike.

Only super admins may lock, list and unlock; the commands talk to the gateway,
which checks that and writes every lock and unlock to its audit log. A lock
lasts until ` + "`kgate unlock`" + `, or for --ttl.`,
		Example: `  # lock bob out for two hours
  kgate lock user bob --reason "laptop stolen, ticket SEC-1234" --ttl 2h

  # lock a whole group
  kgate lock group contractors --reason "contract ended"

  # what is locked
  kgate lock list`,
		Args: cmdutil.NoArgs,
	}
	for _, target := range []string{gateway.LockUser, gateway.LockGroup} {
		opts := newOptions(f)
		opts.Target = target
		c := &cobra.Command{
			Use:   target + " NAME --reason TEXT [--ttl DURATION]",
			Short: "Lock a " + target,
			Long: "Lock the " + target + " NAME out of the gateway on every replica within seconds: running\n" +
				"streams end, new requests and refreshes are refused with the reason. Super admins only.",
			Example: "  kgate lock " + target + " " + map[string]string{"user": "bob", "group": "contractors"}[target] +
				" --reason \"offboarding, ticket HR-77\" --ttl 2h",
			Args: cmdutil.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Name = args[0]
				if strings.TrimSpace(opts.Reason) == "" {
					return errs.UsageErrorf("a lock needs a reason: --reason TEXT")
				}
				if opts.TTL < 0 {
					return errs.UsageErrorf("--ttl %s is negative", opts.TTL)
				}
				if runF != nil {
					return runF(cmd.Context(), opts)
				}
				return lockRun(cmd.Context(), opts)
			},
		}
		c.Flags().StringVar(&opts.Reason, "reason", "", "Why (shown to the locked user and in the audit log); required")
		c.Flags().DurationVar(&opts.TTL, "ttl", 0, "How long the lock lasts (default: until unlocked)")
		cmd.AddCommand(c)
	}
	lopts := newOptions(f)
	cmd.AddCommand(&cobra.Command{
		Use:     "list",
		Short:   "List the locks in effect",
		Long:    "List the locks in effect on the gateway: who or which group, who locked, since when, until when, why.\nSuper admins only.",
		Example: "  kgate lock list\n  kgate lock list -o json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), lopts)
			}
			return listRun(cmd.Context(), lopts)
		},
	})
	return cmd
}

// NewCmdUnlock returns `kgate unlock`.
func NewCmdUnlock(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "unlock <user|group> NAME",
		Short: "Remove a lock (super admins)",
		Long: `Remove the lock on a user or a group; access is restored at once on every
gateway replica. Audited like the lock.`,
		Example: `  kgate unlock user bob`,
		Args:    cmdutil.NoArgs,
	}
	for _, target := range []string{gateway.LockUser, gateway.LockGroup} {
		opts := newOptions(f)
		opts.Target = target
		cmd.AddCommand(&cobra.Command{
			Use:     target + " NAME",
			Short:   "Unlock a " + target,
			Long:    "Remove the lock on the " + target + " NAME; access is restored at once. Super admins only.",
			Example: "  kgate unlock " + target + " " + map[string]string{"user": "bob", "group": "contractors"}[target],
			Args:    cmdutil.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Name = args[0]
				if runF != nil {
					return runF(cmd.Context(), opts)
				}
				return unlockRun(cmd.Context(), opts)
			},
		})
	}
	return cmd
}

func lockRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	req := gateway.LockRequest{Target: opts.Target, Name: opts.Name, Reason: opts.Reason}
	if opts.TTL > 0 {
		req.TTL = opts.TTL.String()
	}
	l, err := c.Lock(ctx, req)
	if err != nil {
		return err
	}
	until := "until unlocked"
	if !l.Expires.IsZero() {
		until = "until " + l.Expires.Local().Format(time.DateTime)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Locked %s %s (%s): %s\n", l.Target, l.Name, until, l.Reason)
	return nil
}

func unlockRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if err := c.Unlock(ctx, opts.Target, opts.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Unlocked %s %s.\n", opts.Target, strings.ToLower(opts.Name))
	return nil
}

func listRun(ctx context.Context, opts *Options) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	locks, err := c.List(ctx)
	if err != nil {
		return err
	}
	format, err := opts.Output()
	if err != nil {
		return err
	}
	switch format {
	case "json":
		b, _ := json.MarshalIndent(gateway.LockList{Items: locks}, "", "  ")
		_, err = fmt.Fprintln(opts.IO.Out, string(b))
		return err
	case "yaml":
		b, err := yaml.Marshal(gateway.LockList{Items: locks})
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(b)
		return err
	case "", "wide":
	default:
		return errs.UsageErrorf("kgate lock list prints a table, json or yaml, not %q", format)
	}
	if len(locks) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No locks.")
		return nil
	}
	now := opts.Now()
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tNAME\tBY\tAGE\tEXPIRES\tREASON")
	for _, l := range locks {
		exp := "never"
		if !l.Expires.IsZero() {
			exp = "in " + l.Expires.Sub(now).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Target, l.Name, l.By, now.Sub(l.Created).Round(time.Second), exp, l.Reason)
	}
	return tw.Flush()
}

type gatewayClient struct{ src *gwsession.Source }

func (g *gatewayClient) token(ctx context.Context) (string, string, []byte, error) {
	tok, _, err := g.src.Token(ctx)
	if err != nil {
		return "", "", nil, err
	}
	s := g.src.Session()
	return tok, s.Issuer, []byte(s.GatewayCA), nil
}

func (g *gatewayClient) List(ctx context.Context) ([]gateway.Lock, error) {
	tok, server, ca, err := g.token(ctx)
	if err != nil {
		return nil, err
	}
	return gateway.ListLocks(ctx, server, ca, tok)
}

func (g *gatewayClient) Lock(ctx context.Context, req gateway.LockRequest) (*gateway.Lock, error) {
	tok, server, ca, err := g.token(ctx)
	if err != nil {
		return nil, err
	}
	return gateway.AddLock(ctx, server, ca, tok, req)
}

func (g *gatewayClient) Unlock(ctx context.Context, target, name string) error {
	tok, server, ca, err := g.token(ctx)
	if err != nil {
		return err
	}
	return gateway.RemoveLock(ctx, server, ca, tok, target, name)
}
