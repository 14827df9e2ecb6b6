package dbstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gscluster/gscluster/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) (*Store, string) {
	t.Helper()
	url := pgtest.NewDB(t)
	st, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st, url
}

func putFile(ctx context.Context, tx *Tx, p, content string) error {
	sum := sha256.Sum256([]byte(content))
	if err := tx.PutBlob(ctx, Blob{Hash: sum[:], Size: int64(len(content)), Data: []byte(content)}); err != nil {
		return err
	}
	return tx.Put(ctx, Entry{Path: p, Kind: KindFile, Mode: 0o644, Size: int64(len(content)), MtimeNs: 1, Hash: sum[:]})
}

func TestMigrateTwiceAndSchemaNewer(t *testing.T) {
	ctx := context.Background()
	st, url := open(t)
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("second migration: %v", err)
	}
	st2, err := Open(ctx, url, Options{NoMigrate: true})
	if err != nil {
		t.Fatalf("open without migrating a current schema: %v", err)
	}
	st2.Close()
	if _, err := st.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, url, Options{})
	if !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), "upgrade gscluster") {
		t.Fatalf("open of a newer schema: %v, want ErrSchemaNewer telling to upgrade", err)
	}
}

func TestUnreachableDatabase(t *testing.T) {
	_, err := Open(context.Background(), "postgres://someone:s3cret@127.0.0.1:1/x?connect_timeout=2", Options{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("open of a closed port: %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %q must name 127.0.0.1:1 and not the password", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"host=a password=abc user=b":        "host=a password=xxxxx user=b",
		"host=a password='a b c' user=b":    "host=a password=xxxxx user=b",
		"postgres://u:pw@h/db":              "postgres://u:xxxxx@h/db",
		"no secrets here: postgres://u@h/d": "no secrets here: postgres://u@h/d",
	} {
		if got := redact(errors.New(in)); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRevisionsFollowCommitOrder runs concurrent writers and a follower
// that reads the change log as they commit. The follower must see every
// revision, in order, exactly once: a revision that became visible after a
// higher one would be skipped.
func TestRevisionsFollowCommitOrder(t *testing.T) {
	ctx := context.Background()
	st, _ := open(t)
	const writers, each = 4, 25
	done := make(chan struct{})
	var seen []int64
	var followErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		applied := int64(0)
		for {
			// Whether the writers were done is read before the query, so
			// that the last, empty read saw every commit.
			finished := false
			select {
			case <-done:
				finished = true
			default:
			}
			changes, err := st.ChangesSince(ctx, applied)
			if err != nil {
				followErr = err
				return
			}
			for _, c := range changes {
				if c.Rev != applied {
					seen = append(seen, c.Rev)
					applied = c.Rev
				}
			}
			if finished && len(changes) == 0 {
				return
			}
		}
	}()
	var ww sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		ww.Add(1)
		go func() {
			defer ww.Done()
			for i := 0; i < each; i++ {
				_, err := st.Write(ctx, fmt.Sprintf("w%d", w), "", func(ctx context.Context, tx *Tx) error {
					return putFile(ctx, tx, fmt.Sprintf("w%d-%d.xml", w, i), fmt.Sprintf("<x>%d %d</x>", w, i))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	ww.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if followErr != nil {
		t.Fatal(followErr)
	}
	if len(seen) != writers*each {
		t.Logf("seen: %v", seen)
		t.Fatalf("follower saw %d revisions, want %d", len(seen), writers*each)
	}
	for i, r := range seen {
		if r != int64(i+1) {
			t.Fatalf("follower saw revision %d in position %d: revisions skipped or out of order (%v)", r, i, seen)
		}
	}
}

func TestPutRemoveAndSentinels(t *testing.T) {
	ctx := context.Background()
	st, _ := open(t)
	rev, err := st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		if err := tx.Put(ctx, Entry{Path: "ws", Kind: KindDir, Mode: 0o755}); err != nil {
			return err
		}
		if err := tx.Put(ctx, Entry{Path: "ws/sub", Kind: KindDir, Mode: 0o700}); err != nil {
			return err
		}
		if err := putFile(ctx, tx, "ws/sub/a.xml", "<a/>"); err != nil {
			return err
		}
		return tx.Put(ctx, Entry{Path: "ws/link", Kind: KindSymlink, Mode: 0o777, Target: "sub/a.xml"})
	})
	if err != nil || rev != 1 {
		t.Fatalf("write = %d, %v", rev, err)
	}
	_, err = st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return putFile(ctx, tx, "missing/a.xml", "x")
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("put under a missing directory: %v, want ErrNotFound", err)
	}
	_, err = st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return putFile(ctx, tx, "ws/sub/a.xml/b", "x")
	})
	if !errors.Is(err, ErrNotDir) {
		t.Errorf("put under a file: %v, want ErrNotDir", err)
	}
	_, err = st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return tx.Put(ctx, Entry{Path: "nope.xml", Kind: KindFile, Hash: make([]byte, 32)})
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("put of a file whose content is not stored: %v, want ErrNotFound", err)
	}
	// A failed write leaves no revision behind.
	if head, _ := st.Head(ctx); head != 1 {
		t.Fatalf("head after failed writes = %d, want 1", head)
	}
	// A write that changes nothing commits nothing.
	rev, err = st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return tx.Put(ctx, Entry{Path: "ws", Kind: KindDir, Mode: 0o755})
	})
	if err != nil || rev != 1 {
		t.Fatalf("no-op write = %d, %v, want head 1", rev, err)
	}
	rev, err = st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return tx.Remove(ctx, "ws")
	})
	if err != nil || rev != 2 {
		t.Fatalf("remove = %d, %v", rev, err)
	}
	tree, err := st.Tree(ctx, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Entries) != 1 {
		t.Fatalf("tree after removing everything has %d entries", len(tree.Entries))
	}
	var inodes, dentries int
	st.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM inodes), (SELECT count(*) FROM dentries)`).Scan(&inodes, &dentries) //nolint:errcheck
	if inodes != 1 || dentries != 0 {
		t.Fatalf("after removing everything: %d inodes, %d names; want the root alone", inodes, dentries)
	}
	old, err := st.Tree(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range old.Entries {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, ",") != ",ws,ws/link,ws/sub,ws/sub/a.xml" {
		t.Fatalf("tree at revision 1 = %q", paths)
	}
	log, err := st.Log(ctx, "ws/sub", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 || log[0].Op != OpDelete || log[3].Op != OpCreate {
		t.Fatalf("log of ws/sub = %+v", log)
	}
	if _, err := st.Tree(ctx, 7, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("tree at a future revision: %v, want ErrNotFound", err)
	}
}

func TestCatalogIndex(t *testing.T) {
	ctx := context.Background()
	st, _ := open(t)
	files := map[string]string{
		"workspaces/topp/workspace.xml":                   `<workspace><id>WS1</id><name>topp</name></workspace>`,
		"workspaces/topp/namespace.xml":                   `<namespace><id>NS1</id><prefix>topp</prefix><uri>http://topp</uri></namespace>`,
		"workspaces/topp/st/datastore.xml":                `<dataStore><id>DS1</id><name>st</name><workspace><id>WS1</id></workspace></dataStore>`,
		"workspaces/topp/st/roads/featuretype.xml":        `<featureType><id>FT1</id><name>roads</name><namespace><id>NS1</id></namespace><store class="dataStore"><id>DS1</id></store></featureType>`,
		"workspaces/topp/st/roads/layer.xml":              `<layer><name>roads</name><id>L1</id><defaultStyle><id>S1</id></defaultStyle><resource class="featureType"><id>FT1</id></resource></layer>`,
		"workspaces/topp/st/rivers/layer.xml":             `<layer><name>rivers</name><id>L2</id><defaultStyle><id>S9</id></defaultStyle><resource class="featureType"><id>FT9</id></resource></layer>`,
		"styles/line.xml":                                 `<style><id>S1</id><name>line</name><filename>line.sld</filename></style>`,
		"workspaces/topp/st/broken/featuretype.xml":       `<featureType><id>FT2</id><name>broken`,
		"workspaces/topp/st/broken/not-catalog-file.html": `<<<`,
	}
	_, err := st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		var paths []string
		for p := range files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		made := map[string]bool{"": true}
		for _, p := range paths {
			parts := strings.Split(p, "/")
			for i := 1; i < len(parts); i++ {
				d := strings.Join(parts[:i], "/")
				if !made[d] {
					made[d] = true
					if err := tx.Put(ctx, Entry{Path: d, Kind: KindDir, Mode: 0o755}); err != nil {
						return err
					}
				}
			}
			if err := putFile(ctx, tx, p, files[p]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	layers, err := st.CatalogList(ctx, []string{"layer"})
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Name != "rivers" || layers[1].Name != "roads" || layers[1].DefaultStyle != "line" || layers[1].Workspace != "topp" {
		t.Fatalf("layers = %+v", layers)
	}
	problems, err := st.CatalogCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Path+": "+p.Message)
	}
	want := []string{
		"workspaces/topp/st/broken/featuretype.xml: file does not parse",
		"workspaces/topp/st/rivers/layer.xml: default style S9 is missing",
		"workspaces/topp/st/rivers/layer.xml: resource FT9 is missing",
	}
	if len(got) != len(want) {
		t.Fatalf("problems = %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("problem %d = %q, want %q", i, got[i], want[i])
		}
	}
	// Removing the layer drops it from the index.
	if _, err := st.Write(ctx, "test", "", func(ctx context.Context, tx *Tx) error {
		return tx.Remove(ctx, "workspaces/topp/st/rivers")
	}); err != nil {
		t.Fatal(err)
	}
	if layers, _ := st.CatalogList(ctx, []string{"layer"}); len(layers) != 1 {
		t.Fatalf("after removing rivers, %d layers are indexed", len(layers))
	}
	var n int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM catalog_objects`).Scan(&n); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	if n != 7 {
		t.Errorf("catalog index holds %d objects, want the 7 catalog files left", n)
	}
}

func TestPathsAndOrder(t *testing.T) {
	for _, c := range []struct {
		p  string
		ok bool
	}{
		{"", true}, {"a", true}, {"a/b.xml", true}, {"/a", false}, {"a/", false}, {"a//b", false},
		{"a/../b", false}, {"..", false}, {".", false}, {"a\x00b", false}, {"bad\xff", false}, {"ünïcødé/ok", true},
	} {
		if err := ValidPath(c.p); (err == nil) != c.ok {
			t.Errorf("ValidPath(%q) = %v, want ok=%v", c.p, err, c.ok)
		}
	}
	paths := []string{"a.x", "a/b", "", "a", "b", "a/b/c", "a-b"}
	entries := make([]Entry, len(paths))
	for i, p := range paths {
		entries[i].Path = p
	}
	SortEntries(entries)
	var got []string
	for _, e := range entries {
		got = append(got, e.Path)
	}
	if strings.Join(got, "|") != "|a|a/b|a/b/c|a-b|a.x|b" {
		t.Errorf("sorted = %q: every directory must come right before its children", got)
	}
}
