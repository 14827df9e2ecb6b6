package integration

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// node is what the tests compare of one name in a tree.
type node struct {
	kind   string      // dir, file, symlink, or the type of anything else
	mode   fs.FileMode // permissions with setuid, setgid and sticky
	mtime  int64       // nanoseconds
	uid    uint32
	gid    uint32
	size   int64
	sum    [sha256.Size]byte // content of a file
	target string            // of a symlink
	group  string            // of a file: the first path of its hard-link group in the tree
}

// scanTree reads every name below root with lstat, keyed by its slash path
// relative to root ("." for root itself). skip, if set, leaves out paths.
func scanTree(t testing.TB, root string, skip func(rel string) bool) map[string]node {
	t.Helper()
	out := map[string]node{}
	firstOfIno := map[[2]uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if skip != nil && rel != "." && skip(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{
			mode:  fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			mtime: st.Mtim.Nano(),
			uid:   st.Uid,
			gid:   st.Gid,
		}
		switch {
		case fi.IsDir():
			n.kind = "dir"
		case fi.Mode().IsRegular():
			n.kind = "file"
			n.size = fi.Size()
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := firstOfIno[key]; ok {
				n.group = first
			} else {
				firstOfIno[key] = rel
				n.group = rel
			}
			n.sum, err = fileSum(p)
			if err != nil {
				return err
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			n.kind = "symlink"
			n.mode = 0 // not meaningful, and not restorable on Linux
			if n.target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			n.kind = fi.Mode().Type().String()
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("scan %s: %v", root, err)
	}
	return out
}

func fileSum(p string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	f, err := os.Open(p)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return sum, err
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// diffTrees lists how got differs from want, one line per path and
// property, in path order.
func diffTrees(want, got map[string]node) []string {
	paths := map[string]bool{}
	for p := range want {
		paths[p] = true
	}
	for p := range got {
		paths[p] = true
	}
	sorted := make([]string, 0, len(paths))
	for p := range paths {
		sorted = append(sorted, p)
	}
	sort.Strings(sorted)
	var out []string
	for _, p := range sorted {
		w, inW := want[p]
		g, inG := got[p]
		switch {
		case !inG:
			out = append(out, fmt.Sprintf("%s: missing (a %s)", p, w.kind))
			continue
		case !inW:
			out = append(out, fmt.Sprintf("%s: extra (a %s)", p, g.kind))
			continue
		case w.kind != g.kind:
			out = append(out, fmt.Sprintf("%s: type %s, want %s", p, g.kind, w.kind))
			continue
		}
		if w.mode != g.mode {
			out = append(out, fmt.Sprintf("%s: mode %v, want %v", p, g.mode, w.mode))
		}
		if w.mtime != g.mtime {
			out = append(out, fmt.Sprintf("%s: mtime %s, want %s", p, fmtNs(g.mtime), fmtNs(w.mtime)))
		}
		if w.uid != g.uid || w.gid != g.gid {
			out = append(out, fmt.Sprintf("%s: owner %d:%d, want %d:%d", p, g.uid, g.gid, w.uid, w.gid))
		}
		if w.size != g.size || w.sum != g.sum {
			out = append(out, fmt.Sprintf("%s: content of %d bytes %x, want %d bytes %x", p, g.size, g.sum[:6], w.size, w.sum[:6]))
		}
		if w.target != g.target {
			out = append(out, fmt.Sprintf("%s: link target %q, want %q", p, g.target, w.target))
		}
		if w.group != g.group {
			out = append(out, fmt.Sprintf("%s: hard link of %q, want of %q", p, g.group, w.group))
		}
	}
	return out
}

func fmtNs(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// assertSameTree fails the test, listing at most 20 differences, unless
// the tree at got is the tree at want without its node-local paths.
func assertSameTree(t testing.TB, want, got string) {
	t.Helper()
	if d := diffTrees(scanTree(t, want, nodeLocal), scanTree(t, got, nil)); len(d) > 0 {
		t.Errorf("%s differs from %s in %d ways:\n%s", got, want, len(d), head(d, 20))
	}
}

// nodeLocal tells the paths that gscluster leaves out of the database, as
// its import --help documents them: logs/, temp/, tmp/, legendsamples/,
// filelocks/, *.xml.lock and the tile cache in gwc/ (but not
// gwc/geowebcache*.xml). It is written out here rather than taken from
// package pathspec so that the tests check that package too.
func nodeLocal(rel string) bool {
	top, rest, _ := strings.Cut(rel, "/")
	switch top {
	case "logs", "temp", "tmp", "legendsamples", "filelocks":
		return true
	case "gwc":
		if rest != "" && (strings.Contains(rest, "/") || !strings.HasPrefix(rest, "geowebcache") || !strings.HasSuffix(rest, ".xml")) {
			return true
		}
	}
	return strings.HasSuffix(rel, ".xml.lock")
}

func head(ls []string, n int) string {
	s := ""
	for i, l := range ls {
		if i == n {
			return s + fmt.Sprintf("… and %d more\n", len(ls)-n)
		}
		s += l + "\n"
	}
	return s
}
