// Package kubernetes_test checks the Kubernetes manifests of deploy/kubernetes: every
// resource decodes strictly into its API type (unknown fields refused), and the resources
// agree with each other, with the service and with the Dockerfile.
package kubernetes_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/pacifica/pacifica-dispatcher-go/pkg/service"
)

// scaledObject and triggerAuthentication are the fields of KEDA's resources
// (keda.sh/v1alpha1) that keda.yaml uses: KEDA's types are not in k8s.io/api, and its Go
// module would bring the operator's dependencies. Decoded strictly like the others, a field
// not listed here is refused.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		PollingInterval int32  `json:"pollingInterval"`
		CooldownPeriod  int32  `json:"cooldownPeriod"`
		Advanced        struct {
			HorizontalPodAutoscalerConfig struct {
				Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type              string            `json:"type"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef struct {
				Name string `json:"name"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
}

type triggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
}

// manifests are the resources of the kustomization, by kind.
type manifests struct {
	namespaces   []corev1.Namespace
	configMaps   map[string]corev1.ConfigMap
	secrets      map[string]corev1.Secret
	deployments  map[string]appsv1.Deployment
	jobs         map[string]batchv1.Job
	services     []corev1.Service
	hpas         []autoscalingv2.HorizontalPodAutoscaler
	pdbs         []policyv1.PodDisruptionBudget
	netpols      []networkingv1.NetworkPolicy
	scaled       []scaledObject
	triggerAuths map[string]triggerAuthentication
	// metas are every resource's kind/name and metadata.
	metas map[string]metav1.ObjectMeta
}

func load(t *testing.T) *manifests {
	t.Helper()
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
	}
	decode(t, "kustomization.yaml", readFile(t, "kustomization.yaml"), &kust)
	if len(kust.Resources) == 0 {
		t.Fatal("kustomization.yaml lists no resources")
	}
	m := &manifests{configMaps: map[string]corev1.ConfigMap{}, secrets: map[string]corev1.Secret{},
		deployments: map[string]appsv1.Deployment{}, jobs: map[string]batchv1.Job{},
		triggerAuths: map[string]triggerAuthentication{}, metas: map[string]metav1.ObjectMeta{}}
	for _, file := range kust.Resources {
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(readFile(t, file)), -1) {
			where := fmt.Sprintf("%s (document %d)", file, i+1)
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			var meta metav1.ObjectMeta
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Namespace":
				var o corev1.Namespace
				decode(t, where, []byte(doc), &o)
				m.namespaces, meta = append(m.namespaces, o), o.ObjectMeta
			case "v1 ConfigMap":
				var o corev1.ConfigMap
				decode(t, where, []byte(doc), &o)
				m.configMaps[o.Name], meta = o, o.ObjectMeta
			case "v1 Secret":
				var o corev1.Secret
				decode(t, where, []byte(doc), &o)
				m.secrets[o.Name], meta = o, o.ObjectMeta
			case "v1 Service":
				var o corev1.Service
				decode(t, where, []byte(doc), &o)
				m.services, meta = append(m.services, o), o.ObjectMeta
			case "apps/v1 Deployment":
				var o appsv1.Deployment
				decode(t, where, []byte(doc), &o)
				m.deployments[o.Name], meta = o, o.ObjectMeta
			case "batch/v1 Job":
				var o batchv1.Job
				decode(t, where, []byte(doc), &o)
				m.jobs[o.Name], meta = o, o.ObjectMeta
			case "autoscaling/v2 HorizontalPodAutoscaler":
				var o autoscalingv2.HorizontalPodAutoscaler
				decode(t, where, []byte(doc), &o)
				m.hpas, meta = append(m.hpas, o), o.ObjectMeta
			case "policy/v1 PodDisruptionBudget":
				var o policyv1.PodDisruptionBudget
				decode(t, where, []byte(doc), &o)
				m.pdbs, meta = append(m.pdbs, o), o.ObjectMeta
			case "networking.k8s.io/v1 NetworkPolicy":
				var o networkingv1.NetworkPolicy
				decode(t, where, []byte(doc), &o)
				m.netpols, meta = append(m.netpols, o), o.ObjectMeta
			case "keda.sh/v1alpha1 ScaledObject":
				var o scaledObject
				decode(t, where, []byte(doc), &o)
				m.scaled, meta = append(m.scaled, o), o.ObjectMeta
			case "keda.sh/v1alpha1 TriggerAuthentication":
				var o triggerAuthentication
				decode(t, where, []byte(doc), &o)
				m.triggerAuths[o.Name], meta = o, o.ObjectMeta
			default:
				t.Fatalf("%s: unexpected resource %s %s", where, tm.APIVersion, tm.Kind)
			}
			key := tm.Kind + "/" + meta.Name
			if meta.Name == "" || meta.Namespace != "" {
				t.Errorf("%s: %s has no name or names its namespace (kustomization.yaml sets it)", where, key)
			}
			if _, dup := m.metas[key]; dup {
				t.Errorf("%s: %s defined twice", where, key)
			}
			m.metas[key] = meta
		}
	}
	if len(m.namespaces) != 1 || m.namespaces[0].Name != kust.Namespace {
		t.Errorf("the kustomization's namespace %q is not the one Namespace defined", kust.Namespace)
	}
	return m
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode decodes YAML into v, refusing unknown and duplicate fields.
func decode(t *testing.T, where string, b []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(b, v); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

// pods are the pod templates of the Deployments and Jobs, by workload.
func (m *manifests) pods() map[string]corev1.PodTemplateSpec {
	out := map[string]corev1.PodTemplateSpec{}
	for n, d := range m.deployments {
		out["Deployment/"+n] = d.Spec.Template
	}
	for n, j := range m.jobs {
		out["Job/"+n] = j.Spec.Template
	}
	return out
}

func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	for _, want := range []string{"Deployment/pacifica-dispatcher-receiver", "Deployment/pacifica-dispatcher-worker",
		"Service/pacifica-dispatcher", "Job/pacifica-dispatcher-migrate", "Job/pacifica-dispatcher-subscribe",
		"ConfigMap/pacifica-dispatcher-scripts", "ConfigMap/pacifica-dispatcher-k8s-config",
		"HorizontalPodAutoscaler/pacifica-dispatcher-receiver", "ScaledObject/pacifica-dispatcher-worker",
		"PodDisruptionBudget/pacifica-dispatcher-receiver", "PodDisruptionBudget/pacifica-dispatcher-worker"} {
		if _, ok := m.metas[want]; !ok {
			t.Errorf("no %s", want)
		}
	}
	if len(m.netpols) == 0 {
		t.Error("no NetworkPolicy")
	}
	// Unknown fields are refused: a misspelt field would otherwise be dropped silently.
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte("apiVersion: apps/v1\nkind: Deployment\nspec: {replica: 2}\n"), &d); err == nil {
		t.Error("a misspelt field decoded without an error")
	}
}

// The recommended labels, on every resource; the workloads also say their component.
func TestRecommendedLabels(t *testing.T) {
	m := load(t)
	version := ""
	for key, meta := range m.metas {
		for _, l := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
			"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} {
			if meta.Labels[l] == "" {
				t.Errorf("%s lacks the label %s", key, l)
			}
		}
		if version == "" {
			version = meta.Labels["app.kubernetes.io/version"]
		} else if v := meta.Labels["app.kubernetes.io/version"]; v != version {
			t.Errorf("%s: version %s, others %s", key, v, version)
		}
	}
	for key, p := range m.pods() {
		if p.Labels["app.kubernetes.io/component"] == "" || p.Labels["app.kubernetes.io/version"] != version {
			t.Errorf("%s: pod labels %v lack the component or version %s", key, p.Labels, version)
		}
		for _, c := range p.Spec.Containers {
			// The images are pinned, to the release the labels name.
			_, tag, ok := strings.Cut(c.Image, ":")
			if !ok || tag == "latest" || (tag != version && tag != version+"-slim") {
				t.Errorf("%s: image %s is not pinned to %s (or %s-slim)", key, c.Image, version, version)
			}
		}
	}
}

// Everything a resource names exists: ConfigMaps, Secrets and their keys, selectors that
// select, ports, scale targets.
func TestCrossReferences(t *testing.T) {
	m := load(t)
	for key, p := range m.pods() {
		for _, v := range p.Spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				if _, ok := m.configMaps[v.ConfigMap.Name]; !ok {
					t.Errorf("%s: volume %s: no ConfigMap %s", key, v.Name, v.ConfigMap.Name)
				}
			case v.Secret != nil:
				if _, ok := m.secrets[v.Secret.SecretName]; !ok {
					t.Errorf("%s: volume %s: no Secret %s", key, v.Name, v.Secret.SecretName)
				}
			}
		}
		for _, c := range p.Spec.Containers {
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil && m.configMaps[e.ConfigMapRef.Name].Name == "" {
					t.Errorf("%s: envFrom: no ConfigMap %s", key, e.ConfigMapRef.Name)
				}
				if e.SecretRef != nil && m.secrets[e.SecretRef.Name].Name == "" {
					t.Errorf("%s: envFrom: no Secret %s", key, e.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					r := e.ValueFrom.SecretKeyRef
					if _, ok := m.secrets[r.Name].StringData[r.Key]; !ok {
						t.Errorf("%s: %s: Secret %s has no key %s", key, e.Name, r.Name, r.Key)
					}
				}
			}
			// A file of the secrets volume (NAME_FILE) is a key of the Secret.
			for _, vm := range c.VolumeMounts {
				for _, v := range p.Spec.Volumes {
					if v.Name != vm.Name || v.Secret == nil {
						continue
					}
					for _, e := range c.Env {
						if rel, ok := strings.CutPrefix(e.Value, vm.MountPath+"/"); ok && strings.HasSuffix(e.Name, "_FILE") {
							if _, ok := m.secrets[v.Secret.SecretName].StringData[rel]; !ok {
								t.Errorf("%s: %s=%s: Secret %s has no key %s", key, e.Name, e.Value, v.Secret.SecretName, rel)
							}
						}
					}
				}
			}
			for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
				if probe != nil && probe.HTTPGet != nil && !hasPort(c, probe.HTTPGet.Port) {
					t.Errorf("%s: probe port %s is not a port of the container", key, probe.HTTPGet.Port.String())
				}
			}
		}
	}
	selects := func(sel *metav1.LabelSelector) []string {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for n, d := range m.deployments {
			if s.Matches(labels.Set(d.Spec.Template.Labels)) {
				out = append(out, n)
			}
		}
		return out
	}
	for n, d := range m.deployments {
		if got := selects(d.Spec.Selector); len(got) != 1 || got[0] != n {
			t.Errorf("Deployment %s: its selector selects %v", n, got)
		}
	}
	for _, s := range m.services {
		got := selects(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(got) != 1 || got[0] != "pacifica-dispatcher-receiver" {
			t.Errorf("Service %s selects %v, want the receivers alone", s.Name, got)
			continue
		}
		c := m.deployments[got[0]].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if !hasPort(c, p.TargetPort) {
				t.Errorf("Service %s: target port %s is not a port of the receivers", s.Name, p.TargetPort.String())
			}
		}
	}
	for _, p := range m.pdbs {
		if got := selects(p.Spec.Selector); len(got) != 1 {
			t.Errorf("PodDisruptionBudget %s selects %v", p.Name, got)
		}
	}
	for _, np := range m.netpols {
		if got := selects(&np.Spec.PodSelector); len(got) == 0 {
			t.Errorf("NetworkPolicy %s selects no Deployment", np.Name)
		}
		for _, r := range np.Spec.Ingress {
			for _, p := range r.Ports {
				for _, d := range selects(&np.Spec.PodSelector) {
					if p.Port != nil && !hasPort(m.deployments[d].Spec.Template.Spec.Containers[0], *p.Port) {
						t.Errorf("NetworkPolicy %s: port %s is not a port of %s", np.Name, p.Port.String(), d)
					}
				}
			}
		}
	}
	for _, h := range m.hpas {
		if _, ok := m.deployments[h.Spec.ScaleTargetRef.Name]; !ok || h.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("HorizontalPodAutoscaler %s: no Deployment %s", h.Name, h.Spec.ScaleTargetRef.Name)
		}
		if d := m.deployments[h.Spec.ScaleTargetRef.Name]; d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas, which the autoscaler owns (each apply would reset them)", d.Name)
		}
	}
	for _, so := range m.scaled {
		d, ok := m.deployments[so.Spec.ScaleTargetRef.Name]
		if !ok {
			t.Fatalf("ScaledObject %s: no Deployment %s", so.Name, so.Spec.ScaleTargetRef.Name)
		}
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas, which KEDA owns", d.Name)
		}
		if so.Spec.MinReplicaCount == nil || *so.Spec.MinReplicaCount < 1 {
			t.Errorf("ScaledObject %s scales the workers to zero: the jobs they run are not in the queue", so.Name)
		}
		env := resolveEnv(t, m, d.Spec.Template.Spec.Containers[0])
		for _, tr := range so.Spec.Triggers {
			if tr.Type != "rabbitmq" {
				continue
			}
			if want := env["BROKER_QUEUE_PREFIX"] + ".jobs"; tr.Metadata["queueName"] != want {
				t.Errorf("ScaledObject %s counts queue %s, the workers consume %s", so.Name, tr.Metadata["queueName"], want)
			}
			if tr.Metadata["value"] != env["WORKER_CONCURRENCY"] {
				t.Errorf("ScaledObject %s: %s messages per worker, WORKER_CONCURRENCY is %s", so.Name, tr.Metadata["value"], env["WORKER_CONCURRENCY"])
			}
			ta, ok := m.triggerAuths[tr.AuthenticationRef.Name]
			if !ok {
				t.Errorf("ScaledObject %s: no TriggerAuthentication %s", so.Name, tr.AuthenticationRef.Name)
			}
			for _, r := range ta.Spec.SecretTargetRef {
				if _, ok := m.secrets[r.Name].StringData[r.Key]; !ok {
					t.Errorf("TriggerAuthentication %s: Secret %s has no key %s", ta.Name, r.Name, r.Key)
				}
			}
		}
	}
}

func hasPort(c corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return true
		}
	}
	return false
}

// settings are the service's environment variables (the envconfig fields of
// service.Config), with their defaults, and the NAME_FILE variants of credentials.
func settings(t *testing.T) (defaults map[string]string, known map[string]bool) {
	t.Helper()
	defaults, known = map[string]string{}, map[string]bool{
		// The Go runtime's own.
		"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true,
	}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := range rt.NumField() {
			f := rt.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			name := f.Tag.Get("envconfig")
			if name == "" {
				continue
			}
			known[name], defaults[name] = true, f.Tag.Get("default")
			if strings.Contains(f.Tag.Get("desc"), name+"_FILE") {
				known[name+"_FILE"] = true
			}
		}
	}
	walk(reflect.TypeFor[service.Config]())
	if len(known) < 40 {
		t.Fatalf("only %d settings found in service.Config", len(known))
	}
	return defaults, known
}

// resolveEnv is a container's environment as the service sees it: its defaults, then the
// envFrom sources, then env (which wins).
func resolveEnv(t *testing.T, m *manifests, c corev1.Container) map[string]string {
	t.Helper()
	env, _ := settings(t)
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			for k, v := range m.configMaps[e.ConfigMapRef.Name].Data {
				env[k] = v
			}
		}
		if e.SecretRef != nil {
			for k, v := range m.secrets[e.SecretRef.Name].StringData {
				env[k] = v
			}
		}
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// Every variable given to a container is a setting of the service: a misspelt one would be
// ignored, and the default used.
func TestEnvironmentNamesAreSettings(t *testing.T) {
	m := load(t)
	_, known := settings(t)
	for key, p := range m.pods() {
		for _, c := range p.Spec.Containers {
			for _, e := range c.Env {
				if !known[e.Name] {
					t.Errorf("%s: %s is not a setting of the service", key, e.Name)
				}
			}
			for _, e := range c.EnvFrom {
				var keys []string
				if e.ConfigMapRef != nil {
					for k := range m.configMaps[e.ConfigMapRef.Name].Data {
						keys = append(keys, k)
					}
				}
				if e.SecretRef != nil {
					for k := range m.secrets[e.SecretRef.Name].StringData {
						keys = append(keys, k)
					}
				}
				for _, k := range keys {
					if !known[k] {
						t.Errorf("%s: %s (from envFrom) is not a setting of the service", key, k)
					}
				}
			}
		}
	}
}

// Pod Security "restricted" for every pod, as the namespace enforces it; the worker's
// procMount: Unmasked is admitted because the pod has its own user namespace (policy
// v1.35 and later).
func TestPodSecurityRestricted(t *testing.T) {
	m := load(t)
	ns := m.namespaces[0].Labels
	if ns["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("the namespace does not enforce restricted: %v", ns)
	}
	if v := ns["pod-security.kubernetes.io/enforce-version"]; v != "latest" && !versionAtLeast(v, 1, 35) {
		t.Errorf("enforce-version %s: procMount Unmasked in a user namespace is admitted from v1.35", v)
	}
	users := dockerfileUsers(t)
	for key, p := range m.pods() {
		s := p.Spec
		psc := s.SecurityContext
		if psc == nil {
			t.Errorf("%s: no pod securityContext", key)
			continue
		}
		if s.HostNetwork || s.HostPID || s.HostIPC {
			t.Errorf("%s shares a host namespace", key)
		}
		if psc.RunAsGroup == nil || *psc.RunAsGroup == 0 || (psc.FSGroup != nil && *psc.FSGroup == 0) {
			t.Errorf("%s: runAsGroup (and fsGroup) must be set and not 0", key)
		}
		for _, v := range s.Volumes {
			if v.ConfigMap == nil && v.Secret == nil && v.EmptyDir == nil && v.Projected == nil && v.DownwardAPI == nil &&
				v.PersistentVolumeClaim == nil && v.Ephemeral == nil {
				t.Errorf("%s: volume %s is of a type restricted forbids", key, v.Name)
			}
			if v.EmptyDir != nil && v.EmptyDir.SizeLimit == nil {
				t.Errorf("%s: emptyDir %s has no sizeLimit", key, v.Name)
			}
		}
		for _, c := range s.Containers {
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s/%s: no securityContext", key, c.Name)
				continue
			}
			nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
			uid := psc.RunAsUser
			if sc.RunAsUser != nil {
				uid = sc.RunAsUser
			}
			if !nonRoot || uid == nil || *uid == 0 {
				t.Errorf("%s/%s: runAsNonRoot with a numeric, non-zero runAsUser is required (the kubelet cannot check a user name)", key, c.Name)
			} else {
				stage := "full"
				if strings.HasSuffix(c.Image, "-slim") {
					stage = "slim"
				}
				if want := users[stage]; want != fmt.Sprintf("%d:%d", *uid, *psc.RunAsGroup) {
					t.Errorf("%s/%s runs as %d:%d, the Dockerfile's %s image as %s", key, c.Name, *uid, *psc.RunAsGroup, stage, want)
				}
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Errorf("%s/%s is privileged", key, c.Name)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: allowPrivilegeEscalation must be false", key, c.Name)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s/%s: capabilities must drop ALL", key, c.Name)
			} else if len(sc.Capabilities.Add) > 0 && !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) {
				t.Errorf("%s/%s adds capabilities %v", key, c.Name, sc.Capabilities.Add)
			}
			seccomp := psc.SeccompProfile
			if sc.SeccompProfile != nil {
				seccomp = sc.SeccompProfile
			}
			if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
				t.Errorf("%s/%s: the seccomp profile must be RuntimeDefault or Localhost", key, c.Name)
			}
			if seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeLocalhost {
				checkSeccompProfile(t, key, *seccomp.LocalhostProfile)
			}
			if sc.AppArmorProfile != nil && sc.AppArmorProfile.Type == corev1.AppArmorProfileTypeUnconfined {
				t.Errorf("%s/%s: AppArmor Unconfined is refused by baseline", key, c.Name)
			}
			if sc.ProcMount != nil && *sc.ProcMount != corev1.DefaultProcMount && (s.HostUsers == nil || *s.HostUsers) {
				t.Errorf("%s/%s: procMount %s needs the pod in its own user namespace (hostUsers: false)", key, c.Name, *sc.ProcMount)
			}
			for _, port := range c.Ports {
				if port.HostPort != 0 {
					t.Errorf("%s/%s uses a host port", key, c.Name)
				}
			}
		}
	}
	// The workers run bubblewrap: what the pod needs for it.
	w := m.deployments["pacifica-dispatcher-worker"].Spec.Template.Spec
	if env := resolveEnv(t, m, w.Containers[0]); env["SANDBOX"] == "bwrap" {
		sc := w.Containers[0].SecurityContext
		if w.HostUsers == nil || *w.HostUsers || sc.ProcMount == nil || *sc.ProcMount != corev1.UnmaskedProcMount ||
			w.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost {
			t.Error("the worker runs SANDBOX=bwrap without hostUsers: false, procMount: Unmasked and its Localhost seccomp profile")
		}
	}
}

func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	if _, err := fmt.Sscanf(v, "v%d.%d", &a, &b); err != nil {
		return false
	}
	return a > major || (a == major && b >= minor)
}

// checkSeccompProfile checks the Localhost profile shipped for the nodes: valid, and not
// refusing what bubblewrap calls.
func checkSeccompProfile(t *testing.T, key, rel string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("seccomp", path.Base(rel)))
	if err != nil {
		t.Errorf("%s: the Localhost seccomp profile %s is not shipped in deploy/kubernetes/seccomp: %v", key, rel, err)
		return
	}
	var prof struct {
		DefaultAction string   `json:"defaultAction"`
		Architectures []string `json:"architectures"`
		Syscalls      []struct {
			Names    []string `json:"names"`
			Action   string   `json:"action"`
			ErrnoRet *uint    `json:"errnoRet"`
		} `json:"syscalls"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&prof); err != nil {
		t.Fatalf("seccomp profile %s: %v", rel, err)
	}
	if prof.DefaultAction != "SCMP_ACT_ALLOW" || len(prof.Syscalls) == 0 {
		t.Errorf("seccomp profile %s: want an allow-by-default profile that refuses a list", rel)
	}
	for _, s := range prof.Syscalls {
		for _, n := range s.Names {
			if slices.Contains([]string{"clone", "clone3", "unshare", "mount", "umount2", "pivot_root", "sethostname",
				"prctl", "setrlimit", "prlimit64", "execve"}, n) && s.Action != "SCMP_ACT_ALLOW" {
				t.Errorf("seccomp profile %s refuses %s, which bubblewrap needs", rel, n)
			}
		}
	}
}

// dockerfileUsers returns the numeric USER (uid:gid) of each stage of the Dockerfile.
func dockerfileUsers(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	stage := ""
	for _, line := range strings.Split(string(readFile(t, filepath.Join("..", "..", "Dockerfile"))), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[0] == "FROM" && strings.EqualFold(f[2], "AS"):
			stage = f[3]
		case len(f) == 2 && f[0] == "USER":
			if !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(f[1]) {
				t.Errorf("Dockerfile stage %s: USER %s is not a numeric uid:gid (the kubelet cannot check runAsNonRoot on a name)", stage, f[1])
			}
			out[stage] = f[1]
		}
	}
	if out["slim"] == "" || out["full"] == "" {
		t.Fatalf("Dockerfile: no USER in the slim and full stages: %v", out)
	}
	return out
}

// Shutdown: the grace period covers what the process does on SIGTERM, and the probes ask
// the routes the service serves.
func TestProbesAndShutdown(t *testing.T) {
	m := load(t)
	h := serviceHandler(t)
	for key, p := range m.pods() {
		for _, c := range p.Spec.Containers {
			env := resolveEnv(t, m, c)
			for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
				if probe == nil {
					continue
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, probe.HTTPGet.Path, nil))
				if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
					t.Errorf("%s: probe path %s is not served (%d)", key, probe.HTTPGet.Path, rec.Code)
				}
				// /readyz answers within its own 2 s deadline.
				if probe.TimeoutSeconds < 3 {
					t.Errorf("%s: probe %s times out in %ds, under /readyz's 2s", key, probe.HTTPGet.Path, probe.TimeoutSeconds)
				}
			}
			if path := p.Annotations["prometheus.io/path"]; path != "" {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					t.Errorf("%s: %s answers %d", key, path, rec.Code)
				}
				if port := p.Annotations["prometheus.io/port"]; !strings.HasSuffix(env["LISTEN_ADDR"], ":"+port) {
					t.Errorf("%s: scraped on port %s, LISTEN_ADDR is %s", key, port, env["LISTEN_ADDR"])
				}
			}
			for _, cp := range c.Ports {
				if !strings.HasSuffix(env["LISTEN_ADDR"], ":"+strconv.Itoa(int(cp.ContainerPort))) {
					t.Errorf("%s: container port %d, LISTEN_ADDR is %s", key, cp.ContainerPort, env["LISTEN_ADDR"])
				}
			}
			if !strings.HasPrefix(key, "Deployment/") {
				continue
			}
			need := duration(t, env["SHUTDOWN_TIMEOUT"])
			if slices.Contains(c.Args, "--role=receiver") {
				need += duration(t, env["DRAIN_TIMEOUT"])
				if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
					t.Errorf("%s: a receiver needs a preStop sleep while its endpoint is removed", key)
				} else {
					need += time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
				}
			}
			grace := time.Duration(*p.Spec.TerminationGracePeriodSeconds) * time.Second
			if grace <= need {
				t.Errorf("%s: terminationGracePeriodSeconds %s does not cover preStop + DRAIN_TIMEOUT + SHUTDOWN_TIMEOUT = %s", key, grace, need)
			}
		}
	}
}

func duration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// serviceHandler builds a receiver and returns its HTTP handler. It reaches nothing: its
// PostgreSQL and RabbitMQ addresses refuse connections.
func serviceHandler(t *testing.T) http.Handler {
	t.Helper()
	cfg, err := service.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Role, cfg.ListenAddr = service.RoleReceiver, "127.0.0.1:0"
	cfg.DatabaseURL = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1"
	cfg.BrokerURL = "amqp://nobody:nobody@127.0.0.1:1/"
	cfg.ReceiverAuthType, cfg.ReceiverAuthUsername, cfg.ReceiverAuthPassword = "basic", "pacifica", "secret"
	cfg.CatchUpInterval, cfg.SubscriptionCheckInterval, cfg.DrainTimeout = 0, 0, 0
	cfg.ScriptDir = t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	svc, err := service.New(ctx, cfg, service.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cancel()
	// Run with the cancelled context shuts down at once and closes what New opened.
	t.Cleanup(func() {
		if err := svc.Run(ctx); err != nil {
			t.Log(err)
		}
	})
	return svc.Handler()
}

// The scripts ConfigMap is the repository's example, mounted where SCRIPT_DIR and
// DISPATCHER_K8S_CONFIG say in every pod that routes or runs scripts: a receiver without
// the scripts would record script events unrouted.
func TestScriptsMountedWhereConfigured(t *testing.T) {
	m := load(t)
	scripts, ini := m.configMaps["pacifica-dispatcher-scripts"], m.configMaps["pacifica-dispatcher-k8s-config"]
	if got, want := scripts.Data["example"], string(readFile(t, filepath.Join("..", "scripts.d", "example"))); got != want {
		t.Errorf("scripts.yaml's example differs from deploy/scripts.d/example:\n%s", got)
	}
	if got, want := ini.Data["config.ini"], string(readFile(t, filepath.Join("..", "dispatcher-k8s", "config.ini"))); got != want {
		t.Errorf("scripts.yaml's config.ini differs from deploy/dispatcher-k8s/config.ini:\n%s", got)
	}
	for _, key := range []string{"Deployment/pacifica-dispatcher-receiver", "Deployment/pacifica-dispatcher-worker", "Job/pacifica-dispatcher-subscribe"} {
		p := m.pods()[key]
		c := p.Spec.Containers[0]
		env := resolveEnv(t, m, c)
		mounted := map[string]string{} // mount path -> ConfigMap
		for _, vm := range c.VolumeMounts {
			for _, v := range p.Spec.Volumes {
				if v.Name == vm.Name && v.ConfigMap != nil {
					mounted[vm.MountPath] = v.ConfigMap.Name
					if v.ConfigMap.Name == scripts.Name && (v.ConfigMap.DefaultMode == nil || *v.ConfigMap.DefaultMode&0o111 == 0) {
						t.Errorf("%s: the scripts are not mounted executable", key)
					}
				}
			}
		}
		if mounted[env["SCRIPT_DIR"]] != scripts.Name {
			t.Errorf("%s: SCRIPT_DIR %s is not the scripts ConfigMap (mounts %v)", key, env["SCRIPT_DIR"], mounted)
		}
		dir, file := path.Split(env["DISPATCHER_K8S_CONFIG"])
		if mounted[strings.TrimSuffix(dir, "/")] != ini.Name || ini.Data[file] == "" {
			t.Errorf("%s: DISPATCHER_K8S_CONFIG %s is not the INI ConfigMap (mounts %v)", key, env["DISPATCHER_K8S_CONFIG"], mounted)
		}
	}
	// Quantities parse (sizeLimit above is a resource.Quantity): the worker's jobs volume
	// holds WORKER_CONCURRENCY attempts of SANDBOX_DISK.
	w := m.deployments["pacifica-dispatcher-worker"].Spec.Template.Spec
	env := resolveEnv(t, m, w.Containers[0])
	var disk service.ByteSize
	if err := disk.Decode(env["SANDBOX_DISK"]); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(env["WORKER_CONCURRENCY"])
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range w.Volumes {
		for _, vm := range w.Containers[0].VolumeMounts {
			if vm.Name == v.Name && vm.MountPath == "/var/lib/dispatcher/jobs" {
				need := resource.NewQuantity(int64(disk)*int64(n), resource.BinarySI)
				if v.EmptyDir == nil || v.EmptyDir.SizeLimit.Cmp(*need) < 0 {
					t.Errorf("the worker's jobs volume is smaller than WORKER_CONCURRENCY × SANDBOX_DISK = %s", need)
				}
			}
		}
	}
}
