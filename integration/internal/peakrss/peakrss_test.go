package peakrss

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

// hold makes this process big, as a test binary or a driver can be.
func hold() []byte {
	b := make([]byte, 256<<20)
	for i := range b {
		b[i] = 1
	}
	return b
}

func TestWrapExcludesTheParent(t *testing.T) {
	big := hold()
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	rss, err := Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Run()
	got, rerr := rss()
	if rerr != nil {
		t.Fatal(rerr)
	}
	if cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("exit code %d, want the child's 3 (%v)", cmd.ProcessState.ExitCode(), err)
	}
	if got <= 0 || got >= 100<<20 {
		t.Errorf("peak RSS of sh -c 'exit 3' is %d bytes, want between 0 and 100 MiB (this process holds %d MiB)", got, len(big)>>20)
	}
	runtime.KeepAlive(big)
}

func TestWrapPassesSignals(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "kill -TERM $$")
	rss, err := Wrap(cmd)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Run() //nolint:errcheck // the status is checked below
	if _, err := rss(); err != nil {
		t.Fatal(err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("status %v, want killed by SIGTERM like the child", cmd.ProcessState)
	}
}
