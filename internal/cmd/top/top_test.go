package top

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kgate/kgate/internal/errs"
	"github.com/kgate/kgate/internal/policy"
)

func TestUnavailable(t *testing.T) {
	gr := schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}
	for name, tc := range map[string]struct {
		err  error
		kind errs.Kind
	}{
		"no API":            {apierrors.NewNotFound(gr, ""), errs.KindUnavailable},
		"API down":          {apierrors.NewServiceUnavailable("metrics-server is starting"), errs.KindUnavailable},
		"no such pod":       {apierrors.NewNotFound(gr, "web-1"), -1},
		"forbidden by RBAC": {apierrors.NewForbidden(gr, "", errors.New("no")), -1},
	} {
		err := unavailable(tc.err)
		var e *errs.Error
		isErr := errors.As(err, &e)
		if tc.kind < 0 {
			if isErr {
				t.Errorf("%s: turned into %v", name, err)
			}
			continue
		}
		if !isErr || e.Kind != tc.kind {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRoles(t *testing.T) {
	if r := policy.Needed(policy.VerbList, ResourcePodMetrics, ""); r != policy.RoleGuest {
		t.Errorf("top pods needs %s", r)
	}
}
