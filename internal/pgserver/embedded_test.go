package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestEnsure(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	state := filepath.Join(tempDir(t), "state")
	t.Cleanup(func() {
		if err := StopEmbedded(context.Background(), state); err != nil {
			t.Errorf("StopEmbedded: %v", err)
		}
		if st, _ := StatusEmbedded(state); st.Running {
			t.Errorf("embedded server still running after the test: %+v", st)
		}
	})

	st, err := StatusEmbedded(state)
	if err != nil {
		t.Fatalf("status of a missing state dir: %v", err)
	}
	if st.Initialized || st.Running || st.URL != "" {
		t.Fatalf("status of a missing state dir = %+v", st)
	}

	url1, err := Ensure(ctx, state, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	st1, err := StatusEmbedded(state)
	if err != nil {
		t.Fatal(err)
	}
	if !st1.Initialized || !st1.Running || st1.PID == 0 || st1.URL != url1 || st1.Dir != filepath.Join(state, "pg") {
		t.Fatalf("status after Ensure = %+v, want running with URL %s", st1, url1)
	}
	if !strings.HasSuffix(url1, "/gscluster?sslmode=disable") {
		t.Errorf("URL %s does not name database gscluster", url1)
	}

	// Data written now must survive the second Ensure and a restart.
	conn, err := pgx.Connect(ctx, url1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)

	url2, err := Ensure(ctx, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := StatusEmbedded(state)
	if url2 != url1 || st2.PID != st1.PID {
		t.Fatalf("second Ensure: URL %s pid %d, want the running server's %s pid %d", url2, st2.PID, url1, st1.PID)
	}

	if err := StopEmbedded(ctx, state); err != nil {
		t.Fatal(err)
	}
	st3, err := StatusEmbedded(state)
	if err != nil {
		t.Fatal(err)
	}
	if st3.Running || st3.PID != 0 || !st3.Initialized || st3.URL != url1 {
		t.Fatalf("status after StopEmbedded = %+v, want stopped, initialised, URL %s", st3, url1)
	}

	url3, err := Ensure(ctx, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	if url3 != url1 {
		t.Errorf("restart moved the server from %s to %s although the port was free", url1, url3)
	}
	conn, err = pgx.Connect(ctx, url3)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v = %d, err = %v; want 42", v, err)
	}
}

func TestEnsureMovesOffATakenPort(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	state := filepath.Join(tempDir(t), "state")
	t.Cleanup(func() {
		if err := StopEmbedded(context.Background(), state); err != nil {
			t.Errorf("StopEmbedded: %v", err)
		}
	})
	url1, err := Ensure(ctx, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := StatusEmbedded(state)
	if err := StopEmbedded(ctx, state); err != nil {
		t.Fatal(err)
	}
	// Someone else takes the remembered port.
	other := &Server{Dir: filepath.Join(tempDir(t), "other"), Port: st.Port}
	if err := other.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, other)

	url2, err := Ensure(ctx, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	if url2 == url1 {
		t.Fatalf("Ensure reused the taken port: %s", url2)
	}
	st2, _ := StatusEmbedded(state)
	if data, err := os.ReadFile(filepath.Join(state, "pg", portFile)); err != nil || strings.TrimSpace(string(data)) == "" || st2.URL != url2 {
		t.Errorf("port file %q (err %v), status URL %s; want them to follow the new port of %s", data, err, st2.URL, url2)
	}
}
