// Package peakrss measures the peak resident set size of a child process
// on Linux, which ru_maxrss of the child alone does not tell.
//
// ru_maxrss, as wait4 reports it for a child, is never lower than the RSS
// of the process that started it: until it calls exec, the child runs in
// (a copy of) its parent's address space, and exec folds that image's
// high-water mark into the child's ru_maxrss (exec_mmap calls
// setmax_mm_hiwater_rss). A test binary or a benchmark driver that holds
// 200 MB would charge every child it starts 200 MB.
//
// [Wrap] therefore starts the child through a fresh copy of the current
// executable, the spawner, which starts the real child from its own small
// image, waits for it, reports the child's ru_maxrss on a pipe, and exits
// as the child did (same exit code, or the same signal). The child's figure
// is then exact but for the spawner's own few megabytes as a floor.
//
// The spawner is the calling program itself: its main (or TestMain) must
// call [Main] first, before doing anything else.
package peakrss

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envVar tells a process that it is a spawner, and on which file
// descriptor it reports.
const envVar = "GSCLUSTER_PEAKRSS_FD"

// Wrap rewrites cmd, which must not have been started, to run through the
// spawner. After cmd.Wait, the returned function gives the child's peak RSS
// in bytes; it must be called once, also when cmd fails, to release the
// report pipe. Signals sent to cmd.Process are forwarded to the child,
// except SIGKILL and SIGSTOP, which the spawner cannot forward: the child
// is killed when the spawner dies.
func Wrap(cmd *exec.Cmd) (func() (int64, error), error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("peakrss: find the spawner: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("peakrss: %w", err)
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	fd := 3 + len(cmd.ExtraFiles)
	cmd.Env = append(env[:len(env):len(env)], envVar+"="+strconv.Itoa(fd))
	cmd.ExtraFiles = append(cmd.ExtraFiles, w)
	cmd.Args = append([]string{self, cmd.Path}, cmd.Args...)
	cmd.Path = self
	return func() (int64, error) {
		w.Close()
		defer r.Close()
		b, err := io.ReadAll(r)
		if err != nil {
			return 0, fmt.Errorf("peakrss: read the report: %w", err)
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("peakrss: the spawner reported %q: %w", b, err)
		}
		return kib * 1024, nil
	}, nil
}

// Main returns at once unless this process was started by Wrap as a
// spawner; then it runs the child, reports, and exits as the child did.
func Main() {
	v := os.Getenv(envVar)
	if v == "" {
		return
	}
	os.Exit(spawn(v))
}

func spawn(fdText string) int {
	fd, err := strconv.Atoi(fdText)
	if err != nil || len(os.Args) < 3 {
		fmt.Fprintf(os.Stderr, "peakrss: spawner started without a report descriptor and a command (%q, %q)\n", fdText, os.Args)
		return 127
	}
	report := os.NewFile(uintptr(fd), "peakrss-report")
	defer report.Close()
	os.Unsetenv(envVar)
	cmd := &exec.Cmd{Path: os.Args[1], Args: os.Args[2:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "peakrss: %v\n", err)
		return 127
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s) //nolint:errcheck // it may have exited
			case <-done:
				return
			}
		}
	}()
	cmd.Wait() //nolint:errcheck // the status is read below
	close(done)
	signal.Stop(sigs)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintln(report, ru.Maxrss)
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		signal.Reset(ws.Signal())
		syscall.Kill(os.Getpid(), ws.Signal()) //nolint:errcheck
		time.Sleep(time.Second)                // the signal ends us meanwhile
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
