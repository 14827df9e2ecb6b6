package dbstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
)

// HashSize is the length of a content hash.
const HashSize = sha256.Size

// ReadBlob returns a reader of the content with the given hash. Large
// blobs are fetched one chunk at a time, so memory stays bounded.
func (s *Store) ReadBlob(ctx context.Context, hash []byte) (io.ReadCloser, error) {
	var data, chunks []byte
	err := s.pool.QueryRow(ctx, `SELECT data, chunks FROM blobs WHERE hash = $1`, hash).Scan(&data, &chunks)
	if err != nil {
		return nil, s.wrap(err, fmt.Sprintf("read content %x", hash))
	}
	if chunks == nil {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return &chunkReader{ctx: ctx, s: s, chunks: chunks}, nil
}

type chunkReader struct {
	ctx    context.Context
	s      *Store
	chunks []byte
	cur    []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if len(r.chunks) == 0 {
			return 0, io.EOF
		}
		h := r.chunks[:HashSize]
		r.chunks = r.chunks[HashSize:]
		r.cur = nil
		if err := r.s.pool.QueryRow(r.ctx, `SELECT data FROM blobs WHERE hash = $1`, h).Scan(&r.cur); err != nil {
			return 0, r.s.wrap(err, fmt.Sprintf("read chunk %x", h))
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *chunkReader) Close() error { return nil }

// StreamBlobs calls fn for each of the distinct hashes with a reader of its
// content, streaming small blobs from one query. fn runs on the calling
// goroutine; the reader is valid only during the call.
func (s *Store) StreamBlobs(ctx context.Context, hashes [][]byte, fn func(hash []byte, size int64, r io.Reader) error) error {
	rows, err := s.pool.Query(ctx, `SELECT hash, size, data, chunks IS NOT NULL FROM blobs WHERE hash = ANY($1)`, hashes)
	if err != nil {
		return s.wrap(err, "read content")
	}
	var large [][]byte
	found := 0
	for rows.Next() {
		var h, data []byte
		var size int64
		var chunked bool
		if err := rows.Scan(&h, &size, &data, &chunked); err != nil {
			rows.Close()
			return s.wrap(err, "read content")
		}
		found++
		if chunked {
			large = append(large, h)
			continue
		}
		if err := fn(h, size, bytes.NewReader(data)); err != nil {
			rows.Close()
			return err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(err, "read content")
	}
	for _, h := range large {
		r, err := s.ReadBlob(ctx, h)
		if err != nil {
			return err
		}
		var size int64
		if err := s.pool.QueryRow(ctx, `SELECT size FROM blobs WHERE hash = $1`, h).Scan(&size); err != nil {
			return s.wrap(err, "read content")
		}
		if err := fn(h, size, r); err != nil {
			return err
		}
	}
	if found < len(hashes) {
		return fmt.Errorf("read content: %d of %d blobs are missing: %w", len(hashes)-found, len(hashes), ErrNotFound)
	}
	return nil
}

// HasBlob tells whether content with the hash is stored.
func (s *Store) HasBlob(ctx context.Context, hash []byte) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM blobs WHERE hash = $1)`, hash).Scan(&ok)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, s.wrap(err, "check content")
	}
	return ok, nil
}
