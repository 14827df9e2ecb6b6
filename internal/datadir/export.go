package datadir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gscluster/gscluster/dbstore"
)

// ExportOptions configure Export.
type ExportOptions struct {
	// Rev is the revision to export. Default 0: the newest.
	Rev int64
	// Force allows a target directory that is not empty; existing files
	// with the same names are replaced. Default false: refused.
	Force bool
	// Owners sets file owners as stored. Default: when running as root.
	Owners *bool
	// Workers write files in parallel. Default 2 x GOMAXPROCS.
	Workers int
	// Progress, if set, is updated as files are written.
	Progress *Progress
}

// ExportResult summarizes an export.
type ExportResult struct {
	Rev      int64
	Files    int
	Dirs     int
	Symlinks int
	Bytes    int64
	Duration time.Duration
}

// ErrTargetNotEmpty is returned by Export for a non-empty target without
// Force.
var ErrTargetNotEmpty = errors.New("directory is not empty")

// Export writes the tree at a revision into dst, byte for byte, with modes,
// mtimes, symlinks, hard links and (as root) owners. Every file appears
// whole or not at all: it is written under a temporary name and renamed.
func Export(ctx context.Context, st *dbstore.Store, dst string, opt ExportOptions) (ExportResult, error) {
	start := time.Now()
	if opt.Workers <= 0 {
		opt.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if opt.Progress == nil {
		opt.Progress = &Progress{}
	}
	owners := os.Geteuid() == 0
	if opt.Owners != nil {
		owners = *opt.Owners
	}
	if err := prepareTarget(dst, opt.Force); err != nil {
		return ExportResult{}, fmt.Errorf("export to %s: %w", dst, err)
	}
	tree, err := st.Tree(ctx, opt.Rev, "")
	if err != nil {
		return ExportResult{}, fmt.Errorf("export to %s: %w", dst, err)
	}
	res := ExportResult{Rev: tree.Rev}
	native := func(rel string) string { return filepath.Join(dst, filepath.FromSlash(rel)) }

	// Directories first, writable by us until the end.
	byHash := map[string][]string{}
	var hashes [][]byte
	firstOfIno := map[int64]string{}
	var links [][2]string // new name, existing name
	for _, e := range tree.Entries {
		switch e.Kind {
		case dbstore.KindDir:
			if e.Path != "" {
				if err := os.Mkdir(native(e.Path), 0o700); err != nil && !(opt.Force && errors.Is(err, fs.ErrExist)) {
					return res, fmt.Errorf("export to %s: %w", dst, err)
				}
				res.Dirs++
			}
		case dbstore.KindFile:
			if first, ok := firstOfIno[e.Ino]; ok && e.Nlink > 1 {
				links = append(links, [2]string{e.Path, first})
				continue
			}
			firstOfIno[e.Ino] = e.Path
			k := string(e.Hash)
			if _, ok := byHash[k]; !ok {
				hashes = append(hashes, e.Hash)
			}
			byHash[k] = append(byHash[k], e.Path)
			res.Files++
			opt.Progress.TotalBytes.Add(e.Size)
		}
	}
	opt.Progress.TotalFiles.Store(int64(res.Files))

	type job struct {
		paths []string
		data  []byte
	}
	jobs := make(chan job, 4*opt.Workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var werr error
	for w := 0; w < opt.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				for _, p := range j.paths {
					if err := writeWhole(native(p), bytes.NewReader(j.data)); err != nil {
						mu.Lock()
						if werr == nil {
							werr = err
						}
						mu.Unlock()
						continue
					}
					opt.Progress.Files.Add(1)
					opt.Progress.Bytes.Add(int64(len(j.data)))
				}
			}
		}()
	}
	err = st.StreamBlobs(ctx, hashes, func(hash []byte, size int64, r io.Reader) error {
		paths := byHash[string(hash)]
		if br, ok := r.(*bytes.Reader); ok && size < dbstore.ChunkSize {
			data := make([]byte, br.Len())
			br.Read(data) //nolint:errcheck // a bytes.Reader cannot fail
			jobs <- job{paths: paths, data: data}
			return nil
		}
		// A large file streams to its first name; the others copy it.
		if err := writeWhole(native(paths[0]), r); err != nil {
			return err
		}
		opt.Progress.Files.Add(1)
		opt.Progress.Bytes.Add(size)
		for _, p := range paths[1:] {
			f, err := os.Open(native(paths[0]))
			if err != nil {
				return err
			}
			err = writeWhole(native(p), f)
			f.Close()
			if err != nil {
				return err
			}
			opt.Progress.Files.Add(1)
			opt.Progress.Bytes.Add(size)
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if err == nil {
		err = werr
	}
	if err != nil {
		return res, fmt.Errorf("export to %s: %w", dst, err)
	}
	for _, l := range links {
		if opt.Force {
			os.Remove(native(l[0]))
		}
		if err := os.Link(native(l[1]), native(l[0])); err != nil {
			return res, fmt.Errorf("export to %s: %w", dst, err)
		}
		res.Files++
	}
	for _, e := range tree.Entries {
		if e.Kind != dbstore.KindSymlink {
			continue
		}
		if opt.Force {
			os.Remove(native(e.Path))
		}
		if err := os.Symlink(e.Target, native(e.Path)); err != nil {
			return res, fmt.Errorf("export to %s: %w", dst, err)
		}
		res.Symlinks++
	}
	// Attributes last, children before their directory, so that writing a
	// child does not move its directory's mtime again.
	for i := len(tree.Entries) - 1; i >= 0; i-- {
		if err := setAttrs(native(tree.Entries[i].Path), tree.Entries[i], owners); err != nil {
			return res, fmt.Errorf("export to %s: %w", dst, err)
		}
	}
	res.Bytes = opt.Progress.Bytes.Load()
	res.Duration = time.Since(start)
	return res, nil
}

// prepareTarget makes sure dst is a directory we may write into.
func prepareTarget(dst string, force bool) error {
	fi, err := os.Stat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dst, 0o755)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	if force {
		return nil
	}
	f, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && err != io.EOF {
		return err
	}
	if len(names) > 0 {
		return fmt.Errorf("%w (use --force to write into it)", ErrTargetNotEmpty)
	}
	return nil
}

// writeWhole writes r to p through a temporary sibling renamed over p, so
// that p never holds a partial file.
func writeWhole(p string, r io.Reader) error {
	tmp := filepath.Join(filepath.Dir(p), ".gscluster-"+filepath.Base(p)+".partial")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func setAttrs(p string, e dbstore.Entry, owners bool) error {
	if owners {
		if err := os.Lchown(p, int(e.UID), int(e.GID)); err != nil {
			return err
		}
	}
	if e.Kind != dbstore.KindSymlink {
		if err := unix.Chmod(p, e.Mode&0o7777); err != nil {
			return &fs.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(e.MtimeNs), unix.NsecToTimespec(e.MtimeNs)}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "set times", Path: p, Err: err}
	}
	return nil
}
