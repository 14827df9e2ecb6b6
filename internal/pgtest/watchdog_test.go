package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// crashEnv makes the test binary, run as a child by
// TestWatchdogCleansUpAfterCrash, start a server and then die the way its
// value says ("panic" or "kill") once its stdin closes.
const crashEnv = "PGTEST_CRASH_CHILD"

func crashChild(mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	inst, err := start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	st, err := inst.srv.Status()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	fmt.Printf("%s %d %s\n", inst.base, st.PID, inst.srv.URL("postgres"))
	io.Copy(io.Discard, os.Stdin)
	if mode == "kill" {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	panic("pgtest: crash child dies without cleanup")
}

func TestWatchdogCleansUpAfterCrash(t *testing.T) {
	for _, mode := range []string{"panic", "kill"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), crashEnv+"="+mode)
			cmd.Stderr = io.Discard
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var base, url string
			var pid int
			if _, err := fmt.Fscan(bufio.NewReader(stdout), &base, &pid, &url); err != nil {
				stdin.Close()
				cmd.Wait()
				t.Fatalf("read child's server: %v", err)
			}

			// The child's server is up while the child lives.
			conn, err := pgx.Connect(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			conn.Close(t.Context())
			if !alive(pid) {
				t.Fatalf("child's postmaster %d is not running", pid)
			}

			stdin.Close()
			if err := cmd.Wait(); err == nil {
				t.Fatal("crash child exited cleanly")
			}
			// Within 10 s: left alone, a postmaster whose directory was
			// removed notices only after tens of seconds.
			eventually(t, 10*time.Second, func() error {
				if alive(pid) {
					return fmt.Errorf("postmaster %d of the dead child still runs", pid)
				}
				if _, err := os.Stat(base); !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("directory %s of the dead child still exists", base)
				}
				return nil
			})
		})
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil {
		return errors.Is(err, syscall.EPERM)
	}
	// A zombie waiting for its reaper is dead.
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	var p int
	var comm, state string
	fmt.Sscanf(string(stat), "%d %s %s", &p, &comm, &state)
	return state != "Z"
}

// eventually retries check until it returns nil or the deadline passes.
func eventually(t *testing.T, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
