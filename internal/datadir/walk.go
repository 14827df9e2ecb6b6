// Package datadir moves whole data directories between a local directory
// and the database: import, export, verify and rollback. It reads and
// writes files; every SQL statement is dbstore's.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pathspec"
)

// scanned is the result of walking a local directory.
type scanned struct {
	entries  []dbstore.Entry // sorted; Hash unset
	files    []int           // indexes of regular files (not hard-link repeats) in entries
	bytes    int64           // total size of files
	excluded map[string]int  // node-local or --exclude'd top entries -> files below
	special  []string        // FIFOs, sockets, devices: skipped
	problems []string        // unreadable entries, invalid names
}

// walk lists src with lstat, leaving out node-local paths.
func walk(src string, local *pathspec.Matcher) (*scanned, error) {
	fi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errors.New("no such directory")
	}
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, errors.New("not a directory")
	}
	sc := &scanned{excluded: map[string]int{}}
	links := map[[2]uint64]string{} // dev, ino -> first path
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, werr error) error {
		rel, _ := filepath.Rel(src, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		if werr != nil {
			sc.problems = append(sc.problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(werr)))
			if d != nil && d.IsDir() && rel != "" {
				return fs.SkipDir
			}
			return nil
		}
		if !utf8.ValidString(rel) {
			sc.problems = append(sc.problems, fmt.Sprintf("%q: name is not valid UTF-8 (rename it: gscluster stores names as UTF-8)", p))
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if local.Local(rel) {
			top := rel
			if d.IsDir() {
				top += "/"
			}
			sc.excluded[top] += 0
			if d.IsDir() {
				n := 0
				filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error { //nolint:errcheck
					if err == nil && !d.IsDir() {
						n++
					}
					return nil
				})
				sc.excluded[top] = n
				return fs.SkipDir
			}
			sc.excluded[top] = 1
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			sc.problems = append(sc.problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)))
			return nil
		}
		st, _ := info.Sys().(*syscall.Stat_t)
		e := dbstore.Entry{Path: rel, Mode: uint32(info.Mode().Perm())}
		if info.Mode()&fs.ModeSetuid != 0 {
			e.Mode |= syscall.S_ISUID
		}
		if info.Mode()&fs.ModeSetgid != 0 {
			e.Mode |= syscall.S_ISGID
		}
		if info.Mode()&fs.ModeSticky != 0 {
			e.Mode |= syscall.S_ISVTX
		}
		if st != nil {
			e.UID, e.GID = st.Uid, st.Gid
			e.MtimeNs = st.Mtim.Nano()
			e.CtimeNs = st.Ctim.Nano()
		} else {
			e.MtimeNs = info.ModTime().UnixNano()
		}
		switch {
		case info.Mode().IsDir():
			e.Kind = dbstore.KindDir
			if rel != "" {
				if f, err := os.Open(p); err != nil {
					sc.problems = append(sc.problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)))
					return fs.SkipDir
				} else {
					f.Close()
				}
			}
		case info.Mode().IsRegular():
			e.Kind = dbstore.KindFile
			e.Size = info.Size()
			if st != nil && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if first, ok := links[key]; ok {
					e.LinkTo = first
				} else {
					links[key] = rel
				}
			}
		case info.Mode()&fs.ModeSymlink != 0:
			e.Kind = dbstore.KindSymlink
			target, err := os.Readlink(p)
			if err != nil {
				sc.problems = append(sc.problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)))
				return nil
			}
			if !utf8.ValidString(target) {
				sc.problems = append(sc.problems, fmt.Sprintf("%s: link target is not valid UTF-8", p))
				return nil
			}
			e.Target = target
			e.Size = int64(len(target))
		default:
			sc.special = append(sc.special, fmt.Sprintf("%s (%s)", p, describeType(info.Mode())))
			return nil
		}
		if e.Kind == dbstore.KindFile && e.LinkTo == "" {
			sc.files = append(sc.files, len(sc.entries))
			sc.bytes += e.Size
		}
		sc.entries = append(sc.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// WalkDir visits in lexical order of names, which is the order
	// SortEntries gives; keep the indexes in sc.files valid by checking.
	if !sort.SliceIsSorted(sc.entries, func(i, j int) bool { return dbstore.PathLess(sc.entries[i].Path, sc.entries[j].Path) }) {
		return nil, fmt.Errorf("walk %s: entries out of order", src)
	}
	return sc, nil
}

func describeType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// summarizeExcluded renders the excluded paths as "logs/ (12 files)".
func summarizeExcluded(ex map[string]int) []string {
	var out []string
	for p, n := range ex {
		if strings.HasSuffix(p, "/") {
			out = append(out, fmt.Sprintf("%s (%d files)", p, n))
		} else {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
