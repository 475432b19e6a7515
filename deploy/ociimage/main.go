// Command ociimage assembles fleetsim's container image without a container
// engine: from static fleetsim binaries (one per platform) it writes an OCI
// image layout holding a multi-platform index, and one tarball per platform
// that `docker load` and `podman load` read. `make image` runs it.
//
//	ociimage -out bin/image -tag fleetsim:dev \
//	    -bin linux/amd64=bin/linux-amd64/fleetsim -bin linux/arm64=bin/linux-arm64/fleetsim
//
// Timestamps come from SOURCE_DATE_EPOCH (0 when unset), so the same binaries
// give the same digests.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// binFlags collects -bin OS/ARCH=PATH.
type binFlags []Binary

func (b *binFlags) String() string { return "" }

func (b *binFlags) Set(s string) error {
	plat, p, ok := strings.Cut(s, "=")
	if !ok || p == "" {
		return fmt.Errorf("want OS/ARCH=PATH, got %q", s)
	}
	pl, err := v1.ParsePlatform(plat)
	if err != nil || pl.OS == "" || pl.Architecture == "" {
		return fmt.Errorf("platform %q: want OS/ARCH[/VARIANT]", plat)
	}
	*b = append(*b, Binary{Platform: *pl, Path: p})
	return nil
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bins binFlags
	fs.Var(&bins, "bin", "OS/ARCH=PATH of a static fleetsim binary (repeat per platform)")
	out := fs.String("out", "bin/image", "directory to write the OCI layout (oci/) and the per-platform tarballs into")
	tag := fs.String("tag", "fleetsim:dev", "tag the tarballs load as, and the layout's ref name")
	certs := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include; skipped when the file is absent, none when empty")
	var o Options
	fs.StringVar(&o.Version, "version", "", "org.opencontainers.image.version label")
	fs.StringVar(&o.Revision, "revision", "", "org.opencontainers.image.revision label (commit)")
	fs.StringVar(&o.Source, "source", "https://github.com/fleetsim/fleetsim", "org.opencontainers.image.source label")
	fs.StringVar(&o.Licenses, "licenses", "", "org.opencontainers.image.licenses label (SPDX expression)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || len(bins) == 0 {
		fmt.Fprintln(stderr, "ociimage: want at least one -bin OS/ARCH=PATH and no arguments")
		return 2
	}
	o.Binaries = bins
	created, err := sourceDateEpoch(getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fmt.Fprintln(stderr, "ociimage:", err)
		return 2
	}
	o.Created = created
	if *certs != "" {
		b, err := os.ReadFile(*certs)
		switch {
		case err == nil:
			o.CACerts = b
		case os.IsNotExist(err):
			fmt.Fprintf(stderr, "ociimage: no CA bundle at %s: the image has none (TLS to outside services will fail)\n", *certs)
		default:
			fmt.Fprintln(stderr, "ociimage:", err)
			return 1
		}
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		fmt.Fprintln(stderr, "ociimage:", err)
		return 2
	}
	res, err := Write(*out, ref, o)
	if err != nil {
		fmt.Fprintln(stderr, "ociimage:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s  index %s\n", filepath.Join(*out, "oci"), res.Index)
	for _, p := range res.Platforms {
		fmt.Fprintf(stdout, "%s  %s image %s, layer %d bytes compressed\n", p.Tarball, p.Platform, p.Digest, p.LayerSize)
	}
	return 0
}

func sourceDateEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Result names what Write wrote.
type Result struct {
	Index     v1.Hash
	Platforms []PlatformResult
}

// PlatformResult is one platform's image.
type PlatformResult struct {
	Platform  string
	Digest    v1.Hash
	LayerSize int64
	Tarball   string
}

// Write builds the images of o and writes dir/oci (an OCI image layout whose
// index.json lists the multi-platform index under ref's name) and
// dir/fleetsim-OS-ARCH.tar (a docker-archive tarball per platform, tagged ref).
func Write(dir string, ref name.Tag, o Options) (Result, error) {
	idx, imgs, err := Build(o)
	if err != nil {
		return Result{}, err
	}
	ociDir := filepath.Join(dir, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return Result{}, err
	}
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return Result{}, err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.TagStr(),
		"io.containerd.image.name":          containerdName(ref),
	})); err != nil {
		return Result{}, err
	}
	var res Result
	if res.Index, err = idx.Digest(); err != nil {
		return Result{}, err
	}
	for i, img := range imgs {
		pl := o.Binaries[i].Platform
		file := filepath.Join(dir, fmt.Sprintf("fleetsim-%s-%s.tar", pl.OS, pl.Architecture+pl.Variant))
		if err := tarball.WriteToFile(file, ref, img); err != nil {
			return Result{}, err
		}
		d, err := img.Digest()
		if err != nil {
			return Result{}, err
		}
		ls, err := img.Layers()
		if err != nil {
			return Result{}, err
		}
		var size int64
		for _, l := range ls {
			s, err := l.Size()
			if err != nil {
				return Result{}, err
			}
			size += s
		}
		res.Platforms = append(res.Platforms, PlatformResult{Platform: pl.String(), Digest: d, LayerSize: size, Tarball: file})
	}
	return res, nil
}

// containerdName is ref fully qualified the way containerd (and so `docker
// load` of an OCI layout) names images: docker.io/library/fleetsim:dev.
func containerdName(ref name.Tag) string {
	return strings.Replace(ref.Name(), name.DefaultRegistry+"/", "docker.io/", 1)
}
