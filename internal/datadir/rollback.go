package datadir

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gscluster/gscluster/dbstore"
)

// RollbackResult summarizes a rollback.
type RollbackResult struct {
	Rev     int64 // the new revision; the head before it if nothing changed
	Changed int   // names created, changed or removed
}

// Rollback restores path (a file, a subtree, or "" for the whole tree) as it
// was at revision rev, as a new revision made by origin. History is never
// rewritten. Hard links are restored as separate files.
func Rollback(ctx context.Context, st *dbstore.Store, rev int64, path, origin string) (RollbackResult, error) {
	if err := dbstore.ValidPath(path); err != nil {
		return RollbackResult{}, err
	}
	var res RollbackResult
	summary := fmt.Sprintf("rollback %s to revision %d", displayPath(path), rev)
	newRev, err := st.Write(ctx, origin, summary, func(ctx context.Context, tx *dbstore.Tx) error {
		want, err := tx.TreeAt(ctx, rev, path)
		if err != nil {
			return err
		}
		have, err := tx.Tree(ctx, path)
		if err != nil {
			return err
		}
		if len(want) == 0 && len(have) == 0 {
			return fmt.Errorf("rollback %s: it exists neither at revision %d nor now: %w", displayPath(path), rev, dbstore.ErrNotFound)
		}
		wantBy := make(map[string]dbstore.Entry, len(want))
		for _, e := range want {
			wantBy[e.Path] = e
		}
		// Remove what did not exist then, shallowest first; a removed
		// directory takes its children with it.
		removed := ""
		for _, e := range have {
			if removed != "" && (e.Path == removed || len(e.Path) > len(removed) && e.Path[:len(removed)+1] == removed+"/") {
				continue
			}
			if _, ok := wantBy[e.Path]; ok {
				continue // Put below updates or replaces it
			}
			if err := tx.Remove(ctx, e.Path); err != nil {
				return err
			}
			res.Changed++
			removed = e.Path
		}
		haveBy := make(map[string]dbstore.Entry, len(have))
		for _, e := range have {
			haveBy[e.Path] = e
		}
		for _, w := range want {
			h, ok := haveBy[w.Path]
			if ok && same(h, w) {
				continue
			}
			w.LinkTo = ""
			if err := tx.Put(ctx, w); err != nil {
				return err
			}
			res.Changed++
		}
		return nil
	})
	if err != nil {
		return RollbackResult{}, err
	}
	res.Rev = newRev
	return res, nil
}

func same(a, b dbstore.Entry) bool {
	return a.Kind == b.Kind && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && a.MtimeNs == b.MtimeNs &&
		bytes.Equal(a.Hash, b.Hash) && a.Target == b.Target
}

func displayPath(p string) string {
	if p == "" {
		return "the whole tree"
	}
	return p
}

func fmtNs(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z")
}
