package describe

import (
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
