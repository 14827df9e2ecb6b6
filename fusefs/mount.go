package fusefs

import (
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
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
	// As root the kernel is asked directly; its mount(2) takes noatime
	// and ro as flags only (as a string option they fail with EINVAL).
	// fusermount3 takes them as options.
	root := os.Geteuid() == 0
	opts := []string{"default_permissions"}
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOATIME)
	if mo.ReadOnly {
		flags |= syscall.MS_RDONLY
	}
	fo := &fuse.MountOptions{
		AllowOther:               mo.AllowOther,
		Options:                  opts,
		FsName:                   "gscluster",
		Name:                     "gscluster",
		MaxWrite:                 1 << 20,
		MaxReadAhead:             readAhead,
		MaxBackground:            64,
		EnableSymlinkCaching:     true,
		ExplicitDataCacheControl: true,
		DirectMountStrict:        root,
		DirectMountFlags:         flags,
		Debug:                    mo.Debug,
		Logger:                   log.New(os.Stderr, "fuse: ", log.Lmicroseconds),
	}
	if root {
		if srv, err = fuse.NewServer(f, dir, fo); err != nil {
			f.log.Info("mounting directly failed; mounting with fusermount3", "mountpoint", dir, "err", err)
			fo.DirectMountStrict = false
		}
	}
	if !fo.DirectMountStrict {
		fo.Options = append(opts, "noatime")
		if mo.ReadOnly {
			fo.Options = append(fo.Options, "ro")
		}
		srv, err = fuse.NewServer(f, dir, fo)
	}
	if err != nil {
		return nil, cleaned, fmt.Errorf("mount %s: %w", dir, err)
	}
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount() //nolint:errcheck
		return nil, cleaned, fmt.Errorf("mount %s: %w", dir, err)
	}
	if err := raiseReadahead(dir); err != nil {
		f.log.Debug("readahead left at the kernel's default", "err", err)
	}
	return srv, cleaned, nil
}

// readAhead is how far the kernel reads ahead of a sequential reader.
const readAhead = 1 << 20

// raiseReadahead sets the mount's readahead window to readAhead. The kernel
// takes the smaller of the FUSE_INIT value and its 128 KiB default, so only
// the mount's backing device in sysfs can raise it (root only; elsewhere
// the default stays). With 128 KiB a cold sequential read of a 256 MiB file
// ran at 0.85 GB/s, with 1 MiB at 2.0 GB/s (BENCHMARKS.md).
func raiseReadahead(dir string) error {
	p, err := readaheadFile(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strconv.Itoa(readAhead>>10)), 0)
}

// readaheadFile is the sysfs file of the readahead of the mount at dir.
func readaheadFile(dir string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return "", err
	}
	return fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}
