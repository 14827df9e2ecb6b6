package gendata

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A plan lists every directory and file of the tree with its mode and
// modification time; files carry the renderer of their content. Building
// it is sequential and so deterministic; writing it is parallel.

type dirEntry struct {
	rel   string // "" for the root
	depth int
	mode  fs.FileMode
	mtime time.Time // set for empty directories; else the newest child's
}

type fileEntry struct {
	rel    string
	mode   fs.FileMode
	mtime  time.Time
	render func(b []byte) []byte
}

type plan struct {
	rng   *rand.Rand // the nanoseconds of modification times
	dirs  []*dirEntry
	byRel map[string]*dirEntry
	files []fileEntry
}

const (
	fileMode   fs.FileMode = 0o644
	dirMode    fs.FileMode = 0o755
	secretMode fs.FileMode = 0o600 // security/ files
	secretDir  fs.FileMode = 0o700
)

func (p *plan) dir(rel string) *dirEntry {
	if d, ok := p.byRel[rel]; ok {
		return d
	}
	if rel != "" {
		parent, _ := splitRel(rel)
		p.dir(parent)
	}
	mode := dirMode
	if rel == "security" || strings.HasPrefix(rel, "security/") {
		mode = secretDir
	}
	d := &dirEntry{rel: rel, mode: mode}
	if rel != "" {
		d.depth = strings.Count(rel, "/") + 1
	}
	p.byRel[rel] = d
	p.dirs = append(p.dirs, d)
	return d
}

func splitRel(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// stamp turns a millisecond time into a file modification time: the write
// lands a few milliseconds after the object was saved.
func (p *plan) stamp(t time.Time) time.Time {
	return t.Add(time.Duration(1_000_000 + p.rng.IntN(40_000_000)))
}

func (p *plan) file(rel string, t time.Time, render func([]byte) []byte) {
	parent, _ := splitRel(rel)
	p.dir(parent)
	mode := fileMode
	if strings.HasPrefix(rel, "security/") {
		mode = secretMode
	}
	p.files = append(p.files, fileEntry{rel: rel, mode: mode, mtime: p.stamp(t), render: render})
}

// emptyDir adds a directory that will hold nothing.
func (p *plan) emptyDir(rel string, t time.Time) {
	p.dir(rel).mtime = p.stamp(t)
}

// plan lays the model out as GeoServer's data directory.
func (m *model) plan() *plan {
	p := &plan{
		rng:   rand.New(rand.NewPCG(uint64(m.opt.Seed), 0x6d74696d6573)),
		byRel: map[string]*dirEntry{},
	}
	p.dir("")
	inst := m.installed
	end := m.end

	// Server configuration.
	p.file("global.xml", end.Add(2*time.Minute), m.renderGlobal)
	p.file("logging.xml", inst, renderLogging)
	for i, key := range []string{"wms", "wfs", "wcs", "wmts"} {
		id := key
		if key == "wmts" {
			id = m.wmtsID
		}
		p.file(key+".xml", end.Add(time.Duration(3+i)*time.Minute), func(b []byte) []byte { return m.renderService(b, key, id, nil) })
	}
	p.file("gwc-gs.xml", inst.Add(3*time.Minute), renderGWCGS)
	p.file("gwc/geowebcache.xml", inst.Add(4*time.Minute), m.renderGeoWebCache)
	for _, f := range m.securityFiles() {
		t := inst
		if strings.Contains(f.path, "/usergroup/") || strings.Contains(f.path, "/role/") || strings.HasSuffix(f.path, "layers.properties") {
			t = end.Add(time.Minute)
		}
		p.file(f.path, t, func(b []byte) []byte { return f.render(m, b) })
	}
	p.file("logs/geoserver.log", end.Add(3*time.Hour), func(b []byte) []byte { return m.renderLog(b, end.Add(3*time.Hour)) })
	for _, d := range []string{"data", "temp", "www", "palettes", "plugIns", "validation", "user_projections", "demo"} {
		p.emptyDir(d, inst)
	}

	// Workspaces, stores, resources and layers.
	for _, ws := range m.workspaces {
		wdir := "workspaces/" + ws.name
		wsMod := modTime(ws.created, ws.modified)
		p.file(wdir+"/workspace.xml", wsMod, func(b []byte) []byte { return m.renderWorkspace(b, ws, ws.modified) })
		p.file(wdir+"/namespace.xml", ws.created, func(b []byte) []byte { return m.renderNamespace(b, ws) })
		if ws.isFirst {
			// default.xml: the default workspace, saved again when it was
			// made the default.
			t := ws.created.Add(time.Minute).Truncate(time.Millisecond)
			p.file("workspaces/default.xml", t, func(b []byte) []byte { return m.renderWorkspace(b, ws, t) })
		}
		if ws.local {
			p.file(wdir+"/settings.xml", ws.created.Add(5*time.Minute), func(b []byte) []byte { return m.renderSettings(b, ws) })
			p.file(wdir+"/wms.xml", ws.created.Add(6*time.Minute), func(b []byte) []byte { return m.renderService(b, "wms", ws.wmsID, ws) })
			p.file(wdir+"/wfs.xml", ws.created.Add(7*time.Minute), func(b []byte) []byte { return m.renderService(b, "wfs", ws.wfsID, ws) })
		}
	}
	for _, st := range m.stores {
		sdir := "workspaces/" + st.ws.name + "/" + st.name
		if st.isCoverage() {
			p.file(sdir+"/coveragestore.xml", modTime(st.created, st.modified), func(b []byte) []byte { return m.renderCoverageStore(b, st) })
		} else {
			p.file(sdir+"/datastore.xml", modTime(st.created, st.modified), func(b []byte) []byte { return m.renderDataStore(b, st) })
		}
		for _, l := range st.layers {
			ldir := l.dir()
			if l.geom == geomRaster {
				p.file(ldir+"/coverage.xml", l.resCreated, func(b []byte) []byte { return m.renderCoverage(b, l) })
			} else {
				p.file(ldir+"/featuretype.xml", l.resCreated, func(b []byte) []byte { return m.renderFeatureType(b, l) })
			}
			p.file(ldir+"/layer.xml", modTime(l.created, l.modified), func(b []byte) []byte { return m.renderLayer(b, l) })
			for i, t := range l.templates {
				p.file(ldir+"/"+t, l.created.Add(time.Duration(10+i)*time.Minute), func(b []byte) []byte { return m.renderTemplate(b, l, t) })
			}
			p.file("gwc-layers/"+gwcFileName(l.id), l.created.Add(time.Second), func(b []byte) []byte { return m.renderTileLayer(b, l, nil) })
		}
	}

	// Styles.
	for _, s := range m.styles {
		t := modTime(s.created, s.modified)
		p.file(s.dir()+"/"+s.name+".xml", t, func(b []byte) []byte { return m.renderStyleInfo(b, s) })
		p.file(s.dir()+"/"+s.filename, t, func(b []byte) []byte { return m.renderSLD(b, s) })
		if s.icon != "" {
			p.file(s.dir()+"/"+s.icon, s.created, func(b []byte) []byte { return m.renderIcon(b, s) })
		}
	}

	// Layer groups.
	for _, g := range m.groups {
		dir := "layergroups"
		if g.ws != nil {
			dir = "workspaces/" + g.ws.name + "/layergroups"
		}
		p.file(dir+"/"+g.name+".xml", modTime(g.created, g.modified), func(b []byte) []byte { return m.renderLayerGroup(b, g) })
		p.file("gwc-layers/"+gwcFileName(g.id), g.created.Add(time.Second), func(b []byte) []byte { return m.renderTileLayer(b, nil, g) })
	}
	p.dirTimes()
	return p
}

// dirTimes gives each directory that holds something the modification time
// of its newest entry, as creating that entry left it.
func (p *plan) dirTimes() {
	for _, f := range p.files {
		d := p.byRel[mustParent(f.rel)]
		if f.mtime.After(d.mtime) {
			d.mtime = f.mtime
		}
	}
	order := slices.Clone(p.dirs)
	slices.SortStableFunc(order, func(a, b *dirEntry) int { return b.depth - a.depth })
	for _, d := range order {
		if d.rel == "" {
			continue
		}
		parent := p.byRel[mustParent(d.rel)]
		if d.mtime.After(parent.mtime) {
			parent.mtime = d.mtime
		}
	}
}

func mustParent(rel string) string {
	d, _ := splitRel(rel)
	return d
}

// write creates the plan under root: directories first (parents before
// children), then the files, each with its mode and times set right after
// it is written, and last the directories' times, deepest first, as
// writing into a directory changes its time.
//
// Files are written in parallel, a directory at a time per worker: two
// workers creating entries in one directory would mostly wait for each
// other on its lock.
func (p *plan) write(root string, workers int) (Stats, error) {
	st := Stats{Files: len(p.files), Dirs: len(p.dirs) - 1}
	mask, known := umask()
	// Directories a level at a time, each level in parallel: creating an
	// entry costs the file system a journal update, and a single writer
	// would wait for each in turn.
	var levels [][]*dirEntry
	for _, d := range p.dirs {
		for len(levels) <= d.depth {
			levels = append(levels, nil)
		}
		levels[d.depth] = append(levels[d.depth], d)
	}
	for _, level := range levels {
		err := parallel(len(level), workers, func(_, i int) error {
			d := level[i]
			path := filepath.Join(root, filepath.FromSlash(d.rel))
			if d.rel != "" {
				if err := os.Mkdir(path, d.mode); err != nil {
					return fmt.Errorf("create %s: %w", path, err)
				}
			}
			// Mkdir's mode is subject to the umask; the tree must not be.
			if d.rel == "" || !known || d.mode&mask != 0 {
				if err := os.Chmod(path, d.mode); err != nil {
					return fmt.Errorf("set mode of %s: %w", path, err)
				}
			}
			return nil
		})
		if err != nil {
			return Stats{}, err
		}
	}

	// Jobs: the files of one directory, largest directory first so that it
	// does not finish alone at the end.
	var jobs [][]*fileEntry
	jobOf := map[string]int{}
	for i := range p.files {
		f := &p.files[i]
		dir := mustParent(f.rel)
		j, ok := jobOf[dir]
		if !ok {
			j = len(jobs)
			jobOf[dir] = j
			jobs = append(jobs, nil)
		}
		jobs[j] = append(jobs[j], f)
	}
	slices.SortStableFunc(jobs, func(a, b []*fileEntry) int { return len(b) - len(a) })

	var total atomic.Int64
	bufs := make([][]byte, max(1, workers))
	err := parallel(len(jobs), workers, func(w, j int) error {
		var n int64
		for _, f := range jobs[j] {
			bufs[w] = f.render(bufs[w][:0])
			chmod := !known || f.mode&mask != 0
			if err := writeFile(filepath.Join(root, filepath.FromSlash(f.rel)), bufs[w], f.mode, chmod, f.mtime); err != nil {
				return err
			}
			n += int64(len(bufs[w]))
		}
		total.Add(n)
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	st.Bytes = total.Load()

	// Last the directories' times, deepest level first; within a level
	// order does not matter, as setting a directory's times leaves its
	// parent's alone.
	for depth := len(levels) - 1; depth >= 0; depth-- {
		level := levels[depth]
		err := parallel(len(level), workers, func(_, i int) error {
			d := level[i]
			path := filepath.Join(root, filepath.FromSlash(d.rel))
			if err := os.Chtimes(path, d.mtime, d.mtime); err != nil {
				return fmt.Errorf("set times of %s: %w", path, err)
			}
			return nil
		})
		if err != nil {
			return Stats{}, err
		}
	}
	return st, nil
}

// umask reads the process's file mode creation mask without changing it
// (syscall.Umask would, racing with other goroutines that create files).
// known is false where /proc does not tell it.
func umask() (mask fs.FileMode, known bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return 0, false
			}
			return fs.FileMode(n), true
		}
	}
	return 0, false
}

func writeFile(path string, data []byte, mode fs.FileMode, chmod bool, mtime time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil && chmod {
		err = f.Chmod(mode) // the umask took bits away
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		return fmt.Errorf("set times of %s: %w", path, err)
	}
	return nil
}

// parallel calls do(w, i) for i in [0, n) from up to workers goroutines,
// w in [0, workers) telling which, and returns the first error; after one,
// no new call starts.
func parallel(n, workers int, do func(w, i int) error) error {
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for w := range min(max(1, workers), n) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := do(w, i); err != nil {
					errOnce.Do(func() { first = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}
