package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunInRootfs unpacks the image's layer into a directory and runs the
// binary there the way a container runtime would, short of namespaces:
// chrooted into the layer's files alone, as uid/gid 65532, in the working
// directory /data. `serve` with its default state file then writes
// /data/fleetsim.db and answers /healthz on loopback. Needs root (chroot).
func TestRunInRootfs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("TestRunInRootfs needs root for chroot, and CI runs as root")
		}
		t.Skip("needs root for chroot")
	}
	o := testOptions(fleetsimBinary(t))
	_, imgs, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := imgs[0].Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	unpack(t, root, rc)
	cf, err := imgs[0].ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cmd := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, cf.Config.Entrypoint[0], args...)
		c.Dir = cf.Config.WorkingDir
		c.Env = cf.Config.Env
		c.SysProcAttr = &syscall.SysProcAttr{
			Chroot:     root,
			Credential: &syscall.Credential{Uid: NonrootUID, Gid: NonrootUID},
		}
		return c
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := cmd(ctx, cf.Config.Cmd...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fleetsim") {
		t.Fatalf("fleetsim %s in the rootfs: %v\n%s", cf.Config.Cmd, err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs strings.Builder
	srv := cmd(ctx, "serve", "--listen", addr)
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/healthz: %s", resp.Status)
			}
			break
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve in the rootfs exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("serve in the rootfs did not answer /healthz: %v\n%s", err, logs.String())
		case <-tick.C:
		}
	}
	st, err := os.Stat(filepath.Join(root, DataDir, "fleetsim.db"))
	if err != nil {
		t.Fatalf("serve wrote no state in %s: %v\n%s", DataDir, err, logs.String())
	}
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != NonrootUID {
		t.Errorf("%s/fleetsim.db is owned by %d, want %d", DataDir, sys.Uid, NonrootUID)
	}
}

// unpack writes a layer's directories and regular files under root with
// their modes and owners.
func unpack(t *testing.T, root string, r io.Reader) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600); err == nil {
				_, err = io.Copy(f, tr)
				err = errors.Join(err, f.Close())
			}
		default:
			err = fmt.Errorf("unexpected entry type %c", h.Typeflag)
		}
		if err == nil {
			err = os.Lchown(p, h.Uid, h.Gid)
		}
		if err == nil {
			err = os.Chmod(p, h.FileInfo().Mode())
		}
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}
}
