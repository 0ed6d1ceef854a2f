package describe

import (
	"context"

	"k8s.io/client-go/rest"

	"github.com/kgate/kgate/internal/audit"
	"github.com/kgate/kgate/internal/kube"
)

func hasNames(ts []kube.Target) bool {
	for _, t := range ts {
		if len(t.Names) > 0 {
			return true
		}
	}
	return false
}

// withAuditID returns a copy of rc whose requests carry the audit id of ctx.
func withAuditID(ctx context.Context, rc *rest.Config) *rest.Config {
	id, ok := audit.IDFrom(ctx)
	if !ok {
		return rc
	}
	c := rest.CopyConfig(rc)
	c.Wrap(audit.FixedID(id))
	return c
}
