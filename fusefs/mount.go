package fusefs

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// MountOptions say how the kernel mounts the file system.
type MountOptions struct {
	AllowOther bool
	ReadOnly   bool
	Debug      bool
}

// Mount mounts f at dir and serves it in the background. A mountpoint
// left dead by a crashed daemon ("transport endpoint is not connected") is
// unmounted first, and cleaned reports that it was.
func (f *FS) Mount(dir string, mo MountOptions) (srv *fuse.Server, cleaned bool, err error) {
	// statfs always reaches the daemon, where a stat may be answered from
	// the kernel's cache of a dead mount.
	var sfs syscall.Statfs_t
	for i := 0; ; i++ {
		err := syscall.Statfs(dir, &sfs)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ENOTCONN) || i == 5 {
			return nil, cleaned, fmt.Errorf("mountpoint %s: %w", dir, err)
		}
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			if out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput(); err != nil {
				return nil, false, fmt.Errorf("%s is a dead mount left by a crash and could not be unmounted (%v: %s): run umount -l %s", dir, err, out, dir)
			}
		}
		cleaned = true
	}
	opts := []string{"default_permissions", "noatime"}
	if mo.ReadOnly {
		opts = append(opts, "ro")
	}
	fo := &fuse.MountOptions{
		AllowOther:               mo.AllowOther,
		Options:                  opts,
		FsName:                   "gscluster",
		Name:                     "gscluster",
		MaxWrite:                 1 << 20,
		MaxReadAhead:             1 << 20,
		MaxBackground:            64,
		EnableSymlinkCaching:     true,
		ExplicitDataCacheControl: true,
		DirectMount:              os.Geteuid() == 0,
		Debug:                    mo.Debug,
		Logger:                   log.New(os.Stderr, "fuse: ", log.Lmicroseconds),
	}
	srv, err = fuse.NewServer(f, dir, fo)
	if err != nil {
		return nil, cleaned, fmt.Errorf("mount %s: %w", dir, err)
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount() //nolint:errcheck
		return nil, cleaned, fmt.Errorf("mount %s: %w", dir, err)
	}
	return srv, cleaned, nil
}
