package dbstore

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/gscluster/gscluster/internal/catalog"
)

// maxCatalogFile is the largest catalog XML file that is parsed; a larger
// one is indexed with a parse error.
const maxCatalogFile = ChunkSize

// indexCatalog brings the catalog index in line with this transaction's
// changes: every changed catalog file is parsed again, every removed one is
// dropped. A file that does not parse is indexed with its error.
// catalogRows parses the catalog files this transaction changed and
// returns the paths whose index rows go and the rows that replace them.
func (t *Tx) catalogRows(ctx context.Context) ([]string, [][]any, error) {
	last := map[string]changeRow{}
	for _, c := range t.changes {
		if catalog.Classify(c.path) != catalog.KindNone {
			last[c.path] = c
		}
	}
	if len(last) == 0 {
		return nil, nil, nil
	}
	paths := make([]string, 0, len(last))
	type job struct {
		path string
		kind catalog.Kind
		hash []byte
	}
	var jobs []job
	var hashes [][]byte
	seen := map[string]bool{}
	for p, c := range last {
		paths = append(paths, p)
		if c.op == OpDelete || c.e.Kind != KindFile {
			continue
		}
		jobs = append(jobs, job{p, catalog.Classify(p), c.e.Hash})
		if _, ok := t.uploaded[string(c.e.Hash)]; !ok && !seen[string(c.e.Hash)] {
			seen[string(c.e.Hash)] = true
			hashes = append(hashes, c.e.Hash)
		}
	}
	if len(jobs) == 0 {
		return paths, nil, nil
	}
	content := make(map[string][]byte, len(hashes))
	for h, d := range t.uploaded {
		content[h] = d
	}
	if len(hashes) > 0 {
		rows, err := t.tx.Query(ctx, `SELECT hash, data FROM blobs WHERE hash = ANY($1) AND data IS NOT NULL AND size <= $2`, hashes, maxCatalogFile)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var h, d []byte
			if err := rows.Scan(&h, &d); err != nil {
				rows.Close()
				return nil, nil, err
			}
			content[string(h)] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
	}

	out := make([][]any, len(jobs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(jobs); i += workers {
				j := jobs[i]
				var o catalog.Object
				var perr any
				data, ok := content[string(j.hash)]
				if !ok {
					perr = fmt.Sprintf("not parsed: larger than %d bytes", maxCatalogFile)
				} else if obj, err := catalog.Parse(j.kind, data); err != nil {
					perr = err.Error()
				} else {
					o = obj
				}
				styles, layers := o.Styles, o.Layers
				if styles == nil {
					styles = []string{}
				}
				if layers == nil {
					layers = []string{}
				}
				out[i] = []any{j.path, string(j.kind), o.ID, o.Name, catalog.PathWorkspace(j.path), o.Workspace, o.Namespace,
					o.Store, o.Resource, o.DefaultStyle, styles, layers, perr, t.rev}
			}
		}(w)
	}
	wg.Wait()
	return paths, out, nil
}

// catalogCols are the columns of the rows catalogRows returns.
var catalogCols = []string{"path", "kind", "id", "name", "workspace", "workspace_ref", "namespace_ref", "store_ref", "resource_ref",
	"default_style", "styles", "layers", "parse_error", "rev"}

// CatalogObject is one row of the catalog index.
type CatalogObject struct {
	Path         string
	Kind         string
	ID           string
	Name         string
	Workspace    string
	Store        string // the referenced store's name, where resolved
	ParseError   string
	DefaultStyle string
}

// CatalogList returns the indexed objects of the given kinds, ordered by
// workspace and name.
func (s *Store) CatalogList(ctx context.Context, kinds []string) ([]CatalogObject, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT o.path, o.kind, o.id, o.name, o.workspace, coalesce(st.name, ''), coalesce(o.parse_error, ''),
		       coalesce(sty.name, o.default_style)
		FROM catalog_objects o
		LEFT JOIN catalog_objects st ON st.id = o.store_ref AND o.store_ref <> '' AND st.kind IN ('datastore', 'coveragestore', 'wmsstore', 'wmtsstore')
		LEFT JOIN catalog_objects sty ON sty.id = o.default_style AND o.default_style <> '' AND sty.kind = 'style'
		WHERE o.kind = ANY($1)
		ORDER BY o.workspace, o.name, o.path`, kinds)
	if err != nil {
		return nil, s.wrap(err, "read catalog index")
	}
	defer rows.Close()
	var out []CatalogObject
	for rows.Next() {
		var o CatalogObject
		if err := rows.Scan(&o.Path, &o.Kind, &o.ID, &o.Name, &o.Workspace, &o.Store, &o.ParseError, &o.DefaultStyle); err != nil {
			return nil, s.wrap(err, "read catalog index")
		}
		out = append(out, o)
	}
	return out, s.wrap(rows.Err(), "read catalog index")
}

// Problem is one finding of CatalogCheck.
type Problem struct {
	Path    string
	Kind    string
	Name    string
	Message string
}

// CatalogCheck lists dangling references (a layer whose resource is
// missing, a resource whose store or namespace is missing, a store whose
// workspace is missing, a layer or layer group whose style is missing, a
// layer group member that is missing) and catalog files that do not parse.
func (s *Store) CatalogCheck(ctx context.Context) ([]Problem, error) {
	rows, err := s.pool.Query(ctx, `
		WITH o AS (SELECT * FROM catalog_objects),
		ids AS (SELECT id, kind FROM catalog_objects WHERE parse_error IS NULL AND id <> '')
		SELECT path, kind, name, msg FROM (
			SELECT path, kind, name, 'file does not parse: ' || parse_error AS msg FROM o WHERE parse_error IS NOT NULL
			UNION ALL
			SELECT path, kind, name, 'resource ' || resource_ref || ' is missing' FROM o
			WHERE kind = 'layer' AND parse_error IS NULL AND (resource_ref = '' OR NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = o.resource_ref AND ids.kind IN ('featuretype', 'coverage', 'wmslayer', 'wmtslayer')))
			UNION ALL
			SELECT path, kind, name, 'store ' || store_ref || ' is missing' FROM o
			WHERE kind IN ('featuretype', 'coverage', 'wmslayer', 'wmtslayer') AND parse_error IS NULL AND store_ref <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = o.store_ref AND ids.kind IN ('datastore', 'coveragestore', 'wmsstore', 'wmtsstore'))
			UNION ALL
			SELECT path, kind, name, 'namespace ' || namespace_ref || ' is missing' FROM o
			WHERE kind IN ('featuretype', 'coverage', 'wmslayer', 'wmtslayer') AND parse_error IS NULL AND namespace_ref <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = o.namespace_ref AND ids.kind = 'namespace')
			UNION ALL
			SELECT path, kind, name, 'workspace ' || workspace_ref || ' is missing' FROM o
			WHERE kind IN ('datastore', 'coveragestore', 'wmsstore', 'wmtsstore') AND parse_error IS NULL AND workspace_ref <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = o.workspace_ref AND ids.kind = 'workspace')
			UNION ALL
			SELECT path, kind, name, 'default style ' || default_style || ' is missing' FROM o
			WHERE kind = 'layer' AND parse_error IS NULL AND default_style <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = o.default_style AND ids.kind = 'style')
			UNION ALL
			SELECT path, kind, name, 'style ' || s || ' is missing' FROM o, unnest(o.styles) s
			WHERE kind IN ('layer', 'layergroup') AND parse_error IS NULL AND s <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = s AND ids.kind = 'style')
			UNION ALL
			SELECT path, kind, name, 'member ' || l || ' is missing' FROM o, unnest(o.layers) l
			WHERE kind = 'layergroup' AND parse_error IS NULL AND l <> '' AND NOT EXISTS (
				SELECT 1 FROM ids WHERE ids.id = l AND ids.kind IN ('layer', 'layergroup'))
		) p ORDER BY path, msg`)
	if err != nil {
		return nil, s.wrap(err, "check catalog")
	}
	defer rows.Close()
	var out []Problem
	for rows.Next() {
		var p Problem
		if err := rows.Scan(&p.Path, &p.Kind, &p.Name, &p.Message); err != nil {
			return nil, s.wrap(err, "check catalog")
		}
		out = append(out, p)
	}
	return out, s.wrap(rows.Err(), "check catalog")
}
