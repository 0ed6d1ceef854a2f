package completion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kgate/kgate/internal/kube"
)

// apiCluster asks the API server as little as it can: names as server-side
// Tables without objects, one small page at a time.
type apiCluster struct {
	client func() (*kube.Client, error)
}

// namesAccept asks for a Table; includeObject=None leaves the objects out,
// so a row is little more than its cells.
const namesAccept = "application/json;as=Table;v=v1;g=meta.k8s.io"

// Names implements completionCluster.
func (a *apiCluster) Names(ctx context.Context, r kube.Resource, ns string, max int) ([]candidate, error) {
	client, err := a.client()
	if err != nil {
		return nil, err
	}
	var out []candidate
	cont := ""
	for {
		req := client.REST().Get().AbsPath(r.Path(ns, "")).SetHeader("Accept", namesAccept).
			Param("includeObject", "None").Param("limit", strconv.Itoa(completionPageSize))
		if cont != "" {
			req = req.Param("continue", cont)
		}
		body, err := req.Do(ctx).Raw()
		if err != nil {
			return nil, err
		}
		var t metav1.Table
		if err := json.Unmarshal(body, &t); err != nil {
			return nil, err
		}
		nameCol, statusCol := -1, -1
		for i, col := range t.ColumnDefinitions {
			switch col.Name {
			case "Name":
				nameCol = i
			case "Status":
				statusCol = i
			}
		}
		if nameCol < 0 {
			return nil, fmt.Errorf("%s: the server's table has no Name column", r.GVR.Resource)
		}
		for _, row := range t.Rows {
			if nameCol >= len(row.Cells) {
				continue
			}
			name, _ := row.Cells[nameCol].(string)
			if name == "" {
				continue
			}
			cand := candidate{Name: name}
			if statusCol >= 0 && statusCol < len(row.Cells) && r.GVR.Resource == "pods" {
				cand.Desc, _ = row.Cells[statusCol].(string)
			}
			out = append(out, cand)
		}
		cont = t.Continue
		if cont == "" || len(out) >= max {
			return out, nil
		}
	}
}

// Namespaces implements completionCluster.
func (a *apiCluster) Namespaces(ctx context.Context) ([]string, error) {
	r, err := kube.Lookup("namespaces")
	if err != nil {
		return nil, err
	}
	cands, err := a.Names(ctx, r, "", completionMaxNames)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.Name
	}
	return out, nil
}

// Containers implements completionCluster.
func (a *apiCluster) Containers(ctx context.Context, r kube.Resource, ns, name string) ([]candidate, error) {
	client, err := a.client()
	if err != nil {
		return nil, err
	}
	o, err := client.Get(ctx, r, ns, name)
	if err != nil {
		return nil, err
	}
	return containersOf(o), nil
}

// containersOf lists the containers of a pod, or of the pod template of a
// workload, init containers last.
func containersOf(o *unstructured.Unstructured) []candidate {
	spec := []string{"spec"}
	switch o.GetKind() {
	case "Pod":
	case "CronJob":
		spec = []string{"spec", "jobTemplate", "spec", "template", "spec"}
	default:
		spec = []string{"spec", "template", "spec"}
	}
	var out []candidate
	for _, field := range []string{"containers", "initContainers"} {
		list, _, _ := unstructured.NestedSlice(o.Object, append(slices.Clone(spec), field)...)
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["name"].(string)
			image, _ := m["image"].(string)
			if name == "" {
				continue
			}
			desc := image
			if field == "initContainers" {
				desc = "init: " + image
			}
			out = append(out, candidate{Name: name, Desc: desc})
		}
	}
	return out
}
