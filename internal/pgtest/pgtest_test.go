package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(crashEnv); mode != "" {
		crashChild(mode)
	}
	Main(m)
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDBIsolates(t *testing.T) {
	urlA, urlB := NewDB(t), NewDB(t)
	if urlA == urlB {
		t.Fatalf("two NewDB calls returned the same URL %s", urlA)
	}
	a, b := connect(t, urlA), connect(t, urlB)
	ctx := t.Context()
	var nameA, nameB string
	if err := a.QueryRow(ctx, "SELECT current_database()").Scan(&nameA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT current_database()").Scan(&nameB); err != nil {
		t.Fatal(err)
	}
	if nameA == nameB || !strings.HasPrefix(nameA, "t_testnewdbisolates_") {
		t.Fatalf("databases %q and %q: want distinct names derived from the test name", nameA, nameB)
	}
	if _, err := a.Exec(ctx, "CREATE TABLE only_in_a (v int)"); err != nil {
		t.Fatal(err)
	}
	var inA, inB bool
	if err := a.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&inA); err != nil {
		t.Fatal(err)
	}
	if err := b.QueryRow(ctx, "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&inB); err != nil {
		t.Fatal(err)
	}
	if !inA || inB {
		t.Fatalf("table only_in_a: in a %v, in b %v; want only in a", inA, inB)
	}
}

func TestNewDBDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("sub", func(t *testing.T) {
		conn := connect(t, NewDB(t))
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// conn is still open when the drop runs: the drop must force it.
	})
	var exists bool
	if err := connect(t, URL()).QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Fatalf("database %q still exists after its test ended", name)
	}
}

func TestNewDBParallel(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	t.Run("group", func(t *testing.T) {
		for i := range 8 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				var db string
				if err := connect(t, NewDB(t)).QueryRow(t.Context(), "SELECT current_database()").Scan(&db); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if other, dup := seen[db]; dup {
					t.Errorf("%s and %s got the same database %s", other, t.Name(), db)
				}
				seen[db] = t.Name()
			})
		}
	})
	if len(seen) != 8 {
		t.Errorf("8 parallel tests got %d distinct databases", len(seen))
	}
}

func TestServerSettings(t *testing.T) {
	conn := connect(t, URL())
	for setting, want := range map[string]string{
		"fsync":              "off",
		"synchronous_commit": "off",
		"full_page_writes":   "off",
		"max_connections":    "200",
		"listen_addresses":   "127.0.0.1",
	} {
		var got string
		if err := conn.QueryRow(t.Context(), "SELECT current_setting($1)", setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s = %s, want %s", setting, got, want)
		}
	}
}

func TestDBName(t *testing.T) {
	for _, tc := range []struct {
		test string
		n    int64
		want string
	}{
		{"TestX", 1, "t_testx_1"},
		{"TestX/sub case#01", 2, "t_testx_sub_case_01_2"},
		{"Test__Ünï/--", 3, "t_test_n_3"},
		{strings.Repeat("a", 100), 12345, "t_" + strings.Repeat("a", 38) + "_12345"},
	} {
		got := dbName(tc.test, tc.n)
		if got != tc.want {
			t.Errorf("dbName(%q, %d) = %q, want %q", tc.test, tc.n, got, tc.want)
		}
		if len(got) > 63 {
			t.Errorf("dbName(%q) = %q is longer than 63 bytes", tc.test, got)
		}
	}
}
