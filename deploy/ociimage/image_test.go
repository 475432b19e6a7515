package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// fleetsimBinary builds cmd/fleetsim the way `make image` does (static,
// CGO_ENABLED=0, -trimpath) for this machine's architecture, once per test
// binary.
func fleetsimBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ociimage-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "fleetsim")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", builtBin, "github.com/fleetsim/fleetsim/cmd/fleetsim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("go build ./cmd/fleetsim: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

var testCerts = []byte("-----BEGIN CERTIFICATE-----\nnot a real certificate\n-----END CERTIFICATE-----\n")

func testOptions(bin string) Options {
	return Options{
		Binaries: []Binary{{Platform: v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, Path: bin}},
		Created:  time.Unix(1765000000, 0).UTC(),
		CACerts:  testCerts,
		Version:  "v1.2.3",
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Source:   "https://github.com/fleetsim/fleetsim",
		Licenses: "Apache-2.0",
	}
}

// TestStaticBinary: the binary the image carries needs no dynamic loader
// nor shared library (the SQLite driver is pure Go), so it runs in an image
// that holds nothing else.
func TestStaticBinary(t *testing.T) {
	f, err := elf.Open(fleetsimBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("fleetsim has a PT_INTERP program header: it is dynamically linked")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("fleetsim needs shared libraries %v", libs)
	}
	out, err := exec.Command("go", "version", "-m", fleetsimBinary(t)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "CGO_ENABLED=0") {
		t.Errorf("go version -m does not say CGO_ENABLED=0:\n%s", out)
	}
}

// TestImage writes the image of a freshly built binary and reads it back the
// way a registry client would: the OCI layout, the index, the manifest, the
// config and the layer's files, then runs the binary taken out of the layer.
func TestImage(t *testing.T) {
	bin := fleetsimBinary(t)
	o := testOptions(bin)
	dir := t.TempDir()
	ref, _ := name.NewTag("fleetsim:test")
	res, err := Write(dir, ref, o)
	if err != nil {
		t.Fatal(err)
	}

	p, err := layout.FromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].MediaType != types.OCIImageIndex ||
		tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "test" ||
		tm.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/fleetsim:test" {
		t.Fatalf("index.json = %+v, want one OCI index named fleetsim:test", tm.Manifests)
	}
	if tm.Manifests[0].Digest != res.Index {
		t.Fatalf("index.json lists %s, Write reported %s", tm.Manifests[0].Digest, res.Index)
	}
	idx, err := top.ImageIndex(res.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Fatalf("index does not validate: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil ||
		im.Manifests[0].Platform.OS != "linux" || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("index manifests = %+v, want one linux/%s image", im.Manifests, runtime.GOARCH)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, o)

	// The docker-archive tarball holds the same config and layer under the
	// tag (a docker-archive has no manifest of its own: read back, it gets
	// Docker's media types, hence another manifest digest).
	tb, err := tarball.ImageFromPath(res.Platforms[0].Tarball, &ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(tb); err != nil {
		t.Fatalf("tarball image does not validate: %v", err)
	}
	ca, _ := img.ConfigName()
	cb, _ := tb.ConfigName()
	la, _ := img.Layers()
	lb, _ := tb.Layers()
	if ca != cb || len(la) != 1 || len(lb) != 1 {
		t.Fatalf("tarball config %s (%d layers), layout config %s (%d layers)", cb, len(lb), ca, len(la))
	}
	if da, _ := la[0].Digest(); true {
		if db, _ := lb[0].Digest(); da != db {
			t.Errorf("tarball layer %s, layout layer %s", db, da)
		}
	}
	t.Logf("index %s; linux/%s image %s, layer %d bytes compressed", res.Index, runtime.GOARCH, res.Platforms[0].Digest, res.Platforms[0].LayerSize)
}

func checkImage(t *testing.T, img v1.Image, o Options) {
	t.Helper()
	if err := validate.Image(img); err != nil {
		t.Fatalf("image does not validate: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != types.OCILayer {
		t.Errorf("manifest media types %s / config %s / %d layers, want OCI manifest, OCI config, one OCI gzip layer",
			m.MediaType, m.Config.MediaType, len(m.Layers))
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s", cf.OS, cf.Architecture)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/fleetsim"}) {
		t.Errorf("Entrypoint = %q", c.Entrypoint)
	}
	if c.User != "65532:65532" {
		t.Errorf("User = %q, want the nonroot 65532:65532", c.User)
	}
	if c.WorkingDir != "/data" {
		t.Errorf("WorkingDir = %q", c.WorkingDir)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v, want /data", c.Volumes)
	}
	if !cf.Created.Time.Equal(o.Created) || len(cf.History) != 1 || !cf.History[0].Created.Time.Equal(o.Created) {
		t.Errorf("Created %v, history %+v: want every time %v", cf.Created, cf.History, o.Created)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.source":   o.Source,
		"org.opencontainers.image.licenses": o.Licenses,
		"org.opencontainers.image.created":  "2025-12-06T05:46:40Z",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}

	// The layer: every file and directory, its mode and owner.
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type file struct {
		mode     int64
		uid, gid int
		data     []byte
	}
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(o.Created) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, o.Created)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+h.Name] = file{h.Mode, h.Uid, h.Gid, data}
	}
	want := map[string]file{
		"/usr/local/bin/fleetsim":            {0o755, 0, 0, nil},
		"/tmp/":                              {0o1777, 0, 0, nil},
		"/data/":                             {0o755, 65532, 65532, nil},
		"/home/nonroot/":                     {0o700, 65532, 65532, nil},
		"/etc/passwd":                        {0o644, 0, 0, nil},
		"/etc/group":                         {0o644, 0, 0, nil},
		"/etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0, testCerts},
	}
	for n, w := range want {
		f, ok := files[n]
		if !ok {
			t.Errorf("layer has no %s", n)
			continue
		}
		if f.mode != w.mode || f.uid != w.uid || f.gid != w.gid {
			t.Errorf("%s: mode %o uid %d gid %d, want mode %o uid %d gid %d", n, f.mode, f.uid, f.gid, w.mode, w.uid, w.gid)
		}
		if w.data != nil && !bytes.Equal(f.data, w.data) {
			t.Errorf("%s: content differs from the input", n)
		}
	}
	if !strings.Contains(string(files["/etc/passwd"].data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd has no nonroot 65532 entry:\n%s", files["/etc/passwd"].data)
	}
	orig, err := os.ReadFile(o.Binaries[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["/usr/local/bin/fleetsim"].data, orig) {
		t.Fatal("the layer's fleetsim differs from the binary it was built from")
	}

	// Run the binary taken out of the layer, as the container would.
	exe := filepath.Join(t.TempDir(), "fleetsim")
	if err := os.WriteFile(exe, files["/usr/local/bin/fleetsim"].data, 0o755); err != nil {
		t.Fatal(err)
	}
	runExtracted(t, exe)
}

// runExtracted runs fleetsim --version (module version and commit) and, when
// this build has no --version yet, --help.
func runExtracted(t *testing.T, exe string) {
	t.Helper()
	out, err := exec.Command(exe, "--version").CombinedOutput()
	if err == nil && strings.HasPrefix(string(out), "fleetsim ") {
		t.Logf("extracted fleetsim --version:\n%s", out)
		return
	}
	out, err = exec.Command(exe, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("extracted fleetsim --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "fleetsim") || !strings.Contains(string(out), "serve") {
		t.Fatalf("extracted fleetsim --help printed:\n%s", out)
	}
	t.Logf("extracted fleetsim --help: %s", strings.SplitN(string(out), "\n", 2)[0])
}

// TestReproducible: the same binary (copied elsewhere, written at another
// time) and options give the same bytes in every output file; another
// SOURCE_DATE_EPOCH gives another digest.
func TestReproducible(t *testing.T) {
	bin := fleetsimBinary(t)
	copyBin := filepath.Join(t.TempDir(), "fleetsim-copy")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyBin, data, 0o700); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewTag("fleetsim:dev")
	a, b := t.TempDir(), t.TempDir()
	ra, err := Write(a, ref, testOptions(bin))
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Write(b, ref, testOptions(copyBin))
	if err != nil {
		t.Fatal(err)
	}
	if ra.Index != rb.Index {
		t.Fatalf("index digests %s and %s from the same input", ra.Index, rb.Index)
	}
	if ha, hb := treeHashes(t, a), treeHashes(t, b); !maps.Equal(ha, hb) {
		t.Fatalf("outputs differ:\n%v\n%v", ha, hb)
	}
	// The timestamp is in the image: another epoch, another digest (a small
	// stand-in binary is enough to show it).
	small := filepath.Join(t.TempDir(), "small")
	if err := os.WriteFile(small, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o1, o2 := testOptions(small), testOptions(small)
	o2.Created = o2.Created.Add(time.Second)
	i1, _, err := Build(o1)
	if err != nil {
		t.Fatal(err)
	}
	i2, _, err := Build(o2)
	if err != nil {
		t.Fatal(err)
	}
	if d1, _ := i1.Digest(); true {
		if d2, _ := i2.Digest(); d1 == d2 {
			t.Fatal("a different SOURCE_DATE_EPOCH gave the same digest: the timestamp is not in the image")
		}
	}
	t.Logf("same input, same index digest %s", ra.Index)
}

func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	h := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(root, p)
		h[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSourceDateEpoch(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{{"", 0, false}, {"1765000000", 1765000000, false}, {"x", 0, true}, {"-1", 0, true}} {
		got, err := sourceDateEpoch(c.in)
		if (err != nil) != c.err || (!c.err && got.Unix() != c.want) {
			t.Errorf("sourceDateEpoch(%q) = %v, %v", c.in, got, err)
		}
	}
}
