package kube

import "k8s.io/apimachinery/pkg/runtime/schema"

// verbsAll are the verbs of the built-in kinds, as discovery lists them.
var (
	verbsAll = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
)

func res(group, version, resource, kind, singular string, namespaced bool, short ...string) Resource {
	return withAbilities(Resource{
		GVR:  schema.GroupVersionResource{Group: group, Version: version, Resource: resource},
		Kind: kind, Singular: singular, ShortNames: short, Namespaced: namespaced, Verbs: verbsAll,
	})
}

func cat(r Resource, categories ...string) Resource {
	r.Categories = categories
	return r
}

// Resources are the built-in kinds every cluster of a supported version
// serves, at their preferred version. They are the fast path: a kind found
// here needs no discovery, so `kgate get pods` makes one request. The first
// twelve are the kinds help lists first.
var Resources = []Resource{
	cat(res("", "v1", "pods", "Pod", "pod", true, "po"), "all"),
	cat(res("apps", "v1", "deployments", "Deployment", "deployment", true, "deploy"), "all"),
	cat(res("apps", "v1", "statefulsets", "StatefulSet", "statefulset", true, "sts"), "all"),
	cat(res("apps", "v1", "replicasets", "ReplicaSet", "replicaset", true, "rs"), "all"),
	cat(res("apps", "v1", "daemonsets", "DaemonSet", "daemonset", true, "ds"), "all"),
	cat(res("batch", "v1", "jobs", "Job", "job", true), "all"),
	cat(res("batch", "v1", "cronjobs", "CronJob", "cronjob", true, "cj"), "all"),
	cat(res("", "v1", "services", "Service", "service", true, "svc"), "all"),
	res("", "v1", "configmaps", "ConfigMap", "configmap", true, "cm"),
	res("", "v1", "secrets", "Secret", "secret", true),
	res("", "v1", "events", "Event", "event", true, "ev"),
	res("", "v1", "namespaces", "Namespace", "namespace", false, "ns"),

	res("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim", true, "pvc"),
	res("", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", true, "sa"),
	res("", "v1", "endpoints", "Endpoints", "endpoints", true, "ep"),
	cat(res("", "v1", "replicationcontrollers", "ReplicationController", "replicationcontroller", true, "rc"), "all"),
	res("", "v1", "resourcequotas", "ResourceQuota", "resourcequota", true, "quota"),
	res("", "v1", "limitranges", "LimitRange", "limitrange", true, "limits"),
	res("", "v1", "podtemplates", "PodTemplate", "podtemplate", true),
	res("apps", "v1", "controllerrevisions", "ControllerRevision", "controllerrevision", true),
	cat(res("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", "horizontalpodautoscaler", true, "hpa"), "all"),
	res("networking.k8s.io", "v1", "ingresses", "Ingress", "ingress", true, "ing"),
	res("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", "networkpolicy", true, "netpol"),
	res("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", "poddisruptionbudget", true, "pdb"),
	res("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", "endpointslice", true),
	res("rbac.authorization.k8s.io", "v1", "roles", "Role", "role", true),
	res("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", "rolebinding", true),
	res("coordination.k8s.io", "v1", "leases", "Lease", "lease", true),

	res("", "v1", "nodes", "Node", "node", false, "no"),
	res("", "v1", "persistentvolumes", "PersistentVolume", "persistentvolume", false, "pv"),
	res("storage.k8s.io", "v1", "storageclasses", "StorageClass", "storageclass", false, "sc"),
	res("networking.k8s.io", "v1", "ingressclasses", "IngressClass", "ingressclass", false),
	res("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", "clusterrole", false),
	res("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", "clusterrolebinding", false),
	res("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", "customresourcedefinition", false, "crd", "crds"),
	res("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", "priorityclass", false, "pc"),
}

// helpKinds is how many of Resources help lists.
const helpKinds = 12
