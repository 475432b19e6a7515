package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's file system layout. The Dockerfile at the repository root lays
// out the same paths; TestDockerfile keeps the two in step.
const (
	// BinaryPath is where the fleetsim binary sits, and the entrypoint.
	BinaryPath = "/usr/local/bin/fleetsim"
	// DataDir is the working directory and volume for state and reports.
	DataDir = "/data"
	// CACertsPath is where the CA bundle goes when the build host has one.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
	// NonrootUID is the user (and group) the image runs as, the uid
	// distroless' nonroot images use.
	NonrootUID = 65532
	// Port is the port the manifests serve the API on (serve --listen).
	Port = 8080
)

// Binary is one platform's static fleetsim binary.
type Binary struct {
	Platform v1.Platform
	Path     string
}

// Options says what goes into an image. The same Options and the same
// binaries always give the same digests: every timestamp is Created.
type Options struct {
	Binaries []Binary
	// Created stamps the config, its history and every file in the layer
	// (SOURCE_DATE_EPOCH).
	Created time.Time
	// CACerts is the PEM bundle put at CACertsPath; none when empty.
	CACerts []byte
	// Labels of the config: org.opencontainers.image.* values.
	Version, Revision, Source, Licenses string
}

// Build makes one image per binary and the index that lists them, in OCI
// media types.
func Build(o Options) (v1.ImageIndex, []v1.Image, error) {
	if len(o.Binaries) == 0 {
		return nil, nil, fmt.Errorf("no binary to put in the image")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var imgs []v1.Image
	for _, b := range o.Binaries {
		img, err := buildImage(o, b)
		if err != nil {
			return nil, nil, fmt.Errorf("%s/%s: %w", b.Platform.OS, b.Platform.Architecture, err)
		}
		p := b.Platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
		imgs = append(imgs, img)
	}
	return idx, imgs, nil
}

// Labels are the config's labels for o.
func (o Options) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "fleetsim",
		"org.opencontainers.image.description": "Simulated cellular IoT devices on Twilio Super SIMs: REST API, virtual modems, scenario runner",
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{
		"version":  o.Version,
		"revision": o.Revision,
		"source":   o.Source,
		"licenses": o.Licenses,
	} {
		if v != "" {
			l["org.opencontainers.image."+k] = v
		}
	}
	return l
}

func buildImage(o Options, b Binary) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfs(o, bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	if len(o.CACerts) > 0 {
		env = append(env, "SSL_CERT_FILE="+CACertsPath)
	}
	uid := strconv.Itoa(NonrootUID)
	cfg := &v1.ConfigFile{
		Architecture: b.Platform.Architecture,
		Variant:      b.Platform.Variant,
		OS:           b.Platform.OS,
		Created:      v1.Time{Time: o.Created.UTC()},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			Entrypoint:   []string{BinaryPath},
			Cmd:          []string{"--help"},
			Env:          env,
			User:         uid + ":" + uid,
			WorkingDir:   DataDir,
			Labels:       o.Labels(),
			Volumes:      map[string]struct{}{DataDir: {}},
			ExposedPorts: map[string]struct{}{strconv.Itoa(Port) + "/tcp": {}},
		},
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created.UTC()},
			CreatedBy: "fleetsim deploy/ociimage: static binary, CA bundle, nonroot user, /tmp, " + DataDir,
		},
	})
}

// entry is one file or directory of the layer.
type entry struct {
	name     string // without the leading slash; directories end in /
	mode     int64
	uid, gid int
	data     []byte
}

// rootfs is the uncompressed tar of the image's only layer: parents before
// children, every header stamped with o.Created and no user or group names,
// so that it depends on nothing but its inputs.
func rootfs(o Options, bin []byte) ([]byte, error) {
	const n = NonrootUID
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", n, n)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", n)
	es := []entry{
		{name: "data/", mode: 0o755, uid: n, gid: n},
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
	}
	if len(o.CACerts) > 0 {
		es = append(es,
			entry{name: "etc/ssl/", mode: 0o755},
			entry{name: "etc/ssl/certs/", mode: 0o755},
			entry{name: CACertsPath[1:], mode: 0o644, data: o.CACerts})
	}
	es = append(es,
		entry{name: "home/", mode: 0o755},
		entry{name: "home/nonroot/", mode: 0o700, uid: n, gid: n},
		entry{name: "tmp/", mode: 0o1777},
		entry{name: "usr/", mode: 0o755},
		entry{name: "usr/local/", mode: 0o755},
		entry{name: "usr/local/bin/", mode: 0o755},
		entry{name: BinaryPath[1:], mode: 0o755, data: bin},
	)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{
			Name:    e.name,
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: o.Created.UTC(),
			Format:  tar.FormatPAX,
		}
		if path.Clean(e.name)+"/" == e.name {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
