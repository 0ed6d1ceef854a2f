package get

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kgate/kgate/internal/enforce"
	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/kube"
	"github.com/kgate/kgate/internal/policy"
)

// authorize asks the policy about every target before any request.
func authorize(ctx context.Context, opts *Options, targets []kube.Target, ns string) (context.Context, []enforce.Scope, error) {
	listVerb := policy.VerbList
	if opts.Watch {
		listVerb = policy.VerbWatch
	}
	ctx, scopes, err := opts.Access.Targets(ctx, policy.VerbGet, listVerb, targets, ns, opts.AllNamespaces)
	if err != nil {
		return ctx, nil, err
	}
	if t := targets[0]; opts.Watch && len(t.Names) == 0 && t.Resource.Namespaced {
		// A watch is one request in one namespace, or in all for a super admin.
		if sc := scopes[0]; len(sc.Namespaces) != 1 || sc.Namespaces[0] != ns {
			return ctx, nil, errs.UsageErrorf("watching %s across namespaces is reserved to super admins; name one namespace with -n", t.Resource.GVR.Resource)
		}
	}
	return ctx, scopes, nil
}

// listTable lists r as a server-side Table in every namespace of the scope
// and keeps the rows the scope allows.
func listTable(ctx context.Context, client *kube.Client, r kube.Resource, sc enforce.Scope, lo kube.ListOptions) (*metav1.Table, error) {
	var all *metav1.Table
	for _, ns := range sc.Namespaces {
		t, err := client.Table(ctx, r, ns, lo)
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = t
		} else {
			all.Rows = append(all.Rows, t.Rows...)
		}
	}
	if all == nil {
		return &metav1.Table{}, nil
	}
	all.Rows = keepRows(all.Rows, sc.Keep)
	return all, nil
}

func keepRows(rows []metav1.TableRow, keep func(string) bool) []metav1.TableRow {
	if keep == nil {
		return rows
	}
	out := rows[:0]
	for _, r := range rows {
		if keep(kube.MetaOf(r).Name) {
			out = append(out, r)
		}
	}
	return out
}

// keepObject reports whether a watched object is one the scope allows.
func keepObject(o runtime.Object, keep func(string) bool) bool {
	if keep == nil {
		return true
	}
	m, ok := o.(metav1.Object)
	return !ok || keep(m.GetName())
}
