package gendata

import (
	"bytes"
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// One 1,000-layer tree, generated once and shared by the tests that only
// read it.
var shared struct {
	once sync.Once
	dir  string
	st   Stats
	err  error

	idsOnce sync.Once
	defs    map[string]string
	refs    []idRef
}

func ids1000(t *testing.T) (map[string]string, []idRef) {
	dir, _ := tree1000(t)
	shared.idsOnce.Do(func() { shared.defs, shared.refs = catalogIDs(t, dir) })
	if shared.defs == nil {
		t.Fatal("reading the ids of the shared tree failed")
	}
	return shared.defs, shared.refs
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func tree1000(t *testing.T) (string, Stats) {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "gendata-")
		if shared.err != nil {
			return
		}
		start := time.Now()
		shared.st, shared.err = Generate(shared.dir, Options{Layers: 1000, Seed: 7})
		t.Logf("generated 1000 layers in %v: %d files", time.Since(start), shared.st.Files)
	})
	if shared.err != nil {
		t.Fatalf("generate: %v", shared.err)
	}
	return shared.dir, shared.st
}

type node struct {
	mode  fs.FileMode
	mtime int64 // ns
	size  int64
	sum   [32]byte
}

// snapshot reads a tree: every entry's mode, modification time, size and
// content hash, by slash path ("" is the root).
func snapshot(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		n := node{mode: fi.Mode(), mtime: fi.ModTime().UnixNano()}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n.size, n.sum = int64(len(data)), sha256.Sum256(data)
		}
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	opt := Options{Layers: 200, Seed: 42, Dangling: 4}
	a, b := t.TempDir(), filepath.Join(t.TempDir(), "new")
	sa, err := Generate(a, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Workers = 1 // scheduling must not matter
	sb, err := Generate(b, opt)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("stats differ:\n%+v\n%+v", sa, sb)
	}
	ta, tb := snapshot(t, a), snapshot(t, b)
	if len(ta) != len(tb) {
		t.Errorf("%d entries, then %d", len(ta), len(tb))
	}
	var diffs int
	for _, p := range slices.Sorted(maps.Keys(ta)) {
		if na, nb := ta[p], tb[p]; na != nb {
			if diffs++; diffs <= 10 {
				t.Errorf("%q differs: %+v vs %+v", p, na, nb)
			}
		}
	}
	// Nanoseconds are set, not only seconds.
	var whole int
	for _, n := range ta {
		if n.mtime%1e9 == 0 {
			whole++
		}
	}
	if whole > len(ta)/100 {
		t.Errorf("%d of %d modification times are whole seconds", whole, len(ta))
	}

	c := t.TempDir()
	if _, err := Generate(c, Options{Layers: 10, Seed: 43}); err != nil {
		t.Fatal(err)
	}
	if tc := snapshot(t, c); tc["global.xml"] == ta["global.xml"] {
		t.Error("seeds 42 and 43 give the same global.xml")
	}
}

func TestCounts(t *testing.T) {
	dir, st := tree1000(t)
	if st.Files < 4500 || st.Files > 5600 {
		t.Errorf("1000 layers gave %d files, want 4,500-5,600 (about 50,000 for 10,000 layers)", st.Files)
	}
	var files, dirs int
	var bytes int64
	for p, n := range snapshot(t, dir) {
		switch {
		case p == "":
		case n.mode.IsDir():
			dirs++
		default:
			files++
			bytes += n.size
		}
	}
	if files != st.Files || dirs != st.Dirs || bytes != st.Bytes {
		t.Errorf("tree has %d files, %d dirs, %d bytes; Stats says %d, %d, %d", files, dirs, bytes, st.Files, st.Dirs, st.Bytes)
	}
	if st.Layers != 1000 || st.Workspaces == 0 || st.Stores == 0 || st.LayerGroups != 20 {
		t.Errorf("stats %+v", st)
	}
	// About one style per five layers, plus the five built-in ones.
	if st.Styles < 150 || st.Styles > 300 {
		t.Errorf("%d styles for 1000 layers", st.Styles)
	}
	for _, p := range []string{
		"global.xml", "logging.xml", "wms.xml", "wfs.xml", "wcs.xml", "wmts.xml", "gwc-gs.xml",
		"gwc/geowebcache.xml", "workspaces/default.xml", "logs/geoserver.log",
		"styles/point.xml", "styles/default_point.sld", "styles/line.xml", "styles/polygon.xml",
		"styles/raster.xml", "styles/raster.sld", "styles/generic.xml", "styles/default_generic.sld",
		"security/config.xml", "security/masterpw.xml", "security/usergroup/default/users.xml",
		"security/role/default/roles.xml", "security/auth/default/config.xml", "security/filter/basic/config.xml",
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	for _, p := range []string{"data", "temp"} {
		if ents, err := os.ReadDir(filepath.Join(dir, p)); err != nil || len(ents) != 0 {
			t.Errorf("%s: want an empty directory, got %d entries, %v", p, len(ents), err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "security/usergroup/default/users.xml"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("users.xml: mode %v, %v", fi.Mode(), err)
	}
}

// TestWellFormed parses every XML document of the tree.
func TestWellFormed(t *testing.T) {
	dir, _ := tree1000(t)
	var n int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Ext(p) {
		case ".xml", ".sld", ".xsd", ".svg":
		default:
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := wellFormed(data); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3000 {
		t.Errorf("only %d XML documents", n)
	}
}

func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 || depth != 0 {
		return fmt.Errorf("%d root elements", roots)
	}
	return nil
}

// catalogIDs reads the ids a data directory defines and the references it
// makes: an <id> directly under the root defines the object, one inside a
// reference element (<store>, <resource>, <defaultStyle>, <style>,
// <published>, <workspace>, <namespace>) points to another; a gwc-layers
// file's own id points to its layer or group.
type idRef struct{ path, id string }

var refParents = map[string]bool{
	"workspace": true, "namespace": true, "store": true, "resource": true,
	"defaultStyle": true, "style": true, "published": true,
}

func catalogIDs(t *testing.T, root string) (defs map[string]string, refs []idRef) {
	t.Helper()
	defs = map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".xml" {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := xml.NewDecoder(bytes.NewReader(data))
		var stack []string
		var text strings.Builder
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				stack = append(stack, tok.Name.Local)
				text.Reset()
			case xml.CharData:
				text.Write(tok)
			case xml.EndElement:
				if tok.Name.Local == "id" {
					id := strings.TrimSpace(text.String())
					switch {
					case len(stack) == 2 && strings.HasPrefix(rel, "gwc-layers/"):
						refs = append(refs, idRef{rel, id})
					case len(stack) == 2 && rel != "workspaces/default.xml":
						if prev, dup := defs[id]; dup {
							t.Errorf("id %s defined by %s and %s", id, prev, rel)
						}
						defs[id] = rel
					case len(stack) > 2 && refParents[stack[len(stack)-2]]:
						refs = append(refs, idRef{rel, id})
					}
				}
				stack = stack[:len(stack)-1]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return defs, refs
}

func TestReferencesResolve(t *testing.T) {
	defs, refs := ids1000(t)
	if len(refs) < 5000 {
		t.Errorf("only %d references", len(refs))
	}
	for _, r := range refs {
		if _, ok := defs[r.id]; !ok {
			t.Errorf("%s: reference to %s resolves to nothing", r.path, r.id)
		}
	}
}

// TestLayout checks that references agree with the folders GeoServer
// loads objects from: a layer's resource is beside it, the resource's
// store is the folder above, the store's workspace and the resource's
// namespace the folder above that; each layer has its tile layer.
func TestLayout(t *testing.T) {
	dir, st := tree1000(t)
	read := func(rel string) map[string]string {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return topLevel(t, data)
	}
	layers, _ := filepath.Glob(filepath.Join(dir, "workspaces/*/*/*/layer.xml"))
	if len(layers) != st.Layers {
		t.Fatalf("%d layer.xml files for %d layers", len(layers), st.Layers)
	}
	gwc := map[string]bool{}
	ents, _ := os.ReadDir(filepath.Join(dir, "gwc-layers"))
	for _, e := range ents {
		gwc[e.Name()] = true
	}
	for _, p := range layers {
		rel, _ := filepath.Rel(dir, p)
		ldir := path.Dir(filepath.ToSlash(rel))
		layer := read(ldir + "/layer.xml")
		if layer["name"] != path.Base(ldir) {
			t.Errorf("%s: layer named %q", ldir, layer["name"])
		}
		resFile := ldir + "/featuretype.xml"
		storeFile := path.Dir(ldir) + "/datastore.xml"
		if layer["type"] == "RASTER" {
			resFile = ldir + "/coverage.xml"
			storeFile = path.Dir(ldir) + "/coveragestore.xml"
		}
		res, store := read(resFile), read(storeFile)
		wsDir := path.Dir(path.Dir(ldir))
		ws, ns := read(wsDir+"/workspace.xml"), read(wsDir+"/namespace.xml")
		if layer["resource"] != res["id"] || res["store"] != store["id"] || store["workspace"] != ws["id"] || res["namespace"] != ns["id"] {
			t.Errorf("%s: layer -> %s, resource %s -> store %s, store %s -> workspace %s (%s), namespace %s (%s)",
				ldir, layer["resource"], res["id"], res["store"], store["id"], store["workspace"], ws["id"], res["namespace"], ns["id"])
		}
		if !gwc[gwcFileName(layer["id"])] {
			t.Errorf("%s: no gwc-layers file for %s", ldir, layer["id"])
		}
	}
	styles, _ := filepath.Glob(filepath.Join(dir, "styles/*.xml"))
	wsStyles, _ := filepath.Glob(filepath.Join(dir, "workspaces/*/styles/*.xml"))
	if len(wsStyles) == 0 {
		t.Error("no workspace styles")
	}
	for _, p := range append(styles, wsStyles...) {
		rel, _ := filepath.Rel(dir, p)
		s := read(filepath.ToSlash(rel))
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), s["filename"])); err != nil {
			t.Errorf("%s: style file %q: %v", rel, s["filename"], err)
		}
	}
}

// topLevel maps the root's child elements to their text, or for a
// reference element (<store><id>X</id></store>) to the id inside.
func topLevel(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			switch {
			case len(stack) == 2:
				if _, set := out[stack[1]]; !set {
					out[stack[1]] = strings.TrimSpace(text.String())
				}
			case len(stack) == 3 && stack[2] == "id":
				out[stack[1]] = strings.TrimSpace(text.String())
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func TestDangling(t *testing.T) {
	dir := t.TempDir()
	st, err := Generate(dir, Options{Layers: 200, Seed: 3, Dangling: 9})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Dangling) != 9 {
		t.Fatalf("%d dangling references reported, want 9", len(st.Dangling))
	}
	kinds := map[DanglingKind]int{}
	want := map[idRef]bool{}
	for _, d := range st.Dangling {
		kinds[d.Kind]++
		want[idRef{d.Path, d.ID}] = true
	}
	if kinds[DanglingResource] != 3 || kinds[DanglingStore] != 3 || kinds[DanglingStyle] != 3 {
		t.Errorf("kinds %v, want 3 of each", kinds)
	}
	defs, refs := catalogIDs(t, dir)
	got := map[idRef]bool{}
	for _, r := range refs {
		if _, ok := defs[r.id]; !ok {
			got[r] = true
		}
	}
	for r := range got {
		if !want[r] {
			t.Errorf("unexpected unresolved reference %v", r)
		}
	}
	for r := range want {
		if !got[r] {
			t.Errorf("reported dangling reference %v resolves or is absent", r)
		}
	}
}

func TestRefusesNonEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, Options{Layers: 1}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("got %v, want ErrNotEmpty", err)
	}
	if _, err := Generate(t.TempDir(), Options{Layers: 2, Dangling: 3}); err == nil {
		t.Error("more dangling references than layers accepted")
	}
}

func TestSmall(t *testing.T) {
	for _, n := range []int{1, 2, 5} {
		dir := t.TempDir()
		st, err := Generate(dir, Options{Layers: n, Dangling: n})
		if err != nil {
			t.Fatalf("%d layers: %v", n, err)
		}
		if st.Layers != n || len(st.Dangling) != n {
			t.Errorf("%d layers: %+v", n, st)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	for _, c := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {-180, "-180.0"}, {83.64513, "83.64513"}, {589851.4376666048, "589851.4376666048"},
		{6e-4, "6.0E-4"}, {7e7, "7.0E7"}, {-2.003750834e7, "-2.003750834E7"}, {0.001, "0.001"}, {1e7, "1.0E7"},
	} {
		if got := jd(c.f); got != c.want {
			t.Errorf("jd(%v) = %q, want %q", c.f, got, c.want)
		}
	}
	if got := gsDate(time.Date(2022, 9, 26, 6, 55, 57, 89e6, time.UTC)); got != "2022-09-26 06:55:57.89 UTC" {
		t.Errorf("gsDate = %q", got)
	}
}

func TestIDFormat(t *testing.T) {
	defs, _ := ids1000(t)
	var n int
	for id, p := range defs {
		if !strings.HasPrefix(p, "workspaces/") && !strings.HasPrefix(p, "styles/") && !strings.HasPrefix(p, "layergroups/") {
			continue
		}
		n++
		prefix, uid, ok := strings.Cut(id, "Impl-")
		parts := strings.Split(uid, ":")
		if !ok || !strings.HasSuffix(prefix, "Info") || len(parts) != 3 {
			t.Errorf("%s: id %q is not in GeoServer's format", p, id)
		}
	}
	if n == 0 {
		t.Error("no catalog ids")
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			var bytes int64
			for b.Loop() {
				b.StopTimer()
				dir := b.TempDir()
				b.StartTimer()
				st, err := Generate(dir, Options{Layers: n})
				if err != nil {
					b.Fatal(err)
				}
				bytes = st.Bytes
			}
			b.SetBytes(bytes)
		})
	}
}
