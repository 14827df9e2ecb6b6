package replica

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"github.com/gscluster/gscluster/dbstore"
)

// snapshot is the saved form of a replica.
type snapshot struct {
	Version  int
	Identity string
	Applied  int64
	Nodes    []*Node
}

const snapshotVersion = 1

func (r *Replica) snapshotPath() string { return filepath.Join(r.opt.StateDir, "replica.gob") }

// loadSnapshot reads the saved replica into the tree; nil if there is none.
func (r *Replica) loadSnapshot() (*snapshot, error) {
	f, err := os.Open(r.snapshotPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var s snapshot
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", f.Name(), s.Version, snapshotVersion)
	}
	t := newTree()
	for _, n := range s.Nodes {
		t.nodes[n.Ino] = n
	}
	if t.nodes[dbstore.RootIno] == nil {
		return nil, fmt.Errorf("%s: no root directory", f.Name())
	}
	t.applied = s.Applied
	r.mu.Lock()
	r.nodes, r.applied = t.nodes, t.applied
	r.mu.Unlock()
	r.identity = s.Identity
	return &snapshot{Identity: s.Identity, Applied: s.Applied}, nil
}

// currentSnapshot describes what the tree holds, for a reconnect.
func (r *Replica) currentSnapshot() *snapshot {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.identity == "" {
		return nil
	}
	return &snapshot{Identity: r.identity, Applied: r.applied}
}

// Save writes the replica to the state directory if it changed since the
// last save, to a temporary file renamed into place.
func (r *Replica) Save() error {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	r.mu.Lock()
	if !r.changed || r.identity == "" {
		r.mu.Unlock()
		return nil
	}
	s := snapshot{Version: snapshotVersion, Identity: r.identity, Applied: r.applied}
	s.Nodes = make([]*Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		if n.Pending {
			continue
		}
		c := &Node{Ino: n.Ino, Kind: n.Kind, Mode: n.Mode, UID: n.UID, GID: n.GID, Size: n.Size, MtimeNs: n.MtimeNs,
			CtimeNs: n.CtimeNs, Hash: n.Hash, Target: n.Target, Rev: n.Rev, Subdirs: n.Subdirs, Xattrs: maps.Clone(n.Xattrs)}
		c.Names = append([]Name(nil), n.Names...)
		if n.Children != nil {
			c.Children = make(map[string]int64, len(n.Children))
			for k, v := range n.Children {
				if ch := r.nodes[v]; ch != nil && !ch.Pending {
					c.Children[k] = v
				}
			}
		}
		s.Nodes = append(s.Nodes, c)
	}
	r.changed = false
	r.mu.Unlock()
	tmp, err := os.CreateTemp(r.opt.StateDir, "replica-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	if err := gob.NewEncoder(w).Encode(&s); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), r.snapshotPath())
}
