package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gscluster/gscluster/internal/pgserver"
)

// template returns the initdb'd template directory for the server
// binaries' major version and this user, building it if it is missing.
func template(ctx context.Context) (string, error) {
	ver, err := pgserver.Version()
	if err != nil {
		return "", err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("gscluster-pgtest-template-%d-%d", ver, os.Geteuid()))
	unlock, err := pgserver.LockFile(ctx, path+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()

	ok, err := checkTemplate(path)
	if err != nil || ok {
		return path, err
	}
	// Build aside and rename, so that the template exists only complete.
	tmp := path + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := (&pgserver.Server{Dir: tmp}).Init(ctx); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("install postgresql template %s: %w", path, err)
	}
	return path, nil
}

// checkTemplate reports whether a usable template exists at path. It
// refuses a template that someone else owns: the directory is in a shared
// temporary directory, and its configuration runs as the server.
func checkTemplate(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	uid, _, err := pgserver.Owner()
	if err != nil {
		return false, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != uid {
		return false, fmt.Errorf("postgresql template %s is not a directory owned by uid %d (remove it)", path, uid)
	}
	if _, err := os.Stat(filepath.Join(path, "PG_VERSION")); err != nil {
		return false, fmt.Errorf("postgresql template %s is incomplete (remove it): %w", path, err)
	}
	return true, nil
}
