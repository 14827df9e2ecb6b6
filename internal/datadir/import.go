package datadir

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pathspec"
)

// Progress counts work done; its fields are updated atomically while an
// import, export or verify runs, so another goroutine may read them.
type Progress struct {
	TotalFiles atomic.Int64 // known once the source is listed
	TotalBytes atomic.Int64
	Files      atomic.Int64
	Bytes      atomic.Int64
}

// ImportOptions configure Import.
type ImportOptions struct {
	// Exclude are globs of further paths to leave out, besides the
	// node-local defaults (pathspec.DefaultLocal).
	Exclude []string
	// Replace allows importing into a database that already holds a tree;
	// the tree is then replaced as one revision. Default false: refused.
	Replace bool
	// Origin names who made the revision in the change log. Default "import".
	Origin string
	// Workers read and hash files in parallel. Default 2 x GOMAXPROCS.
	Workers int
	// Progress, if set, is updated as files are stored.
	Progress *Progress
	// Logger receives warnings. Default slog.Default().
	Logger *slog.Logger
}

// ImportResult summarizes an import.
type ImportResult struct {
	Rev      int64
	Files    int
	Dirs     int
	Symlinks int
	Links    int   // extra names of hard-linked files
	Bytes    int64 // content bytes read
	Stored   int64 // content bytes new to the database
	Excluded []string
	Skipped  []string // special files
	Duration time.Duration
}

// ErrNotEmpty is returned by Import when the database already holds a
// tree and Replace is false.
var ErrNotEmpty = errors.New("database already holds a data directory")

// Import stores the tree at src in the database as one revision: either all
// of it or, on any error or cancellation, nothing.
func Import(ctx context.Context, st *dbstore.Store, src string, opt ImportOptions) (ImportResult, error) {
	start := time.Now()
	if opt.Origin == "" {
		opt.Origin = "import"
	}
	if opt.Workers <= 0 {
		opt.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Progress == nil {
		opt.Progress = &Progress{}
	}
	local, err := pathspec.New(opt.Exclude...)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: --exclude %w", src, err)
	}
	sc, err := walk(src, local)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w", src, err)
	}
	if len(sc.problems) > 0 {
		return ImportResult{}, problemsError("import "+src, sc.problems, "fix them (permissions, names) or leave them out with --exclude, then import again; nothing was stored")
	}
	res := ImportResult{Excluded: summarizeExcluded(sc.excluded), Skipped: sc.special}
	for _, s := range sc.special {
		opt.Logger.Warn("skipping special file: only files, directories and symlinks are stored", "path", s)
	}
	for _, e := range sc.entries {
		switch {
		case e.LinkTo != "":
			res.Links++
		case e.Kind == dbstore.KindFile:
			res.Files++
		case e.Kind == dbstore.KindDir && e.Path != "":
			res.Dirs++
		case e.Kind == dbstore.KindSymlink:
			res.Symlinks++
		}
	}
	opt.Progress.TotalFiles.Store(int64(len(sc.files)))
	opt.Progress.TotalBytes.Store(sc.bytes)

	summary := "import " + filepath.Base(filepath.Clean(src))
	rev, err := st.Write(ctx, opt.Origin, summary, func(ctx context.Context, tx *dbstore.Tx) error {
		if !opt.Replace {
			empty, err := tx.IsEmpty(ctx)
			if err != nil {
				return err
			}
			if !empty {
				return fmt.Errorf("import %s into %s: %w (use --replace to replace it as a new revision)", src, st.Addr(), ErrNotEmpty)
			}
		}
		stored, err := storeContents(ctx, tx, src, sc, opt)
		if err != nil {
			return err
		}
		res.Stored = stored
		return tx.ReplaceTree(ctx, sc.entries)
	})
	if err != nil {
		return ImportResult{}, err
	}
	res.Rev = rev
	res.Bytes = opt.Progress.Bytes.Load()
	res.Duration = time.Since(start)
	return res, nil
}

// storeContents reads and hashes every file with parallel workers, streams
// the contents into the database and sets each entry's hash.
func storeContents(ctx context.Context, tx *dbstore.Tx, src string, sc *scanned, opt ImportOptions) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	blobs := make(chan dbstore.Blob, 2*opt.Workers)
	var next atomic.Int64
	var mu sync.Mutex
	var problems []string
	var wg sync.WaitGroup
	for w := 0; w < opt.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(sc.files) || ctx.Err() != nil {
					return
				}
				e := &sc.entries[sc.files[i]]
				p := filepath.Join(src, filepath.FromSlash(e.Path))
				if err := hashFile(ctx, p, e, blobs, opt.Progress); err != nil {
					if ctx.Err() != nil {
						return
					}
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: %v", p, unwrapPathErr(err)))
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(blobs)
	}()
	stored, err := tx.CopyBlobs(ctx, func() (dbstore.Blob, bool, error) {
		select {
		case b, ok := <-blobs:
			return b, ok, nil
		case <-ctx.Done():
			return dbstore.Blob{}, false, ctx.Err()
		}
	})
	cancel()
	for range blobs { // let the workers finish
	}
	if err != nil {
		return 0, err
	}
	if len(problems) > 0 {
		return 0, problemsError("import "+src, problems, "fix them and import again; nothing was stored")
	}
	// Hard links share the content of the name they link to.
	byPath := make(map[string]int, len(sc.entries))
	for i, e := range sc.entries {
		byPath[e.Path] = i
		if e.LinkTo != "" {
			first := sc.entries[byPath[e.LinkTo]]
			sc.entries[i].Hash, sc.entries[i].Size = first.Hash, first.Size
		}
	}
	return stored, nil
}

// hashFile reads one file, sends its content as blobs (chunks first for a
// large file) and sets e.Hash and e.Size from what was read.
func hashFile(ctx context.Context, p string, e *dbstore.Entry, out chan<- dbstore.Blob, prog *Progress) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	send := func(b dbstore.Blob) error {
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if e.Size < dbstore.ChunkSize {
		data, err := io.ReadAll(io.LimitReader(f, dbstore.ChunkSize))
		if err != nil {
			return err
		}
		if int64(len(data)) < dbstore.ChunkSize {
			sum := sha256.Sum256(data)
			e.Hash, e.Size = sum[:], int64(len(data))
			prog.Bytes.Add(e.Size)
			prog.Files.Add(1)
			return send(dbstore.Blob{Hash: sum[:], Size: e.Size, Data: data})
		}
		// It grew while we looked: fall through to chunking from the start.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	whole := sha256.New()
	var chunks []byte
	var size int64
	buf := make([]byte, dbstore.ChunkSize)
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			data := append([]byte(nil), buf[:n]...)
			sum := sha256.Sum256(data)
			whole.Write(data)
			chunks = append(chunks, sum[:]...)
			size += int64(n)
			prog.Bytes.Add(int64(n))
			if err := send(dbstore.Blob{Hash: sum[:], Size: int64(n), Data: data}); err != nil {
				return err
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	e.Hash, e.Size = whole.Sum(nil), size
	prog.Files.Add(1)
	if len(chunks) <= dbstore.HashSize {
		// One chunk (or none): the file is that blob, already sent under
		// the same hash.
		if len(chunks) == 0 {
			return send(dbstore.Blob{Hash: e.Hash, Size: 0, Data: []byte{}})
		}
		return nil
	}
	return send(dbstore.Blob{Hash: e.Hash, Size: size, Chunks: chunks})
}

// problemsError lists every problem, one a line, in one error.
func problemsError(doing string, problems []string, advice string) error {
	const most = 50
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems, %s:", doing, len(problems), advice)
	for i, p := range problems {
		if i == most {
			fmt.Fprintf(&b, "\n  … and %d more", len(problems)-most)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(p)
	}
	return errors.New(b.String())
}
