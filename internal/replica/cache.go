package replica

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/gscluster/gscluster/dbstore"
)

// Cache is the node's content-addressed store of file contents: one file
// per SHA-256, written to a temporary name and renamed into place, so a
// crash never leaves a torn entry.
type Cache struct {
	dir string

	mu       sync.Mutex
	inflight map[string]*fetch
}

type fetch struct {
	done chan struct{}
	err  error
}

func newCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("content cache: %w", err)
	}
	return &Cache{dir: dir, inflight: map[string]*fetch{}}, nil
}

// Path is where the content with hash is kept.
func (c *Cache) Path(hash []byte) string {
	h := hex.EncodeToString(hash)
	if len(h) < 2 {
		h = "00" + h
	}
	return filepath.Join(c.dir, h[:2], h)
}

// Has tells whether the content is in the cache.
func (c *Cache) Has(hash []byte) bool {
	_, err := os.Stat(c.Path(hash))
	return err == nil
}

// TempFile makes a file in the cache's file system, for spooling.
func (c *Cache) TempFile(pattern string) (*os.File, error) {
	return os.CreateTemp(filepath.Join(c.dir, "tmp"), pattern)
}

// Adopt moves the file at src, whose content has the given hash, into the
// cache.
func (c *Cache) Adopt(hash []byte, src string) error {
	dst := c.Path(hash)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.Rename(src, dst)
}

// Fetch makes sure the content with hash is in the cache, reading it from
// the database if not, and returns its path. Concurrent fetches of one
// hash share the work.
func (c *Cache) Fetch(ctx context.Context, s *dbstore.Store, hash []byte) (string, error) {
	p := c.Path(hash)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if s == nil {
		return "", fmt.Errorf("content %x is not cached here: %w", hash, dbstore.ErrUnavailable)
	}
	key := string(hash)
	c.mu.Lock()
	if f, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return p, f.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f := &fetch{done: make(chan struct{})}
	c.inflight[key] = f
	c.mu.Unlock()
	f.err = c.download(ctx, s, hash)
	close(f.done)
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	return p, f.err
}

func (c *Cache) download(ctx context.Context, s *dbstore.Store, hash []byte) error {
	r, err := s.ReadBlob(ctx, hash)
	if err != nil {
		return err
	}
	defer r.Close()
	return c.store(hash, r)
}

// store writes r, which must have the given hash, into the cache.
func (c *Cache) store(hash []byte, r io.Reader) error {
	tmp, err := c.TempFile("fetch-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		return fmt.Errorf("fetch content %x: %w", hash, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), hash) {
		return fmt.Errorf("content %x read from the database has hash %x", hash, h.Sum(nil))
	}
	return c.Adopt(hash, tmp.Name())
}

// Prefetch fills the cache with every content of hashes it does not hold,
// streaming them from the database in batches.
func (c *Cache) Prefetch(ctx context.Context, s *dbstore.Store, hashes [][]byte) error {
	var missing [][]byte
	seen := map[string]bool{}
	for _, h := range hashes {
		if len(h) == 0 || seen[string(h)] || c.Has(h) {
			continue
		}
		seen[string(h)] = true
		missing = append(missing, h)
	}
	const batch = 500
	for len(missing) > 0 {
		n := min(batch, len(missing))
		err := s.StreamBlobs(ctx, missing[:n], func(hash []byte, _ int64, r io.Reader) error {
			return c.store(hash, r)
		})
		if err != nil {
			return err
		}
		missing = missing[n:]
	}
	return nil
}

// HashFile returns the SHA-256 and size of the file at p.
func HashFile(p string) ([]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), n, nil
}

// Upload stores the content of the file at p, whose whole hash is given,
// in tx: one blob up to the chunk size, else chunks and a list of them.
func Upload(ctx context.Context, tx *dbstore.Tx, hash []byte, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() <= dbstore.ChunkSize {
		data, err := io.ReadAll(f)
		if err != nil {
			return err
		}
		return tx.PutBlob(ctx, dbstore.Blob{Hash: hash, Size: int64(len(data)), Data: data})
	}
	buf := make([]byte, dbstore.ChunkSize)
	var chunks []byte
	var size int64
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			sum := sha256.Sum256(buf[:n])
			chunks = append(chunks, sum[:]...)
			size += int64(n)
			if err := tx.PutBlob(ctx, dbstore.Blob{Hash: sum[:], Size: int64(n), Data: buf[:n]}); err != nil {
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
	return tx.PutBlob(ctx, dbstore.Blob{Hash: hash, Size: size, Chunks: chunks})
}
