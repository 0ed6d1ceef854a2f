package kube

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TestKinds is a resolver for the tests of commands: the built-in kinds,
// apps/v1 deployments and statefulsets as discovery lists them, and a
// custom resource, widgets.kgate.test (Widget, short name wdg).
func TestKinds() *Kinds {
	verbs := []string{"get", "list", "watch", "patch", "update", "delete"}
	return StaticKinds(
		&metav1.APIResourceList{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", SingularName: "pod", Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Verbs: verbs},
		}},
		&metav1.APIResourceList{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}, Verbs: verbs},
			{Name: "statefulsets", SingularName: "statefulset", Kind: "StatefulSet", Namespaced: true, ShortNames: []string{"sts"}, Verbs: verbs},
		}},
		&metav1.APIResourceList{GroupVersion: "kgate.test/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", SingularName: "widget", Kind: "Widget", Namespaced: true, ShortNames: []string{"wdg"}, Verbs: verbs},
		}},
	)
}
