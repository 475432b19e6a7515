package k8s

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/fleetsim/fleetsim/sim"
	"github.com/fleetsim/fleetsim/sim/api"
)

// The image's user and port (deploy/ociimage, Dockerfile).
const (
	imageUID  = 65532
	imagePort = 8080
)

// kustomization is the part of kustomize's Kustomization these files use.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// object is one decoded manifest document.
type object struct {
	file string
	obj  runtime.Object
}

func scheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// load decodes every document of every resource that dir's kustomization
// lists, strictly: an unknown or duplicated field, a kind the API has no
// type for or a value of the wrong type is an error.
func load(t *testing.T, dir string) []object {
	t.Helper()
	kb, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(kb, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("%s/kustomization.yaml: %s %s", dir, k.APIVersion, k.Kind)
	}
	// Every manifest in the directory is listed, and nothing else.
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Fatalf("%s: kustomization lists %v, the directory holds %v", dir, got, want)
	}

	s := scheme(t)
	var objs []object
	for _, r := range k.Resources {
		file := filepath.Join(dir, r)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rd := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for n := 1; ; n++ {
			doc, err := rd.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Fatalf("%s document %d: %v", file, n, err)
			}
			gvk := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
			obj, err := s.New(gvk)
			if err != nil {
				t.Fatalf("%s document %d: %v", file, n, err)
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d (%s): %v", file, n, tm.Kind, err)
			}
			objs = append(objs, object{fmt.Sprintf("%s#%d", file, n), obj})
		}
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

func only[T runtime.Object](t *testing.T, objs []object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want one %T, found %d", zero, len(found))
	}
	return found[0]
}

func all[T runtime.Object](objs []object) []T {
	var found []T
	for _, o := range objs {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	return found
}

// podSpecs returns every pod template of objs, by workload name.
func podSpecs(objs []object) map[string]*corev1.PodSpec {
	m := map[string]*corev1.PodSpec{}
	for _, o := range objs {
		switch w := o.obj.(type) {
		case *batchv1.Job:
			m[w.Name] = &w.Spec.Template.Spec
		case *appsv1.Deployment:
			m[w.Name] = &w.Spec.Template.Spec
		case *appsv1.StatefulSet:
			m[w.Name] = &w.Spec.Template.Spec
		}
	}
	return m
}

// TestShardJob: the Indexed Job's pods each run one shard of one scenario
// and write their part to the shared volume, and the merge Job reads exactly
// those parts.
func TestShardJob(t *testing.T) {
	shards := load(t, "shards")
	merge := load(t, "merge")

	job := only[*batchv1.Job](t, shards)
	sp := job.Spec
	if sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion {
		t.Fatalf("completionMode = %v, want Indexed", sp.CompletionMode)
	}
	if sp.Completions == nil || sp.Parallelism == nil || *sp.Completions != *sp.Parallelism || *sp.Completions < 1 {
		t.Fatalf("completions %v, parallelism %v: want equal N ≥ 1", sp.Completions, sp.Parallelism)
	}
	n := int(*sp.Completions)
	if sp.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: backoffLimitPerIndex and podFailurePolicy need Never", sp.Template.Spec.RestartPolicy)
	}
	if sp.BackoffLimitPerIndex == nil || sp.MaxFailedIndexes == nil || *sp.MaxFailedIndexes != 0 {
		t.Errorf("want backoffLimitPerIndex and maxFailedIndexes 0: the merge needs every part")
	}

	c := onlyContainer(t, job.Name, &sp.Template.Spec)
	args := c.Args
	if len(args) < 2 || args[0] != "run" {
		t.Fatalf("args %q: want run FILE …", args)
	}
	if got := flagValue(t, args, "--shard"); got != fmt.Sprintf("$(JOB_COMPLETION_INDEX)/%d", n) {
		t.Errorf("--shard %q, want $(JOB_COMPLETION_INDEX)/%d (N = completions)", got, n)
	}
	part := flagValue(t, args, "--json")
	if part != "/parts/part-$(JOB_COMPLETION_INDEX).json" {
		t.Errorf("--json %q, want /parts/part-$(JOB_COMPLETION_INDEX).json", part)
	}
	idx := envVar(c, "JOB_COMPLETION_INDEX")
	if idx == nil || idx.ValueFrom == nil || idx.ValueFrom.FieldRef == nil ||
		idx.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX is not the completion-index annotation: %+v", idx)
	}

	// The scenario is a key of the ConfigMap mounted where args[1] points,
	// and fleetsim validate accepts it.
	cm := only[*corev1.ConfigMap](t, shards)
	scenarioDir, scenarioFile := filepath.Split(args[1])
	mountedVolume(t, &sp.Template.Spec, c, filepath.Clean(scenarioDir), func(v corev1.Volume) bool {
		return v.ConfigMap != nil && v.ConfigMap.Name == cm.Name
	})
	text, ok := cm.Data[scenarioFile]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s (args %q)", cm.Name, scenarioFile, args)
	}
	validateScenario(t, scenarioFile, text, n)

	// Parts land on the ReadWriteMany claim, mounted where --json points.
	pvc := only[*corev1.PersistentVolumeClaim](t, shards)
	if !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany) {
		t.Errorf("claim %s access modes %v: the shards run on several nodes, want ReadWriteMany", pvc.Name, pvc.Spec.AccessModes)
	}
	onClaim := func(v corev1.Volume) bool {
		return v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name
	}
	mountedVolume(t, &sp.Template.Spec, c, filepath.Dir(part), onClaim)

	// Sized: requests and limits of CPU and memory, GOMEMLIMIT under the
	// memory limit.
	checkResources(t, job.Name, c, true)
	if v := envVar(c, "GOMEMLIMIT"); v != nil {
		lim := c.Resources.Limits[corev1.ResourceMemory]
		soft, err := resource.ParseQuantity(strings.TrimSuffix(v.Value, "B"))
		if err != nil || soft.Cmp(lim) >= 0 {
			t.Errorf("GOMEMLIMIT %q is not under the memory limit %s", v.Value, lim.String())
		}
	}

	// The merge reads part-0 … part-(N-1) from the same claim.
	mj := only[*batchv1.Job](t, merge)
	mc := onlyContainer(t, mj.Name, &mj.Spec.Template.Spec)
	var wantArgs []string
	wantArgs = append(wantArgs, "merge")
	for i := range n {
		wantArgs = append(wantArgs, strings.ReplaceAll(part, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i)))
	}
	if len(mc.Args) < len(wantArgs) || !slices.Equal(mc.Args[:len(wantArgs)], wantArgs) {
		t.Errorf("merge args %q, want %q then --json/--junit", mc.Args, wantArgs)
	}
	rest := mc.Args[min(len(wantArgs), len(mc.Args)):]
	for _, f := range []string{"--json", "--junit"} {
		if v := flagValue(t, rest, f); filepath.Dir(v) != filepath.Dir(part) {
			t.Errorf("merge %s %q is not on the parts volume", f, v)
		}
	}
	mountedVolume(t, &mj.Spec.Template.Spec, mc, filepath.Dir(part), onClaim)
	if mj.Spec.BackoffLimit == nil || *mj.Spec.BackoffLimit != 0 {
		t.Errorf("merge backoffLimit %v, want 0: a failed expectation fails again", mj.Spec.BackoffLimit)
	}
	checkResources(t, mj.Name, mc, true)

	checkPods(t, append(shards, merge...))
}

// TestServiceLayout: API-only replicas behind a Service and a modem host,
// on one database whose URL and the account's credentials come from one
// Secret; probes point at a path the server answers.
func TestServiceLayout(t *testing.T) {
	objs := load(t, "service")
	secret := only[*corev1.Secret](t, objs)
	for _, k := range []string{"FLEETSIM_ACCOUNT_SID", "FLEETSIM_AUTH_TOKEN", "FLEETSIM_STATE"} {
		if _, ok := secret.StringData[k]; !ok {
			t.Errorf("Secret %s has no %s", secret.Name, k)
		}
	}
	if !strings.HasPrefix(secret.StringData["FLEETSIM_STATE"], "postgres://") {
		t.Errorf("FLEETSIM_STATE %q is not a postgres:// URL", secret.StringData["FLEETSIM_STATE"])
	}

	dep := only[*appsv1.Deployment](t, objs)
	sts := only[*appsv1.StatefulSet](t, objs)
	for _, w := range []struct {
		name   string
		labels map[string]string
		sel    *metav1.LabelSelector
		spec   *corev1.PodSpec
		modems func(int) bool
	}{
		{dep.Name, dep.Spec.Template.Labels, dep.Spec.Selector, &dep.Spec.Template.Spec, func(m int) bool { return m == 0 }},
		{sts.Name, sts.Spec.Template.Labels, sts.Spec.Selector, &sts.Spec.Template.Spec, func(m int) bool { return m > 0 }},
	} {
		sel, err := metav1.LabelSelectorAsSelector(w.sel)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(w.labels)) {
			t.Errorf("%s: selector %v does not select its pods %v", w.name, w.sel, w.labels)
		}
		c := onlyContainer(t, w.name, w.spec)
		if len(c.Args) == 0 || c.Args[0] != "serve" {
			t.Fatalf("%s: args %q, want serve …", w.name, c.Args)
		}
		m, err := strconv.Atoi(flagValue(t, c.Args, "--modems"))
		if err != nil || !w.modems(m) {
			t.Errorf("%s: --modems %q", w.name, flagValue(t, c.Args, "--modems"))
		}
		if got := flagValue(t, c.Args, "--state"); got != "$(FLEETSIM_STATE)" {
			t.Errorf("%s: --state %q, want $(FLEETSIM_STATE) from the Secret", w.name, got)
		}
		if got := flagValue(t, c.Args, "--listen"); got != fmt.Sprintf("0.0.0.0:%d", imagePort) {
			t.Errorf("%s: --listen %q: the Service can't reach a loopback listener", w.name, got)
		}
		for _, k := range []string{"FLEETSIM_ACCOUNT_SID", "FLEETSIM_AUTH_TOKEN", "FLEETSIM_STATE"} {
			e := envVar(c, k)
			if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
				e.ValueFrom.SecretKeyRef.Name != secret.Name || e.ValueFrom.SecretKeyRef.Key != k {
				t.Errorf("%s: env %s is not the Secret's key %s", w.name, k, k)
			}
		}
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != imagePort || c.Ports[0].Name != "http" {
			t.Errorf("%s: ports %+v, want http %d", w.name, c.Ports, imagePort)
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: want readiness and liveness probes", w.name)
		}
		for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
			if p == nil {
				continue
			}
			if p.HTTPGet == nil || p.HTTPGet.Port.String() != "http" {
				t.Errorf("%s: probe %+v is not an HTTP GET on the http port", w.name, p)
				continue
			}
			serverAnswers(t, p.HTTPGet.Path)
		}
		checkResources(t, w.name, c, false)
	}
	if mv := volumeAt(&sts.Spec.Template.Spec, flagValue(t, sts.Spec.Template.Spec.Containers[0].Args, "--modem-dir")); mv == nil {
		t.Errorf("%s: nothing mounted at --modem-dir /modems", sts.Name)
	}

	// Each Service selects the pods of one workload, on its http port.
	svcs := all[*corev1.Service](objs)
	if len(svcs) != 2 {
		t.Fatalf("want 2 Services, found %d", len(svcs))
	}
	for _, s := range svcs {
		var targets []string
		for _, w := range []struct {
			name   string
			labels map[string]string
		}{{dep.Name, dep.Spec.Template.Labels}, {sts.Name, sts.Spec.Template.Labels}} {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(w.labels)) {
				targets = append(targets, w.name)
			}
		}
		if len(targets) != 1 || targets[0] != s.Name {
			t.Errorf("Service %s selects %v, want only the workload of its name", s.Name, targets)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].TargetPort.String() != "http" {
			t.Errorf("Service %s ports %+v, want the http port", s.Name, s.Spec.Ports)
		}
	}
	if sts.Spec.ServiceName != "fleetsim-modems" {
		t.Errorf("StatefulSet serviceName %q", sts.Spec.ServiceName)
	}
	pdb := only[*policyv1.PodDisruptionBudget](t, objs)
	if sel, _ := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); sel == nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("PodDisruptionBudget %s does not select %s's pods", pdb.Name, dep.Name)
	}
	checkPods(t, objs)
}

// TestSameImage: every workload of every directory runs the same image.
func TestSameImage(t *testing.T) {
	images := map[string][]string{}
	for _, dir := range []string{"shards", "merge", "service"} {
		for name, spec := range podSpecs(load(t, dir)) {
			for _, c := range append(spec.InitContainers, spec.Containers...) {
				images[c.Image] = append(images[c.Image], dir+"/"+name)
			}
		}
	}
	if len(images) != 1 {
		t.Fatalf("workloads run different images: %v", images)
	}
	for img := range images {
		if !regexp.MustCompile(`^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9._/-]+:[A-Za-z0-9._-]+$`).MatchString(img) || strings.HasSuffix(img, ":latest") {
			t.Errorf("image %q: want name:tag with a tag other than latest", img)
		}
	}
}

// checkPods: every pod runs as the image's nonroot user on a read-only root
// file system, with /tmp and /data writable, and mounts only volumes it
// declares.
func checkPods(t *testing.T, objs []object) {
	t.Helper()
	for name, spec := range podSpecs(objs) {
		sc := spec.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != imageUID {
			t.Errorf("%s: want runAsNonRoot and runAsUser %d", name, imageUID)
		}
		declared := map[string]bool{}
		for _, v := range spec.Volumes {
			declared[v.Name] = true
		}
		for _, c := range spec.Containers {
			csc := c.SecurityContext
			if csc == nil || csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
				csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
				t.Errorf("%s/%s: want a read-only root and no privilege escalation", name, c.Name)
			}
			for _, m := range c.VolumeMounts {
				if !declared[m.Name] {
					t.Errorf("%s/%s: mounts undeclared volume %s", name, c.Name, m.Name)
				}
			}
			for _, dir := range []string{"/tmp", "/data"} {
				if volumeAt(spec, dir) == nil {
					t.Errorf("%s/%s: nothing writable at %s under a read-only root", name, c.Name, dir)
				}
			}
		}
	}
}

func checkResources(t *testing.T, name string, c *corev1.Container, cpuLimit bool) {
	t.Helper()
	r := c.Resources
	for _, q := range []struct {
		what string
		list corev1.ResourceList
		res  corev1.ResourceName
	}{
		{"cpu request", r.Requests, corev1.ResourceCPU},
		{"memory request", r.Requests, corev1.ResourceMemory},
		{"memory limit", r.Limits, corev1.ResourceMemory},
	} {
		if v, ok := q.list[q.res]; !ok || v.IsZero() {
			t.Errorf("%s: no %s", name, q.what)
		}
	}
	if cpuLimit {
		if _, ok := r.Limits[corev1.ResourceCPU]; !ok {
			t.Errorf("%s: no cpu limit", name)
		}
	}
	if req, lim := r.Requests[corev1.ResourceMemory], r.Limits[corev1.ResourceMemory]; req.Cmp(lim) > 0 {
		t.Errorf("%s: memory request %s over the limit %s", name, req.String(), lim.String())
	}
}

func onlyContainer(t *testing.T, name string, spec *corev1.PodSpec) *corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(spec.Containers))
	}
	return &spec.Containers[0]
}

// flagValue is the value after flag in args ("--flag v" or "--flag=v").
func flagValue(t *testing.T, args []string, flag string) string {
	t.Helper()
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	t.Errorf("args %q have no %s", args, flag)
	return ""
}

func envVar(c *corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// volumeAt is the volume mounted at dir in spec's first container.
func volumeAt(spec *corev1.PodSpec, dir string) *corev1.Volume {
	for _, m := range spec.Containers[0].VolumeMounts {
		if filepath.Clean(m.MountPath) == dir {
			for i := range spec.Volumes {
				if spec.Volumes[i].Name == m.Name {
					return &spec.Volumes[i]
				}
			}
		}
	}
	return nil
}

func mountedVolume(t *testing.T, spec *corev1.PodSpec, c *corev1.Container, dir string, ok func(corev1.Volume) bool) {
	t.Helper()
	v := volumeAt(spec, dir)
	if v == nil || !ok(*v) {
		t.Errorf("%s: %s is not mounted from the expected volume (%+v)", c.Name, dir, v)
	}
}

// serverAnswers: GET path on fleetsim's real API handler is 200, without
// credentials (a kubelet probe sends none).
func serverAnswers(t *testing.T, path string) {
	t.Helper()
	ctl, err := sim.New(context.Background(), sim.NewMemStore())
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	srv := httptest.NewServer(api.New(ctl))
	defer srv.Close()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("probe path %s: the server answers %s", path, resp.Status)
	}
}

// validateScenario runs `fleetsim validate --shards N` (built from this
// tree) on the ConfigMap's scenario.
func validateScenario(t *testing.T, name, text string, shards int) {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "fleetsim")
	if out, err := exec.Command("go", "build", "-o", exe, "github.com/fleetsim/fleetsim/cmd/fleetsim").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(exe, "validate", "--shards", strconv.Itoa(shards), file).CombinedOutput(); err != nil {
		t.Errorf("fleetsim validate --shards %d %s: %v\n%s", shards, name, err, out)
	}
}

// TestBinaryLinksNoDeployDeps: the Kubernetes types and the image builder
// are for these tests and deploy/ only; the fleetsim binary links neither.
func TestBinaryLinksNoDeployDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/fleetsim/fleetsim/cmd/fleetsim").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") ||
			strings.HasPrefix(p, "github.com/google/go-containerregistry/") ||
			strings.HasPrefix(p, "github.com/fleetsim/fleetsim/deploy/") {
			t.Errorf("cmd/fleetsim depends on %s", p)
		}
	}
}
