package datadir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pathspec"
)

// Difference is one way in which a directory differs from the database.
type Difference struct {
	Path   string
	What   string // missing, extra, type, content, mode, mtime, owner, link target
	Detail string
}

func (d Difference) String() string {
	p := d.Path
	if p == "" {
		p = "."
	}
	if d.Detail == "" {
		return fmt.Sprintf("%s: %s", d.What, p)
	}
	return fmt.Sprintf("%s: %s (%s)", d.What, p, d.Detail)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Rev is the revision to compare with. Default 0: the newest.
	Rev int64
	// Exclude are further globs to leave out, as for Import.
	Exclude []string
	// Owners compares owners too. Default: when running as root.
	Owners *bool
	// Progress, if set, is updated as files are hashed.
	Progress *Progress
}

// Verify compares the tree in the database with dir, leaving out node-local
// paths, and returns every difference in path order.
func Verify(ctx context.Context, st *dbstore.Store, dir string, opt VerifyOptions) ([]Difference, error) {
	owners := os.Geteuid() == 0
	if opt.Owners != nil {
		owners = *opt.Owners
	}
	if opt.Progress == nil {
		opt.Progress = &Progress{}
	}
	local, err := pathspec.New(opt.Exclude...)
	if err != nil {
		return nil, fmt.Errorf("verify %s: --exclude %w", dir, err)
	}
	sc, err := walk(dir, local)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	if len(sc.problems) > 0 {
		return nil, problemsError("verify "+dir, sc.problems, "fix them and verify again")
	}
	tree, err := st.Tree(ctx, opt.Rev, "")
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	opt.Progress.TotalFiles.Store(int64(len(sc.files)))
	opt.Progress.TotalBytes.Store(sc.bytes)
	if err := hashAll(ctx, dir, sc, opt.Progress); err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	return compare(tree.Entries, sc.entries, owners), nil
}

// hashAll sets the hash of every regular file in sc.
func hashAll(ctx context.Context, dir string, sc *scanned, prog *Progress) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for w := 0; w < 2*runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(sc.files) {
					return
				}
				e := &sc.entries[sc.files[i]]
				p := filepath.Join(dir, filepath.FromSlash(e.Path))
				f, err := os.Open(p)
				if err == nil {
					h := sha256.New()
					var n int64
					n, err = io.Copy(h, f)
					f.Close()
					e.Hash, e.Size = h.Sum(nil), n
					prog.Files.Add(1)
					prog.Bytes.Add(n)
				}
				if err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return problemsError("read files", problems, "fix them and verify again")
	}
	byPath := map[string]int{}
	for i, e := range sc.entries {
		byPath[e.Path] = i
		if e.LinkTo != "" {
			sc.entries[i].Hash = sc.entries[byPath[e.LinkTo]].Hash
		}
	}
	return nil
}

// compare lists the differences between two sorted entry lists, a from the
// database and b from the directory.
func compare(a, b []dbstore.Entry, owners bool) []Difference {
	var out []Difference
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && dbstore.PathLess(a[i].Path, b[j].Path)):
			out = append(out, Difference{Path: a[i].Path, What: "missing", Detail: "in the database, not in the directory"})
			i++
			continue
		case i >= len(a) || dbstore.PathLess(b[j].Path, a[i].Path):
			out = append(out, Difference{Path: b[j].Path, What: "extra", Detail: "in the directory, not in the database"})
			j++
			continue
		}
		x, y := a[i], b[j]
		i++
		j++
		if x.Kind != y.Kind {
			out = append(out, Difference{Path: x.Path, What: "type", Detail: fmt.Sprintf("%s in the database, %s in the directory", x.Kind, y.Kind)})
			continue
		}
		switch x.Kind {
		case dbstore.KindFile:
			if !bytes.Equal(x.Hash, y.Hash) {
				out = append(out, Difference{Path: x.Path, What: "content", Detail: fmt.Sprintf("%d bytes in the database, %d in the directory", x.Size, y.Size)})
			}
		case dbstore.KindSymlink:
			if x.Target != y.Target {
				out = append(out, Difference{Path: x.Path, What: "link target", Detail: fmt.Sprintf("%q in the database, %q in the directory", x.Target, y.Target)})
			}
		}
		if x.Kind != dbstore.KindSymlink && x.Mode != y.Mode {
			out = append(out, Difference{Path: x.Path, What: "mode", Detail: fmt.Sprintf("%04o in the database, %04o in the directory", x.Mode, y.Mode)})
		}
		if x.MtimeNs != y.MtimeNs {
			out = append(out, Difference{Path: x.Path, What: "mtime", Detail: fmt.Sprintf("%s in the database, %s in the directory", fmtNs(x.MtimeNs), fmtNs(y.MtimeNs))})
		}
		if owners && (x.UID != y.UID || x.GID != y.GID) {
			out = append(out, Difference{Path: x.Path, What: "owner", Detail: fmt.Sprintf("%d:%d in the database, %d:%d in the directory", x.UID, x.GID, y.UID, y.GID)})
		}
	}
	return out
}
